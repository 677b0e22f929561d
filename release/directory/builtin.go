package directory

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
)

// Password length limits of the built-in directory. The upper bound keeps
// hashing cost and stored input bounded; it is far above any real
// passphrase.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 1024
)

// User is a user of the built-in directory.
type User struct {
	Name           string
	DisplayName    string
	Email          string
	EmployeeNumber string
	Role           Role
	// Disabled users may not sign in anywhere; see Builtin.SetDisabled.
	Disabled  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// userRow is the users table.
type userRow struct {
	Name           string
	DisplayName    string
	Email          string
	EmployeeNumber string
	Role           string
	PasswordHash   string
	Disabled       bool
	// AccountID is random, given when the user is added: a user deleted
	// and added again under the same name is another account, and the
	// cards and PIN bound to the first do not pass to the second.
	AccountID string
	// NameKey is NameKey(Name): names are unique, and found, by it.
	NameKey   string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName keeps the table name stable whatever gorm's naming rules do.
func (userRow) TableName() string { return "users" }

// Migrate creates or updates the built-in directory's tables in db.
func Migrate(ctx context.Context, db *database.DB) error {
	return db.Migrate(ctx, "directory", []database.Migration{
		{Name: "users", Up: createUsers},
		{Name: "users.disabled", Up: func(tx *gorm.DB, _ database.Dialect) error {
			return database.Exec(tx, `ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE`)
		}},
		{Name: "users.account_id", Up: addAccountIDs},
		{Name: "users.name_key", Up: addNameKeys},
	})
}

// addNameKeys keeps with each user the key of its name (NameKey), unique,
// by which names are found without regard to case: lower() folds ASCII
// only in SQLite (and in PostgreSQL's C locale), so Émile and émile could
// both be users, one found under the other's name; and where it folds
// more, it takes the Kelvin sign for k. Two users whose names share a key
// cannot both stay: the migration refuses, naming them.
func addNameKeys(tx *gorm.DB, _ database.Dialect) error {
	if err := database.Exec(tx, `ALTER TABLE users ADD COLUMN name_key TEXT NOT NULL DEFAULT ''`); err != nil {
		return err
	}
	var names []string
	if err := tx.Raw(`SELECT name FROM users ORDER BY name`).Scan(&names).Error; err != nil {
		return err
	}
	byKey := map[string]string{}
	for _, n := range names {
		k := NameKey(n)
		if other, ok := byKey[k]; ok {
			return fmt.Errorf("users %q and %q are one name in another case: delete one (printgate user remove) with the printgate that made them, then upgrade", other, n)
		}
		byKey[k] = n
		if err := tx.Exec(`UPDATE users SET name_key = ? WHERE name = ?`, k, n).Error; err != nil {
			return err
		}
	}
	return database.Exec(tx, `CREATE UNIQUE INDEX users_name_key ON users (name_key)`, `DROP INDEX users_name_lower`)
}

// addAccountIDs gives every user a random account ID (userRow.AccountID).
// The existing users get theirs here, each its own; the credentials
// already enrolled to them are bound to it when next used.
func addAccountIDs(tx *gorm.DB, _ database.Dialect) error {
	if err := database.Exec(tx, `ALTER TABLE users ADD COLUMN account_id TEXT NOT NULL DEFAULT ''`); err != nil {
		return err
	}
	var names []string
	if err := tx.Raw(`SELECT name FROM users`).Scan(&names).Error; err != nil {
		return err
	}
	for _, n := range names {
		if err := tx.Exec(`UPDATE users SET account_id = ? WHERE name = ?`, newAccountID(), n).Error; err != nil {
			return err
		}
	}
	return database.Exec(tx, `CREATE UNIQUE INDEX users_account_id ON users (account_id) WHERE account_id <> ''`)
}

// newAccountID returns a random account ID: 26 base32 characters, 130
// bits, so that no two users ever draw the same.
func newAccountID() string { return rand.Text() }

func createUsers(tx *gorm.DB, d database.Dialect) error {
	ts := d.TimeType()
	// Names are unique and found without regard to case, as LDAP's uid
	// is; lower() is the same function in the index and in the queries,
	// so the two agree on each dialect.
	return database.Exec(tx, `CREATE TABLE users (
		name TEXT NOT NULL PRIMARY KEY,
		display_name TEXT NOT NULL DEFAULT '',
		email TEXT NOT NULL DEFAULT '',
		employee_number TEXT NOT NULL DEFAULT '',
		role TEXT NOT NULL DEFAULT 'user',
		password_hash TEXT NOT NULL,
		created_at `+ts+` NOT NULL,
		updated_at `+ts+` NOT NULL
	)`,
		`CREATE UNIQUE INDEX users_name_lower ON users (lower(name))`,
		`CREATE UNIQUE INDEX users_employee_number ON users (employee_number) WHERE employee_number <> ''`,
	)
}

// Builtin is the Directory kept in printgate's own database, with
// argon2id password hashes keyed by the credential pepper.
type Builtin struct {
	db     *database.DB
	hasher *secret.Hasher
}

var _ LoginDirectory = (*Builtin)(nil)

// ErrBusy is returned (wrapped) when too many password checks run at
// once; it is secret.ErrBusy.
var ErrBusy = secret.ErrBusy

// NewBuiltin returns the built-in directory on db (migrated with Migrate),
// hashing and checking passwords with h.
func NewBuiltin(db *database.DB, h *secret.Hasher) *Builtin {
	return &Builtin{db: db, hasher: h}
}

// AddUser adds u with password; ErrExists when the name (in any case) or
// the employee number is taken. An empty role means RoleUser. rec runs in
// the same transaction.
func (b *Builtin) AddUser(ctx context.Context, u User, password string, rec database.Hook) error {
	if err := checkName(u.Name); err != nil {
		return err
	}
	if u.Role == "" {
		u.Role = RoleUser
	}
	if _, err := ParseRole(string(u.Role)); err != nil {
		return err
	}
	for field, v := range map[string]string{"display name": u.DisplayName, "email": u.Email, "employee number": u.EmployeeNumber} {
		if len(v) > 256 || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
			return fmt.Errorf("directory: add user %s: %s must be printable text up to 256 bytes", u.Name, field)
		}
	}
	hash, err := b.hash(ctx, password)
	if err != nil {
		return fmt.Errorf("directory: add user %s: %w", u.Name, err)
	}
	now := time.Now().UTC()
	row := userRow{Name: u.Name, DisplayName: u.DisplayName, Email: u.Email,
		EmployeeNumber: strings.TrimSpace(u.EmployeeNumber), Role: string(u.Role),
		PasswordHash: hash, AccountID: newAccountID(), NameKey: NameKey(u.Name), CreatedAt: now, UpdatedAt: now}
	err = b.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return rec.Run(tx)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("directory: add user %s: %w", u.Name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("directory: add user %s: %w", u.Name, err)
	}
	return nil
}

// SetPassword replaces name's password; ErrNotFound for an unknown name.
// rec runs in the same transaction.
func (b *Builtin) SetPassword(ctx context.Context, name, password string, rec database.Hook) error {
	hash, err := b.hash(ctx, password)
	if err != nil {
		return fmt.Errorf("directory: set password of %s: %w", name, err)
	}
	return b.update(ctx, "set password of", name, map[string]any{"password_hash": hash}, rec)
}

// SetRole changes name's role; ErrNotFound for an unknown name. rec runs
// in the same transaction.
func (b *Builtin) SetRole(ctx context.Context, name string, role Role, rec database.Hook) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	return b.update(ctx, "set role of", name, map[string]any{"role": string(role)}, rec)
}

// SetDisabled disables or enables name; ErrNotFound for an unknown name.
// A disabled user keeps their password, PIN and cards, but every sign-in
// is refused (Authenticate answers ErrDisabled, Lookup marks the
// Identity). rec runs in the same transaction.
func (b *Builtin) SetDisabled(ctx context.Context, name string, disabled bool, rec database.Hook) error {
	return b.update(ctx, fmt.Sprintf("set disabled=%t of", disabled), name, map[string]any{"disabled": disabled}, rec)
}

// update writes the columns of set to name's row (a map, so that false
// and "" are written too).
func (b *Builtin) update(ctx context.Context, action, name string, set map[string]any, rec database.Hook) error {
	set["updated_at"] = time.Now().UTC()
	err := b.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&userRow{}).Where("name_key = ?", NameKey(name)).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return rec.Run(tx)
	})
	if err != nil {
		return fmt.Errorf("directory: %s %s: %w", action, name, err)
	}
	return nil
}

// DeleteUser removes name; ErrNotFound for an unknown name. The user's
// PIN and cards live in the credential store and are removed there. rec
// runs in the same transaction.
func (b *Builtin) DeleteUser(ctx context.Context, name string, rec database.Hook) error {
	err := b.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("name_key = ?", NameKey(name)).Delete(&userRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		return rec.Run(tx)
	})
	if err != nil {
		return fmt.Errorf("directory: delete user %s: %w", name, err)
	}
	return nil
}

// Users returns every user, by name.
func (b *Builtin) Users(ctx context.Context) ([]User, error) {
	var rows []userRow
	if err := b.db.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("directory: list users: %w", err)
	}
	users := make([]User, len(rows))
	for i, r := range rows {
		users[i] = User{Name: r.Name, DisplayName: r.DisplayName, Email: r.Email,
			EmployeeNumber: r.EmployeeNumber, Role: Role(r.Role), Disabled: r.Disabled,
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	}
	return users, nil
}

// Authenticate implements Directory.
func (b *Builtin) Authenticate(ctx context.Context, name, password string) (Identity, error) {
	if name == "" || password == "" || len(password) > MaxPasswordLength {
		return Identity{}, ErrInvalidCredentials
	}
	row, err := b.find(ctx, "name_key = ?", NameKey(name))
	if errors.Is(err, ErrNotFound) {
		// Spend the time a real check takes, so response times do not
		// tell which names exist.
		if err := b.hasher.Waste(ctx, []byte(password)); err != nil {
			return Identity{}, fmt.Errorf("directory: authenticate: %w", err)
		}
		return Identity{}, ErrInvalidCredentials
	}
	if err != nil {
		return Identity{}, fmt.Errorf("directory: authenticate: %w: %w", ErrUnavailable, err)
	}
	ok, rehash, err := b.hasher.Verify(ctx, row.PasswordHash, []byte(password))
	if err != nil {
		return Identity{}, fmt.Errorf("directory: authenticate %s: %w", row.Name, err)
	}
	if !ok {
		return Identity{}, ErrInvalidCredentials
	}
	if row.Disabled {
		// Told only to whoever knows the password.
		return Identity{}, fmt.Errorf("directory: authenticate %s: %w", row.Name, ErrDisabled)
	}
	if rehash {
		if err := b.upgrade(ctx, row, password); err != nil {
			return Identity{}, fmt.Errorf("directory: authenticate %s: %w: %w", row.Name, ErrUnavailable, err)
		}
	}
	return row.identity(), nil
}

// upgrade replaces row's plain password hash, just matched by password,
// with a keyed one. Should the hasher be busy, the upgrade waits for the
// next sign-in; a password changed meanwhile is left alone.
func (b *Builtin) upgrade(ctx context.Context, row userRow, password string) error {
	hash, err := b.hasher.Hash(ctx, []byte(password))
	if errors.Is(err, secret.ErrBusy) {
		return nil
	}
	if err != nil {
		return err
	}
	return b.db.WithContext(ctx).Model(&userRow{}).Where("name = ? AND password_hash = ?", row.Name, row.PasswordHash).
		Update("password_hash", hash).Error
}

// Lookup implements Directory.
func (b *Builtin) Lookup(ctx context.Context, nameOrEmployeeNumber string) (Identity, error) {
	if nameOrEmployeeNumber == "" {
		return Identity{}, ErrNotFound
	}
	row, err := b.find(ctx, "name_key = ?", NameKey(nameOrEmployeeNumber))
	if errors.Is(err, ErrNotFound) {
		row, err = b.find(ctx, "employee_number = ?", strings.TrimSpace(nameOrEmployeeNumber))
	}
	if errors.Is(err, ErrNotFound) {
		return Identity{}, err
	}
	if err != nil {
		return Identity{}, fmt.Errorf("directory: lookup: %w: %w", ErrUnavailable, err)
	}
	return row.identity(), nil
}

// LookupLogin implements LoginDirectory: the built-in directory knows
// one login name per user, found in any case.
func (b *Builtin) LookupLogin(ctx context.Context, login string) (Identity, error) {
	if login == "" {
		return Identity{}, ErrNotFound
	}
	row, err := b.find(ctx, "name_key = ?", NameKey(login))
	if errors.Is(err, ErrNotFound) {
		return Identity{}, err
	}
	if err != nil {
		return Identity{}, fmt.Errorf("directory: lookup login: %w: %w", ErrUnavailable, err)
	}
	return row.identity(), nil
}

func (b *Builtin) find(ctx context.Context, where string, arg string) (userRow, error) {
	var rows []userRow
	if err := b.db.WithContext(ctx).Where(where, arg).Limit(1).Find(&rows).Error; err != nil {
		return userRow{}, err
	}
	if len(rows) == 0 {
		return userRow{}, ErrNotFound
	}
	return rows[0], nil
}

func (r userRow) identity() Identity {
	role := Role(r.Role)
	return Identity{
		Name:           r.Name,
		DisplayName:    r.DisplayName,
		Email:          r.Email,
		EmployeeNumber: r.EmployeeNumber,
		Roles:          rolesFor(role == RoleAdmin, role == RoleAuditor),
		Source:         "builtin",
		AccountID:      r.AccountID,
		Created:        r.CreatedAt,
		Disabled:       r.Disabled,
	}
}

// hash checks password against the policy and hashes it.
func (b *Builtin) hash(ctx context.Context, password string) (string, error) {
	if n := utf8.RuneCountInString(password); n < MinPasswordLength || len(password) > MaxPasswordLength {
		return "", fmt.Errorf("%w: it must be %d to %d characters long", ErrPasswordPolicy, MinPasswordLength, MaxPasswordLength)
	}
	return b.hasher.Hash(ctx, []byte(password))
}

// checkName accepts names usable as an IPP user name and in a URL path.
func checkName(name string) error {
	switch {
	case name == "" || len(name) > 256:
		return errors.New("directory: user name must be 1 to 256 bytes")
	case !utf8.ValidString(name), strings.ContainsFunc(name, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == '/' }):
		return errors.New("directory: user name must be printable, without spaces or '/'")
	}
	return nil
}
