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
