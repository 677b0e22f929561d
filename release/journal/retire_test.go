package journal

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestRetire(t *testing.T) {
	dir, keys := t.TempDir(), newMemKeys()
	// Every append after the first fills a segment: one record a segment.
	j := open(t, dir, keys, Options{MaxSegment: 1})
	for _, r := range []string{"a", "b", "c", "d"} {
		appendAll(t, j, r)
	}
	if n := j.Segments(); n != 4 {
		t.Fatalf("%d segments, want 4", n)
	}
	for _, tt := range []struct {
		through   uint64
		wantFiles []uint64
	}{
		{0, []uint64{1, 2, 3, 4}},
		{2, []uint64{3, 4}},
		// Segment 4 is being written and full: covered, it goes too.
		{4, nil},
	} {
		if err := j.Retire(context.Background(), tt.through); err != nil {
			t.Fatalf("Retire(%d): %v", tt.through, err)
		}
		got, err := segmentNumbers(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tt.wantFiles) {
			t.Errorf("after Retire(%d) the files are %v, want %v", tt.through, got, tt.wantFiles)
		}
		saved, _ := keys.Load(context.Background())
		for _, n := range got {
			if saved[n] == nil {
				t.Errorf("after Retire(%d) segment %d has no key", tt.through, n)
			}
		}
		if len(saved) != len(got) {
			t.Errorf("after Retire(%d) %d keys remain for %d files", tt.through, len(saved), len(got))
		}
	}
	if first := appendAll(t, j, "e"); first != 5 {
		t.Errorf("append after retiring everything begins at %d, want 5", first)
	}
}

// TestNumberingSurvivesRetirement retires every segment, reopens, and
// checks that numbering goes on after what the owner applied: a record
// numbered again from 1 would be skipped by the owner's next replay.
func TestNumberingSurvivesRetirement(t *testing.T) {
	dir, keys := t.TempDir(), newMemKeys()
	j := open(t, dir, keys, Options{MaxSegment: 1})
	appendAll(t, j, "a", "b", "c")
	if err := j.Retire(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	if n := j.Segments(); n != 0 {
		t.Fatalf("%d segments after retiring everything", n)
	}
	j.Close()
	// A segment a crash left empty, before the one that goes on from 4.
	keys.Save(context.Background(), 1, make([]byte, 32))
	os.WriteFile(filepath.Join(dir, segmentName(1)), encodeHeader(1), 0o600)
	j = open(t, dir, keys, Options{Applied: 3})
	if first := appendAll(t, j, "d"); first != 4 {
		t.Errorf("after retiring everything and reopening, the next record is %d, want 4", first)
	}
	j.Close()
	j = open(t, dir, keys, Options{Applied: 3})
	if got := replayed(t, j, 3); !slices.Equal(got, []string{"d"}) {
		t.Errorf("Replay after 3 = %q, want [d]", got)
	}
}

func TestRetireQuietSegment(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	dir, keys := t.TempDir(), newMemKeys()
	j := open(t, dir, keys, Options{MaxAge: time.Minute, Now: func() time.Time { return now }})
	appendAll(t, j, "a")
	if err := j.Retire(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if n := j.Segments(); n != 1 {
		t.Errorf("a young segment was retired: %d segments left, want 1", n)
	}
	now = now.Add(time.Minute)
	if err := j.Retire(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if n := j.Segments(); n != 1 {
		t.Errorf("a segment with an unapplied record was retired: %d segments left, want 1", n)
	}
	if err := j.Retire(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if n := j.Segments(); n != 0 {
		t.Errorf("an applied segment older than MaxAge stayed: %d segments, want 0", n)
	}
	if saved, _ := keys.Load(context.Background()); len(saved) != 0 {
		t.Errorf("%d keys left after retiring every segment", len(saved))
	}
}

func TestOpenTidiesRetirement(t *testing.T) {
	dir, keys := t.TempDir(), newMemKeys()
	j := open(t, dir, keys, Options{MaxSegment: 1})
	appendAll(t, j, "a")
	appendAll(t, j, "b")
	j.Close()
	// A crash between removing segment 1's file and destroying its key,
	// and a stray file whose key is gone.
	os.Remove(filepath.Join(dir, segmentName(1)))
	os.WriteFile(filepath.Join(dir, segmentName(9)), []byte("PGJ1"), 0o600)

	j = open(t, dir, keys, Options{})
	saved, _ := keys.Load(context.Background())
	if _, ok := saved[1]; ok {
		t.Error("the key of a removed segment survived Open")
	}
	if _, err := os.Stat(filepath.Join(dir, segmentName(9))); !os.IsNotExist(err) {
		t.Errorf("a segment without a key survived Open: %v", err)
	}
	if got := replayed(t, j, 1); !slices.Equal(got, []string{"b"}) {
		t.Errorf("Replay = %q, want [b]", got)
	}
	appendAll(t, j, "c")
	if got, _ := segmentNumbers(dir); !slices.Equal(got, []uint64{2, 10}) {
		t.Errorf("segments %v, want [2 10]: a new segment never takes a number seen before", got)
	}
}

func TestAppendRefusesOversizedRecord(t *testing.T) {
	j := open(t, t.TempDir(), newMemKeys(), Options{})
	if _, err := j.Append(context.Background(), [][]byte{make([]byte, MaxRecord+1)}); err == nil {
		t.Error("a record larger than MaxRecord was appended")
	}
	if first := appendAll(t, j, "a"); first != 1 {
		t.Errorf("the refused record took a number: next begins at %d", first)
	}
}

// FuzzScan feeds scan segment files as a damaged disk or an attacker might
// leave them: it must never panic, allocate past MaxRecord or call back a
// record that does not verify.
func FuzzScan(f *testing.F) {
	aead := segmentSeeds(f)
	random := make([]byte, 64)
	rand.Read(random)
	f.Add(append(encodeHeader(1), random...))
	f.Fuzz(func(t *testing.T, data []byte) {
		var last uint64
		sc, err := scan(bytes.NewReader(data), 1, aead, func(seq uint64, rec []byte) error {
			if last != 0 && seq != last+1 {
				t.Fatalf("record %d called back after %d", seq, last)
			}
			last = seq
			return nil
		})
		if err != nil {
			return
		}
		if sc.good > int64(len(data)) {
			t.Fatalf("verified prefix %d longer than the file (%d)", sc.good, len(data))
		}
		zeros := !slices.ContainsFunc(data[sc.good:], func(c byte) bool { return c != 0 })
		if !sc.torn && !zeros {
			t.Fatalf("scan stopped at %d of %d bytes, before more than zeros, without calling the rest torn", sc.good, len(data))
		}
		if sc.torn && zeros && sc.good >= int64(headerSize) {
			t.Fatalf("scan called only zeros after %d of %d bytes torn: the end of a preallocated segment", sc.good, len(data))
		}
	})
}

// FuzzLastFrame: the header walk a backup relies on never panics, and it
// never stops before a record that scan verifies.
func FuzzLastFrame(f *testing.F) {
	aead := segmentSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := lastFrame(bytes.NewReader(data))
		var verified uint64
		_, serr := scan(bytes.NewReader(data), 1, aead, func(seq uint64, rec []byte) error {
			verified = seq
			return nil
		})
		if serr == nil && err == nil && got < verified {
			t.Fatalf("the header walk stopped at record %d; scan verified up to %d", got, verified)
		}
	})
}

func TestLastSeq(t *testing.T) {
	dir := t.TempDir()
	if got, err := LastSeq(filepath.Join(dir, "none")); got != 0 || err != nil {
		t.Errorf("LastSeq of no folder: %d, %v; want 0, nil", got, err)
	}
	j := open(t, dir, newMemKeys(), Options{})
	if got, err := LastSeq(dir); got != 0 || err != nil {
		t.Errorf("LastSeq of an empty journal: %d, %v; want 0, nil", got, err)
	}
	appendAll(t, j, "a", "b", "c")
	if got, err := LastSeq(dir); got != 3 || err != nil {
		t.Errorf("LastSeq after three records: %d, %v; want 3, nil", got, err)
	}
}

// segmentSeeds adds the segment fuzzers' common seeds to f: a good
// segment of two records, cut short, followed by zeros, a frame claiming
// 4 GiB, a header alone. It returns the key's AEAD they are sealed with.
func segmentSeeds(f *testing.F) cipher.AEAD {
	aead, err := newAEAD(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		f.Fatal(err)
	}
	good := encodeHeader(1)
	good = appendFrame(good, aead, 1, []byte("first"))
	good = appendFrame(good, aead, 2, []byte("second"))
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(append(slices.Clone(good), make([]byte, 40)...))
	f.Add(append(encodeHeader(1), 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1))
	f.Add([]byte("PGJ1"))
	return aead
}
