// Package owner decides who owns a print job that arrives under a name
// the client claimed (requesting-user-name): Windows sends "CORP\hanako"
// or "Hanako", a Mac its short name, and the device finds a user's jobs by
// the directory's name. A Mapper turns the claimed name into the
// directory user's canonical name, through the name as it is, the
// directory's further login names and an alias table kept by
// administrators, or says that nobody is known by it.
package owner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/release/directory"
)

// Defaults of Options.
const (
	// DefaultTTL is how long an answer is kept: an alias added or a user
	// created in the directory counts for new jobs within this time.
	DefaultTTL = 30 * time.Second
	// DefaultMaxEntries bounds the answers kept.
	DefaultMaxEntries = 10000
)

// Options configure a Mapper.
type Options struct {
	// FoldCase compares and records names in lower case. Directories
	// match names without regard to case anyway; this decides for
	// aliases and for the names of unknown owners.
	FoldCase bool
	// StripDomain drops a "DOMAIN\" prefix and an "@domain" suffix.
	StripDomain bool
	// Directory knows the users; a directory.LoginDirectory is asked by
	// login name alone, any other by Lookup.
	Directory directory.Directory
	// DB holds the alias table (Migrate).
	DB *database.DB
	// TTL and MaxEntries bound the cache of answers; zero takes the
	// defaults.
	TTL        time.Duration
	MaxEntries int
	// Now is the cache's clock; default time.Now.
	Now func() time.Time
}

// Owner is who a claimed name stands for.
type Owner struct {
	// Name is the directory user's canonical name when Known, else the
	// claimed name as normalised (Mapper.Normalize).
	Name string
	// Known says a directory user was found.
	Known bool
	// Alias says the user was found through the alias table.
	Alias bool
	// Conflict says the directory and the alias table name different
	// users for the claimed name, so that neither is trusted with it.
	Conflict bool
	// Disabled says the user found is disabled (a leaver): known, and
	// owning no new job.
	Disabled bool
}

// Mapper maps claimed names to owners. It is safe for concurrent use.
type Mapper struct {
	opts Options

	mu    sync.Mutex
	cache map[string]cached
	// calls are the lookups under way, by login: the jobs of one user
	// that miss the cache together, a burst just after serve starts or
	// the TTL ends, wait for one lookup between them. Each went to the
	// directory itself: on PostgreSQL 32 clients' first jobs took 16
	// connections, each parsing its first query on a fresh backend, and
	// the slowest waited up to 67 ms instead of 31–33
	// (docs/PERFORMANCE.md).
	calls map[string]*lookupCall
}

// lookupCall is one lookup that jobs wait for. It runs apart from the
// job that began it, whose client may leave while others wait, until
// lookupTimeout or until the last job waiting has left: a client that
// sends names and hangs up leaves no work behind.
type lookupCall struct {
	done  chan struct{} // closed once owner and err are set
	owner Owner
	err   error
	// waiters counts the jobs waiting, under Mapper.mu; cancel ends the
	// lookup.
	waiters int
	cancel  context.CancelFunc
}

// lookupTimeout bounds a lookup that jobs share.
const lookupTimeout = 30 * time.Second

type cached struct {
	owner   Owner
	expires time.Time
}

// New returns a Mapper over opts.
func New(opts Options) (*Mapper, error) {
	if opts.Directory == nil || opts.DB == nil {
		return nil, errors.New("owner: a directory and a database are required")
	}
	opts.TTL = cmp.Or(opts.TTL, DefaultTTL)
	opts.MaxEntries = cmp.Or(opts.MaxEntries, DefaultMaxEntries)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Mapper{opts: opts, cache: make(map[string]cached), calls: make(map[string]*lookupCall)}, nil
}

// Normalize returns name as owners are compared: without surrounding
// space, and as the options say, without its domain and in lower case.
func (m *Mapper) Normalize(name string) string {
	name = strings.TrimSpace(name)
	if m.opts.StripDomain {
		if i := strings.LastIndexByte(name, '\\'); i >= 0 {
			name = name[i+1:]
		}
		if i := strings.IndexByte(name, '@'); i > 0 {
			name = name[:i]
		}
	}
	if m.opts.FoldCase {
		name = strings.ToLower(name)
	}
	return strings.TrimSpace(name)
}

// Map returns the owner claimed stands for. An error (wrapping
// directory.ErrUnavailable, or the database's) means nobody could tell;
// an unknown name is no error but an Owner that is not Known. Answers
// are kept for the TTL, so that the submission path asks the directory
// once per user and period, not once per job.
func (m *Mapper) Map(ctx context.Context, claimed string) (Owner, error) {
	login := m.Normalize(claimed)
	if login == "" {
		return Owner{}, nil
	}
	if o, ok := m.cached(login); ok {
		return o, nil
	}
	c := m.join(ctx, login)
	select {
	case <-c.done:
		return c.owner, c.err
	case <-ctx.Done():
		m.leave(login, c)
		return Owner{}, fmt.Errorf("owner: %s: %w", login, context.Cause(ctx))
	}
}

// join returns the lookup of login under way, or starts one.
func (m *Mapper) join(ctx context.Context, login string) *lookupCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.calls[login]; ok {
		c.waiters++
		return c
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lookupTimeout)
	c := &lookupCall{done: make(chan struct{}), waiters: 1, cancel: cancel}
	m.calls[login] = c
	go m.run(ctx, login, c)
	return c
}

// run looks login up for the jobs waiting on c, and keeps a sure answer.
func (m *Mapper) run(ctx context.Context, login string, c *lookupCall) {
	defer c.cancel()
	o, err := m.lookup(ctx, login)
	if err == nil {
		m.keep(login, o)
	}
	m.mu.Lock()
	if m.calls[login] == c {
		delete(m.calls, login)
	}
	m.mu.Unlock()
	c.owner, c.err = o, err
	close(c.done)
}

// leave takes a job whose client left off c, and ends the lookup if it
// was the last one waiting.
func (m *Mapper) leave(login string, c *lookupCall) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c.waiters--
	if c.waiters > 0 {
		return
	}
	c.cancel()
	if m.calls[login] == c {
		delete(m.calls, login)
	}
}

// lookup asks the directory for login, then the alias table. Where both
// answer, with different users, nobody owns login: a further login name
// in the directory (attributes.logins) may be one its user can write, and
// must not take over an alias an administrator set, nor an alias a login
// the directory gave someone later.
func (m *Mapper) lookup(ctx context.Context, login string) (Owner, error) {
	id, err := m.find(ctx, login)
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		return Owner{}, fmt.Errorf("owner: %s: %w", login, err)
	}
	user, ok, aerr := m.aliasOf(ctx, login)
	switch {
	case aerr != nil:
		return Owner{}, aerr
	case err == nil && ok && !strings.EqualFold(user, id.Name):
		return Owner{Name: login, Conflict: true}, nil
	case err == nil:
		return Owner{Name: id.Name, Known: true, Disabled: id.Disabled}, nil
	case !ok:
		return Owner{Name: login}, nil
	}
	id, err = m.find(ctx, user)
	switch {
	case err == nil:
		return Owner{Name: id.Name, Known: true, Alias: true, Disabled: id.Disabled}, nil
	case errors.Is(err, directory.ErrNotFound):
		// The alias points at a user who has left: nobody owns it.
		return Owner{Name: login}, nil
	}
	return Owner{}, fmt.Errorf("owner: %s: %w", login, err)
}

// find asks the directory for a user by login name.
func (m *Mapper) find(ctx context.Context, login string) (directory.Identity, error) {
	return directory.FindLogin(ctx, m.opts.Directory, login)
}

func (m *Mapper) cached(login string) (Owner, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cache[login]
	if !ok || !m.opts.Now().Before(c.expires) {
		return Owner{}, false
	}
	return c.owner, true
}

// keep remembers o for login; a full cache first drops what has
// expired, and if nothing has, everything: memory stays bounded whatever
// names clients send.
func (m *Mapper) keep(login string, o Owner) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Now()
	if len(m.cache) >= m.opts.MaxEntries {
		for k, c := range m.cache {
			if !now.Before(c.expires) {
				delete(m.cache, k)
			}
		}
		if len(m.cache) >= m.opts.MaxEntries {
			clear(m.cache)
		}
	}
	m.cache[login] = cached{owner: o, expires: now.Add(m.opts.TTL)}
}

// forget drops what is kept for login.
func (m *Mapper) forget(login string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.cache, login)
}
