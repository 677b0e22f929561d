package database_test

import (
	"bytes"
	"context"
	"database/sql"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// TestPgArgs: PgArgs.Exec writes what database/sql would, value for
// value (NULLs, empty strings and bytes, arrays, times, a large bytea
// after small arguments and small ones after it), on a *sql.DB and on a
// *sql.Conn, statement after statement with the same buffers.
func TestPgArgs(t *testing.T) {
	ctx := context.Background()
	sqlDB, conn := pgConn(t)
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE pgargs
		(n BIGINT, s TEXT, b BYTEA, ok BOOLEAN, at TIMESTAMPTZ, names TEXT[], ids BIGINT[])`); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 9, 30, 0, 123456000, time.UTC)
	big := bytes.Repeat([]byte{0, 1, 0xff, 'x'}, 64<<10)
	const insert = `INSERT INTO pgargs (n, s, b, ok, at, names, ids) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	rows0 := [][]any{
		{int64(1), "bob", []byte("doc"), true, at, []string{"a", "b"}, []int64{7, 8}},
		{int64(2), "", []byte{}, false, at, []string{}, []int64{}},
		{nil, nil, nil, nil, nil, nil, nil},
		{int64(-4), "ünïcode 名前", big, true, at.Add(time.Hour), []string{"x"}, []int64{1}},
		{int64(5), "after the big one", []byte("small"), false, at, []string{""}, []int64{0}},
	}
	var a database.PgArgs
	// The table is the connection's own (TEMP); each statement on the
	// pool takes whichever connection it is given.
	for _, r := range rows0 {
		if err := a.Exec(ctx, conn, insert, r...); err != nil {
			t.Fatalf("on a connection, %v: %v", r[0], err)
		}
		if err := a.Exec(ctx, sqlDB, `SELECT 1 WHERE $1::bigint IS NULL OR $1::bigint <> 0`, r[0]); err != nil {
			t.Fatalf("on the pool: %v", err)
		}
	}
	dump := func() string {
		t.Helper()
		rows, err := conn.QueryContext(ctx, `SELECT n, s, md5(b), length(b), ok, at, names, ids FROM pgargs ORDER BY n NULLS FIRST`)
		if err != nil {
			t.Fatal(err)
		}
		s, n := testenv.DumpRows(t, rows)
		if n != len(rows0) {
			t.Fatalf("%d rows, want %d", n, len(rows0))
		}
		return s
	}
	want := dump()
	if _, err := conn.ExecContext(ctx, `TRUNCATE pgargs`); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows0 {
		if _, err := conn.ExecContext(ctx, insert, r...); err != nil {
			t.Fatal(err)
		}
	}
	if got := dump(); got != want {
		t.Errorf("PgArgs wrote\n%s\ndatabase/sql wrote\n%s", want, got)
	}
	if err := a.Exec(ctx, conn, insert, int64(1)); err == nil {
		t.Error("a statement given too few arguments ran")
	}
	if err := a.Exec(ctx, conn, `INSERT INTO pgargs (n) VALUES ($1)`, "not a number"); err == nil {
		t.Error("a text that is no number went into a BIGINT")
	}
	// A value pgx cannot encode is named by its type, never quoted.
	secret := struct{ PIN string }{"4821-secret"}
	if err := a.Exec(ctx, conn, `INSERT INTO pgargs (s) VALUES ($1)`, secret); err == nil || strings.Contains(err.Error(), secret.PIN) {
		t.Errorf("an argument that does not encode: %v", err)
	}
	if err := a.Exec(ctx, conn, insert, rows0[0]...); err != nil {
		t.Errorf("after errors: %v", err)
	}
}

// TestPgArgsKeepsBuffers: a statement with a large argument, run again,
// allocates about one copy of it (pgx's message to the server), not the
// copies of buffers grown anew for each statement that database/sql's
// path makes.
func TestPgArgsKeepsBuffers(t *testing.T) {
	_, conn := pgConn(t)
	doc := bytes.Repeat([]byte("sealed document "), 32<<10) // 512 KiB
	small := make([]any, 200)
	for i := range small {
		small[i] = int64(i)
	}
	args := append(small, doc)
	q := `SELECT length($201::bytea) + $1::bigint`
	for i := 2; i <= 200; i++ {
		q += " + $" + strconv.Itoa(i) + "::bigint"
	}
	perRun := allocatedPerExec(t, conn, q, args)
	t.Logf("%d bytes allocated a run, for a %d-byte argument", perRun, len(doc))
	if limit := uint64(len(doc)) * 3 / 2; perRun > limit {
		t.Errorf("a statement with a %d-byte argument allocated %d bytes a run; want at most %d", len(doc), perRun, limit)
	}
}

// TestPgArgsBindGrowsOnce: a statement of many arguments of a few hundred
// bytes each (a batch's rows and events), none large, allocates about one
// copy of them: pgx's buffer for the message, made its size once rather
// than grown from 1 KiB a quarter at a time.
func TestPgArgsBindGrowsOnce(t *testing.T) {
	_, conn := pgConn(t)
	const n = 300
	args := make([]any, n)
	terms := make([]string, n)
	size := 0
	for i := range args {
		v := strings.Repeat(strconv.Itoa(i%10), 200)
		args[i], terms[i], size = v, "length($"+strconv.Itoa(i+1)+"::text)", size+len(v)
	}
	q := "SELECT " + strings.Join(terms, " + ")
	perRun := allocatedPerExec(t, conn, q, args)
	t.Logf("%d bytes allocated a run, for %d bytes of arguments", perRun, size)
	if limit := uint64(size) * 2; perRun > limit {
		t.Errorf("a statement of %d bytes of arguments allocated %d bytes a run; want at most %d", size, perRun, limit)
	}
}

// allocatedPerExec returns the bytes one PgArgs.Exec of q with args
// allocates on conn, once its buffers have grown.
func allocatedPerExec(t *testing.T, conn *sql.Conn, q string, args []any) uint64 {
	t.Helper()
	ctx := context.Background()
	var a database.PgArgs
	for range 3 {
		if err := a.Exec(ctx, conn, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const runs = 5
	for range runs {
		if err := a.Exec(ctx, conn, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}
