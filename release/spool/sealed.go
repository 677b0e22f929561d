package spool

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"github.com/minio/sio"
)

// Seal encrypts a whole document held in memory, exactly as Store would
// write it to a file, and returns the document with its wrapped key and
// the sealed bytes appended to dst. Nothing touches the disk: the caller
// keeps the sealed bytes (in the database, beside the job) and reads them
// back with OpenSealed. Like a spool file, the sealed bytes are useless
// without the wrapped key, so deleting the key destroys the document.
//
// dst lets the caller reuse a buffer; Seal allocates only when dst is too
// small. The caller still owns plaintext and should clear it when done.
func (s *Spool) Seal(name string, plaintext, dst []byte) (Document, []byte, error) {
	if err := checkName("seal", name); err != nil {
		return Document{}, nil, err
	}
	size := int64(len(plaintext))
	want, err := sio.EncryptedSize(uint64(size))
	if err != nil {
		return Document{}, nil, fmt.Errorf("spool: seal %s: %w", name, err)
	}
	dataKey := make([]byte, KeySize)
	rand.Read(dataKey)
	defer clear(dataKey)
	out := bytes.NewBuffer(dst[:0])
	out.Grow(int(want))
	if size > 0 {
		// An empty document stays empty, as an empty spool file does: the
		// wrapped key vouches for its size.
		enc, err := sio.EncryptWriter(out, sio.Config{MinVersion: sio.Version20, MaxVersion: sio.Version20, Key: dataKey})
		if err != nil {
			return Document{}, nil, fmt.Errorf("spool: seal %s: %w", name, err)
		}
		if _, err := enc.Write(plaintext); err != nil {
			return Document{}, nil, fmt.Errorf("spool: seal %s: %w", name, err)
		}
		if err := enc.Close(); err != nil {
			return Document{}, nil, fmt.Errorf("spool: seal %s: %w", name, err)
		}
	}
	doc := Document{
		Name:       name,
		Size:       size,
		SHA256:     sha256.Sum256(plaintext),
		WrappedKey: s.key.wrap(name, dataKey, size),
	}
	return doc, out.Bytes(), nil
}

// OpenSealed returns a Reader over a document that Seal sealed, given the
// name and wrapped key Seal returned for it. Sealed bytes of the wrong
// length, or a key that does not open them, give ErrCorrupt, as Open does
// for a file. The Reader reads sealed in place: keep it unchanged until
// the Reader is done.
func (s *Spool) OpenSealed(name string, wrappedKey, sealed []byte) (*Reader, error) {
	if err := checkName("open", name); err != nil {
		return nil, err
	}
	return s.newReader(name, wrappedKey, bytes.NewReader(sealed), int64(len(sealed)), nil)
}
