package owner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/directory"
)

// Errors of the alias table.
var (
	// ErrExists is an alias added for a login that has one.
	ErrExists = errors.New("owner: the login already has an alias")
	// ErrNotFound is an alias removed that does not exist.
	ErrNotFound = errors.New("owner: no such alias")
	// ErrUnknownUser is an alias to a user the directory does not know.
	ErrUnknownUser = errors.New("owner: no such user in the directory")
	// ErrIsUser is an alias for a login that is a directory user's own:
	// the user owns their name, no alias may take it.
	ErrIsUser = errors.New("owner: the login is a directory user's own name")
	// ErrBadLogin is a login that cannot be a user name.
	ErrBadLogin = errors.New("owner: a login must be 1 to 256 bytes of printable text")
)

// Alias makes jobs sent under Login the jobs of User.
type Alias struct {
	// Login is normalised (Mapper.Normalize).
	Login string
	// User is the directory user's canonical name.
	User      string
	CreatedAt time.Time
}

// aliasRow is the owner_aliases table.
type aliasRow struct {
	Login     string `gorm:"primaryKey"`
	UserName  string
	CreatedAt time.Time
}

func (aliasRow) TableName() string { return "owner_aliases" }

// Migrate creates or updates the alias table in db.
func Migrate(ctx context.Context, db *database.DB) error {
	return db.Migrate(ctx, "owner", []database.Migration{{Name: "owner_aliases", Up: createAliases}})
}

func createAliases(tx *gorm.DB, d database.Dialect) error {
	ts := d.TimeType()
	return database.Exec(tx, `CREATE TABLE owner_aliases (
		login TEXT NOT NULL PRIMARY KEY,
		user_name TEXT NOT NULL,
		created_at `+ts+` NOT NULL
	)`)
}

// AddAlias makes jobs sent under login (normalised first) user's, and
// returns the alias as stored; rec runs in the same transaction. The
// login must not be a directory user's own name, and user must be one.
func (m *Mapper) AddAlias(ctx context.Context, login, user string, rec database.Hook) (Alias, error) {
	login = m.Normalize(login)
	if login == "" || len(login) > 256 || !utf8.ValidString(login) || strings.ContainsFunc(login, unicode.IsControl) {
		return Alias{}, ErrBadLogin
	}
	if _, err := m.find(ctx, login); err == nil {
		return Alias{}, fmt.Errorf("owner: alias %s: %w", login, ErrIsUser)
	} else if !errors.Is(err, directory.ErrNotFound) {
		return Alias{}, fmt.Errorf("owner: alias %s: %w", login, err)
	}
	id, err := m.find(ctx, user)
	if errors.Is(err, directory.ErrNotFound) {
		return Alias{}, fmt.Errorf("owner: alias %s to %s: %w", login, user, ErrUnknownUser)
	}
	if err != nil {
		return Alias{}, fmt.Errorf("owner: alias %s: %w", login, err)
	}
	row := aliasRow{Login: login, UserName: id.Name, CreatedAt: time.Now().UTC()}
	err = m.opts.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return rec.Run(tx)
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return Alias{}, fmt.Errorf("owner: alias %s: %w", login, ErrExists)
	}
	if err != nil {
		return Alias{}, fmt.Errorf("owner: alias %s: %w", login, err)
	}
	m.forget(login)
	return Alias{Login: row.Login, User: row.UserName, CreatedAt: row.CreatedAt}, nil
}

// RemoveAlias removes the alias of login (normalised first) and returns
// it; rec runs in the same transaction.
func (m *Mapper) RemoveAlias(ctx context.Context, login string, rec database.Hook) (Alias, error) {
	login = m.Normalize(login)
	var row aliasRow
	err := m.opts.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []aliasRow
		if err := tx.Where("login = ?", login).Limit(1).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return ErrNotFound
		}
		row = rows[0]
		if err := tx.Where("login = ?", login).Delete(&aliasRow{}).Error; err != nil {
			return err
		}
		return rec.Run(tx)
	})
	if err != nil {
		return Alias{}, fmt.Errorf("owner: remove alias %s: %w", login, err)
	}
	m.forget(login)
	return Alias{Login: row.Login, User: row.UserName, CreatedAt: row.CreatedAt}, nil
}

// Aliases returns every alias, by login.
func (m *Mapper) Aliases(ctx context.Context) ([]Alias, error) {
	var rows []aliasRow
	if err := m.opts.DB.WithContext(ctx).Order("login").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("owner: list aliases: %w", err)
	}
	out := make([]Alias, len(rows))
	for i, r := range rows {
		out[i] = Alias{Login: r.Login, User: r.UserName, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// aliasOf returns the user login is an alias of.
func (m *Mapper) aliasOf(ctx context.Context, login string) (string, bool, error) {
	var rows []aliasRow
	if err := m.opts.DB.WithContext(ctx).Where("login = ?", login).Limit(1).Find(&rows).Error; err != nil {
		return "", false, fmt.Errorf("owner: alias of %s: %w", login, err)
	}
	if len(rows) == 0 {
		return "", false, nil
	}
	return rows[0].UserName, true, nil
}
