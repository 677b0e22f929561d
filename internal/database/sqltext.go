package database

import (
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
}

type insertKey struct {
	table, suffix string
	rows          int
}

// NewTexts returns the texts of dialect d.
func NewTexts(d Dialect) *Texts {
	return &Texts{dialect: d, inserts: make(map[insertKey]string)}
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
