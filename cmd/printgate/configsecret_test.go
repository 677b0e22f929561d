package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretModeRule: a secret file grants nothing to others, nothing
// to its group but read, and group read only when root owns it; it is a
// regular file.
func TestSecretModeRule(t *testing.T) {
	const user = 1000
	for _, tc := range []struct {
		name string
		mode fs.FileMode
		uid  uint32
		want string // "" when allowed
	}{
		{"0600 user's", 0o600, user, ""},
		{"0400 user's", 0o400, user, ""},
		{"0700 user's", 0o700, user, ""},
		{"0600 root's", 0o600, 0, ""},
		{"0640 root's", 0o640, 0, ""},
		{"0440 root's", 0o440, 0, ""},
		{"0640 user's", 0o640, user, "root does not own it"},
		{"0440 user's", 0o440, user, "root does not own it"},
		{"0644 user's", 0o644, user, "every user"},
		{"0644 root's", 0o644, 0, "every user"},
		{"0604 user's", 0o604, user, "every user"},
		{"0602 user's", 0o602, user, "every user"},
		{"0601 root's", 0o601, 0, "every user"},
		{"0660 user's", 0o660, user, "more than read"},
		{"0660 root's", 0o660, 0, "more than read"},
		{"0620 root's", 0o620, 0, "more than read"},
		{"0650 root's", 0o650, 0, "more than read"},
		{"04600 user's (setuid is no access)", fs.ModeSetuid | 0o600, user, ""},
		{"directory 0700", fs.ModeDir | 0o700, user, "not a regular file"},
		{"symbolic link", fs.ModeSymlink | 0o777, user, "not a regular file"},
		{"named pipe 0600", fs.ModeNamedPipe | 0o600, user, "not a regular file"},
		{"device 0600", fs.ModeDevice | 0o600, 0, "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkSecretMode(tc.mode, tc.uid)
			if tc.want == "" {
				if err != nil {
					t.Errorf("checkSecretMode(%v, %d) = %v, want it allowed", tc.mode, tc.uid, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("checkSecretMode(%v, %d) = %v, want an error saying %q", tc.mode, tc.uid, err, tc.want)
			}
		})
	}
}

// TestSecretFileModes: checkSecretFile judges the file a path resolves
// to, names the path and what to run, and never shows the contents.
// Root-owned files are TestSecretModeRule's: the tests may not run as
// root, and when they do the "user's" files here are given to nobody.
func TestSecretFileModes(t *testing.T) {
	dir := t.TempDir()
	const secret = "s3cret-in-the-file"
	write := func(name string, mode fs.FileMode) string {
		path := filepath.Join(dir, name)
		writeMode(t, path, secret+"\n", mode)
		if os.Geteuid() == 0 {
			// As root, the file would be root's and its group read allowed.
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}
		return path
	}
	good := write("good", 0o600)
	loose := write("loose", 0o644)
	link := filepath.Join(dir, "link-to-good")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	badLink := filepath.Join(dir, "link-to-loose")
	if err := os.Symlink(loose, badLink); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "a-directory")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       string // "" when allowed
	}{
		{"0600", good, ""},
		{"0400", write("read-only", 0o400), ""},
		{"0640 of a user", write("group-read", 0o640), "chmod 600 "},
		{"0644", loose, "chmod 600 "},
		{"0660", write("group-write", 0o660), "chmod 600 "},
		{"a directory", sub, "not a regular file"},
		{"a symbolic link to a good file", link, ""},
		{"a symbolic link to a loose file", badLink, "every user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkSecretFile(tc.path)
			if tc.want == "" {
				if err != nil {
					t.Errorf("checkSecretFile(%s) = %v, want it allowed", tc.path, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("checkSecretFile(%s) = %v, want an error naming the path and saying %q", tc.path, err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
	if _, err := checkSecretFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v, want fs.ErrNotExist", err)
	}
}

// TestConfigSecretFiles: a configuration naming a secret file that every
// user may read does not load, and the error names the key, the path and
// the fix; the same file at 0600 loads, and one not there yet is left to
// whoever reads it (restore runs before the secrets are provisioned).
func TestConfigSecretFiles(t *testing.T) {
	dir := t.TempDir()
	const secret = "bind-s3cret"
	file := func(name string, mode fs.FileMode) string {
		path := filepath.Join(dir, name)
		writeMode(t, path, secret+"\n", mode)
		return path
	}
	ldap := func(path string) string {
		return "directory:\n  type: ldap\n  ldap:\n    url: ldap://127.0.0.1:1\n" +
			"    bind_dn: cn=svc,dc=example,dc=com\n    base_dn: dc=example,dc=com\n" +
			"    bind_password_file: " + path + "\n"
	}
	loose, private := file("loose", 0o644), file("private", 0o600)
	for _, tc := range []struct {
		name, yaml string
		want       []string // nil when it loads
	}{
		{"bind password 0600", ldap(private), nil},
		{"bind password 0644", ldap(loose),
			[]string{"config: directory.ldap.bind_password_file: " + loose, "every user", "chmod "}},
		{"bind password 0660", ldap(file("group-write", 0o660)), []string{"directory.ldap.bind_password_file", "more than read"}},
		{"bind password not there yet", ldap(filepath.Join(dir, "not-yet-provisioned")), nil},
		{"bind password a directory", ldap(t.TempDir()), []string{"directory.ldap.bind_password_file", "not a regular file"}},
		{"bind password unused", "directory:\n  type: builtin\n  ldap:\n    bind_password_file: " + loose + "\n", nil},
		{"server TLS key 0644", "server:\n  tls: {cert_file: /etc/c.pem, key_file: " + loose + "}\n",
			[]string{"server.tls.key_file: " + loose, "every user"}},
		{"server TLS key 0600", "server:\n  tls: {cert_file: /etc/c.pem, key_file: " + private + "}\n", nil},
		{"SIEM client key 0644", "audit:\n  forward: {address: 'h:1', cert_file: /etc/c.pem, key_file: " + loose + "}\n",
			[]string{"audit.forward.key_file: " + loose, "every user"}},
		{"SIEM client key 0600", "audit:\n  forward: {address: 'h:1', cert_file: /etc/c.pem, key_file: " + private + "}\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) { wantLoad(t, tc.yaml, 0o600, tc.want, secret) })
	}
}

// wantLoad writes yaml to a configuration file of mode and loads it: it
// must load when want is nil, else fail with an error that says each of
// want and never secret.
func wantLoad(t *testing.T, yaml string, mode fs.FileMode, want []string, secret string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "printgate.yaml")
	writeMode(t, path, yaml, mode)
	_, err := loadConfig(path, t.TempDir())
	if want == nil {
		if err != nil {
			t.Errorf("loadConfig: %v, want it loaded", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("loadConfig loaded, want an error saying %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("loadConfig: %v, want an error saying %q", err, w)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the error shows the secret: %v", err)
	}
}

// TestConfigInlineSecrets: a configuration file that holds a password
// itself is a secret file, and loads only under the same rule; one
// without a password loads whatever its mode.
func TestConfigInlineSecrets(t *testing.T) {
	const secret = "inline-s3cret"
	ldap := "directory:\n  type: ldap\n  ldap:\n    url: ldap://127.0.0.1:1\n" +
		"    bind_dn: cn=svc,dc=example,dc=com\n    base_dn: dc=example,dc=com\n" +
		"    bind_password: " + secret + "\n"
	db := func(url string) string { return "database:\n  url: \"" + url + "\"\n" }
	for _, tc := range []struct {
		name, yaml string
		mode       fs.FileMode
		want       []string // nil when it loads
	}{
		{"bind password 0644", ldap, 0o644, []string{"directory.ldap.bind_password", "every user", "chmod 600", "bind_password_file"}},
		{"bind password 0660", ldap, 0o660, []string{"directory.ldap.bind_password", "more than read"}},
		{"bind password 0600", ldap, 0o600, nil},
		{"database URL with a password 0644", db("postgres://pg:" + secret + "@127.0.0.1:5432/x"), 0o644,
			[]string{"database.url", "every user", "PRINTGATE_DATABASE_URL from a systemd EnvironmentFile="}},
		{"database URL password parameter 0644", db("postgres://127.0.0.1/x?password=" + secret), 0o644, []string{"database.url"}},
		{"database URL sslpassword 0644", db("postgres://pg@127.0.0.1/x?sslkey=/k.pem&sslpassword=" + secret), 0o644, []string{"database.url"}},
		{"database URL with a password 0600", db("postgres://pg:" + secret + "@127.0.0.1:5432/x"), 0o600, nil},
		{"database URL without a password 0644", db("postgres://pg@127.0.0.1:5432/x"), 0o644, nil},
		{"nothing secret 0644", "queues: [{name: secure, mode: hold}]\n", 0o644, nil},
	} {
		t.Run(tc.name, func(t *testing.T) { wantLoad(t, tc.yaml, tc.mode, tc.want, secret) })
	}
}

// TestConfigInlineSecretsPipe: a configuration read from a pipe (--config
// <(sops -d ...)) is on no disk, and loads with its password.
func TestConfigInlineSecretsPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		defer w.Close()
		w.WriteString("database:\n  url: \"postgres://pg:pipe-s3cret@127.0.0.1:5432/x\"\n")
	}()
	if _, err := loadConfig(fmt.Sprintf("/dev/fd/%d", r.Fd()), t.TempDir()); err != nil {
		t.Errorf("loadConfig from a pipe: %v, want it loaded", err)
	}
}

// writeMode writes content to a new file at path with exactly mode:
// WriteFile's mode passes through the umask, Chmod's does not.
func writeMode(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
