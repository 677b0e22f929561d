package audit

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestCopyRoundTrip: a copy of each event (MarshalCopy) is ASCII, reads
// back (UnmarshalCopy) to the same canonical encoding and hashes, and
// CheckCopy accepts it; the same copy with any covered field changed, or
// checked under another key, is refused.
func TestCopyRoundTrip(t *testing.T) {
	db := openSQLite(t)
	l := newLog(db, newClock(t0, time.Second))
	jobLife(t, l, db, 7, "山田", "給与明細 <2026> & \"Q4\" \u2028 😀 \t end")
	appendTx(t, l, db, Event{Type: EventConfigChanged, Actor: "admin", Details: map[string]string{"setting": "retention_years", "値": "8"}})
	var n int
	for ev, err := range l.Events(context.Background(), Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		b := MarshalCopy(&ev)
		if i := bytes.IndexFunc(b, func(r rune) bool { return r >= 0x80 || r < 0x20 }); i >= 0 {
			t.Fatalf("copy of event %d is not printable ASCII at %d: %s", ev.Seq, i, b)
		}
		got, err := UnmarshalCopy(b)
		if err != nil {
			t.Fatalf("read copy of event %d: %v\n%s", ev.Seq, err, b)
		}
		if !bytes.Equal(canonical(&got), canonical(&ev)) || !bytes.Equal(got.Hash, ev.Hash) || !bytes.Equal(got.PrevHash, ev.PrevHash) {
			t.Fatalf("event %d does not survive its copy:\n%+v\n%+v", ev.Seq, ev, got)
		}
		if err := l.CheckCopy(&got); err != nil {
			t.Fatalf("check copy of event %d: %v", ev.Seq, err)
		}
		other := New(db, Options{Key: []byte("another key, as long as needed..")})
		if err := other.CheckCopy(&got); !errors.Is(err, ErrCopy) {
			t.Fatalf("copy of event %d checked under another key: %v", ev.Seq, err)
		}
	}
	if n != 7 {
		t.Fatalf("%d events, want 7", n)
	}
}

// TestCopyChanged: a copy whose text was changed anywhere its hash
// covers no longer checks.
func TestCopyChanged(t *testing.T) {
	db := openSQLite(t)
	l := newLog(db, newClock(t0, time.Second))
	ev := jobLife(t, l, db, 7, "alice", "payroll.pdf")[0]
	b := string(MarshalCopy(&ev))
	for _, c := range []struct{ old, new string }{
		{`"owner":"alice"`, `"owner":"mallory"`},
		{`"document_name":"payroll.pdf"`, `"document_name":"lunch.pdf"`},
		{`"seq":1`, `"seq":2`},
		{`"pages":3`, `"pages":1`},
		{`"has_job_pin":true`, `"has_job_pin":false`},
		{`"type":"submitted"`, `"type":"held"`},
	} {
		if !strings.Contains(b, c.old) {
			t.Fatalf("copy lacks %s: %s", c.old, b)
		}
		got, err := UnmarshalCopy([]byte(strings.Replace(b, c.old, c.new, 1)))
		if err != nil {
			t.Fatalf("%s: %v", c.new, err)
		}
		if err := l.CheckCopy(&got); !errors.Is(err, ErrCopy) {
			t.Errorf("copy with %s checked: %v", c.new, err)
		}
	}
}

// TestUnmarshalCopyRefuses: malformed copies are errors naming ErrCopy.
func TestUnmarshalCopyRefuses(t *testing.T) {
	h := strings.Repeat("ab", 32)
	ok := `{"seq":1,"at":"2026-11-25T00:00:00.000000Z","type":"held","prev_hash":"` + h + `","hash":"` + h + `"}`
	if _, err := UnmarshalCopy([]byte(ok)); err != nil {
		t.Fatalf("well-formed copy: %v", err)
	}
	for name, in := range map[string]string{
		"empty":          ``,
		"not json":       `seq=1`,
		"unknown field":  strings.Replace(ok, `"type"`, `"extra":1,"type"`, 1),
		"trailing":       ok + ` {}`,
		"seq 0":          strings.Replace(ok, `"seq":1`, `"seq":0`, 1),
		"short hash":     strings.Replace(ok, `"hash":"`+h, `"hash":"abcd`, 1),
		"bad time":       strings.Replace(ok, `2026-11-25T00:00:00.000000Z`, `yesterday`, 1),
		"bad job digest": strings.Replace(ok, `"type"`, `"job":{"sha256":"zz"},"type"`, 1),
	} {
		if _, err := UnmarshalCopy([]byte(in)); !errors.Is(err, ErrCopy) {
			t.Errorf("%s: %v, want ErrCopy", name, err)
		}
	}
}

// FuzzUnmarshalCopy: any input reads back or is refused, without panic;
// what reads back writes back to a copy that reads the same.
func FuzzUnmarshalCopy(f *testing.F) {
	h := strings.Repeat("ab", 32)
	f.Add([]byte(`{"seq":1,"at":"2026-11-25T00:00:00.000000Z","type":"held","prev_hash":"` + h + `","hash":"` + h + `"}`))
	f.Add([]byte(`{"seq":2,"at":"","type":"x","job":{"queue":"q","owner":"\u5c71","submitted":""},"details":{"a":"b"},"prev_hash":"` +
		h + `","hash":"` + h + `"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		ev, err := UnmarshalCopy(in)
		if err != nil {
			return
		}
		again, err := UnmarshalCopy(MarshalCopy(&ev))
		if err != nil {
			t.Fatalf("copy of a read copy does not read: %v", err)
		}
		if !bytes.Equal(canonical(&again), canonical(&ev)) {
			t.Fatalf("copy changed on the way round")
		}
	})
}
