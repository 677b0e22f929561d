package credential

// Account is the directory account a PIN or a card belongs to. Both are
// kept under the account's name and bound to its stable identifier: a
// name can pass to someone else (a leaver's name given to a new hire, an
// LDAP entry deleted and added again), the identifier cannot, and a
// credential bound to one account is refused to every other of the same
// name, as if it did not exist.
//
// Credentials enrolled before they were bound, or through a call that
// gives no ID (AddCard, SetPIN), are bound to nothing; their first
// successful use by an account with an ID binds them to it
// (CheckAccountPIN, BindCard). Until then they work for whoever has the
// name, as they always did.
type Account struct {
	// Name is the account's canonical login name (directory
	// Identity.Name).
	Name string
	// ID is the account's stable identifier (directory
	// Identity.AccountID): LDAP entryUUID or objectGUID, or the
	// built-in directory's random ID. "" for an account without one.
	ID string
}

// owns reports whether a may use a credential of its name bound to the
// account ID stored: one bound to nothing, or to a itself.
func (a Account) owns(stored string) bool { return stored == "" || stored == a.ID }
