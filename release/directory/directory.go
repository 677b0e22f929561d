// Package directory answers "who is this?" for printgate: it checks
// passwords and finds users, with their roles and attributes, in an LDAP
// directory (OpenLDAP, Active Directory) or in printgate's own database.
package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Role is what a user may do in printgate beyond printing their own jobs.
type Role string

// Roles, from most to least privileged.
const (
	// RoleAdmin manages queues, devices, users and credentials.
	RoleAdmin Role = "admin"
	// RoleAuditor reads every user's history and the audit trail.
	RoleAuditor Role = "auditor"
	// RoleUser prints and releases their own jobs. Every identity has it.
	RoleUser Role = "user"
)

// ParseRole returns the Role named s, or an error naming the valid roles.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleAdmin, RoleAuditor, RoleUser:
		return r, nil
	}
	return "", errors.New(`directory: role must be "admin", "auditor" or "user"`)
}

// Sentinel errors. Callers map them to replies at the edge; every error of
// this package may be logged, as none carries a password.
var (
	// ErrInvalidCredentials is a wrong name or a wrong password; the two
	// are deliberately not told apart.
	ErrInvalidCredentials = errors.New("directory: invalid credentials")
	// ErrUnavailable means the directory could not answer (down, timed
	// out, misconfigured). It wraps the cause and never means a login.
	ErrUnavailable = errors.New("directory: unavailable")
	// ErrNotFound is a Lookup that matched nobody.
	ErrNotFound = errors.New("directory: user not found")
	// ErrExists is a built-in user added under a name or employee number
	// already taken.
	ErrExists = errors.New("directory: user already exists")
	// ErrPasswordPolicy is a built-in password that breaks the rules.
	ErrPasswordPolicy = errors.New("directory: password does not meet the policy")
	// ErrDisabled is a right password for an account that is disabled
	// (by `printgate user disable`, or in the directory itself). It wraps
	// ErrInvalidCredentials, so that a caller unaware of it refuses the
	// sign-in all the same.
	ErrDisabled = fmt.Errorf("directory: account disabled: %w", ErrInvalidCredentials)
)

// Identity is a user as the directory knows them.
type Identity struct {
	// Name is the canonical login name (the directory's spelling, which
	// may differ in case from what the user typed); it owns jobs.
	Name           string
	DisplayName    string
	Email          string
	EmployeeNumber string
	// Roles always holds RoleUser, plus RoleAdmin and RoleAuditor as
	// granted, most privileged first.
	Roles []Role
	// Cards are raw IC card UIDs from the directory's card attribute, as
	// stored there (not normalised); empty for the built-in directory,
	// whose cards live in the credential store.
	Cards []string
	// Source names the directory that vouched for the user: "ldap" or
	// "builtin".
	Source string
	// AccountID is the directory's stable identifier of the account:
	// LDAP attributes.account_id (entryUUID, objectGUID), or the random
	// ID the built-in directory gives each user it adds. A name can be
	// reused (a leaver's name given to a new hire, an account deleted and
	// added again), this cannot: cards and PINs are bound to it, so that
	// they never pass to whoever has the name next. Empty when the entry
	// has no such attribute.
	AccountID string
	// Created is when the directory made the account: the built-in
	// directory's own record, LDAP attributes.created (createTimestamp,
	// whenCreated). What a name owned before it (a leaver's history) is
	// not the account's. Zero when not known.
	Created time.Time
	// Disabled is an account that may not sign in anywhere: disabled in
	// printgate (built-in users) or in the directory (LDAP). Lookup
	// still finds it, so that callers can say why they refuse.
	Disabled bool
}

// CreatedSlack is how long before its account was made a job of its
// name may have been submitted and still be the account's: the
// directory's clock and printgate's may differ a little.
const CreatedSlack = 5 * time.Minute

// OwnedSince is from when what is recorded under a name is the account
// the directory made at created: what the name owned before (a leaver's,
// whose login was given again) is not the account's. Zero, everything,
// when the directory does not say when it made the account.
func OwnedSince(created time.Time) time.Time {
	if created.IsZero() {
		return time.Time{}
	}
	// In UTC, as printgate stores times: SQLite compares them as text.
	return created.UTC().Add(-CreatedSlack)
}

// Has reports whether the identity holds role r.
func (id Identity) Has(r Role) bool {
	for _, have := range id.Roles {
		if have == r {
			return true
		}
	}
	return r == RoleUser
}

// Role returns the identity's most privileged role.
func (id Identity) Role() Role {
	for _, r := range []Role{RoleAdmin, RoleAuditor} {
		if id.Has(r) {
			return r
		}
	}
	return RoleUser
}

// rolesFor builds the Roles of an identity from its privileges.
func rolesFor(admin, auditor bool) []Role {
	var roles []Role
	if admin {
		roles = append(roles, RoleAdmin)
	}
	if auditor {
		roles = append(roles, RoleAuditor)
	}
	return append(roles, RoleUser)
}

// Directory finds users and checks their passwords.
type Directory interface {
	// Authenticate checks name and password. A wrong name and a wrong
	// password give the same ErrInvalidCredentials; an empty password is
	// always refused; a right password of a disabled account gives
	// ErrDisabled. When the directory cannot be reached the error
	// wraps ErrUnavailable and the cause.
	Authenticate(ctx context.Context, name, password string) (Identity, error)
	// Lookup finds a user by login name or, failing that, by employee
	// number (for ID + PIN release); ErrNotFound when nobody matches.
	Lookup(ctx context.Context, nameOrEmployeeNumber string) (Identity, error)
}

// LoginDirectory is a Directory that finds a user by a login name alone,
// never by employee number: who owns a print job is decided by the name
// the job arrived under, and a number that happens to be someone's
// employee number must not make it theirs.
type LoginDirectory interface {
	Directory
	// LookupLogin finds the user whose login name, in any case, or one
	// of whose further login names (LDAP attributes.logins) is login;
	// ErrNotFound when nobody matches.
	LookupLogin(ctx context.Context, login string) (Identity, error)
}

// CardDirectory is a Directory that also keeps IC card UIDs in a user
// attribute (LDAP with attributes.card set).
type CardDirectory interface {
	Directory
	// LookupCard finds the user whose card attribute holds uid, given in
	// normalised form (upper-case hex, no separators); ErrNotFound when
	// nobody matches.
	LookupCard(ctx context.Context, uid string) (Identity, error)
}

// GroupDirectory is a Directory that can tell which groups hold a user
// (LDAP); print rules by group need one.
type GroupDirectory interface {
	Directory
	// InGroups returns those of groups (as the directory names them: DNs
	// for LDAP) that hold the user with login name name, in the order
	// given; ErrNotFound when nobody has that name.
	InGroups(ctx context.Context, name string, groups []string) ([]string, error)
}

// FindLogin finds the user whose login name is login, never by employee
// number: the directory's LookupLogin when it is a LoginDirectory, else
// its Lookup.
func FindLogin(ctx context.Context, d Directory, login string) (Identity, error) {
	if ld, ok := d.(LoginDirectory); ok {
		return ld.LookupLogin(ctx, login)
	}
	return d.Lookup(ctx, login)
}

// LookupName finds the user whose canonical name (Identity.Name) is name,
// in any case: for a name printgate stored itself, a card's or a PIN's
// holder or a job's owner. Found by any other key (an employee number
// that happens to be the stored name, or another user's further login
// name) it is someone else, and ErrNotFound: a contractor whose login was
// 300145 must not pass their card to the employee numbered 300145.
func LookupName(ctx context.Context, d Directory, name string) (Identity, error) {
	id, err := FindLogin(ctx, d, name)
	if err != nil {
		return Identity{}, err
	}
	if !strings.EqualFold(id.Name, name) {
		return Identity{}, fmt.Errorf("directory: %s: found %s by another key: %w", name, id.Name, ErrNotFound)
	}
	return id, nil
}
