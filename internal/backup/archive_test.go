package backup

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

// passphrase returns a recipient and an identity for pass, with a light
// scrypt work factor: the tests are about the archive, not the KDF.
func passphrase(t testing.TB, pass string) (age.Recipient, age.Identity) {
	t.Helper()
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(10)
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		t.Fatal(err)
	}
	return r, id
}

var testManifest = Manifest{Created: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC), Printgate: "test", Dialect: "sqlite",
	DatabaseID: "DBID"}

func writeArchive(t *testing.T, r age.Recipient, entries map[string]string, order []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testManifest, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range order {
		if err := w.Add(name, int64(len(entries[name])), strings.NewReader(entries[name])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRoundTrip: what is written is read back, in order, under the same
// passphrase, and the archive holds none of it in clear.
func TestRoundTrip(t *testing.T) {
	rec, id := passphrase(t, "correct horse battery")
	entries := map[string]string{SQLiteDatabase: "SQLite format 3\x00 secret-row", MasterKey: "MASTERKEYTEXT",
		DocumentEntry("AB12-42"): "sealed document"}
	order := []string{MasterKey, SQLiteDatabase, DocumentEntry("AB12-42")}
	raw := writeArchive(t, rec, entries, order)
	for _, v := range entries {
		if bytes.Contains(raw, []byte(v)) {
			t.Fatalf("archive holds %q in clear", v)
		}
	}
	r, err := Open(bytes.NewReader(raw), id)
	if err != nil {
		t.Fatal(err)
	}
	if m := r.Manifest(); m.DatabaseID != "DBID" || m.Dialect != "sqlite" || m.Format != Format || m.Version != Version {
		t.Errorf("manifest %+v", m)
	}
	var got []string
	for {
		name, size, body, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(body)
		if int64(len(b)) != size || string(b) != entries[name] {
			t.Errorf("%s: %q (size %d), want %q", name, b, size, entries[name])
		}
		got = append(got, name)
	}
	if strings.Join(got, ",") != strings.Join(order, ",") {
		t.Errorf("entries %v, want %v", got, order)
	}
	if doc, ok := Document(DocumentEntry("AB12-42")); !ok || doc != "AB12-42" {
		t.Errorf("Document = %q, %v", doc, ok)
	}
}

// TestRefused: a wrong passphrase, a cut archive and a changed byte end
// in an error, and a cut archive is noticed at the latest at its end.
func TestRefused(t *testing.T) {
	rec, id := passphrase(t, "correct horse battery")
	raw := writeArchive(t, rec, map[string]string{SQLiteDatabase: strings.Repeat("x", 200<<10)}, []string{SQLiteDatabase})
	_, wrong := passphrase(t, "wrong horse")
	if _, err := Open(bytes.NewReader(raw), wrong); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("wrong passphrase: %v", err)
	}
	flipped := bytes.Clone(raw)
	flipped[len(flipped)/2] ^= 1
	for name, b := range map[string][]byte{"cut": raw[:len(raw)-100], "flipped": flipped} {
		t.Run(name, func(t *testing.T) {
			if err := readAll(b, id); err == nil {
				t.Errorf("a %s archive was read without error", name)
			}
		})
	}
}

func readAll(raw []byte, ids ...age.Identity) error {
	r, err := Open(bytes.NewReader(raw), ids...)
	if err != nil {
		return err
	}
	for {
		_, _, body, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return err
		}
	}
}

// TestEntriesChecked: the reader refuses entries no backup holds, entries
// twice, and anything but regular files, and a manifest that is not
// first; the writer refuses names outside the list.
func TestEntriesChecked(t *testing.T) {
	manifest := `{"format":"printgate-backup","version":1,"dialect":"sqlite","database_id":"X"}`
	cases := map[string][]tar.Header{
		"traversal":   {{Name: "spool/../../etc/passwd.doc", Typeflag: tar.TypeReg}},
		"absolute":    {{Name: "/keys/master.key", Typeflag: tar.TypeReg}},
		"unknown":     {{Name: "keys/other.key", Typeflag: tar.TypeReg}},
		"symlink":     {{Name: MasterKey, Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}},
		"twice":       {{Name: MasterKey, Typeflag: tar.TypeReg}, {Name: MasterKey, Typeflag: tar.TypeReg}},
		"hidden doc":  {{Name: "spool/.x.doc", Typeflag: tar.TypeReg}},
		"no manifest": nil,
	}
	for name, hdrs := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			if name != "no manifest" {
				tw.WriteHeader(&tar.Header{Name: ManifestName, Typeflag: tar.TypeReg, Size: int64(len(manifest))})
				tw.Write([]byte(manifest))
			}
			for _, h := range hdrs {
				tw.WriteHeader(&h)
			}
			tw.Close()
			r, err := newReader(&buf)
			if err == nil {
				for err == nil {
					_, _, _, err = r.Next()
				}
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("read: %v, want ErrInvalid", err)
			}
		})
	}
	w, err := NewWriter(io.Discard, testManifest, mustScrypt(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add("../x", 0, strings.NewReader("")); err == nil {
		t.Error("writer added ../x")
	}
}

func mustScrypt(t *testing.T) age.Recipient {
	r, _ := passphrase(t, "p")
	return r
}

// FuzzReader reads decrypted archives: any input ends in entries with
// valid names, io.EOF or an error, never a panic.
func FuzzReader(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	m := `{"format":"printgate-backup","version":1,"dialect":"postgres","database_id":"X"}`
	tw.WriteHeader(&tar.Header{Name: ManifestName, Typeflag: tar.TypeReg, Size: int64(len(m))})
	tw.Write([]byte(m))
	tw.WriteHeader(&tar.Header{Name: DocumentEntry("a-1"), Typeflag: tar.TypeReg, Size: 3})
	tw.Write([]byte("abc"))
	tw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := newReader(bytes.NewReader(raw))
		if err != nil {
			return
		}
		for range 1000 {
			name, _, body, err := r.Next()
			if err != nil {
				return
			}
			if !ValidName(name) || strings.Contains(name, "..") {
				t.Fatalf("entry %q passed", name)
			}
			io.Copy(io.Discard, body)
		}
	})
}
