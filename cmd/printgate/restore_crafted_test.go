package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/printgate/printgate/internal/backup"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/spool"
)

// TestRestoreFailsClean: a restore that fails after its data is in place
// (it cannot be recorded in the restored trail, here because the LDAP
// bind password file is not there yet; or the restored database is not
// the one the manifest names) undoes itself: no file stays in the data
// dir, PostgreSQL is as empty as it was, and no success is printed. The
// same restore then succeeds and is the restored trail's last event.
func TestRestoreFailsClean(t *testing.T) {
	testenv.Tool(t, "pg_dump")
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg, archive, id, sum := keyedBackup(t, dbURL)
		otherID := craftArchive(t, archive, id, func(name string, b []byte) []byte {
			if name == backup.ManifestName {
				return bytes.Replace(b, []byte(`"database_id":"`), []byte(`"database_id":"X`), 1)
			}
			return b
		}, nil)
		fresh := cfg
		fresh.DataDir = filepath.Join(t.TempDir(), "restored")
		if dbURL != "" {
			fresh.Database.URL = testenv.Postgres(t)
		}
		ldap := fresh
		ldap.Directory = DirectoryConfig{Type: "ldap", LDAP: directory.LDAPConfig{URL: "ldap://127.0.0.1:1",
			BindDN: "cn=svc,dc=example,dc=com", BaseDN: "dc=example,dc=com",
			BindPasswordFile: filepath.Join(t.TempDir(), "not-yet-provisioned")}}
		for _, tc := range []struct {
			name, file, sum string
			cfg             Config
			want            string
		}{
			{"not recorded", archive, sum, ldap, "not recorded"},
			{"another database", otherID, fileSum(t, otherID), fresh, "the backup's manifest names X"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				out, err := tryCLI(t, tc.cfg, id.String()+"\n", "restore", tc.file, "--sha256", tc.sum)
				if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(out, "restored the backup") {
					t.Errorf("restore: %v, want an error saying %q and no success\n%s", err, tc.want, out)
				}
				checkNothingRestored(t, fresh)
			})
		}
		runCLI(t, fresh, id.String()+"\n", "restore", archive, "--sha256", sum)
		if out := runCLI(t, fresh, "", "user", "list"); !strings.Contains(out, "bob") {
			t.Errorf("user list after the restore:\n%s", out)
		}
		exp := runCLI(t, fresh, "", "audit", "export", "--format", "jsonl")
		if n := strings.Count(exp, `"backup-restored"`); n != 1 || !strings.Contains(exp, sum) {
			t.Errorf("the restored trail holds %d backup-restored events (want 1, naming %s):\n%s", n, sum, exp)
		}
	})
}

// TestRestoreRefusesCrafted: an archive whose entries would make the
// restore write more than the archive holds (a PAX GNU sparse document
// of 64 MiB in 1.5 KB), or a document whose name is not of the backup's
// database (start-up would keep it for ever, as another database's), is
// refused, and nothing is left behind.
func TestRestoreRefusesCrafted(t *testing.T) {
	cfg, archive, id, _ := keyedBackup(t, "")
	foreign := new(bytes.Buffer)
	tw := tar.NewWriter(foreign)
	tw.WriteHeader(&tar.Header{Name: backup.DocumentEntry("OTHERDB-0001"), Typeflag: tar.TypeReg, Size: 3, Mode: 0o600})
	tw.Write([]byte("doc"))
	tw.Flush()
	for _, tc := range []struct {
		name  string
		extra []byte
		want  string
	}{
		{"sparse document", sparseDoc(backup.DocumentEntry(spoolName(t, cfg)), 64<<20), "not a valid printgate backup"},
		{"foreign document", foreign.Bytes(), "does not belong to the database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crafted := craftArchive(t, archive, id, func(_ string, b []byte) []byte { return b }, tc.extra)
			fresh := cfg
			fresh.DataDir = filepath.Join(t.TempDir(), "restored")
			out, err := tryCLI(t, fresh, id.String()+"\n", "restore", crafted, "--sha256", fileSum(t, crafted))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("restore: %v, want an error saying %q\n%s", err, tc.want, out)
			}
			checkNothingRestored(t, fresh)
		})
	}
}

// TestRestoreNeedsSHA256: backup prints the archive's SHA-256 and records
// it in its backup-made event. An archive encrypted to keys restores only
// with --sha256: without it, with another hash, or when it is an archive
// another printgate wrote to the same public key, nothing is written.
func TestRestoreNeedsSHA256(t *testing.T) {
	cfg, archive, id, sum := keyedBackup(t, "")
	if sum != fileSum(t, archive) {
		t.Errorf("backup printed sha256 %s, the file's is %s", sum, fileSum(t, archive))
	}
	if exp := runCLI(t, cfg, "", "audit", "export", "--format", "jsonl"); !strings.Contains(exp, `"sha256":"`+sum+`"`) {
		t.Errorf("the backup-made event does not record sha256 %s:\n%s", sum, exp)
	}
	// Another printgate's backup, to the same public key.
	attacker := newConfig(t, "")
	runCLI(t, attacker, "mallory-secret\n", "user", "add", "mallory")
	if _, err := spool.LoadOrCreateKey(attacker.spoolKeyFile()); err != nil {
		t.Fatal(err)
	}
	forged := filepath.Join(t.TempDir(), "forged.age")
	runCLI(t, attacker, id.Recipient().String()+"\n", "backup", "--recipients", forged)

	fresh := cfg
	fresh.DataDir = filepath.Join(t.TempDir(), "restored")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no --sha256", []string{archive}, "backup-made"},
		{"mistyped", []string{archive, "--sha256", "12ab"}, "hexadecimal"},
		{"forged", []string{forged, "--sha256", sum}, "not the archive that backup wrote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tryCLI(t, fresh, id.String()+"\n", append([]string{"restore"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("restore: %v, want an error saying %q\n%s", err, tc.want, out)
			}
			checkNothingRestored(t, fresh)
		})
	}
	// The identity as age-keygen writes it, below two comments.
	keyFile := "# created: 2026-12-02T09:00:00+09:00\n# public key: " + id.Recipient().String() + "\n" + id.String() + "\n"
	out := runCLI(t, fresh, keyFile, "restore", archive, "--sha256", strings.ToUpper(sum))
	if !strings.Contains(out, sum) {
		t.Errorf("restore does not name the archive's sha256:\n%s", out)
	}
}

// keyedBackup makes a printgate with the user bob and backs it up to a
// new age key; it returns the config, the archive, the key and the
// SHA-256 that backup printed.
func keyedBackup(t *testing.T, dbURL string) (Config, string, *age.X25519Identity, string) {
	t.Helper()
	cfg := newConfig(t, dbURL)
	runCLI(t, cfg, "bob-secret\n", "user", "add", "bob")
	if _, err := spool.LoadOrCreateKey(cfg.spoolKeyFile()); err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "printgate.age")
	out := runCLI(t, cfg, id.Recipient().String()+"\n", "backup", "--recipients", archive)
	m := regexp.MustCompile(`sha256 ([0-9a-f]{64})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("backup printed no sha256:\n%s", out)
	}
	return cfg, archive, id, m[1]
}

// craftArchive decrypts archive with id, passes each entry through edit,
// appends the raw tar blocks extra, and encrypts the result to id again,
// as anyone with the public key can.
func craftArchive(t *testing.T, archive string, id *age.X25519Identity, edit func(name string, b []byte) []byte, extra []byte) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := age.Decrypt(f, id)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(dec)
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		b = edit(h.Name, b)
		h.Size = int64(len(b))
		tw.WriteHeader(h)
		tw.Write(b)
	}
	tw.Flush()
	plain.Write(extra)
	plain.Write(make([]byte, 1024))
	out := filepath.Join(t.TempDir(), "crafted.age")
	cf, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := age.Encrypt(cf, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	enc.Write(plain.Bytes())
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cf.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sparseDoc returns the tar blocks of a PAX GNU sparse (0.1) entry name
// of size bytes, all of it a hole: it stores nothing.
func sparseDoc(name string, size int64) []byte {
	var pax []byte
	for _, kv := range [][2]string{{"GNU.sparse.major", "0"}, {"GNU.sparse.minor", "1"}, {"GNU.sparse.numblocks", "1"},
		{"GNU.sparse.map", fmt.Sprintf("%d,0", size)}, {"GNU.sparse.size", fmt.Sprint(size)}, {"path", name}} {
		rec := " " + kv[0] + "=" + kv[1] + "\n"
		n := len(rec) + 1
		for len(fmt.Sprint(n))+len(rec) != n {
			n = len(fmt.Sprint(n)) + len(rec)
		}
		pax = append(pax, fmt.Sprint(n)+rec...)
	}
	out := tarBlock("PaxHeaders/x", 'x', int64(len(pax)))
	out = append(out, pax...)
	out = append(out, make([]byte, (512-len(pax)%512)%512)...)
	return append(out, tarBlock("sparse", '0', 0)...)
}

// tarBlock returns a USTAR header block, which archive/tar's writer
// would not write for a sparse entry.
func tarBlock(name string, typ byte, size int64) []byte {
	b := make([]byte, 512)
	copy(b, name)
	copy(b[100:], "0000600\x00")
	copy(b[108:], "0000000\x00")
	copy(b[116:], "0000000\x00")
	copy(b[124:], fmt.Sprintf("%011o\x00", size))
	copy(b[136:], "00000000000\x00")
	copy(b[148:], "        ")
	b[156] = typ
	copy(b[257:], "ustar\x0000")
	var sum int64
	for _, c := range b {
		sum += int64(c)
	}
	copy(b[148:], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

// spoolName returns a name of cfg's database's spool documents.
func spoolName(t *testing.T, cfg Config) string {
	t.Helper()
	db, err := database.Open(t.Context(), cfg.Database.URL, cfg.DataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dbID, err := db.ID(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return release.SegmentPrefix(dbID) + "0001"
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

// checkNothingRestored fails t if cfg's data dir holds anything, or its
// PostgreSQL database any object.
func checkNothingRestored(t *testing.T, cfg Config) {
	t.Helper()
	if entries, err := os.ReadDir(cfg.DataDir); len(entries) > 0 || err != nil && !os.IsNotExist(err) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("the data dir holds %v (%v)", names, err)
	}
	if cfg.Database.URL == "" {
		return
	}
	db, err := database.Open(t.Context(), cfg.Database.URL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if objs, err := db.SchemaObjects(t.Context()); err != nil || len(objs) > 0 {
		t.Errorf("the database holds %d objects (%v): %v", len(objs), err, objs[:min(len(objs), 5)])
	}
}
