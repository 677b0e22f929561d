package database

import "testing"

func TestChain(t *testing.T) {
	tx := NewTexts(Postgres)
	cases := []struct {
		qs    []string
		nargs []int
		want  string
	}{
		{[]string{"UPDATE a SET x = $1"}, []int{1}, "UPDATE a SET x = $1"},
		{
			[]string{"INSERT INTO a (x, y) VALUES ($1, $2), ($3, $4)", "INSERT INTO b (z) VALUES ($1)", "UPDATE c SET n = $1 WHERE m = $2"},
			[]int{4, 1, 2},
			"WITH s0 AS (INSERT INTO a (x, y) VALUES ($1, $2), ($3, $4)), s1 AS (INSERT INTO b (z) VALUES ($5)) UPDATE c SET n = $6 WHERE m = $7",
		},
		{[]string{"INSERT INTO a (x) VALUES ($1)", "INSERT INTO b (x) VALUES ($1)"}, []int{1, 1},
			"WITH s0 AS (INSERT INTO a (x) VALUES ($1)) INSERT INTO b (x) VALUES ($2)"},
		{[]string{"SELECT $10, $2", "SELECT $1"}, []int{10, 1}, "WITH s0 AS (SELECT $10, $2) SELECT $11"},
	}
	for _, c := range cases {
		if got := tx.Chain(c.qs, c.nargs); got != c.want {
			t.Errorf("Chain(%q)\n got %s\nwant %s", c.qs, got, c.want)
		}
		if got := tx.Chain(c.qs, c.nargs); got != c.want {
			t.Errorf("Chain(%q) a second time (cached): %s", c.qs, got)
		}
	}
}

func TestInsertRows(t *testing.T) {
	types := []string{"bigint", "text"}
	row := func(n int) []any {
		var args []any
		for i := range n {
			args = append(args, int64(i), string(rune('a'+i)))
		}
		return args
	}
	cases := []struct {
		dialect  Dialect
		rows     int
		wantQ    string
		wantArgs int
	}{
		{SQLite, 2, "INSERT INTO t (n, s) VALUES (?, ?), (?, ?)", 4},
		{SQLite, 9, "INSERT INTO t (n, s) VALUES " + "(?, ?), (?, ?), (?, ?), (?, ?), (?, ?), (?, ?), (?, ?), (?, ?), (?, ?)", 18},
		{Postgres, ArrayRows, "INSERT INTO t (n, s) VALUES ($1, $2), ($3, $4), ($5, $6), ($7, $8), ($9, $10), ($11, $12), ($13, $14), ($15, $16)", 2 * ArrayRows},
		{Postgres, ArrayRows + 1, "INSERT INTO t (n, s) SELECT * FROM unnest($1::bigint[], $2::text[])", 2},
	}
	for _, c := range cases {
		q, args := NewTexts(c.dialect).InsertRows("t", "n, s", types, c.rows, row(c.rows))
		if q != c.wantQ || len(args) != c.wantArgs {
			t.Errorf("%s, %d rows: %q with %d arguments; want %q with %d", c.dialect, c.rows, q, len(args), c.wantQ, c.wantArgs)
		}
	}
	cols := Columns(row(3), 2)
	n, s := cols[0].([]any), cols[1].([]any)
	if len(n) != 3 || len(s) != 3 || n[2] != int64(2) || s[0] != "a" || s[2] != "c" {
		t.Errorf("Columns = %v", cols)
	}
}
