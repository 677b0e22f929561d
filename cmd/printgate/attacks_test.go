package main

import "testing"

// attack is one row of the attack table: an attack on "only the owner gets
// the paper" or "the record cannot be rewritten", run against real servers,
// that must fail. defense names what stops it, so that a reader knows what
// to remove to see the row fail.
type attack struct {
	name    string
	defense string
	run     func(t *testing.T)
}

// TestAttacks runs every attack of the trust issue. Each group lives beside
// the defense it tests, in attack_*_test.go.
func TestAttacks(t *testing.T) {
	groups := [][]attack{boundedAttacks(), combinedAttacks(), namesAttacks(), recordAttacks(), secretsAttacks(), throttleAttacks()}
	for _, g := range groups {
		for _, a := range g {
			t.Run(a.name, a.run)
		}
	}
}
