package monitor

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// sealedPrefix starts a community stored sealed.
const sealedPrefix = "aesgcm1:"

// errNoKey means a community must be sealed or opened without a key.
var errNoKey = errors.New("monitor: no key for SNMP communities")

// communityAEAD derives the key that seals SNMP communities in the
// database from key (the credentials key): a community is a password of
// sorts, and a copy of the database must not give it away.
func communityAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) == 0 {
		return nil, errNoKey
	}
	k, err := hkdf.Key(sha256.New, key, nil, "printgate monitor snmp community", 32)
	if err != nil {
		return nil, fmt.Errorf("monitor: community key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("monitor: community key: %w", err)
	}
	return cipher.NewGCM(block)
}

// sealCommunity encrypts community for the printer name (bound as
// additional data, so a sealed value moved to another row does not open).
// SNMPv3 passphrases are sealed the same way, bound to the name with a
// suffix (v3AAD) so that they never open as a community.
func sealCommunity(key []byte, name, community string) (string, error) {
	aead, err := communityAEAD(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("monitor: seal community: %w", err)
	}
	out := aead.Seal(nonce, nonce, []byte(community), []byte(name))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// openCommunity decrypts what sealCommunity stored.
func openCommunity(key []byte, name, stored string) (string, error) {
	b64, ok := strings.CutPrefix(stored, sealedPrefix)
	if !ok {
		return "", errors.New("monitor: SNMP community not sealed")
	}
	aead, err := communityAEAD(key)
	if err != nil {
		return "", err
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", errors.New("monitor: SNMP community unreadable")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(name))
	if err != nil {
		return "", errors.New("monitor: SNMP community does not open with this key")
	}
	return string(plain), nil
}

// v3AAD is what SNMPv3 passphrases of printer name are bound to.
func v3AAD(name string) string { return name + "\x00snmpv3" }
