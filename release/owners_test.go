package release

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/owner"
)

// TestAssignOwnerByName: a held job of an unknown owner is assigned to
// the user an administrator names, found by that name only: "300145",
// the employee number of ysato and nobody's name, assigns it to nobody.
func TestAssignOwnerByName(t *testing.T) {
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		if err := errors.Join(directory.Migrate(ctx, db), owner.Migrate(ctx, db)); err != nil {
			t.Fatal(err)
		}
		b := directory.NewBuiltin(db, testHasherFor(t))
		if err := b.AddUser(ctx, directory.User{Name: "ysato", EmployeeNumber: "300145"}, "ysato-secret", nil); err != nil {
			t.Fatal(err)
		}
		owners, err := owner.New(owner.Options{Directory: b, DB: db})
		if err != nil {
			t.Fatal(err)
		}
		svc, _ := startService(t, db, Options{Directory: b, Owners: owners, Queues: []Queue{{Name: "secure",
			Mode: Hold, Auth: AuthRequestingUserName, UnknownOwner: HoldUnknown}}})
		j, err := svc.IPP().PrintJob(ctx, ipp.JobRequest{Queue: "secure", User: "root", ClaimedUser: "root",
			Name: "orphan", Document: ipp.DocumentInfo{Format: "application/pdf"}},
			bytes.NewReader(testdocs.PDF(1, "orphan", testdocs.A4)))
		if err != nil {
			t.Fatal(err)
		}
		id := int64(j.ID)
		if _, err := svc.Admin().AssignOwner(ctx, id, "300145", "admin"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("assign to an employee number: %v, want directory.ErrNotFound", err)
		}
		got, err := svc.Admin().AssignOwner(ctx, id, "YSATO", "admin")
		if err != nil || got.Owner != "ysato" {
			t.Errorf("assign to YSATO: owner %q, %v; want ysato", got.Owner, err)
		}
	})
}

// TestClaimedUserMasked: the requesting-user-name a client claims reaches
// the job's row, its events and record like the job's names, and is
// masked like them where it holds an individual number: as the claimed
// user, and as the owner of a job nobody is known as. The directory is
// asked about the name as sent: a login that looks like a number keeps
// its owner.
func TestClaimedUserMasked(t *testing.T) {
	const number, masked = "u123456789018", "u************"
	testenv.EachDB(t, Migrate, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		if err := errors.Join(directory.Migrate(ctx, db), owner.Migrate(ctx, db)); err != nil {
			t.Fatal(err)
		}
		b := directory.NewBuiltin(db, testHasherFor(t))
		if err := b.AddUser(ctx, directory.User{Name: "taro"}, "taro-secret", nil); err != nil {
			t.Fatal(err)
		}
		owners, err := owner.New(owner.Options{Directory: b, DB: db})
		if err != nil {
			t.Fatal(err)
		}
		svc, log := startService(t, db, Options{Directory: b, Owners: owners, Queues: []Queue{{Name: "secure",
			Mode: Hold, Auth: AuthRequestingUserName, UnknownOwner: HoldUnknown}}})
		print := func() Job {
			t.Helper()
			ij, err := svc.IPP().PrintJob(ctx, ipp.JobRequest{Queue: "secure", User: number, ClaimedUser: number,
				Name: "x", Document: ipp.DocumentInfo{Format: "application/pdf"}}, bytes.NewReader(testdocs.PDF(1, "x", testdocs.A4)))
			if err != nil {
				t.Fatal(err)
			}
			j, err := svc.load(ctx, "secure", int64(ij.ID))
			if err != nil {
				t.Fatal(err)
			}
			return j
		}
		if j := print(); j.ClaimedUser != masked || j.Owner != masked || !j.OwnerUnknown {
			t.Errorf("unknown sender: claimed %q, owner %q (unknown %v); want both %q", j.ClaimedUser, j.Owner, j.OwnerUnknown, masked)
		}
		if _, err := owners.AddAlias(ctx, number, "taro", nil); err != nil {
			t.Fatal(err)
		}
		if j := print(); j.ClaimedUser != masked || j.Owner != "taro" || j.OwnerUnknown {
			t.Errorf("an alias of taro: claimed %q, owner %q (unknown %v); want %q of taro", j.ClaimedUser, j.Owner, j.OwnerUnknown, masked)
		}
		for ev, err := range log.Events(ctx, audit.Filter{}) {
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(fmt.Sprint(ev), "123456789018") {
				t.Errorf("event %s holds the number: %+v", ev.Type, ev)
			}
		}
	})
}

// TestDisabledOwnerRefused: a job sent under the name of a disabled user
// (a leaver) is refused on a queue that trusts requesting-user-name,
// held or direct: nobody could release it, and a direct queue must not
// print for an account refused everywhere else.
func TestDisabledOwnerRefused(t *testing.T) {
	db := openSQLite(t)
	ctx := t.Context()
	if err := errors.Join(directory.Migrate(ctx, db), owner.Migrate(ctx, db)); err != nil {
		t.Fatal(err)
	}
	b := directory.NewBuiltin(db, testHasherFor(t))
	for _, u := range []string{"jsmith", "hanako"} {
		if err := b.AddUser(ctx, directory.User{Name: u}, u+"-secret", nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.SetDisabled(ctx, "jsmith", true, nil); err != nil {
		t.Fatal(err)
	}
	owners, err := owner.New(owner.Options{Directory: b, DB: db, FoldCase: true})
	if err != nil {
		t.Fatal(err)
	}
	printer := testenv.NewSocketPrinter(t)
	svc, _ := startService(t, db, Options{Directory: b, Owners: owners, Queues: []Queue{
		{Name: "secure", Mode: Hold, Auth: AuthRequestingUserName},
		{Name: "direct", Mode: Direct, Printer: printer.URI(), Auth: AuthRequestingUserName, MyNumber: MyNumberOff}}})
	for _, q := range []string{"secure", "direct"} {
		for _, user := range []string{"jsmith", "JSMITH", "hanako"} {
			_, err := svc.IPP().PrintJob(ctx, ipp.JobRequest{Queue: q, User: user, ClaimedUser: user, Name: "x",
				Document: ipp.DocumentInfo{Format: "application/pdf"}}, bytes.NewReader(testdocs.PDF(1, "x", testdocs.A4)))
			if disabled := user != "hanako"; disabled != errors.Is(err, ErrNotAllowed) {
				t.Errorf("%s as %s: %v; want refused: %v", q, user, err, disabled)
			}
		}
	}
}
