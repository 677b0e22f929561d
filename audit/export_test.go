package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

const payslip = "2026年11月 給与明細.pdf"

func TestExport(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, time.Second))
		jobLife(t, l, db, 1, "alice", payslip)
		jobLife(t, l, db, 2, "bob", "=HYPERLINK(\"http://evil\")")
		appendTx(t, l, db, Event{Type: EventExport, Actor: "alice", Details: map[string]string{"format": "csv"}})

		cases := []struct {
			name     string
			filter   Filter
			format   Format
			rows     int // data rows
			bom      bool
			decode   func([]byte) []byte
			wantName string
		}{
			{"csv", Filter{User: "alice"}, Format{}, 7, true, nil, payslip},
			{"csv without BOM", Filter{User: "alice"}, Format{NoBOM: true}, 7, false, nil, payslip},
			{"csv shift_jis", Filter{User: "alice"}, Format{ShiftJIS: true}, 7, false, fromShiftJIS, payslip},
			{"csv job records", Filter{User: "alice"}, Format{Jobs: true}, 1, true, nil, payslip},
			{"csv time range", Filter{From: t0.Add(2 * time.Second), To: t0.Add(4 * time.Second)}, Format{}, 2, true, nil, ""},
			{"csv defused formula", Filter{User: "bob", Type: EventSubmitted}, Format{}, 1, true, nil, "'=HYPERLINK(\"http://evil\")"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var buf bytes.Buffer
				n, err := l.Export(ctx, &buf, c.filter, c.format)
				if err != nil {
					t.Fatal(err)
				}
				if n != int64(c.rows) {
					t.Errorf("export says %d rows, want %d", n, c.rows)
				}
				data := buf.Bytes()
				if got := bytes.HasPrefix(data, []byte("\uFEFF")); got != c.bom {
					t.Errorf("BOM present = %v, want %v", got, c.bom)
				}
				data = bytes.TrimPrefix(data, []byte("\uFEFF"))
				if c.decode != nil {
					data = c.decode(data)
				}
				recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
				if err != nil {
					t.Fatalf("read back: %v", err)
				}
				if len(recs) != c.rows+1 {
					t.Fatalf("%d records, want header and %d", len(recs), c.rows)
				}
				header := recs[0]
				col := func(name string) int {
					i := slices.Index(header, name)
					if i < 0 {
						t.Fatalf("no column %q in %v", name, header)
					}
					return i
				}
				for _, rec := range recs[1:] {
					if len(rec) != len(header) {
						t.Fatalf("row of %d cells, header of %d", len(rec), len(header))
					}
				}
				if c.wantName != "" {
					if got := recs[1][col("document_name")]; got != c.wantName {
						t.Errorf("document name %q, want %q", got, c.wantName)
					}
				}
				timeCol := "at"
				if c.format.Jobs {
					timeCol = "submitted"
				}
				// The zone's wall time as a spreadsheet reads it, and the
				// same instant in the UTC column.
				at, err := time.ParseInLocation("2006-01-02 15:04:05", recs[1][col(timeCol)], l.Location())
				if err != nil || at.Before(t0) {
					t.Errorf("time %q: %v", recs[1][col(timeCol)], err)
				}
				atUTC, err := time.Parse(time.RFC3339, recs[1][col(timeCol+"_utc")])
				if err != nil || !atUTC.Truncate(time.Second).Equal(at) {
					t.Errorf("UTC time %q is not %v: %v", recs[1][col(timeCol+"_utc")], at, err)
				}
			})
		}

		t.Run("jsonl", func(t *testing.T) {
			var buf bytes.Buffer
			n, err := l.Export(ctx, &buf, Filter{}, Format{Encoding: JSONL})
			if err != nil || n != 13 {
				t.Fatalf("export: %d rows, %v", n, err)
			}
			sc := bufio.NewScanner(&buf)
			var seqs []int64
			for sc.Scan() {
				var ev eventExport
				if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				seqs = append(seqs, ev.Seq)
				if ev.Seq == 1 && (ev.Job == nil || ev.Job.DocumentName != payslip || !strings.HasSuffix(ev.Job.Submitted, "+09:00")) {
					t.Errorf("first event's job: %+v", ev.Job)
				}
				if len(ev.Hash) != 64 || len(ev.PrevHash) != 64 {
					t.Errorf("event %d hashes %q %q", ev.Seq, ev.PrevHash, ev.Hash)
				}
			}
			if len(seqs) != 13 || !slices.IsSorted(seqs) {
				t.Errorf("sequences %v", seqs)
			}
		})
		t.Run("jsonl job records", func(t *testing.T) {
			var buf bytes.Buffer
			if _, err := l.Export(ctx, &buf, Filter{}, Format{Encoding: JSONL, Jobs: true}); err != nil {
				t.Fatal(err)
			}
			var recs []jobExport
			for line := range strings.Lines(buf.String()) {
				var r jobExport
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatal(err)
				}
				recs = append(recs, r)
			}
			if len(recs) != 2 || recs[0].DocumentName != payslip || recs[0].Outcome != EventPrinted || recs[0].Impressions != 6 {
				t.Errorf("records %+v", recs)
			}
		})
	})
}

func fromShiftJIS(b []byte) []byte {
	out, _, err := transform.Bytes(japanese.ShiftJIS.NewDecoder(), b)
	if err != nil {
		panic(err)
	}
	return out
}

func TestExportShiftJISReplacesUnsupported(t *testing.T) {
	db := openSQLite(t)
	l := newLog(db, newClock(t0, time.Second))
	appendTx(t, l, db, submitted(1, "alice", "𠮷野家 🍚.pdf"))
	var buf bytes.Buffer
	x, err := l.ExportCounted(context.Background(), &buf, Filter{}, Format{ShiftJIS: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(fromShiftJIS(buf.Bytes())); !strings.Contains(got, ",?野家 ?.pdf,") {
		t.Errorf("characters Shift_JIS lacks are not written as ?: %q", got)
	}
	if x.Replaced != 2 || x.Rows != 1 {
		t.Errorf("export says %d rows, %d replaced; want 1 and 2", x.Rows, x.Replaced)
	}
}

func TestExportBadFormat(t *testing.T) {
	db := openSQLite(t)
	l := newLog(db, newClock(t0, time.Second))
	if _, err := l.Export(context.Background(), io.Discard, Filter{}, Format{Encoding: "xml"}); err == nil {
		t.Error("unknown format accepted")
	}
	if _, err := ParseEncoding("xml"); err == nil {
		t.Error("ParseEncoding accepted xml")
	}
}
