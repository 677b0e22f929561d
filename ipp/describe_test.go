package ipp_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/ipp"
)

// describeBackend serves one queue, p.
type describeBackend struct {
	ipp.Backend
	p ipp.Printer
}

func (b *describeBackend) Printer(_ context.Context, name string) (ipp.Printer, error) {
	if name != b.p.Name {
		return ipp.Printer{}, ipp.ErrNotFound
	}
	return b.p, nil
}

func (b *describeBackend) QueuedJobs(context.Context, string) (int, error) { return 0, nil }

func (b *describeBackend) Authenticate(context.Context, *http.Request, ipp.Printer) (ipp.Principal, error) {
	return ipp.Principal{Name: "alice", Addr: "127.0.0.1"}, nil
}

// TestDescribe checks that Describe says what Get-Printer-Attributes
// answers, for queues that differ in each value DNS-SD announces.
func TestDescribe(t *testing.T) {
	tests := []struct {
		name string
		p    ipp.Printer
		want ipp.Description // Name, Formats, URF, Color, Duplex, Auth checked
	}{
		{
			name: "colour urf duplex",
			p: ipp.Printer{Name: "colour", Info: "Floor 3", Location: "3F east", Accepting: true, Color: true,
				Formats: []string{"application/pdf", "image/urf", "image/jpeg"}, MaxSize: 1 << 20, Auth: "basic",
				Caps: ipp.Capabilities{Sides: []string{"one-sided", "two-sided-long-edge"}, URF: []string{"V1.4", "W8", "SRGB24"}}},
			want: ipp.Description{Name: "colour", Formats: []string{"application/pdf", "image/urf", "image/jpeg"},
				URF: []string{"V1.4", "W8", "SRGB24"}, Color: true, Duplex: true, Auth: "basic"},
		},
		{
			name: "mono simplex no urf",
			p: ipp.Printer{Name: "mono", Accepting: true, Formats: []string{"application/pdf"}, MaxSize: 1 << 20,
				Auth: "requesting-user-name", Caps: ipp.Capabilities{Sides: []string{"one-sided"}}},
			want: ipp.Description{Name: "mono", Formats: []string{"application/pdf"}, Auth: "requesting-user-name"},
		},
		{
			name: "urf defaults",
			p: ipp.Printer{Name: "defaults", Accepting: true, Formats: []string{"image/urf"}, MaxSize: 1 << 20,
				Auth: "requesting-user-name"},
			want: ipp.Description{Name: "defaults", Formats: []string{"image/urf"},
				URF: []string{"V1.4", "W8", "RS300-600", "CP1", "DM1", "IS1", "MT1-2", "OB9", "PQ3-5"}, Duplex: true,
				Auth: "requesting-user-name"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := ipp.NewServer(&describeBackend{p: tc.p}, nil)
			d, err := srv.Describe(context.Background(), tc.p.Name, "ipps", "host.local:8631")
			if err != nil {
				t.Fatal(err)
			}
			got := ipp.Description{Name: d.Name, Formats: d.Formats, URF: d.URF, Color: d.Color, Duplex: d.Duplex, Auth: d.Auth}
			if !equalDescriptions(got, tc.want) {
				t.Errorf("Describe = %+v, want %+v", got, tc.want)
			}
			answer := printerAttributes(t, srv, tc.p.Name)
			for name, want := range map[string][]string{
				"printer-uuid":              {"urn:uuid:" + d.UUID},
				"printer-info":              {d.Info},
				"printer-location":          {d.Location},
				"printer-make-and-model":    {d.MakeAndModel},
				"document-format-supported": d.Formats,
				"urf-supported":             d.URF,
				"printer-kind":              d.Kind,
			} {
				if got := answer[name]; !slices.Equal(got, want) {
					t.Errorf("Get-Printer-Attributes %s = %q, Describe says %q", name, got, want)
				}
			}
			if strings.HasPrefix(d.UUID, "urn:") || len(d.UUID) != 36 {
				t.Errorf("UUID %q is not a bare RFC 4122 UUID", d.UUID)
			}
			if d.URI != "ipps://host.local:8631/ipp/print/"+tc.p.Name || d.MoreInfo != "https://host.local:8631/ipp/print/"+tc.p.Name {
				t.Errorf("URI %q, more info %q: not for the host asked", d.URI, d.MoreInfo)
			}
		})
	}
	srv := ipp.NewServer(&describeBackend{p: tests[0].p}, nil)
	if _, err := srv.Describe(context.Background(), "nope", "ipp", "h:1"); !errors.Is(err, ipp.ErrNotFound) {
		t.Errorf("Describe of an unknown queue: %v, want ErrNotFound", err)
	}
}

func equalDescriptions(a, b ipp.Description) bool {
	return a.Name == b.Name && slices.Equal(a.Formats, b.Formats) && slices.Equal(a.URF, b.URF) &&
		a.Color == b.Color && a.Duplex == b.Duplex && a.Auth == b.Auth
}

// printerAttributes asks queue for every attribute over IPP and returns
// each as strings (text, names, keywords, URIs and MIME types only).
func printerAttributes(t *testing.T, srv http.Handler, queue string) map[string][]string {
	t.Helper()
	m := goipp.NewRequest(goipp.DefaultVersion, goipp.OpGetPrinterAttributes, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String("ipp://127.0.0.1/ipp/print/"+queue)))
	body, err := m.EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/ipp/print/"+queue, bytes.NewReader(body))
	req.Header.Set("Content-Type", goipp.ContentType)
	req.RemoteAddr = "127.0.0.1:631"
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var resp goipp.Message
	if err := resp.DecodeBytes(rec.Body.Bytes()); err != nil {
		t.Fatalf("decode: %v (HTTP %d)", err, rec.Code)
	}
	out := map[string][]string{}
	for _, a := range resp.Printer {
		for _, v := range a.Values {
			switch s := v.V.(type) {
			case goipp.String:
				out[a.Name] = append(out[a.Name], string(s))
			case goipp.TextWithLang:
				out[a.Name] = append(out[a.Name], s.Text)
			}
		}
	}
	return out
}
