package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/printgate/printgate/internal/database"
)

// Secret files the configuration names (the LDAP bind password, the OIDC
// client secret, TLS private keys) are refused when users other than
// printgate's may read or change them, as OpenSSH refuses such a private
// key and PostgreSQL such a key file: a directory's service password that
// every account on the host can read leaks without anyone noticing, and a
// refusal at start-up is the one moment the admin is sure to look.
// printgate's own key files in the data dir (master.key, credentials.key,
// audit.key) are made and kept private elsewhere (internal/secret,
// privatePerms).

// checkSecretMode is the rule for a secret file, given the mode and the
// owner's uid of the file its path resolves to: a regular file that grants
// nothing to others, and nothing to its group but read, and that only when
// root owns the file. root:printgate 0640 is how packages share a secret
// with a service's group (PostgreSQL's rule for its key files); a group
// readable file that printgate's own account or a person owns is a umask
// accident more often than a decision. The owner's own bits, and the
// setuid, setgid and sticky bits, which give nobody access, are free.
func checkSecretMode(mode fs.FileMode, uid uint32) error {
	perm := mode.Perm()
	switch {
	case !mode.IsRegular():
		return fmt.Errorf("not a regular file (%v)", mode)
	case perm&0o007 != 0:
		return fmt.Errorf("every user on the host has access to it (mode %04o)", perm)
	case perm&0o030 != 0:
		return fmt.Errorf("its group has more than read access (mode %04o)", perm)
	case perm&0o040 != 0 && uid != 0:
		return fmt.Errorf("its group may read it and root does not own it (mode %04o, owner uid %d)", perm, uid)
	}
	return nil
}

// checkSecretFile applies checkSecretMode to the file path resolves to (a
// symbolic link is followed: what matters is who may read the secret),
// and returns that file's information. An error names path and what to
// run, never the contents; one that os.Stat returns is passed on as it
// is, so that errors.Is(err, fs.ErrNotExist) tells a file not there yet.
func checkSecretFile(path string) (fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := checkSecretInfo(path, fi); err != nil {
		return nil, err
	}
	return fi, nil
}

// checkSecretInfo applies checkSecretMode to fi, the information of the
// file at path.
func checkSecretInfo(path string, fi fs.FileInfo) error {
	uid := ^uint32(0) // no owner known: no group read allowed
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		uid = st.Uid
	}
	if err := checkSecretMode(fi.Mode(), uid); err != nil {
		return fmt.Errorf("%s: %w: %s", path, err, secretFileFix(path, fi.Mode(), uid))
	}
	return nil
}

// secretFileFix says what to run about a secret file the rule refuses.
func secretFileFix(path string, mode fs.FileMode, uid uint32) string {
	switch {
	case !mode.IsRegular():
		return "name the file that holds the secret"
	case uid == 0:
		// A root-owned file is likely shared with printgate's group: 600
		// would lock printgate out unless it runs as root.
		return fmt.Sprintf("chmod 640 %s to let its group read it, or chmod 600 %s", path, path)
	case mode.Perm()&0o037 == 0:
		return fmt.Sprintf("chmod 600 %s, or chown root %s to share it with its group", path, path)
	}
	return fmt.Sprintf("chmod 600 %s", path)
}

// checkSecretFiles checks the secret files the configuration names, each
// error naming its key. A file not there yet is left to the code that
// reads it, which says so then: restore runs before the secrets are
// provisioned (README, "Backup and restore"). console.oidc.client_secret_file
// is checked where it is read (OIDCConfig.secret), which checkConsole
// calls.
func (c *Config) checkSecretFiles(p *problems) {
	files := []struct{ key, path string }{
		{"server.tls.key_file", c.Server.TLS.KeyFile},
		{"audit.forward.key_file", c.Audit.Forward.KeyFile},
	}
	if c.Directory.Type == "ldap" {
		files = append(files, struct{ key, path string }{"directory.ldap.bind_password_file", c.Directory.LDAP.BindPasswordFile})
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		if _, err := checkSecretFile(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			p.add(f.key, "%v", err)
		}
	}
}

// checkInlineSecrets applies the secret file rule to the configuration
// file at path, whose information fi is as it was read, when it holds a secret
// itself (an LDAP bind password, a database URL with a password or
// another secret parameter): the rule would mean little if the same
// password could sit in a file every user on the host reads. The file
// checked is the one read, not whatever the path names a moment later;
// a configuration that is no regular file (a pipe, --config
// <(sops -d ...)) is on no disk to be read. The error names the keys and
// what to run, never the values.
func (c *Config) checkInlineSecrets(path string, fi fs.FileInfo) error {
	var keys []string
	if c.Directory.LDAP.BindPassword != "" {
		keys = append(keys, "directory.ldap.bind_password")
	}
	if database.URLHasSecret(c.Database.URL) {
		keys = append(keys, "database.url")
	}
	if len(keys) == 0 || !fi.Mode().IsRegular() {
		return nil
	}
	if err := checkSecretInfo(path, fi); err != nil {
		return fmt.Errorf("config: %s holds a secret (%s): %w; or keep it out of the file "+
			"(directory.ldap.bind_password_file; PRINTGATE_DATABASE_URL from a systemd EnvironmentFile= of mode 0600)",
			path, strings.Join(keys, ", "), err)
	}
	return nil
}
