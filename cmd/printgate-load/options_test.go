package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseOptions(t *testing.T) {
	dir := t.TempDir()
	token := filepath.Join(dir, "token")
	pinFile := filepath.Join(dir, "pin")
	empty := filepath.Join(dir, "empty")
	for path, text := range map[string]string{token: "pgd_abc\n", pinFile: "4821\n", empty: "\n"} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const target = "--target=ipp://127.0.0.1:8631/ipp/print/secure"
	release := []string{"--release-api=http://127.0.0.1:8631", "--device-token-file=" + token, "--pin-user=bob"}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		want  string // substring of the error; "" for success
		check func(t *testing.T, o *options)
	}{
		{name: "loopback IPv4", args: []string{target, "--jobs=1", "--generate-pdf=10KB"},
			check: func(t *testing.T, o *options) {
				if o.generate != 10000 || o.op != opPrintJob || o.userName != "printgate-load" {
					t.Errorf("got generate %d, op %s, user %s", o.generate, o.op, o.userName)
				}
			}},
		{name: "loopback 127/8", args: []string{"--target=ipps://127.9.8.7/x", "--duration=1s", "--op=get-jobs"}},
		{name: "loopback IPv6", args: []string{"--target=ipp://[::1]:631/printers/hold", "--jobs=1", "--op=get-jobs"}},
		{name: "localhost", args: []string{"--target=ipp://localhost:631/printers/hold", "--jobs=1", "--op=get-jobs"}},
		{name: "remote address refused", args: []string{"--target=ipp://192.0.2.10:631/ipp/print/q", "--jobs=1", "--op=get-jobs"},
			want: "192.0.2.10:631 is not a loopback address"},
		{name: "remote name refused", args: []string{"--target=ipp://printer.example.com/ipp/print/q", "--jobs=1", "--op=get-jobs"},
			want: "printer.example.com is not a loopback address"},
		{name: "IPv4-mapped remote refused", args: []string{"--target=ipp://[::ffff:10.0.0.1]/q", "--jobs=1", "--op=get-jobs"},
			want: "not a loopback address"},
		{name: "unspecified address refused", args: []string{"--target=ipp://0.0.0.0:631/q", "--jobs=1", "--op=get-jobs"},
			want: "not a loopback address"},
		{name: "remote allowed when asked", args: []string{"--target=ipp://192.0.2.10/q", "--jobs=1", "--op=get-jobs", "--allow-remote"}},
		{name: "remote release API refused", args: append([]string{target, "--jobs=1", "--generate-pdf=10KB", "--pin=4821",
			"--release-api=http://192.0.2.10:8631"}, release[1:]...), want: "192.0.2.10:8631 is not a loopback address"},
		{name: "no target", args: []string{"--jobs=1", "--op=get-jobs"}, want: "--target: required"},
		{name: "http scheme", args: []string{"--target=http://127.0.0.1/q", "--jobs=1", "--op=get-jobs"}, want: "scheme must be ipp or ipps"},
		{name: "credentials in URL", args: []string{"--target=ipp://u:p@127.0.0.1/q", "--jobs=1", "--op=get-jobs"}, want: "not in the URL"},
		{name: "unbounded", args: []string{target, "--generate-pdf=10KB"}, want: "must be bounded"},
		{name: "no document", args: []string{target, "--jobs=1"}, want: "needs --document FILE or --generate-pdf SIZE"},
		{name: "two documents", args: []string{target, "--jobs=1", "--document=x.pdf", "--generate-pdf=1MB"}, want: "not both"},
		{name: "tiny PDF", args: []string{target, "--jobs=1", "--generate-pdf=100"}, want: "smallest generated PDF"},
		{name: "bad size", args: []string{target, "--jobs=1", "--generate-pdf=ten"}, want: "--generate-pdf: size"},
		{name: "bad op", args: []string{target, "--jobs=1", "--op=cancel-job"}, want: "--op must be"},
		{name: "zero concurrency", args: []string{target, "--jobs=1", "--generate-pdf=10KB", "--concurrency=0"}, want: "--concurrency"},
		{name: "stray argument", args: []string{target, "--jobs=1", "--op=get-jobs", "extra"}, want: `unexpected argument "extra"`},
		{name: "password from environment", args: []string{"--target=ipps://127.0.0.1/q", "--jobs=1", "--op=get-jobs", "--user=alice"},
			env: map[string]string{envPassword: "s3cret"},
			check: func(t *testing.T, o *options) {
				if o.password != "s3cret" {
					t.Errorf("password %q", o.password)
				}
			}},
		{name: "password file", args: []string{"--target=ipps://127.0.0.1/q", "--jobs=1", "--op=get-jobs", "--user=alice", "--password-file=" + pinFile},
			check: func(t *testing.T, o *options) {
				if o.password != "4821" {
					t.Errorf("password %q", o.password)
				}
			}},
		{name: "empty password file", args: []string{"--target=ipps://127.0.0.1/q", "--jobs=1", "--op=get-jobs", "--user=alice", "--password-file=" + empty},
			want: "first line is empty"},
		{name: "no password", args: []string{"--target=ipps://127.0.0.1/q", "--jobs=1", "--op=get-jobs", "--user=alice"}, want: "no password"},
		{name: "password without user", args: []string{target, "--jobs=1", "--op=get-jobs", "--password=x"}, want: "need --user"},
		{name: "release submits as the PIN user", args: append([]string{target, "--jobs=1", "--generate-pdf=10KB", "--pin-file=" + pinFile}, release...),
			check: func(t *testing.T, o *options) {
				if o.userName != "bob" || o.pin != "4821" || o.deviceToken != "pgd_abc" || o.releaseAPI.Host != "127.0.0.1:8631" {
					t.Errorf("got user %s, pin %q, token %q, api %s", o.userName, o.pin, o.deviceToken, o.releaseAPI)
				}
			}},
		{name: "release PIN from environment", args: append([]string{target, "--jobs=1", "--generate-pdf=10KB"}, release...),
			env: map[string]string{envPIN: "9137"},
			check: func(t *testing.T, o *options) {
				if o.pin != "9137" {
					t.Errorf("pin %q", o.pin)
				}
			}},
		{name: "release of someone else's jobs", args: append([]string{target, "--jobs=1", "--generate-pdf=10KB", "--pin=4821", "--user-name=carol"}, release...),
			want: `--user-name "carol" submits jobs that --pin-user "bob" cannot release`},
		{name: "release without token", args: []string{target, "--jobs=1", "--generate-pdf=10KB", "--pin=4821", "--pin-user=bob", "--release-api=http://127.0.0.1:8631"},
			want: "needs --device-token-file"},
		{name: "release without PIN", args: append([]string{target, "--jobs=1", "--generate-pdf=10KB"}, release...), want: "no PIN"},
		{name: "save a PDF", args: []string{"--save-pdf=doc.pdf", "--generate-pdf=10MB"},
			check: func(t *testing.T, o *options) {
				if o.savePDF != "doc.pdf" || o.generate != 10_000_000 {
					t.Errorf("got save %q, generate %d", o.savePDF, o.generate)
				}
			}},
		{name: "save without a size", args: []string{"--save-pdf=doc.pdf"}, want: "--save-pdf needs --generate-pdf"},
		{name: "save a tiny PDF", args: []string{"--save-pdf=doc.pdf", "--generate-pdf=100"}, want: "smallest generated PDF"},
		{name: "release of Get-Jobs", args: append([]string{target, "--jobs=1", "--op=get-jobs", "--pin=4821"}, release...), want: "needs --op print-job"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			o, err := parseOptions(tt.args, io.Discard, getenv)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("parseOptions: %v", err)
				}
				if tt.check != nil {
					tt.check(t, o)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseOptions error = %v, want one containing %q", err, tt.want)
			}
			var ue usageError
			if !errors.As(err, &ue) {
				t.Errorf("error %v is not a usage error", err)
			}
		})
	}
}

// TestSecretsNotInErrors keeps passwords and PINs out of the messages a
// bad command line prints.
func TestSecretsNotInErrors(t *testing.T) {
	_, err := parseOptions([]string{"--target=ipp://192.0.2.1/q", "--jobs=1", "--op=get-jobs", "--user=alice", "--password=hunter22",
		"--release-api=http://192.0.2.1", "--pin=573920", "--pin-user=alice"}, io.Discard, func(string) string { return "" })
	if err == nil {
		t.Fatal("remote target accepted")
	}
	for _, s := range []string{"hunter22", "573920"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows a secret: %v", err)
		}
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, tt := range []struct {
		address string
		ok      bool
	}{
		{"127.0.0.1:631", true},
		{"127.200.0.1:631", true},
		{"[::1]:631", true},
		{"[::ffff:127.0.0.1]:631", true},
		{"192.0.2.1:631", false},
		{"[2001:db8::1]:631", false},
		{"0.0.0.0:631", false},
		{"[::]:631", false},
	} {
		t.Run(tt.address, func(t *testing.T) {
			err := loopbackOnly("tcp", tt.address, nil)
			if (err == nil) != tt.ok {
				t.Errorf("loopbackOnly(%s) = %v", tt.address, err)
			}
			if err != nil && !errors.Is(err, errRemote) {
				t.Errorf("error %v is not errRemote", err)
			}
		})
	}
}
