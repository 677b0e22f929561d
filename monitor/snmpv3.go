package monitor

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// SNMP versions of Printer.SNMPVersion.
const (
	Version2c = "2c" // stored as "" too: printers added before v3
	Version3  = "3"
)

// SNMPv3 are the User-based Security Model settings of an SNMPv3 agent.
// The passphrases are secrets: sealed at rest like communities, never
// logged, shown or put in an error.
type SNMPv3 struct {
	// User is the USM user name.
	User string
	// Auth is the authentication protocol: "SHA" (HMAC-SHA-1-96) or
	// "SHA-256" (HMAC-SHA-256-192, RFC 7860).
	Auth string
	// Priv is the privacy protocol: "AES" (CFB-128) or "" for none
	// (authentication only).
	Priv string
	// AuthPassphrase and PrivPassphrase are the user's passphrases, 8 to
	// 255 characters each (RFC 3414); PrivPassphrase only with Priv.
	AuthPassphrase, PrivPassphrase string
}

// authProtocols and privProtocols name the protocols printgate accepts.
var (
	authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{"SHA": gosnmp.SHA, "SHA-256": gosnmp.SHA256}
	privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{"": gosnmp.NoPriv, "AES": gosnmp.AES}
)

// check validates v, naming what is wrong but never a passphrase.
func (v *SNMPv3) check() error {
	v.Auth, v.Priv = strings.ToUpper(v.Auth), strings.ToUpper(v.Priv)
	if v.Priv == "NONE" {
		v.Priv = ""
	}
	if v.User == "" || len(v.User) > 32 || !printable(v.User) {
		return fmt.Errorf("%w: an SNMPv3 user name of 1 to 32 printable characters is needed", ErrBadPrinter)
	}
	if _, ok := authProtocols[v.Auth]; !ok {
		return fmt.Errorf("%w: SNMPv3 authentication protocol %q: SHA or SHA-256", ErrBadPrinter, v.Auth)
	}
	if _, ok := privProtocols[v.Priv]; !ok {
		return fmt.Errorf("%w: SNMPv3 privacy protocol %q: AES or none", ErrBadPrinter, v.Priv)
	}
	if !goodPassphrase(v.AuthPassphrase) {
		return fmt.Errorf("%w: the SNMPv3 authentication passphrase must be 8 to 255 characters, on one line", ErrBadPrinter)
	}
	if v.Priv != "" && !goodPassphrase(v.PrivPassphrase) {
		return fmt.Errorf("%w: the SNMPv3 privacy passphrase must be 8 to 255 characters, on one line", ErrBadPrinter)
	}
	if v.Priv == "" {
		v.PrivPassphrase = ""
	}
	return nil
}

func goodPassphrase(s string) bool {
	return len(s) >= 8 && len(s) <= 255 && !strings.ContainsAny(s, "\r\n\x00")
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x21 || r == 0x7f {
			return false
		}
	}
	return true
}

// sealV3 seals v's passphrases for printer name: the two, NUL-separated
// (a passphrase holds no NUL).
func sealV3(key []byte, name string, v SNMPv3) (string, error) {
	return sealCommunity(key, v3AAD(name), v.AuthPassphrase+"\x00"+v.PrivPassphrase)
}

// usm returns the security parameters of p's SNMPv3 user, its
// passphrases opened, and the message flags of its level.
func (m *Monitor) usm(p Printer) (*gosnmp.UsmSecurityParameters, gosnmp.SnmpV3MsgFlags, error) {
	plain, err := openCommunity(m.opts.Key, v3AAD(p.Name), p.SNMPKeys)
	if err != nil {
		return nil, 0, errors.New(strings.ReplaceAll(err.Error(), "community", "v3 passphrases"))
	}
	authPass, privPass, _ := strings.Cut(plain, "\x00")
	auth, okA := authProtocols[p.SNMPAuth]
	priv, okP := privProtocols[p.SNMPPriv]
	if !okA || !okP {
		return nil, 0, fmt.Errorf("%w: stored SNMPv3 protocols %q/%q", ErrBadPrinter, p.SNMPAuth, p.SNMPPriv)
	}
	flags := gosnmp.AuthNoPriv
	if priv != gosnmp.NoPriv {
		flags = gosnmp.AuthPriv
	}
	return &gosnmp.UsmSecurityParameters{UserName: p.SNMPUser, AuthenticationProtocol: auth,
		AuthenticationPassphrase: authPass, PrivacyProtocol: priv, PrivacyPassphrase: privPass}, flags, nil
}

// v3Error says in plain words what an SNMPv3 agent refused; the agent's
// reports name no secret, and neither does this. A reply signed with
// another key than the passphrase makes is the agent's report of a wrong
// digest, which gosnmp rejects before reading it (its error has no
// sentinel, so it is known by its words); an agent drops a request it
// cannot decrypt without a word, so that a wrong privacy passphrase is
// only a timeout.
func v3Error(err error) error {
	switch {
	case strings.Contains(err.Error(), "not authentic"):
		return fmt.Errorf("SNMPv3 authentication failed: wrong authentication passphrase or protocol (%w)", err)
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout"):
		return fmt.Errorf("no answer from the SNMPv3 agent: a wrong privacy passphrase or protocol looks like this (%w)", err)
	case errors.Is(err, gosnmp.ErrWrongDigest):
		return fmt.Errorf("SNMPv3 authentication failed: wrong authentication passphrase or protocol (%w)", err)
	case errors.Is(err, gosnmp.ErrDecryption):
		return fmt.Errorf("SNMPv3 decryption failed: wrong privacy passphrase or protocol (%w)", err)
	case errors.Is(err, gosnmp.ErrUnknownUsername):
		return fmt.Errorf("SNMPv3 user unknown to the agent (%w)", err)
	case errors.Is(err, gosnmp.ErrUnknownSecurityLevel):
		return fmt.Errorf("SNMPv3 security level refused by the agent (%w)", err)
	}
	return err
}
