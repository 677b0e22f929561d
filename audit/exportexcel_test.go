package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
)

// excelDate is the layout Excel's CSV import reads as a date and time.
const excelDate = "2006-01-02 15:04:05"

// readAsExcel reads a CSV file as Excel's import does: a UTF-8 BOM, CRLF
// line ends, RFC 4180 quoting (a quoted cell may hold commas, doubled
// quotes and line ends).
func readAsExcel(t *testing.T, data []byte) [][]string {
	t.Helper()
	body, ok := bytes.CutPrefix(data, []byte("\uFEFF"))
	if !ok {
		t.Fatal("no UTF-8 BOM: Excel would read Japanese as mojibake")
	}
	// Every record ends in CRLF; a bare LF appears only inside a quoted cell.
	if !bytes.HasSuffix(body, []byte("\r\n")) {
		t.Error("the file does not end in CRLF")
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.LazyQuotes = false
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("not CSV as Excel reads it: %v", err)
	}
	for _, rec := range recs {
		if len(rec) != len(recs[0]) {
			t.Fatalf("a row of %d cells under a header of %d", len(rec), len(recs[0]))
		}
	}
	if n := bytes.Count(body, []byte("\r\n")); n < len(recs) {
		t.Errorf("%d CRLF for %d records", n, len(recs))
	}
	return recs
}

// TestExportForExcel: an export in Japanese reads, as Excel's CSV import
// reads it, with Japanese headers, dates it parses in the configured zone
// with a UTC column beside them, numbers as numbers, quoted names intact
// and an empty job ID on events of no job; the bytes are pinned by a
// golden file.
func TestExportForExcel(t *testing.T) {
	eachDialect(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		l := newLog(db, newClock(t0, time.Second))
		awkward := "見積書, \"最終\"\n第2版.pdf"
		jobLife(t, l, db, 1, "alice", awkward)
		ev := submitted(2, "bob", "議事録.pdf")
		ev.Job.ColorMode = "" // asked for no colour mode
		appendTx(t, l, db, ev)
		appendTx(t, l, db, Event{Type: EventExport, Actor: "alice", Details: map[string]string{"format": "csv"}})

		for _, c := range []struct {
			name, golden string
			jobs         bool
			dateCols     []string
			numCols      []string
		}{
			{"events", "export_ja_events.golden.csv", false, []string{"日時", "送信日時"}, []string{"連番", "ジョブID", "サイズ (バイト)", "ページ数", "部数"}},
			{"job records", "export_ja_jobs.golden.csv", true, []string{"送信日時", "リリース日時", "完了日時", "削除日時"}, []string{"ジョブID", "サイズ (バイト)", "ページ数", "部数", "印刷面数", "用紙枚数"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				var buf bytes.Buffer
				if _, err := l.Export(ctx, &buf, Filter{}, Format{Jobs: c.jobs, Lang: "ja"}); err != nil {
					t.Fatal(err)
				}
				recs := readAsExcel(t, buf.Bytes())
				header, rows := recs[0], recs[1:]
				col := func(name string) int {
					i := slices.Index(header, name)
					if i < 0 {
						t.Fatalf("no column %q in %q", name, header)
					}
					return i
				}
				for _, name := range header {
					if strings.Contains(name, "_") {
						t.Errorf("header %q is a column name, not Japanese", name)
					}
				}
				for _, name := range c.dateCols {
					for _, row := range rows {
						cell := row[col(name)]
						if cell == "" {
							continue
						}
						at, err := time.ParseInLocation(excelDate, cell, l.Location())
						if err != nil {
							t.Errorf("%s %q is no date Excel reads: %v", name, cell, err)
						} else if at.Before(t0) || at.After(t0.Add(time.Hour)) {
							t.Errorf("%s %q is not the time of the event", name, cell)
						}
					}
				}
				for _, name := range c.numCols {
					for _, row := range rows {
						if cell := row[col(name)]; cell != "" {
							if _, err := strconv.ParseInt(cell, 10, 64); err != nil {
								t.Errorf("%s %q is no number: %v", name, cell, err)
							}
						}
					}
				}
				first := rows[0]
				if got := first[col("文書名")]; got != awkward {
					t.Errorf("document name %q, want %q", got, awkward)
				}
				timeCol := "日時"
				if c.jobs {
					timeCol = "送信日時"
				}
				local, _ := time.ParseInLocation(excelDate, first[col(timeCol)], l.Location())
				inUTC, err := time.Parse(time.RFC3339Nano, first[col(timeCol+" (UTC)")])
				if err != nil || !inUTC.Equal(local) {
					t.Errorf("UTC column %q is not %s in UTC: %v", first[col(timeCol+" (UTC)")], first[col(timeCol)], err)
				}
				colors := map[string]string{}
				for _, row := range rows {
					if id := row[col("ジョブID")]; id != "" && row[col("カラー")] != "" {
						colors[id] = row[col("カラー")]
					}
				}
				if colors["1"] != "monochrome" || colors["2"] != "unknown" {
					t.Errorf("colour of jobs 1 and 2: %q, %q; want monochrome, unknown", colors["1"], colors["2"])
				}
				if !c.jobs {
					last := rows[len(rows)-1]
					if last[col("種別")] != EventExport || last[col("ジョブID")] != "" {
						t.Errorf("an event of no job has job ID %q, want empty", last[col("ジョブID")])
					}
				}
				golden(t, filepath.Join("testdata", c.golden), buf.Bytes())
			})
		}
	})
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("export differs from %s (run with -update after checking):\n%s", path, got)
	}
}

func TestExportLang(t *testing.T) {
	db := openSQLite(t)
	l := newLog(db, newClock(t0, time.Second))
	if _, err := l.Export(context.Background(), &bytes.Buffer{}, Filter{}, Format{Lang: "fr"}); err == nil ||
		!strings.Contains(err.Error(), "en or ja") {
		t.Errorf("an unknown language: %v", err)
	}
	for _, h := range [][]string{eventHeader, jobHeader} {
		for _, name := range h {
			if jaHeader[name] == "" {
				t.Errorf("column %q has no Japanese name", name)
			}
		}
	}
}
