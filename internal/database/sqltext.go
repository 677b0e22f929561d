package database

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Texts writes the SQL of hot statements once per dialect and shape, for
// callers that run them below gorm, straight on a transaction's
// connection: gorm's building of a statement (scanning the text for
// placeholders, looking at each argument by reflection) is work per
// statement that a fixed text does not need, and a text that is the same
// each time is parsed once by a statement cache (stmtConn on SQLite,
// pgx's on PostgreSQL).
type Texts struct {
	dialect Dialect

	mu      sync.Mutex
	inserts map[insertKey]string
	chains  map[string]string
}

type insertKey struct {
	table, suffix string
	rows          int
}

// NewTexts returns the texts of dialect d.
func NewTexts(d Dialect) *Texts {
	return &Texts{dialect: d, inserts: make(map[insertKey]string), chains: make(map[string]string)}
}

// Dialect is the dialect the texts are written in.
func (t *Texts) Dialect() Dialect { return t.dialect }

// Bind writes q's placeholders as the dialect wants them: $1, $2... for
// PostgreSQL. q has no question mark but its placeholders.
func (t *Texts) Bind(q string) string {
	if t.dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := range len(q) {
		if q[i] != '?' {
			b.WriteByte(q[i])
			continue
		}
		n++
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// Insert returns the INSERT of rows rows of ncols columns into table,
// followed by suffix (a RETURNING clause, say).
func (t *Texts) Insert(table, columns string, ncols, rows int, suffix string) string {
	k := insertKey{table, suffix, rows}
	t.mu.Lock()
	defer t.mu.Unlock()
	if q, ok := t.inserts[k]; ok {
		return q
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncols), ", ") + ")"
	q := "INSERT INTO " + table + " (" + columns + ") VALUES " + strings.TrimSuffix(strings.Repeat(row+", ", rows), ", ") + suffix
	q = t.Bind(q)
	t.inserts[k] = q
	return q
}

// InsertRows returns the INSERT into table of rows rows of columns
// (comma-separated, of the types given on PostgreSQL, one each), and its
// arguments, given args, the rows' values one after the other. On
// PostgreSQL more than ArrayRows rows go from one array a column
// (InsertArrays), fewer with a placeholder a value (Insert).
func (t *Texts) InsertRows(table, columns string, types []string, rows int, args []any) (string, []any) {
	if t.dialect == Postgres && rows > ArrayRows {
		return t.InsertArrays(table, columns, types), Columns(args, len(types))
	}
	return t.Insert(table, columns, len(types), rows, ""), args
}

// ArrayRows is the most rows an INSERT on PostgreSQL writes with a
// placeholder a value (InsertRows). Measured on the committer's batches
// (docs/BENCHMARKS.md, "The committer's path"): arrays for every batch
// made 32 clients faster, but one client 7–10 % slower and 8 clients,
// with batches of three or four, 2–8 % slower.
const ArrayRows = 8

// InsertArrays returns, on PostgreSQL, the INSERT into table of columns
// (comma-separated, of the types given, one each) from one array a
// column, $1 to $n, whatever the number of rows (Columns gives the
// arrays): one text for every batch, so one statement prepared, and
// planned, once per connection. A text per number of rows (Insert) made
// each new size of batch pay a round trip to prepare it and five
// plannings of its own, and sent a batch of 20 jobs as over a thousand
// parameters.
func (t *Texts) InsertArrays(table, columns string, types []string) string {
	k := insertKey{table: table, suffix: columns, rows: -1}
	t.mu.Lock()
	defer t.mu.Unlock()
	if q, ok := t.inserts[k]; ok {
		return q
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + columns + ") SELECT * FROM unnest(")
	for i, typ := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d::%s[]", i+1, typ)
	}
	b.WriteString(")")
	q := b.String()
	t.inserts[k] = q
	return q
}

// Columns returns values, rows of ncols values one after the other, as
// ncols columns of one []any each, for InsertArrays. The columns share
// one new array.
func Columns(values []any, ncols int) []any {
	rows := len(values) / ncols
	all := make([]any, len(values))
	cols := make([]any, ncols)
	for c := range ncols {
		col := all[c*rows : (c+1)*rows : (c+1)*rows]
		for r := range rows {
			col[r] = values[r*ncols+c]
		}
		cols[c] = col
	}
	return cols
}

// Chain returns one PostgreSQL statement that runs the statements qs in
// order, every one but the last as a data-modifying WITH query, with
// their arguments in order: one round trip where there were len(qs).
// nargs[i] is the number of placeholders of qs[i], written $1, $2... as
// Bind writes them. The statements must not depend on each other's
// effects: PostgreSQL runs them on one snapshot. The result is the last
// statement's (its rows affected, say).
func (t *Texts) Chain(qs []string, nargs []int) string {
	key := strings.Join(qs, "\x00")
	t.mu.Lock()
	defer t.mu.Unlock()
	if q, ok := t.chains[key]; ok {
		return q
	}
	var b strings.Builder
	offset := 0
	for i, q := range qs {
		switch {
		case i == 0 && len(qs) > 1:
			b.WriteString("WITH ")
		case i < len(qs)-1:
			b.WriteString(", ")
		case len(qs) > 1:
			b.WriteString(" ")
		}
		if i < len(qs)-1 {
			fmt.Fprintf(&b, "s%d AS (", i)
		}
		renumber(&b, q, offset)
		if i < len(qs)-1 {
			b.WriteString(")")
		}
		offset += nargs[i]
	}
	q := b.String()
	t.chains[key] = q
	return q
}

// renumber writes q with each placeholder $n written $(n+offset).
func renumber(b *strings.Builder, q string, offset int) {
	for i := 0; i < len(q); i++ {
		if q[i] != '$' || i+1 == len(q) || q[i+1] < '0' || q[i+1] > '9' {
			b.WriteByte(q[i])
			continue
		}
		j := i + 1
		for j < len(q) && q[j] >= '0' && q[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(q[i+1 : j])
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(n + offset))
		i = j - 1
	}
}

// Chained gathers writes to send to PostgreSQL as one statement
// (Texts.Chain): each text with its placeholders written $1, $2... as
// Bind writes them, and its arguments.
type Chained struct {
	Qs    []string
	NArgs []int
	Args  []any
}

// Add keeps q, with args, as the next write.
func (c *Chained) Add(q string, args ...any) {
	c.Qs = append(c.Qs, q)
	c.NArgs = append(c.NArgs, len(args))
	c.Args = append(c.Args, args...)
}

// AddAll keeps o's writes, with their arguments, after c's.
func (c *Chained) AddAll(o *Chained) {
	c.Qs = append(c.Qs, o.Qs...)
	c.NArgs = append(c.NArgs, o.NArgs...)
	c.Args = append(c.Args, o.Args...)
}

// Len is the number of writes kept.
func (c *Chained) Len() int { return len(c.Qs) }

// Reset forgets the writes, keeping the buffers but no argument.
func (c *Chained) Reset() {
	clear(c.Args[:cap(c.Args)])
	c.Qs, c.NArgs, c.Args = c.Qs[:0], c.NArgs[:0], c.Args[:0]
}
