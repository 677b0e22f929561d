package backup

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
)

// TestEntryBounds: an entry yields no more than the archive holds. A PAX
// GNU sparse entry (which archive/tar reports as a regular file of the
// size it expands to) is refused, and so is an entry that claims more
// than the reader's limit, before its content is read.
func TestEntryBounds(t *testing.T) {
	const bomb = 1 << 30
	for _, tc := range []struct {
		name  string
		entry []byte
		limit int64
	}{
		{"sparse 0.1", sparseEntry(DocumentEntry("a-1"), bomb, "0", "1"), -1},
		{"sparse 1.0", sparseEntry(DocumentEntry("a-1"), bomb, "1", "0"), -1},
		{"over the limit", regularEntry(DocumentEntry("a-1"), strings.Repeat("x", 2000)), 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := newReader(bytes.NewReader(withManifest(tc.entry)))
			if err != nil {
				t.Fatal(err)
			}
			if tc.limit >= 0 {
				r.Limit(tc.limit)
			}
			name, size, _, err := r.Next()
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Next = %q of %d bytes, %v; want ErrInvalid", name, size, err)
			}
		})
	}
	// Within the limit, the same entry reads.
	r, err := newReader(bytes.NewReader(withManifest(regularEntry(DocumentEntry("a-1"), "abc"))))
	if err != nil {
		t.Fatal(err)
	}
	r.Limit(3)
	if _, _, body, err := r.Next(); err != nil {
		t.Fatal(err)
	} else if b, err := io.ReadAll(body); err != nil || string(b) != "abc" {
		t.Errorf("read %q, %v", b, err)
	}
}

// TestExactly: an entry's content is exactly the size its header
// declares; fewer bytes, or more, end in ErrInvalid.
func TestExactly(t *testing.T) {
	for _, tc := range []struct {
		content string
		size    int64
		ok      bool
	}{
		{"abc", 3, true},
		{"", 0, true},
		{"ab", 3, false},
		{"abcd", 3, false},
		{"x", 0, false},
	} {
		b, err := io.ReadAll(exactly(strings.NewReader(tc.content), &tar.Header{Name: "e", Size: tc.size}))
		if tc.ok && (err != nil || string(b) != tc.content) || !tc.ok && !errors.Is(err, ErrInvalid) {
			t.Errorf("%q as %d bytes: read %q, %v", tc.content, tc.size, b, err)
		}
	}
}

// TestPassphraseWorkFactor: an archive whose scrypt work factor is above
// what a backup writes is refused before scrypt runs.
func TestPassphraseWorkFactor(t *testing.T) {
	r, err := age.NewScryptRecipient("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(ScryptWorkFactor + 1)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testManifest, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	id, err := PassphraseIdentity("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(&buf, id); err == nil || !strings.Contains(err.Error(), "work factor") {
		t.Errorf("Open = %v, want the work factor refused", err)
	}
}

// withManifest returns a decrypted archive: a manifest, then entry.
func withManifest(entry []byte) []byte {
	m := `{"format":"printgate-backup","version":1,"dialect":"sqlite","database_id":"X"}`
	out := regularEntry(ManifestName, m)
	out = append(out, entry...)
	return append(out, make([]byte, 1024)...)
}

// regularEntry returns the tar blocks of a regular file.
func regularEntry(name, content string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Size: int64(len(content)), Mode: 0o600})
	tw.Write([]byte(content))
	tw.Flush()
	return buf.Bytes()
}

// sparseEntry returns the tar blocks of a PAX GNU sparse file (format
// major.minor) of size bytes, all of them a hole: it stores nothing.
func sparseEntry(name string, size int64, major, minor string) []byte {
	recs := [][2]string{{"GNU.sparse.major", major}, {"GNU.sparse.minor", minor},
		{"GNU.sparse.name", name}, {"GNU.sparse.realsize", fmt.Sprint(size)}, {"path", name}}
	var data []byte
	if major == "0" {
		recs = append(recs, [2]string{"GNU.sparse.numblocks", "1"}, [2]string{"GNU.sparse.map", fmt.Sprintf("%d,0", size)},
			[2]string{"GNU.sparse.size", fmt.Sprint(size)})
	} else {
		// Format 1.0 keeps the map at the start of the data.
		data = pad([]byte(fmt.Sprintf("1\n%d\n0\n", size)))
	}
	var pax []byte
	for _, kv := range recs {
		rec := " " + kv[0] + "=" + kv[1] + "\n"
		n := len(rec) + 1
		for len(fmt.Sprint(n))+len(rec) != n {
			n = len(fmt.Sprint(n)) + len(rec)
		}
		pax = append(pax, fmt.Sprint(n)+rec...)
	}
	out := rawHeader("PaxHeaders/x", 'x', int64(len(pax)))
	out = append(out, pad(pax)...)
	out = append(out, rawHeader("sparse", '0', int64(len(data)))...)
	return append(out, data...)
}

func pad(b []byte) []byte {
	if r := len(b) % 512; r != 0 {
		b = append(b, make([]byte, 512-r)...)
	}
	return b
}

// rawHeader returns a USTAR header block, which archive/tar's writer
// would not write for a sparse file.
func rawHeader(name string, typ byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b[0:], name)
	copy(b[100:], "0000600\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	b[156] = typ
	copy(b[257:], "ustar\x00")
	copy(b[263:], "00")
	copy(b[148:], "        ")
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}
