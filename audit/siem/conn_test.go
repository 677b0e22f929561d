package siem

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
)

// clientCert writes a self-signed client certificate and its key into
// dir and returns their paths and the certificate.
func clientCert(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "printgate client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	write := func(path, kind string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(certFile, "CERTIFICATE", der)
	write(keyFile, "PRIVATE KEY", keyDER)
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

// TestClientTLS: the collector's certificate must chain to ca_file and
// carry server_name; a collector asking for a client certificate gets
// cert_file; wrong files are errors that name them.
func TestClientTLS(t *testing.T) {
	eachDB(t, func(t *testing.T, db *database.DB, l *audit.Log) {
		ctx := context.Background()
		dir := t.TempDir()
		certFile, keyFile, client := clientCert(t, dir)
		pool := x509.NewCertPool()
		pool.AddCert(client)
		c := startCollectorWith(t, func(conf *tls.Config) {
			conf.ClientAuth, conf.ClientCAs = tls.RequireAndVerifyClientCert, pool
		})
		appendEvents(t, l, db, 1)
		ca := c.caFile
		for _, tc := range []struct {
			name  string
			files TLSFiles
			ok    bool
		}{
			{"no client certificate", TLSFiles{CAFile: ca, ServerName: "localhost"}, false},
			{"another CA", TLSFiles{CAFile: certFile, CertFile: certFile, KeyFile: keyFile, ServerName: "localhost"}, false},
			{"another name", TLSFiles{CAFile: ca, CertFile: certFile, KeyFile: keyFile, ServerName: "siem.example.com"}, false},
			{"right", TLSFiles{CAFile: ca, CertFile: certFile, KeyFile: keyFile, ServerName: "localhost"}, true},
		} {
			conf, err := ClientTLS(c.addr, tc.files)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			n, err := New(db, l, Options{Address: c.addr, TLS: conf, Timeout: 5 * time.Second}).Once(ctx)
			if (err == nil) != tc.ok || (tc.ok && n != 1) {
				t.Errorf("%s: sent %d, %v", tc.name, n, err)
			}
		}
	})
}

// TestClientTLSFiles: files that cannot serve are refused by name.
func TestClientTLSFiles(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := clientCert(t, dir)
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		address string
		files   TLSFiles
		want    string
	}{
		{"siem", TLSFiles{}, "address"},
		{"siem:6514", TLSFiles{CAFile: filepath.Join(dir, "none.pem")}, "CA file"},
		{"siem:6514", TLSFiles{CAFile: junk}, "no PEM certificate"},
		{"siem:6514", TLSFiles{CertFile: certFile}, "both"},
		{"siem:6514", TLSFiles{CertFile: certFile, KeyFile: junk}, "client certificate"},
	} {
		if _, err := ClientTLS(tc.address, tc.files); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ClientTLS(%s, %+v): %v, want %q", tc.address, tc.files, err, tc.want)
		}
	}
	conf, err := ClientTLS("siem.example.com:6514", TLSFiles{CertFile: certFile, KeyFile: keyFile})
	if err != nil || conf.ServerName != "siem.example.com" || conf.RootCAs != nil || len(conf.Certificates) != 1 {
		t.Errorf("defaults: %+v, %v", conf, err)
	}
}
