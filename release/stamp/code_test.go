package stamp

import (
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"
)

func testKeys(t testing.TB, key string) *Keys {
	t.Helper()
	k, err := NewKeys([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testRecord() Record {
	sum := sha256.Sum256([]byte("payslip"))
	return Record{JobID: 42, Owner: "山田", Queue: "secure", Printer: "ipp://127.0.0.1:8632/ipp/print",
		Time: time.Date(2026, 4, 1, 3, 4, 5, 0, time.UTC), SHA256: sum[:]}
}

// TestCodeDeterministic: the same key and record give the same code,
// which is 12 characters of Crockford's alphabet in groups of 4, and
// checks in any typed form.
func TestCodeDeterministic(t *testing.T) {
	k := testKeys(t, "0123456789abcdef0123456789abcdef")
	r := testRecord()
	c1, c2 := k.Code(r), testKeys(t, "0123456789abcdef0123456789abcdef").Code(r)
	if c1 != c2 {
		t.Fatalf("codes differ for the same key and record: %q, %q", c1, c2)
	}
	if len(c1) != CodeLen+2 || c1[4] != ' ' || c1[9] != ' ' {
		t.Fatalf("code %q is not three groups of four", c1)
	}
	for _, ch := range strings.ReplaceAll(c1, " ", "") {
		if !strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", ch) {
			t.Fatalf("code %q has %q, outside Crockford's alphabet", c1, ch)
		}
	}
	// A sub-second difference in the release time is not part of the
	// code: the record keeps seconds.
	r2 := r
	r2.Time = r.Time.Add(300 * time.Millisecond)
	if k.Code(r2) != c1 {
		t.Errorf("a sub-second difference changed the code")
	}
	for _, typed := range []string{c1, strings.ReplaceAll(c1, " ", ""), strings.ToLower(strings.ReplaceAll(c1, " ", "-"))} {
		if !k.Check(r, typed) {
			t.Errorf("Check(%q) = false", typed)
		}
	}
}

// TestCodeDiffers: another job, owner, queue, printer, time, document or
// key gives another code.
func TestCodeDiffers(t *testing.T) {
	k := testKeys(t, "0123456789abcdef0123456789abcdef")
	base := testRecord()
	want := k.Code(base)
	other := sha256.Sum256([]byte("another document"))
	for _, tc := range []struct {
		name string
		edit func(*Record)
	}{
		{"job", func(r *Record) { r.JobID = 43 }},
		{"owner", func(r *Record) { r.Owner = "山本" }},
		{"queue", func(r *Record) { r.Queue = "payroll" }},
		{"printer", func(r *Record) { r.Printer = "ipp://10.0.0.9/ipp/print" }},
		{"time", func(r *Record) { r.Time = r.Time.Add(time.Second) }},
		{"document", func(r *Record) { r.SHA256 = other[:] }},
		// The encoding is length-prefixed: moving bytes between fields
		// changes the code.
		{"boundary", func(r *Record) { r.Owner, r.Queue = "山田s", "ecure" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			tc.edit(&r)
			if got := k.Code(r); got == want {
				t.Errorf("code %q unchanged", got)
			}
			if k.Check(r, want) {
				t.Errorf("the original code checks against the changed record")
			}
		})
	}
	if got := testKeys(t, "another audit key of 32 bytes!!!").Code(base); got == want {
		t.Errorf("another key gives the same code %q", got)
	}
}

func TestNewKeysShortKey(t *testing.T) {
	if _, err := NewKeys([]byte("short")); err == nil {
		t.Fatal("a 5-byte audit key was accepted")
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"K7QM 2XPD 9FJC", "K7QM2XPD9FJC", nil},
		{"k7qm-2xpd-9fjc", "K7QM2XPD9FJC", nil},
		{"K7QM‐2XPD\u00ad9FJC", "K7QM2XPD9FJC", nil}, // the hyphens text extraction gives
		{"Ｋ７ＱＭ　２ＸＰＤ　９ＦＪＣ", "K7QM2XPD9FJC", nil},      // full width, as an input method types it
		{"OIL0 2XPD 9FJC", "0110" + "2XPD9FJC", nil}, // O, I and L read as 0, 1, 1
		{"K7QM 2XPD 9FJ", "", ErrBadCode},            // short
		{"K7QM 2XPD 9FJCX", "", ErrBadCode},          // long
		{"U7QM 2XPD 9FJC", "", ErrBadCode},           // U is not in the alphabet
		{"K7QM_2XPD_9FJC", "", ErrBadCode},
		{"", "", ErrBadCode},
		{strings.Repeat(" ", 1000) + "K7QM2XPD9FJC", "", ErrBadCode},
	} {
		got, err := Normalize(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// FuzzNormalize: a code typed by anyone never panics, and whatever is
// accepted is a canonical code that normalizes to itself.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"K7QM 2XPD 9FJC", "k7qm-2xpd-9fjc", "Ｋ７ＱＭ", "OIL", "\xff\xfe", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			return
		}
		if len(n) != CodeLen {
			t.Fatalf("Normalize(%q) = %q, not %d characters", s, n, CodeLen)
		}
		if again, err := Normalize(group(n)); err != nil || again != n {
			t.Fatalf("Normalize(group(%q)) = %q, %v", n, again, err)
		}
		if strings.Trim(n, "0123456789ABCDEFGHJKMNPQRSTVWXYZ") != "" {
			t.Fatalf("Normalize(%q) = %q, outside the alphabet", s, n)
		}
	})
}
