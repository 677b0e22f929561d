package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/directory"
)

// Migrate creates or updates the console's tables in db.
func Migrate(ctx context.Context, db *database.DB) error {
	return db.Migrate(ctx, "web", []database.Migration{
		{Name: "sessions", Up: createSessions},
		{Name: "sessions.account_id", Up: addSessionAccount},
	})
}

// createSessions makes the sessions table. Times are Unix milliseconds, the
// same on both dialects; the primary key is the SHA-256 of the cookie's
// secret, so a read of the table signs nobody in.
func createSessions(tx *gorm.DB, _ database.Dialect) error {
	return database.Exec(tx, `CREATE TABLE web_sessions (
		id_hash TEXT NOT NULL PRIMARY KEY,
		user_name TEXT NOT NULL,
		display_name TEXT NOT NULL DEFAULT '',
		role TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		seen_at BIGINT NOT NULL,
		expires_at BIGINT NOT NULL
	)`,
		`CREATE INDEX web_sessions_user ON web_sessions (user_name)`,
		`CREATE INDEX web_sessions_expires ON web_sessions (expires_at)`,
	)
}

// addSessionAccount records the account each session was signed in to,
// so that a session ends when its name comes to name another account
// (recheck). Sessions from before it have none, and end as they did.
func addSessionAccount(tx *gorm.DB, _ database.Dialect) error {
	return database.Exec(tx, `ALTER TABLE web_sessions ADD COLUMN account_id TEXT NOT NULL DEFAULT ''`)
}

// session is a signed-in user.
type session struct {
	hash        string
	User        string
	DisplayName string
	Role        directory.Role
	// SignedIn is when the user signed in to open the session.
	SignedIn time.Time
	// accountID is the directory's account the session was signed in
	// to (Identity.AccountID); "" when not known.
	accountID string
}

// Name is what the pages call the user.
func (s *session) Name() string {
	if s.DisplayName != "" {
		return s.DisplayName
	}
	return s.User
}

// sessionStore keeps sessions in the database, so that they survive a
// restart and work across several printgate instances.
type sessionStore struct {
	db       *database.DB
	now      func() time.Time
	idle     time.Duration
	lifetime time.Duration
	// dir, when set, is asked again about a session's user each time the
	// session is touched (recheck).
	dir directory.Directory
}

// hashToken is the stored form of a session secret. The secret has 128
// random bits, so a plain SHA-256 cannot be reversed by guessing.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// touchEvery is how stale seen_at may get before a request rewrites it:
// writing on every request would make each page view a database write. A
// session may so end up to this much before its idle timeout.
func (st *sessionStore) touchEvery() time.Duration {
	return min(time.Minute, st.idle/10)
}

// create starts a session for id and returns its secret. The session the
// browser held before (old, possibly "") ends in the same transaction:
// every sign-in gets a fresh secret, so one planted in the browser
// beforehand is worthless. Expired sessions are swept at the same time.
func (st *sessionStore) create(ctx context.Context, id directory.Identity, old string) (string, error) {
	return st.createRecorded(ctx, id, old, nil)
}

// createRecorded is create with rec, when not nil, recording the sign-in
// in the same transaction.
func (st *sessionStore) createRecorded(ctx context.Context, id directory.Identity, old string, rec database.Hook) (string, error) {
	token := rand.Text()
	now := st.now()
	err := st.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if old != "" {
			if err := tx.Exec(`DELETE FROM web_sessions WHERE id_hash = ?`, hashToken(old)).Error; err != nil {
				return err
			}
		}
		if err := tx.Exec(`DELETE FROM web_sessions WHERE expires_at <= ? OR seen_at <= ?`,
			now.UnixMilli(), now.Add(-st.idle).UnixMilli()).Error; err != nil {
			return err
		}
		err := tx.Exec(`INSERT INTO web_sessions (id_hash, user_name, display_name, role, account_id, created_at, seen_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, hashToken(token), id.Name, id.DisplayName, string(id.Role()), id.AccountID,
			now.UnixMilli(), now.UnixMilli(), now.Add(st.lifetime).UnixMilli()).Error
		if err != nil {
			return err
		}
		return rec.Run(tx)
	})
	if err != nil {
		return "", fmt.Errorf("web: start session for %s: %w", id.Name, err)
	}
	return token, nil
}

// lookup returns the live session whose secret is token, or nil. An
// expired session is deleted; a live one is marked as seen now.
func (st *sessionStore) lookup(ctx context.Context, token string) (*session, error) {
	if token == "" {
		return nil, nil
	}
	h := hashToken(token)
	var rows []struct {
		UserName    string
		DisplayName string
		Role        string
		AccountID   string
		CreatedAt   int64
		SeenAt      int64
		ExpiresAt   int64
	}
	err := st.db.WithContext(ctx).Raw(`SELECT user_name, display_name, role, account_id, created_at, seen_at, expires_at
		FROM web_sessions WHERE id_hash = ?`, h).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("web: look up session: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	row, now := rows[0], st.now()
	seen := time.UnixMilli(row.SeenAt)
	if now.UnixMilli() >= row.ExpiresAt || now.Sub(seen) >= st.idle {
		if err := st.delete(ctx, h); err != nil {
			return nil, err
		}
		return nil, nil
	}
	sess := &session{hash: h, User: row.UserName, DisplayName: row.DisplayName, Role: directory.Role(row.Role),
		SignedIn: time.UnixMilli(row.CreatedAt), accountID: row.AccountID}
	if now.Sub(seen) >= st.touchEvery() {
		if !st.recheck(ctx, sess) {
			return nil, st.delete(ctx, h)
		}
		if err := st.db.WithContext(ctx).Exec(`UPDATE web_sessions SET seen_at = ?, role = ? WHERE id_hash = ?`,
			now.UnixMilli(), string(sess.Role), h).Error; err != nil {
			return nil, fmt.Errorf("web: touch session: %w", err)
		}
	}
	return sess, nil
}

// recheck asks the directory about sess's user again and takes its role
// from the answer; it reports false when the user is gone or disabled,
// and the session must end. A session's role was read at sign-in, so an
// administrator the directory disabled or demoted kept the console's
// powers for as long as the session was used. A directory that cannot
// answer leaves the session as it is, until the next touch.
func (st *sessionStore) recheck(ctx context.Context, sess *session) bool {
	if st.dir == nil {
		return true
	}
	id, err := st.dir.Lookup(ctx, sess.User)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return false
	case err != nil:
		return true
	case id.Disabled:
		return false
	case !strings.EqualFold(id.Name, sess.User):
		// Found by another's employee number: the user is gone.
		return false
	case sess.accountID != "" && id.AccountID != "" && id.AccountID != sess.accountID:
		// The name is another account's now (a leaver's login given to
		// a newcomer): the leaver's session must not become theirs.
		return false
	}
	sess.Role = id.Role()
	return true
}

// end deletes the session whose secret is token.
func (st *sessionStore) end(ctx context.Context, token string) error {
	return st.delete(ctx, hashToken(token))
}

func (st *sessionStore) delete(ctx context.Context, h string) error {
	if err := st.db.WithContext(ctx).Exec(`DELETE FROM web_sessions WHERE id_hash = ?`, h).Error; err != nil {
		return fmt.Errorf("web: end session: %w", err)
	}
	return nil
}

// endOthers ends every console session of sess's user but sess itself,
// as after a password change.
func (st *sessionStore) endOthers(ctx context.Context, sess *session) error {
	err := st.db.WithContext(ctx).Exec(`DELETE FROM web_sessions WHERE user_name = ? AND id_hash <> ?`,
		sess.User, sess.hash).Error
	if err != nil {
		return fmt.Errorf("web: end other sessions of %s: %w", sess.User, err)
	}
	return nil
}

// EndUserSessions signs user out of the console everywhere, for a user
// disabled or removed, and returns how many sessions ended. db is the
// database the console keeps its sessions in.
func EndUserSessions(ctx context.Context, db *database.DB, user string) (int64, error) {
	res := db.WithContext(ctx).Exec(`DELETE FROM web_sessions WHERE user_name = ?`, user)
	if res.Error != nil {
		return 0, fmt.Errorf("web: end sessions of %s: %w", user, res.Error)
	}
	return res.RowsAffected, nil
}

// SessionUsers returns every user name that has a console session, for a
// leaver's cleanup to find the stored spelling of a name the directory no
// longer knows. db is the database the console keeps its sessions in.
func SessionUsers(ctx context.Context, db *database.DB) ([]string, error) {
	var names []string
	if err := db.WithContext(ctx).Raw(`SELECT DISTINCT user_name FROM web_sessions`).Scan(&names).Error; err != nil {
		return nil, fmt.Errorf("web: users of sessions: %w", err)
	}
	return names, nil
}

// Session cookie names. Over TLS the __Host- prefix makes the browser
// refuse the cookie unless it is Secure, host-only and for path "/", so
// neither a plain-HTTP page nor a sibling host can plant one.
const (
	cookiePlain  = "printgate_session"
	cookieSecure = "__Host-printgate_session"
)

// secure reports whether r's cookies are to be Secure.
func (s *server) secure(r *http.Request) bool { return s.opts.Secure || r.TLS != nil }

func (s *server) cookieName(r *http.Request) string {
	if s.secure(r) {
		return cookieSecure
	}
	return cookiePlain
}

// sessionToken returns the session secret r carries, or "".
func (s *server) sessionToken(r *http.Request) string {
	c, err := r.Cookie(s.cookieName(r))
	if err != nil {
		return ""
	}
	return c.Value
}

// setSessionCookie hands the browser token. It is a browser-session
// cookie: the server enforces the timeouts, and closing the browser ends
// it too.
func (s *server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: token, Path: "/",
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}

func (s *server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(r), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
}
