// Package backup writes and reads printgate's backup archive: one tar
// stream, encrypted with age (filippo.io/age) to a passphrase or to
// recipients' keys, holding a manifest, the database snapshot, the key
// files and the spool's documents as they are stored (still sealed under
// the master key).
//
// The reader trusts nothing it has not checked: the manifest comes first
// and is bounded, every entry is a regular file under a name from a fixed
// list (or a spool document's name), none twice, none sparse, each exactly
// the size it declares and, together, no more than the archive holds
// (Reader.Limit), and age authenticates every chunk before it is handed
// on, so a cut or altered archive ends in an error, not in data written
// from it. age does not authenticate who encrypted an archive: anyone with
// a recipient's public key can write one, so an archive encrypted to keys
// is trusted only by its SHA-256, which the backup records (the caller's
// job).
package backup

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"
)

// Format names the archive in its manifest.
const Format = "printgate-backup"

// Version is the manifest's version this package writes and reads.
const Version = 1

// The archive's entries besides the spool's documents.
const (
	ManifestName     = "manifest.json"
	SQLiteDatabase   = "db/printgate.db"
	PostgresDump     = "db/postgres.dump"
	MasterKey        = "keys/master.key"
	CredentialsKey   = "keys/credentials.key"
	AuditKey         = "keys/audit.key"
	Anchors          = "data/audit-anchors.log"
	DatabaseIdentity = "data/database-id"
	InstanceID       = "data/instance.id"
	TLSCert          = "data/tls-cert.pem"
	TLSKey           = "data/tls-key.pem"
	// SpoolPrefix and SpoolSuffix frame a spool document's name.
	SpoolPrefix = "spool/"
	SpoolSuffix = ".doc"
)

// known are the entries other than documents.
var known = map[string]bool{SQLiteDatabase: true, PostgresDump: true, MasterKey: true, CredentialsKey: true,
	AuditKey: true, Anchors: true, DatabaseIdentity: true, InstanceID: true, TLSCert: true, TLSKey: true}

// Limits on what a reader accepts.
const (
	maxManifest = 64 << 10
	maxEntries  = 10_000_000
	maxDocName  = 200
)

// ScryptWorkFactor is the scrypt work factor (log2 of N) of a passphrase
// archive: age's default, about a second and 256 MiB. PassphraseIdentity
// accepts no more, so that an archive cannot make a restore spend more
// memory and time than its backup did (age would accept 2^22: 4 GiB).
const ScryptWorkFactor = 18

// PassphraseRecipient encrypts an archive to pass.
func PassphraseRecipient(pass string) (*age.ScryptRecipient, error) {
	r, err := age.NewScryptRecipient(pass)
	if err != nil {
		return nil, fmt.Errorf("backup: passphrase: %w", err)
	}
	r.SetWorkFactor(ScryptWorkFactor)
	return r, nil
}

// PassphraseIdentity decrypts an archive encrypted to pass, with a work
// factor no higher than PassphraseRecipient's.
func PassphraseIdentity(pass string) (*age.ScryptIdentity, error) {
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		return nil, fmt.Errorf("backup: passphrase: %w", err)
	}
	id.SetMaxWorkFactor(ScryptWorkFactor)
	return id, nil
}

// ErrInvalid says the archive is not one this package wrote.
var ErrInvalid = errors.New("backup: not a valid printgate backup")

// Manifest describes a backup.
type Manifest struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	// Printgate is the version of printgate that wrote the backup.
	Printgate string `json:"printgate"`
	// Dialect is the database's: "sqlite" or "postgres".
	Dialect string `json:"dialect"`
	// DatabaseID is the database's identity (docs/DATA.md).
	DatabaseID string `json:"database_id"`
}

// Writer writes an archive.
type Writer struct {
	enc  io.WriteCloser
	tw   *tar.Writer
	seen map[string]bool
	now  time.Time
}

// NewWriter starts an archive on w, encrypted to recipients, with m as
// its first entry.
func NewWriter(w io.Writer, m Manifest, recipients ...age.Recipient) (*Writer, error) {
	enc, err := age.Encrypt(w, recipients...)
	if err != nil {
		return nil, fmt.Errorf("backup: encrypt: %w", err)
	}
	m.Format, m.Version = Format, Version
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("backup: manifest: %w", err)
	}
	bw := &Writer{enc: enc, tw: tar.NewWriter(enc), seen: map[string]bool{}, now: m.Created}
	if err := bw.add(ManifestName, int64(len(raw)), strings.NewReader(string(raw))); err != nil {
		return nil, err
	}
	return bw, nil
}

// Add writes the entry name, whose content is the size bytes r yields.
func (w *Writer) Add(name string, size int64, r io.Reader) error {
	if !ValidName(name) {
		return fmt.Errorf("backup: add %q: not an entry of a backup", name)
	}
	return w.add(name, size, r)
}

func (w *Writer) add(name string, size int64, r io.Reader) error {
	if w.seen[name] {
		return fmt.Errorf("backup: add %s: twice", name)
	}
	w.seen[name] = true
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, ModTime: w.now, Format: tar.FormatPAX}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("backup: add %s: %w", name, err)
	}
	n, err := io.CopyN(w.tw, r, size)
	if err != nil {
		return fmt.Errorf("backup: add %s: %d of %d bytes: %w", name, n, size, err)
	}
	return nil
}

// Close ends the archive and its encryption. An archive not closed is
// refused by the reader.
func (w *Writer) Close() error {
	if err := w.tw.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := w.enc.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// DocumentEntry returns the entry of the spool document name.
func DocumentEntry(name string) string { return SpoolPrefix + name + SpoolSuffix }

// Document returns the spool document an entry holds, if it holds one.
func Document(entry string) (string, bool) {
	name, ok := strings.CutPrefix(entry, SpoolPrefix)
	if !ok {
		return "", false
	}
	name, ok = strings.CutSuffix(name, SpoolSuffix)
	return name, ok && validDocName(name)
}

// ValidName reports whether name is an entry a backup may hold.
func ValidName(name string) bool {
	if known[name] {
		return true
	}
	_, ok := Document(name)
	return ok
}

// validDocName is spool.ValidName, repeated so that the reader of outside
// input depends on nothing else.
func validDocName(name string) bool {
	if name == "" || len(name) > maxDocName || name[0] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
