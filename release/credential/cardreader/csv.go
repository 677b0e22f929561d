package cardreader

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits of a file of cards to import (ReadCSV).
const (
	// MaxCSVBytes bounds the file: 100,000 lines of a long name, a
	// 25-digit UID and a format fit.
	MaxCSVBytes = 16 << 20
	// MaxCSVLines bounds the cards of one import.
	MaxCSVLines = 100_000
	// maxUserName bounds the user column.
	maxUserName = 256
)

// ErrBadCSV is a file of cards ReadCSV cannot read at all.
var ErrBadCSV = errors.New("cardreader: bad card file")

// Line is one card of a file of cards. Nothing of a refused line is
// kept: its columns may be mixed up, with the UID where the user should
// be.
type Line struct {
	// N is the line's number in the file, from 1.
	N int
	// User is the user column as written; "" when Err is set.
	User string
	// UID is the card's canonical UID; "" when Err is set.
	UID string
	// Err says why the line is refused. It never contains the UID.
	Err error
}

// ReadCSV reads a file of cards to enrol: lines of user, card UID and
// optionally the reader format the UID is written in (else def). A first
// line whose first column is "user" is a header; lines starting with '#'
// are comments. A line that cannot be read has Err set; a file past the
// limits, or one that is not CSV, is ErrBadCSV and no lines.
func ReadCSV(r io.Reader, def Format) ([]Line, error) {
	lr := &io.LimitedReader{R: r, N: MaxCSVBytes + 1}
	cr := csv.NewReader(lr)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	cr.ReuseRecord = true
	var lines []Line
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if lr.N <= 0 {
			return nil, fmt.Errorf("%w: larger than %d MiB", ErrBadCSV, MaxCSVBytes>>20)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadCSV, csvError(err))
		}
		n, _ := cr.FieldPos(0)
		if first && strings.EqualFold(strings.TrimSpace(rec[0]), "user") {
			continue
		}
		if len(lines) == MaxCSVLines {
			return nil, fmt.Errorf("%w: more than %d cards", ErrBadCSV, MaxCSVLines)
		}
		lines = append(lines, readLine(n, rec, def))
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrBadCSV, MaxCSVBytes>>20)
	}
	return lines, nil
}

func readLine(n int, rec []string, def Format) Line {
	l := Line{N: n}
	if len(rec) < 2 || len(rec) > 3 {
		l.Err = fmt.Errorf("want user, card UID and optionally a reader format; found %d columns", len(rec))
		return l
	}
	user := strings.TrimSpace(rec[0])
	if user == "" || len(user) > maxUserName {
		l.Err = fmt.Errorf("the user must be 1 to %d bytes", maxUserName)
		return l
	}
	format := def
	if len(rec) == 3 && strings.TrimSpace(rec[2]) != "" {
		f, err := Parse(rec[2])
		if err != nil {
			// Not Parse's message, which repeats the column: a file
			// with its columns mixed up would have the UID there.
			l.Err = fmt.Errorf("%w in the third column: %s", ErrBadFormat, syntaxHint)
			return l
		}
		format = f
	}
	uid, err := format.Normalize(rec[1])
	if err != nil {
		l.Err = fmt.Errorf("card UID, read as %s: %w", format, err)
		return l
	}
	l.User, l.UID = user, uid
	return l
}

// csvError is err without what the file holds: a parse error's line and
// column, and its kind.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d, column %d: %w", pe.Line, pe.Column, pe.Err)
	}
	return err
}
