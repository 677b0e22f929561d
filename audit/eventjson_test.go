package audit

import (
	"encoding/json"
	"testing"
	"time"
)

// jsonStrings are strings whose JSON encoding has a special case.
var jsonStrings = []string{
	"", "plain", `"quoted" \ backslash`, "<html> & </html>", "\b\f\n\r\t\x00\x01\x1f\x7f",
	"caf\xe9 invalid", "\xff\xfe", "line\u2028para\u2029", "給与明細.pdf", "emoji 🖨️", "\u00e9\u0301",
	"half \xe6\x97", "nul\x00inside",
}

// TestEventJSON holds the stored JSON of jobs and details to what
// encoding/json makes of them, which decodeColumns reads.
func TestEventJSON(t *testing.T) {
	for _, s := range jsonStrings {
		t.Run(s, func(t *testing.T) { checkJSON(t, s, s) })
	}
	full := JobInfo{Queue: "q", Owner: "o", ClaimedUser: "c", ClientAddr: "a", DocumentName: "d", HideName: true,
		Format: "f", Size: -5, SHA256: []byte{0, 1, 0xfe}, Pages: 1 << 40, PagesKnown: true, PagesReason: "r",
		Copies: -1, Sides: "s", ColorMode: "m", Media: "x", HasJobPIN: true,
		Submitted: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("JST", 9*3600))}
	for name, j := range map[string]JobInfo{"empty": {}, "full": full} {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal(toJobJSON(&j))
			if err != nil {
				t.Fatal(err)
			}
			if got := appendJobJSON(nil, &j); string(got) != string(want) {
				t.Errorf("job JSON\ngot  %s\nwant %s", got, want)
			}
		})
	}
}

// checkJSON compares the job and details JSON of strings a and b with
// encoding/json's.
func checkJSON(t *testing.T, a, b string) {
	t.Helper()
	j := JobInfo{Queue: a, Owner: b, ClaimedUser: a, DocumentName: b, Media: a}
	want, err := json.Marshal(toJobJSON(&j))
	if err != nil {
		t.Fatal(err)
	}
	if got := appendJobJSON(nil, &j); string(got) != string(want) {
		t.Errorf("job JSON of %q, %q\ngot  %s\nwant %s", a, b, got, want)
	}
	d := map[string]string{a: b, b: a, "k" + a: "v"}
	want, err = json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := appendDetailsJSON(nil, d, nil); string(got) != string(want) {
		t.Errorf("details JSON of %q, %q\ngot  %s\nwant %s", a, b, got, want)
	}
}

func FuzzEventJSON(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s, "x"+s)
	}
	f.Fuzz(checkJSON)
}
