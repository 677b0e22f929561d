package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sealN seals n documents of the given sizes, named doc-0, doc-1, …
func sealN(t *testing.T, s *Spool, sizes ...int) ([]Document, [][]byte) {
	t.Helper()
	var docs []Document
	var sealed [][]byte
	for i, size := range sizes {
		d, b, err := s.Seal(fmt.Sprintf("doc-%d", i), payload(size), nil)
		if err != nil {
			t.Fatal(err)
		}
		docs, sealed = append(docs, d), append(sealed, b)
	}
	return docs, sealed
}

// TestSegmentRoundTrip: documents appended to segments read back through
// their keys, a full segment gives way to the next, a segment holds no
// plaintext, and a writer made later never writes into a segment it
// finds.
func TestSegmentRoundTrip(t *testing.T) {
	s := newTestSpool(t)
	w, err := s.NewSegmentWriter("db-", 0, 30<<10)
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{10 << 10, 0, 1, 3*pkg + 17, 10 << 10, 5}
	docs, sealed := sealN(t, s, sizes...)
	var locs []Loc
	for i := 0; i < len(docs); i += 2 {
		l, err := w.Append(sealed[i : i+2])
		if err != nil {
			t.Fatal(err)
		}
		locs = append(locs, l...)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A batch goes whole to one segment: the second still fits in the
	// first 30 KiB and takes it past that; the third starts another.
	want := []uint64{1, 1, 1, 1, 2, 2}
	for i, l := range locs {
		if l.Segment != want[i] || l.Length != int64(len(sealed[i])) {
			t.Errorf("document %d at %+v; want segment %d, %d bytes", i, l, want[i], len(sealed[i]))
		}
		r, err := s.OpenInSegment(docs[i].Name, docs[i].WrappedKey, "db-", l)
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, payload(sizes[i])) {
			t.Errorf("document %d: read back %d bytes, %v", i, len(got), err)
		}
	}
	for _, n := range []uint64{1, 2} {
		b, err := os.ReadFile(filepath.Join(s.Dir(), SegmentName("db-", n)))
		if err != nil || bytes.Contains(b, []byte(marker)) {
			t.Errorf("segment %d: %d bytes, plaintext in it: %v", n, len(b), err)
		}
	}
	ns, err := s.Segments("db-")
	if err != nil || len(ns) != 2 || ns[1] != locs[3].Offset+locs[3].Length || ns[2] != locs[5].Offset+locs[5].Length {
		t.Errorf("Segments = %v, %v; want 1 and 2, as long as what was appended", ns, err)
	}
	if other, _ := s.Segments("other-"); len(other) != 0 {
		t.Errorf("another prefix's segments: %v", other)
	}
	if names, err := s.List(); err != nil || len(names) != 0 {
		t.Errorf("List = %v, %v; segments are no documents", names, err)
	}
	if used, err := s.Usage(); err != nil || used < int64(len(bytes.Join(sealed, nil))) {
		t.Errorf("Usage = %d, %v; segments count", used, err)
	}
	w2, err := s.NewSegmentWriter("db-", 0, 30<<10)
	if err != nil {
		t.Fatal(err)
	}
	if w2.Below() != 3 {
		t.Errorf("a new writer: below %d; want 3, after the segments it found", w2.Below())
	}
	l, err := w2.Append(sealed[:1])
	if err != nil || l[0].Segment != 3 || l[0].Offset != 0 || w2.Below() != 3 {
		t.Errorf("a new writer appended at %+v (below %d), %v; want segment 3 from 0", l, w2.Below(), err)
	}
	w2.Close()
}

// TestSegmentRefusals: a wrong key, a wrong place, a segment cut short
// or gone, and a removed segment are errors, never another document's
// bytes.
func TestSegmentRefusals(t *testing.T) {
	s := newTestSpool(t)
	w, err := s.NewSegmentWriter("db-", 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	docs, sealed := sealN(t, s, 4000, 4000)
	locs, err := w.Append(sealed)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		doc  Document
		loc  Loc
		want error
	}{
		"another's key":   {docs[1], locs[0], ErrCorrupt},
		"another's place": {docs[0], locs[1], ErrCorrupt},
		"shifted":         {docs[0], Loc{1, 1, locs[0].Length}, ErrCorrupt},
		"past the end":    {docs[1], Loc{1, locs[1].Offset + 1, locs[1].Length}, ErrCorrupt},
		"no segment":      {docs[0], Loc{9, 0, locs[0].Length}, fs.ErrNotExist},
		"segment zero":    {docs[0], Loc{0, 0, locs[0].Length}, ErrCorrupt},
		"negative offset": {docs[0], Loc{1, -1, locs[0].Length}, ErrCorrupt},
	}
	for name, c := range cases {
		r, err := s.OpenInSegment(c.doc.Name, c.doc.WrappedKey, "db-", c.loc)
		if err == nil {
			_, err = io.ReadAll(r)
			r.Close()
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v; want %v", name, err, c.want)
		}
	}
	f, err := s.OpenSegment("db-", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stored, err := Section(f, locs[1])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Section(f, Loc{1, locs[1].Offset, locs[1].Length + 1}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a section past the end: %v", err)
	}
	if err := s.RemoveSegment("db-", 1); err != nil {
		t.Fatal(err)
	}
	// Opened before the removal, the bytes are still there for a backup.
	if b, err := io.ReadAll(stored); err != nil || !bytes.Equal(b, sealed[1]) {
		t.Errorf("stored bytes after the removal: %d, %v", len(b), err)
	}
	if _, err := s.OpenInSegment(docs[0].Name, docs[0].WrappedKey, "db-", locs[0]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("removed segment: %v", err)
	}
	if err := s.RemoveSegment("db-", 1); err != nil {
		t.Errorf("removing it again: %v", err)
	}
}

// TestSegmentRewrite: a document written again at its place reads back
// whole, into a segment cut short or gone as a crash leaves one; a place
// that does not fit the bytes is refused.
func TestSegmentRewrite(t *testing.T) {
	s := newTestSpool(t)
	w, err := s.NewSegmentWriter("db-", 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	docs, sealed := sealN(t, s, 3000, 5000)
	locs, err := w.Append(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.Dir(), SegmentName("db-", 1))
	for _, lose := range []func() error{
		func() error { return os.Truncate(path, 0) },
		func() error { return os.Remove(path) },
	} {
		if err := lose(); err != nil {
			t.Fatal(err)
		}
		for i := range docs {
			if err := s.Rewrite("db-", locs[i], sealed[i]); err != nil {
				t.Fatal(err)
			}
		}
		for i, d := range docs {
			r, err := s.OpenInSegment(d.Name, d.WrappedKey, "db-", locs[i])
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, payload([]int{3000, 5000}[i])) {
				t.Errorf("document %d written again: %d bytes, %v", i, len(got), err)
			}
		}
	}
	if err := s.Rewrite("db-", Loc{1, 0, 10}, sealed[0]); !errors.Is(err, ErrCorrupt) {
		t.Errorf("a place of the wrong length: %v", err)
	}
}

// TestSegmentSyncWhileAppending: what Unsynced hands over is synced while
// appends go on, to the segment being written and to a new one; the
// segment it kept stays open for them, the one no longer written is
// closed once synced, and the next Sync covers what came meanwhile.
func TestSegmentSyncWhileAppending(t *testing.T) {
	s := newTestSpool(t)
	w, err := s.NewSegmentWriter("db-", 0, 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	docs, sealed := sealN(t, s, 10<<10, 100, 10<<10, 100)
	var locs []Loc
	appendDoc := func(i int) {
		l, err := w.Append(sealed[i : i+1])
		if err != nil {
			t.Fatal(err)
		}
		locs = append(locs, l...)
	}
	appendDoc(0)
	first := w.f
	p := w.Unsynced()
	appendDoc(1) // the same segment, after the hand-over
	appendDoc(2) // still the first, which it takes past 16 KiB
	appendDoc(3) // a second segment
	if err := p.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Stat(); err != nil {
		t.Fatalf("the segment the hand-over kept was closed: %v", err)
	}
	if len(w.unsynced) != 2 || w.unsynced[0] != first || !w.newName {
		t.Fatalf("after the hand-over: %d segments to sync, a new name %v; want the first and the second, and a name", len(w.unsynced), w.newName)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("the first segment, no longer written, is still open after its sync: %v", err)
	}
	if len(w.unsynced) != 1 || w.unsynced[0] != w.f || w.newName {
		t.Errorf("after Sync: %d segments to sync, a new name %v; want only the one being written", len(w.unsynced), w.newName)
	}
	for i, l := range locs {
		r, err := s.OpenInSegment(docs[i].Name, docs[i].WrappedKey, "db-", l)
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		r.Close()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSegmentAppendChunks: one Append of more than appendChunk writes its
// documents end to end in several writes, each where its documents' places
// say, and every one reads back.
func TestSegmentAppendChunks(t *testing.T) {
	s := newTestSpool(t)
	w, err := s.NewSegmentWriter("db-", 0, 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sizes := make([]int, 40)
	for i := range sizes {
		sizes[i] = 20<<10 + i*97 // 800 KiB in all: four writes or more
	}
	docs, sealed := sealN(t, s, sizes...)
	for round := range 2 { // the second reuses the writer's buffer
		locs, err := w.Append(sealed)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range locs {
			if i > 0 && l.Offset != locs[i-1].Offset+locs[i-1].Length {
				t.Errorf("round %d: document %d at %d, want right after the one before it (%+v)", round, i, l.Offset, locs[i-1])
			}
			r, err := s.OpenInSegment(docs[i].Name, docs[i].WrappedKey, "db-", l)
			if err != nil {
				t.Fatalf("round %d, document %d: %v", round, i, err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || !bytes.Equal(got, payload(sizes[i])) {
				t.Errorf("round %d, document %d: read back %d bytes, %v", round, i, len(got), err)
			}
		}
	}
	if ns, err := s.Segments("db-"); err != nil || ns[1] != 2*int64(len(bytes.Join(sealed, nil))) {
		t.Errorf("Segments = %v, %v; want one, as long as both rounds", ns, err)
	}
}

// TestSegmentAppendKeepsItsBuffer: once grown, the buffer that gathers a
// batch's documents serves every later batch; a batch of thirty small
// documents grew one past appendChunk, which was then made anew each time.
func TestSegmentAppendKeepsItsBuffer(t *testing.T) {
	s := newTestSpool(t)
	w, err := s.NewSegmentWriter("db-", 0, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sizes := make([]int, 30)
	for i := range sizes {
		sizes[i] = 10 << 10
	}
	_, sealed := sealN(t, s, sizes...)
	if _, err := w.Append(sealed); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := w.Append(sealed); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 { // the locations returned
		t.Errorf("Append made %.0f allocations a batch, want 1", allocs)
	}
}

// TestSegmentSyncsInTurn: two hands of one writer's unsynced segments,
// the second taken after an append started a new segment, sync in the
// order they were handed over, whichever is asked first: the second
// closes the old segment, which the first still syncs, and vouches for
// the new segment's name only once the first has synced its own. After a
// hand that failed, the later ones fail.
func TestSegmentSyncsInTurn(t *testing.T) {
	s := newTestSpool(t)
	w, err := s.NewSegmentWriter("db-", 0, 10<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	_, sealed := sealN(t, s, 12<<10, 12<<10, 12<<10)
	if _, err := w.Append(sealed[:1]); err != nil {
		t.Fatal(err)
	}
	first := w.Unsynced()
	if _, err := w.Append(sealed[1:2]); err != nil { // the segment is full: a new one
		t.Fatal(err)
	}
	second := w.Unsynced()
	secondDone := make(chan error, 1)
	go func() { secondDone <- second.Sync() }()
	select {
	case err := <-secondDone:
		t.Fatalf("the second hand synced (%v) before the first", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := first.Sync(); err != nil {
		t.Errorf("the first hand: %v", err)
	}
	if err := <-secondDone; err != nil {
		t.Errorf("the second hand: %v", err)
	}

	if _, err := w.Append(sealed[2:]); err != nil {
		t.Fatal(err)
	}
	w.Unsynced().Discard()
	if err := w.Sync(); !errors.Is(err, errEarlierSync) {
		t.Errorf("a sync after a hand was discarded: %v, want %v", err, errEarlierSync)
	}
}
