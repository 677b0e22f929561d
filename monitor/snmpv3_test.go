package monitor

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/testenv"
)

// Passphrases of the test's SNMPv3 users: none may show anywhere but
// the agent's configuration.
const (
	v3AuthPass  = "pg-v3-auth-passphrase-71"
	v3PrivPass  = "pg-v3-priv-passphrase-93"
	v3WrongPass = "pg-v3-wrong-passphrase-55"
)

// TestSNMPv3Counter: a real net-snmp snmpd knows SNMPv3 users; printers
// registered with their USM settings (SHA-256 with AES privacy, SHA with
// authentication only) have their counter read; one registered with a
// wrong passphrase, or another's privacy passphrase, gets a clear last
// error, and no passphrase is in an error, a log line, or the database in
// clear.
func TestSNMPv3Counter(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		// Printers at one URI are polled as one: four URIs, two names
		// of each of two printers.
		one, two := testenv.IPPEvePrinter(t), testenv.IPPEvePrinter(t)
		uris := map[string]string{"priv": one.URI, "auth": two.URI,
			"wrong-auth": strings.Replace(one.URI, "127.0.0.1", "localhost", 1),
			"wrong-priv": strings.Replace(two.URI, "127.0.0.1", "localhost", 1)}
		agent := testenv.SNMPD(t, 4242,
			testenv.SNMPv3User{Name: "pgpriv", AuthProto: "SHA-256", AuthPass: v3AuthPass, PrivProto: "AES", PrivPass: v3PrivPass},
			testenv.SNMPv3User{Name: "pgauth", AuthProto: "SHA", AuthPass: v3AuthPass})
		var logs bytes.Buffer
		clock := testenv.NewClock()
		m, _ := newMonitor(t, db, clock, func(o *Options) {
			o.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
		ctx := t.Context()
		for _, c := range []struct {
			name string
			v3   SNMPv3
		}{
			{"priv", SNMPv3{User: "pgpriv", Auth: "sha-256", Priv: "aes", AuthPassphrase: v3AuthPass, PrivPassphrase: v3PrivPass}},
			{"auth", SNMPv3{User: "pgauth", Auth: "SHA", AuthPassphrase: v3AuthPass}},
			{"wrong-auth", SNMPv3{User: "pgpriv", Auth: "SHA-256", Priv: "AES", AuthPassphrase: v3WrongPass, PrivPassphrase: v3PrivPass}},
			{"wrong-priv", SNMPv3{User: "pgpriv", Auth: "SHA-256", Priv: "AES", AuthPassphrase: v3AuthPass, PrivPassphrase: v3WrongPass}},
		} {
			uri := uris[c.name]
			if _, err := m.Registry().Add(ctx, Spec{Name: c.name, URI: uri, SNMPAddr: agent.Addr, SNMPv3: &c.v3}, nil); err != nil {
				t.Fatalf("add %s: %v", c.name, err)
			}
		}
		if err := m.PollOnce(ctx); err != nil {
			t.Fatal(err)
		}
		ps, err := m.Registry().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]Printer{}
		for _, p := range ps {
			got[p.Name] = p
		}
		for _, name := range []string{"priv", "auth"} {
			if p := got[name]; p.Counter != 4242 || p.LastError != "" || p.SNMPVersion != Version3 {
				t.Errorf("%s: counter %d, error %q, version %q; want 4242 read over SNMPv3", name, p.Counter, p.LastError, p.SNMPVersion)
			}
		}
		for name, want := range map[string]string{"wrong-auth": "SNMPv3 authentication failed", "wrong-priv": "a wrong privacy passphrase"} {
			if p := got[name]; p.Counter != 0 || !strings.Contains(p.LastError, want) {
				t.Errorf("%s: counter %d, last error %q; want %q", name, p.Counter, p.LastError, want)
			}
		}
		if !strings.Contains(logs.String(), "SNMPv3 authentication failed") {
			t.Errorf("the failure is not logged:\n%s", logs.String())
		}
		rows, err := db.DB.Raw(`SELECT * FROM monitor_printers`).Rows()
		if err != nil {
			t.Fatal(err)
		}
		dump, _ := testenv.DumpRows(t, rows)
		for _, secret := range []string{v3AuthPass, v3PrivPass, v3WrongPass} {
			for where, text := range map[string]string{"log": logs.String(), "database": dump,
				"last errors": got["wrong-auth"].LastError + got["wrong-priv"].LastError} {
				if strings.Contains(text, secret) {
					t.Errorf("a passphrase is in the %s in clear", where)
				}
			}
		}
		// The passphrases are bound to their printer.
		if _, err := openCommunity(m.opts.Key, v3AAD("auth"), got["priv"].SNMPKeys); err == nil {
			t.Error("a printer's SNMPv3 passphrases open for another printer")
		}
	})
}

// TestSNMPv3Settings: bad SNMPv3 settings are refused with a message
// that names the setting and never the passphrase.
func TestSNMPv3Settings(t *testing.T) {
	testenv.EachDB(t, migrate, func(t *testing.T, db *database.DB) {
		r := NewRegistry(db, []byte("monitor-test-credentials-key-0123"), func() time.Time { return time.Now() })
		good := SNMPv3{User: "pg", Auth: "SHA-256", Priv: "AES", AuthPassphrase: v3AuthPass, PrivPassphrase: v3PrivPass}
		for _, c := range []struct {
			name string
			edit func(*SNMPv3)
			spec func(*Spec)
			want string
		}{
			{"md5", func(v *SNMPv3) { v.Auth = "MD5" }, nil, "authentication protocol \"MD5\""},
			{"des", func(v *SNMPv3) { v.Priv = "DES" }, nil, "privacy protocol \"DES\""},
			{"short auth", func(v *SNMPv3) { v.AuthPassphrase = "short" }, nil, "authentication passphrase must be 8 to 255"},
			{"short priv", func(v *SNMPv3) { v.PrivPassphrase = "x" }, nil, "privacy passphrase must be 8 to 255"},
			{"no user", func(v *SNMPv3) { v.User = "" }, nil, "user name"},
			{"both", nil, func(s *Spec) { s.SNMPCommunity = "public" }, "not both"},
		} {
			v := good
			if c.edit != nil {
				c.edit(&v)
			}
			s := Spec{Name: "p", URI: "ipp://10.0.0.5/ipp/print", SNMPAddr: "10.0.0.5", SNMPv3: &v}
			if c.spec != nil {
				c.spec(&s)
			}
			_, err := r.Add(t.Context(), s, nil)
			if !errors.Is(err, ErrBadPrinter) || !strings.Contains(err.Error(), c.want) ||
				strings.Contains(err.Error(), v3AuthPass) || strings.Contains(err.Error(), v3PrivPass) {
				t.Errorf("%s: %v, want ErrBadPrinter: %s", c.name, err, c.want)
			}
		}
	})
}
