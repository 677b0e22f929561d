package ipp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/ipp"
)

// listBackend holds jobs 1..n on queue "q" and answers Jobs as release
// does: by ID, honouring Limit and After, with only the fields asked for.
// Every other verb is refused.
type listBackend struct {
	ipp.Backend
	n     int
	calls []ipp.JobQuery
	fail  int // the call (1-based) that fails; 0: none
}

func (b *listBackend) Printer(_ context.Context, name string) (ipp.Printer, error) {
	if name != "q" {
		return ipp.Printer{}, ipp.ErrNotFound
	}
	return ipp.Printer{Name: "q", Hold: true, Accepting: true, Formats: []string{"application/pdf"},
		MaxSize: 1 << 20, Auth: "requesting-user-name"}, nil
}

func (b *listBackend) Authenticate(context.Context, *http.Request, ipp.Printer) (ipp.Principal, error) {
	return ipp.Principal{Addr: "127.0.0.1"}, nil
}

func (b *listBackend) Jobs(_ context.Context, q ipp.JobQuery) iter.Seq2[ipp.Job, error] {
	b.calls = append(b.calls, q)
	return func(yield func(ipp.Job, error) bool) {
		if len(b.calls) == b.fail {
			yield(ipp.Job{}, errors.New("database gone"))
			return
		}
		for id, n := q.After+1, 0; id <= b.n && (q.Limit == 0 || n < q.Limit); id, n = id+1, n+1 {
			j := ipp.Job{ID: id, Queue: "q", Name: fmt.Sprint("job ", id), Owner: "alice",
				State: ipp.JobHeld, Size: 4000, Pages: 3, Copies: 2}
			if !yield(j.Only(q.Fields), nil) {
				return
			}
		}
	}
}

// getJobs sends Get-Jobs with limit (0: none) for the attributes
// requested (job-id if none) and returns the reply.
func getJobs(t *testing.T, srv http.Handler, limit int, requested ...string) *goipp.Message {
	t.Helper()
	m := goipp.NewRequest(goipp.DefaultVersion, goipp.OpGetJobs, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String("ipp://127.0.0.1/ipp/print/q")))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String("alice")))
	if limit > 0 {
		m.Operation.Add(goipp.MakeAttribute("limit", goipp.TagInteger, goipp.Integer(limit)))
	}
	if len(requested) == 0 {
		requested = []string{"job-id"}
	}
	ra := goipp.Attribute{Name: "requested-attributes"}
	for _, r := range requested {
		ra.Values.Add(goipp.TagKeyword, goipp.String(r))
	}
	m.Operation.Add(ra)
	body, err := m.EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/ipp/print/q", bytes.NewReader(body))
	req.Header.Set("Content-Type", goipp.ContentType)
	req.RemoteAddr = "127.0.0.1:631"
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	raw, _ := io.ReadAll(rec.Body)
	if n := rec.Result().ContentLength; n != int64(len(raw)) {
		t.Errorf("Content-Length %d, body %d bytes", n, len(raw))
	}
	var reply goipp.Message
	if err := reply.DecodeBytes(raw); err != nil {
		t.Fatalf("reply does not decode: %v", err)
	}
	return &reply
}

// TestGetJobsPages lists queues longer than a page: every job once, in
// order, the server's limit applied with its message, and the Backend
// asked a page at a time rather than for everything.
func TestGetJobsPages(t *testing.T) {
	const page = ipp.JobsPage
	for _, tc := range []struct {
		name          string
		jobs, limit   int // limit: the server's (0: none)
		clientLimit   int
		want          int
		cut           bool
		maxCalls      int
		statusMessage string
	}{
		{name: "empty", jobs: 0, want: 0, maxCalls: 1},
		{name: "one page", jobs: 20, want: 20, maxCalls: 1},
		{name: "no limit, many pages", jobs: 2*page + 234, want: 2*page + 234, maxCalls: 3},
		{name: "exactly two pages", jobs: 2 * page, want: 2 * page, maxCalls: 3},
		{name: "server limit cuts", jobs: 2*page + 234, limit: page + 200, want: page + 200, cut: true, maxCalls: 2,
			statusMessage: fmt.Sprintf("Only the first %d jobs are listed.", page+200)},
		{name: "server limit not reached", jobs: page + 100, limit: page + 200, want: page + 100, maxCalls: 2},
		{name: "server limit exactly met", jobs: page + 200, limit: page + 200, want: page + 200, maxCalls: 2},
		{name: "client limit", jobs: 2*page + 234, limit: 0, clientLimit: page + 1, want: page + 1, maxCalls: 2,
			statusMessage: "successful-ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &listBackend{n: tc.jobs}
			srv := ipp.NewServer(b, nil, ipp.WithJobsListLimit(tc.limit))
			reply := getJobs(t, srv, tc.clientLimit)
			if goipp.Status(reply.Code) != goipp.StatusOk {
				t.Fatalf("status %s", goipp.Status(reply.Code))
			}
			var ids []int
			for _, g := range reply.Groups {
				if g.Tag != goipp.TagJobGroup {
					continue
				}
				for _, a := range g.Attrs {
					if a.Name == "job-id" {
						ids = append(ids, int(a.Values[0].V.(goipp.Integer)))
					}
				}
			}
			want := make([]int, tc.want)
			for i := range want {
				want[i] = i + 1
			}
			if !slices.Equal(ids, want) {
				t.Errorf("listed %d jobs (%v…); want 1..%d", len(ids), ids[:min(len(ids), 5)], tc.want)
			}
			if len(b.calls) > tc.maxCalls {
				t.Errorf("%d calls to Jobs; want at most %d", len(b.calls), tc.maxCalls)
			}
			for _, q := range b.calls {
				if q.Limit == 0 || q.Limit > page {
					t.Errorf("Jobs asked for %d jobs at once; want a page", q.Limit)
				}
			}
			if tc.statusMessage != "" {
				var msg string
				for _, a := range reply.Operation {
					if a.Name == "status-message" {
						msg = a.Values[0].V.String()
					}
				}
				if msg != tc.statusMessage {
					t.Errorf("status-message %q; want %q", msg, tc.statusMessage)
				}
			}
		})
	}
}

// TestGetJobsPageFails answers an error, with no job listed, when a later
// page cannot be read.
func TestGetJobsPageFails(t *testing.T) {
	b := &listBackend{n: 2*ipp.JobsPage + 200, fail: 2}
	reply := getJobs(t, ipp.NewServer(b, nil, ipp.WithJobsListLimit(0)), 0)
	if goipp.Status(reply.Code) != goipp.StatusErrorInternal {
		t.Errorf("status %s; want server-error-internal-error", goipp.Status(reply.Code))
	}
	for _, g := range reply.Groups {
		if g.Tag == goipp.TagJobGroup {
			t.Fatalf("a failed listing still lists jobs")
		}
	}
}

// TestGetJobsAsksForTheFieldsItShows lists jobs for some attributes: the
// Backend is asked for the fields those attributes need, and the
// attributes show the jobs' values from them.
func TestGetJobsAsksForTheFieldsItShows(t *testing.T) {
	b := &listBackend{n: 3}
	reply := getJobs(t, ipp.NewServer(b, nil), 0, "job-id", "job-name", "job-k-octets", "job-impressions")
	if goipp.Status(reply.Code) != goipp.StatusOk {
		t.Fatalf("status %s", goipp.Status(reply.Code))
	}
	if want := ipp.FieldName | ipp.FieldSize | ipp.FieldPages | ipp.FieldCopies; len(b.calls) == 0 || b.calls[0].Fields != want {
		t.Errorf("Jobs asked for fields %v; want %b", b.calls, want)
	}
	var got []string
	for _, g := range reply.Groups {
		if g.Tag != goipp.TagJobGroup {
			continue
		}
		for _, a := range g.Attrs {
			got = append(got, a.Name+"="+a.Values.String())
		}
	}
	want := []string{"job-id=1", "job-name=job 1", "job-k-octets=4", "job-impressions=6"}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
		t.Errorf("first job listed as %q; want %q", got, want)
	}
}
