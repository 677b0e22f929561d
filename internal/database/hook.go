package database

import "gorm.io/gorm"

// Hook runs inside a store's write transaction once the write has changed
// something, and its error undoes the write. Administrative changes
// append their audit event with it, so that the change and its record
// commit together or not at all, and a write that changes nothing records
// nothing. A nil Hook does nothing.
//
// A hook rather than a transaction parameter keeps each store the owner
// of its transaction: the store decides whether anything changed, and
// slow work before the write (hashing a PIN or a password) stays outside
// the transaction.
type Hook func(tx *gorm.DB) error

// Run calls h within tx; nil does nothing.
func (h Hook) Run(tx *gorm.DB) error {
	if h == nil {
		return nil
	}
	return h(tx)
}
