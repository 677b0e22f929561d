package spool

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/sio"
)

// crashDocSize is the size of every document the crash helper writes: a few
// packages, so that a kill can land mid-document.
const crashDocSize = 5*pkg + 123

// TestCrashHelper is not a test: TestKilledWriterLeavesNoPartialDocument
// runs the test binary again with SPOOL_CRASH_DIR set, and this function then
// stores documents in that spool until it is killed. After each commit it
// prints "name wrappedkey-hex" so the parent can read what was committed.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv("SPOOL_CRASH_DIR")
	if dir == "" {
		t.Skip("helper process for TestKilledWriterLeavesNoPartialDocument")
	}
	key, err := LoadOrCreateKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(dir, "spool"), key)
	if err != nil {
		t.Fatal(err)
	}
	data := payload(crashDocSize)
	for i := 0; ; i++ {
		name := fmt.Sprintf("%s-%d", os.Getenv("SPOOL_CRASH_ROUND"), i)
		// Write slowly, in small pieces, so kills land inside writes too.
		w, err := s.Create(context.Background(), name, 0)
		if err != nil {
			t.Fatal(err)
		}
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 50_000)
			if _, err := w.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		doc, err := w.Commit()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("%s %s\n", doc.Name, hex.EncodeToString(doc.WrappedKey))
	}
}

// TestKilledWriterLeavesNoPartialDocument kills a writing process at
// arbitrary moments (SIGKILL) and checks that every document visible
// afterwards is complete and that CleanTemp removes the rest.
func TestKilledWriterLeavesNoPartialDocument(t *testing.T) {
	if testing.Short() {
		t.Skip("starts helper processes")
	}
	dir := t.TempDir()
	committed := map[string][]byte{} // name → wrapped key, as reported
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SPOOL_CRASH_DIR="+dir, fmt.Sprintf("SPOOL_CRASH_ROUND=r%d", round))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		lines := []string{}
		// Vary the moment of the kill: after round+1 documents, in
		// the middle of the next one's writing (the helper reports each
		// as it commits it). Counted in documents, not in time, which a
		// busy machine stretches past any fixed moment.
		done, enough := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				mu.Lock()
				lines = append(lines, sc.Text())
				if len(lines) == round+1 {
					close(enough)
				}
				mu.Unlock()
			}
		}()
		select {
		case <-enough:
		case <-done:
		case <-time.After(30 * time.Second):
		}
		cmd.Process.Kill()
		<-done
		cmd.Wait()
		mu.Lock()
		for _, l := range lines {
			name, keyHex, ok := strings.Cut(l, " ")
			if !ok {
				continue // the test framework's own output
			}
			key, err := hex.DecodeString(keyHex)
			if err != nil {
				t.Fatalf("helper printed %q: %v", l, err)
			}
			committed[name] = key
		}
		mu.Unlock()
	}
	if len(committed) == 0 {
		t.Fatal("the helper committed no document before being killed; the test proves nothing")
	}

	key, err := LoadOrCreateKey(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(dir, "spool"), key)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	wantEnc, _ := sio.EncryptedSize(crashDocSize)
	data := payload(crashDocSize)
	for _, name := range names {
		fi, err := os.Stat(filepath.Join(s.Dir(), name+docSuffix))
		if err != nil {
			t.Fatal(err)
		}
		if uint64(fi.Size()) != wantEnc {
			t.Errorf("visible document %s has %d bytes, want %d: a partial file became visible", name, fi.Size(), wantEnc)
		}
		// A document committed just before the kill may not have been
		// reported; those reported must read back whole.
		if wk, ok := committed[name]; ok {
			if got := readAll(t, s, Document{Name: name, WrappedKey: wk}); !bytes.Equal(got, data) {
				t.Errorf("document %s reads back wrong", name)
			}
		}
	}
	for name := range committed {
		if _, err := os.Stat(filepath.Join(s.Dir(), name+docSuffix)); err != nil {
			t.Errorf("reported document %s: %v", name, err)
		}
	}
	t.Logf("%d rounds: %d documents visible, %d reported", 6, len(names), len(committed))

	if _, err := s.CleanTemp(0); err != nil {
		t.Fatal(err)
	}
	for _, f := range spoolFiles(t, s) {
		if !strings.HasSuffix(f, docSuffix) {
			t.Errorf("after CleanTemp, %s remains", f)
		}
	}
}
