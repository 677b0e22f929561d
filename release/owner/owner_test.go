package owner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release/directory"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		fold, strip bool
		in, want    string
	}{
		{true, true, "HANAKO", "hanako"},
		{true, true, `CORP\hanako`, "hanako"},
		{true, true, `corp.example\Hanako`, "hanako"},
		{true, true, "hanako@corp.example", "hanako"},
		{true, true, `CORP\Hanako@corp.example`, "hanako"},
		{true, true, "  hanako ", "hanako"},
		{true, true, `CORP\`, ""},
		{true, true, "@corp", "@corp"},
		{true, true, "山田", "山田"},
		{false, true, `CORP\Hanako`, "Hanako"},
		{true, false, `CORP\Hanako`, `corp\hanako`},
		{false, false, "Hanako@corp.example", "Hanako@corp.example"},
	}
	for _, tt := range tests {
		m := &Mapper{opts: Options{FoldCase: tt.fold, StripDomain: tt.strip}}
		if got := m.Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) fold=%v strip=%v = %q, want %q", tt.in, tt.fold, tt.strip, got, tt.want)
		}
	}
}

func migrate(ctx context.Context, db *database.DB) error {
	if err := directory.Migrate(ctx, db); err != nil {
		return err
	}
	return Migrate(ctx, db)
}

// builtinWith returns the built-in directory on db with users added.
func builtinWith(t *testing.T, db *database.DB, users ...string) *directory.Builtin {
	t.Helper()
	h, err := secret.NewHasher([]byte("0123456789abcdef0123456789abcdef"), secret.Params{Memory: 64, Time: 1, Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := directory.NewBuiltin(db, h)
	for i, u := range users {
		err := b.AddUser(t.Context(), directory.User{Name: u, EmployeeNumber: fmt.Sprint(100 + i)}, u+"-secret", nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func newMapper(t *testing.T, opts Options) *Mapper {
	t.Helper()
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMap: claimed names map to the directory's user through their case,
// domain and the alias table; the directory's own names come first;
// employee numbers and aliases of users who left map to nobody.
func TestMap(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		dir := builtinWith(t, db, "Hanako", "taro", "bob")
		m := newMapper(t, Options{FoldCase: true, StripDomain: true, Directory: dir, DB: db})
		if _, err := m.AddAlias(ctx, `CORP\HK`, "hanako", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := m.AddAlias(ctx, "gone", "bob", nil); err != nil {
			t.Fatal(err)
		}
		if err := dir.DeleteUser(ctx, "bob", nil); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			claimed string
			want    Owner
		}{
			{"HANAKO", Owner{Name: "Hanako", Known: true}},
			{`CORP\hanako`, Owner{Name: "Hanako", Known: true}},
			{"hanako@corp.example", Owner{Name: "Hanako", Known: true}},
			{"hk", Owner{Name: "Hanako", Known: true, Alias: true}},
			{"HK@corp.example", Owner{Name: "Hanako", Known: true, Alias: true}},
			{"Taro", Owner{Name: "taro", Known: true}},
			{"100", Owner{Name: "100"}}, // Hanako's employee number
			{"Root", Owner{Name: "root"}},
			{"gone", Owner{Name: "gone"}},
			{"", Owner{}},
		}
		for _, tt := range tests {
			got, err := m.Map(ctx, tt.claimed)
			if err != nil || got != tt.want {
				t.Errorf("Map(%q) = %+v, %v; want %+v", tt.claimed, got, err, tt.want)
			}
		}
	})
}

// TestAliasErrors: an alias may not take a directory user's own name,
// must name a directory user, is one per login, and removing a missing
// one says so.
func TestAliasErrors(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		m := newMapper(t, Options{FoldCase: true, StripDomain: true, Directory: builtinWith(t, db, "hanako", "taro"), DB: db})
		if _, err := m.AddAlias(ctx, "HK", "HANAKO", nil); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			login, user string
			want        error
		}{
			{"Taro", "hanako", ErrIsUser},
			{`CORP\taro`, "hanako", ErrIsUser},
			{"hk2", "nobody", ErrUnknownUser},
			{"hk@corp", "taro", ErrExists},
			{"", "taro", ErrBadLogin},
			{`CORP\`, "taro", ErrBadLogin},
		} {
			if _, err := m.AddAlias(ctx, tt.login, tt.user, nil); !errors.Is(err, tt.want) {
				t.Errorf("AddAlias(%q, %q) = %v, want %v", tt.login, tt.user, err, tt.want)
			}
		}
		aliases, err := m.Aliases(ctx)
		if err != nil || len(aliases) != 1 || aliases[0].Login != "hk" || aliases[0].User != "hanako" {
			t.Fatalf("Aliases = %+v, %v; want hk → hanako", aliases, err)
		}
		if _, err := m.RemoveAlias(ctx, "nobody", nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("RemoveAlias(nobody) = %v, want ErrNotFound", err)
		}
		if a, err := m.RemoveAlias(ctx, "HK", nil); err != nil || a.User != "hanako" {
			t.Errorf("RemoveAlias(HK) = %+v, %v", a, err)
		}
		if o, _ := m.Map(ctx, "hk"); o.Known {
			t.Errorf("Map(hk) after the alias was removed = %+v", o)
		}
	})
}

// countingDir counts the directory's lookups. While gate is open (not
// nil and not closed), each waits for it to close or for its context;
// the first closes entered (if not nil) as it begins to wait, and the
// first whose context ends first closes left (if not nil).
type countingDir struct {
	directory.LoginDirectory
	n              atomic.Int32
	gate           chan struct{}
	entered, left  chan struct{}
	onEnter, onEnd sync.Once
}

func (d *countingDir) LookupLogin(ctx context.Context, login string) (directory.Identity, error) {
	d.n.Add(1)
	if d.gate != nil {
		if d.entered != nil {
			d.onEnter.Do(func() { close(d.entered) })
		}
		select {
		case <-d.gate:
		case <-ctx.Done():
			if d.left != nil {
				d.onEnd.Do(func() { close(d.left) })
			}
			return directory.Identity{}, ctx.Err()
		}
	}
	return d.LoginDirectory.LookupLogin(ctx, login)
}

// TestMapCache: an answer is kept for the TTL, so repeated jobs of one
// user ask the directory once; an alias added by another process (the
// command line) counts once the TTL has passed; the cache stays within
// MaxEntries whatever names arrive.
func TestMapCache(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		clock := testenv.NewClock()
		dir := &countingDir{LoginDirectory: builtinWith(t, db, "hanako")}
		m := newMapper(t, Options{FoldCase: true, StripDomain: true, Directory: dir, DB: db, Now: clock.Now,
			TTL: 30 * time.Second, MaxEntries: 8})
		for range 5 {
			if o, err := m.Map(ctx, `CORP\Hanako`); err != nil || o.Name != "hanako" {
				t.Fatalf("Map = %+v, %v", o, err)
			}
		}
		if n := dir.n.Load(); n != 1 {
			t.Errorf("5 jobs asked the directory %d times, want 1", n)
		}
		if o, _ := m.Map(ctx, "hk"); o.Known {
			t.Fatalf("Map(hk) = %+v before any alias", o)
		}
		cli := newMapper(t, Options{FoldCase: true, StripDomain: true, Directory: dir, DB: db})
		if _, err := cli.AddAlias(ctx, "hk", "hanako", nil); err != nil {
			t.Fatal(err)
		}
		if o, _ := m.Map(ctx, "hk"); o.Known {
			t.Errorf("Map(hk) within the TTL = %+v, want the kept answer", o)
		}
		clock.Advance(31 * time.Second)
		if o, _ := m.Map(ctx, "hk"); !o.Known || o.Name != "hanako" {
			t.Errorf("Map(hk) after the TTL = %+v, want hanako", o)
		}
		for i := range 100 {
			if _, err := m.Map(ctx, fmt.Sprintf("stranger%d", i)); err != nil {
				t.Fatal(err)
			}
			if n := len(m.cache); n > 8 {
				t.Fatalf("cache holds %d answers, more than MaxEntries 8", n)
			}
		}
	})
}

// TestMapTogether: jobs of one user that miss the cache at once ask the
// directory once between them, and one whose client leaves while it
// waits neither gets an answer nor takes the others' away.
func TestMapTogether(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		dir := &countingDir{LoginDirectory: builtinWith(t, db, "hanako"),
			gate: make(chan struct{}), entered: make(chan struct{})}
		m := newMapper(t, Options{FoldCase: true, Directory: dir, DB: db})
		const jobs = 16
		leaving, leave := context.WithCancel(t.Context())
		errs := make(chan error, jobs)
		var started, done sync.WaitGroup
		started.Add(jobs)
		for i := range jobs {
			ctx := t.Context()
			if i == 0 {
				ctx = leaving
			}
			done.Go(func() {
				started.Done()
				o, err := m.Map(ctx, "Hanako")
				if err == nil && o.Name != "hanako" {
					err = fmt.Errorf("Map = %+v", o)
				}
				errs <- err
			})
		}
		<-dir.entered
		// Every job waits for the lookup before the first one's client
		// leaves: had it been alone, its leaving would rightly have ended
		// the lookup, and the others would have begun another.
		waitForWaiters(t, m, "hanako", jobs)
		leave()
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("the job whose client left: %v, want context.Canceled", err)
		}
		// The lookup ends only once every job has begun to map the name:
		// without one lookup between them, each that reached the
		// directory before an answer was kept has asked it.
		started.Wait()
		close(dir.gate)
		done.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		if n := dir.n.Load(); n != 1 {
			t.Errorf("%d jobs at once asked the directory %d times, want 1", jobs, n)
		}
	})
}

// TestMapLeftAlone: a lookup that its only job's client left ends at
// once, rather than running on for nobody: a client that sends names and
// hangs up leaves no work behind.
func TestMapLeftAlone(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		dir := &countingDir{LoginDirectory: builtinWith(t, db, "hanako"),
			gate: make(chan struct{}), entered: make(chan struct{}), left: make(chan struct{})}
		defer close(dir.gate)
		m := newMapper(t, Options{FoldCase: true, Directory: dir, DB: db})
		ctx, leave := context.WithCancel(t.Context())
		errs := make(chan error, 1)
		go func() {
			_, err := m.Map(ctx, "Hanako")
			errs <- err
		}()
		<-dir.entered
		leave()
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("Map after its client left: %v, want context.Canceled", err)
		}
		select {
		case <-dir.left:
		case <-time.After(10 * time.Second):
			t.Fatal("the lookup went on 10 s after its only job had left")
		}
		m.mu.Lock()
		calls, kept := len(m.calls), len(m.cache)
		m.mu.Unlock()
		if calls != 0 || kept != 0 {
			t.Errorf("after the abandoned lookup: %d lookups under way, %d answers kept; want none", calls, kept)
		}
	})
}

// ldapMapper is a Mapper over srv's directory, with the description
// attribute as further login names (attributes.logins), and aliases in
// a SQLite database of its own.
func ldapMapper(t *testing.T, srv *testenv.LDAP) *Mapper {
	t.Helper()
	d, err := directory.NewLDAP(directory.LDAPConfig{URL: srv.URL, BindDN: srv.ServiceDN, BindPassword: srv.ServicePassword,
		BaseDN: srv.BaseDN, Attributes: directory.LDAPAttributes{Logins: "description"}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	db := testenv.SQLite(t, Migrate)
	m := newMapper(t, Options{FoldCase: true, StripDomain: true, Directory: d, DB: db})
	return m
}

// TestMapLDAP: with attributes.logins, a real slapd makes a further login
// name, sent with a domain and in another case, its user's.
func TestMapLDAP(t *testing.T) {
	srv := testenv.Slapd(t)
	srv.Add(t, "bob", "description", "BobW")
	m := ldapMapper(t, srv)
	for claimed, want := range map[string]Owner{`CORP\BOBW`: {Name: "bob", Known: true}, "bobw@corp.example": {Name: "bob", Known: true},
		"Bob": {Name: "bob", Known: true}, "1002": {Name: "1002"}} {
		if got, err := m.Map(t.Context(), claimed); err != nil || got != want {
			t.Errorf("Map(%q) = %+v, %v; want %+v", claimed, got, err, want)
		}
	}
}

// waitForWaiters waits until n jobs wait for m's lookup of login.
func waitForWaiters(t *testing.T, m *Mapper, login string, n int) {
	t.Helper()
	waiting := func() int {
		m.mu.Lock()
		defer m.mu.Unlock()
		if c := m.calls[login]; c != nil {
			return c.waiters
		}
		return 0
	}
	if !testenv.Eventually(func() bool { return waiting() == n }) {
		t.Fatalf("%d jobs wait for the lookup of %s, want %d", waiting(), login, n)
	}
}

// TestAliasAgainstLogin: a further login name a user puts in their own
// directory entry (attributes.logins) does not take over an alias an
// administrator set for another user: nobody owns the name then.
func TestAliasAgainstLogin(t *testing.T) {
	srv := testenv.Slapd(t)
	m := ldapMapper(t, srv)
	if _, err := m.AddAlias(t.Context(), "hk", "alice", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Map(t.Context(), "hk"); err != nil || got != (Owner{Name: "alice", Known: true, Alias: true}) {
		t.Fatalf("Map(hk) before = %+v, %v", got, err)
	}
	srv.Add(t, "bob", "description", "hk")
	m.forget("hk")
	for _, claimed := range []string{"hk", `CORP\HK`} {
		if got, err := m.Map(t.Context(), claimed); err != nil || got != (Owner{Name: "hk", Conflict: true}) {
			t.Errorf("Map(%q) = %+v, %v; want nobody's, in conflict", claimed, got, err)
		}
	}
	// Bob's own name is still his.
	if got, err := m.Map(t.Context(), "bob"); err != nil || got != (Owner{Name: "bob", Known: true}) {
		t.Errorf("Map(bob) = %+v, %v", got, err)
	}
}
