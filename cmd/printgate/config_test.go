package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit/pages"
	"github.com/printgate/printgate/monitor"
	"github.com/printgate/printgate/release"
)

func TestLoadConfig(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		env     map[string]string
		data    string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{
			name: "defaults",
			check: func(t *testing.T, c Config) {
				if c.DataDir != "./var" || c.Database.URL != "" || c.Server.Listen[0] != "127.0.0.1:8631" {
					t.Errorf("defaults: %+v", c)
				}
				if c.Spool.QuotaPercentOfFree != 50 || c.Spool.MaxHeldMBPerUser != 2048 || c.Server.GetJobsLimit != 500 ||
					c.Server.DNSSD != "auto" {
					t.Errorf("default bounds: %+v %+v", c.Spool, c.Server)
				}
				if len(c.Queues) != 1 || c.Queues[0].Name != "secure" || c.Queues[0].Mode != "hold" {
					t.Errorf("default queues: %+v", c.Queues)
				}
			},
		},
		{
			name: "issue example",
			yaml: `data_dir: ./var
database: {url: ""}
server: {listen: ["127.0.0.1:8631"]}
queues:
  - {name: secure, mode: hold}
  - {name: lobby, mode: direct, printer: "ipp://127.0.0.1:8632/ipp/print"}
`,
			check: func(t *testing.T, c Config) {
				if len(c.Queues) != 2 || c.Queues[1].Printer != "ipp://127.0.0.1:8632/ipp/print" {
					t.Errorf("queues: %+v", c.Queues)
				}
			},
		},
		{name: "unknown key", yaml: "server: {listen: [\"127.0.0.1:1\"], lisen: []}\n", wantErr: `unknown key "lisen"`},
		{name: "unknown top key", yaml: "queus: []\n", wantErr: `unknown key "queus"`},
		{name: "bad dnssd", yaml: "server: {dnssd: yes}\n", wantErr: "server.dnssd: must be auto, on or off"},
		{name: "bad mode", yaml: "queues: [{name: a, mode: print}]\n", wantErr: "queues[0]: mode"},
		{name: "session idle past a session's life", yaml: "release: {session_idle: 15m}\n",
			wantErr: "release.session_idle: 15m0s is longer than a device session lasts (10m0s after its sign-in"},
		{name: "bad unknown_owner", yaml: "queues: [{name: a, unknown_owner: keep}]\n", wantErr: "queues[0]: unknown_owner"},
		{name: "unknown_owner on basic", yaml: "queues: [{name: a, auth: basic, unknown_owner: hold}]\n", wantErr: "only for auth: requesting-user-name"},
		{name: "owners cache too long", yaml: "owners: {cache_for: 1h}\n", wantErr: "owners.cache_for"},
		{name: "direct without printer", yaml: "queues: [{name: a, mode: direct}]\n", wantErr: "queues[0]: printer"},
		{name: "observed limit below the poll's", yaml: "monitoring: {max_observed_per_poll: 200, max_observed_per_day: 100}\n",
			wantErr: "monitoring.max_observed_per_day: must be at least max_observed_per_poll"},
		{name: "no observed job a poll", yaml: "monitoring: {max_observed_per_poll: 0}\n",
			wantErr: "monitoring.max_observed_per_poll: must be at least 1"},
		{name: "observed limits", yaml: "monitoring: {max_observed_per_poll: 20, max_observed_per_day: 800}\n",
			check: func(t *testing.T, c Config) {
				if c.Monitoring.MaxObservedPerPoll != 20 || c.Monitoring.MaxObservedPerDay != 800 {
					t.Errorf("monitoring limits %d, %d; want 20, 800", c.Monitoring.MaxObservedPerPoll, c.Monitoring.MaxObservedPerDay)
				}
			}},
		{name: "direct printer with password", yaml: "queues: [{name: a, mode: direct, printer: \"ipps://admin:secret@mfp/ipp/print\"}]\n",
			wantErr: "must not hold a user name or password"},
		{name: "bad queue name", yaml: "queues: [{name: \"a/b\"}]\n", wantErr: "queues[0].name"},
		{name: "duplicate queue", yaml: "queues: [{name: a}, {name: a}]\n", wantErr: "used twice"},
		{name: "bad cidr", yaml: "queues: [{name: a, trusted_networks: [\"10.0.0.0/33\"]}]\n", wantErr: "trusted_networks"},
		{name: "bad listen", yaml: "server: {listen: [\"8631\"]}\n", wantErr: "server.listen[0]"},
		{name: "bad database", yaml: "database: {url: \"mysql://x\"}\n", wantErr: "database.url"},
		{name: "journal with a shared spool", yaml: "database: {url: \"postgres://x/y\", journal: true}\nspool: {shared: true}\n", wantErr: "database.journal"},
		{name: "spool share over 100", yaml: "spool: {quota_percent_of_free: 101}\n", wantErr: "spool.quota_percent_of_free"},
		{name: "negative held limit", yaml: "spool: {max_held_mb_per_user: -1}\n", wantErr: "spool.max_held_mb_per_user"},
		{name: "no decoded budget", yaml: "pages: {max_decoded_mb: 0}\n", wantErr: "pages: max_decoded_mb"},
		{name: "tiny time budget", yaml: "pages: {max_time: 1ms}\n", wantErr: "pages: max_decoded_mb"},
		{name: "no PDF counted", yaml: "pages: {max_pdf_mb: 0}\n", wantErr: "pages: max_decoded_mb"},
		{name: "negative Get-Jobs limit", yaml: "server: {get_jobs_limit: -1}\n", wantErr: "server.get_jobs_limit"},
		{
			name: "bounds default and off",
			yaml: "spool: {quota_percent_of_free: 0, max_held_mb_per_user: 0}\nserver: {get_jobs_limit: 0}\n",
			check: func(t *testing.T, c Config) {
				if c.Spool.QuotaPercentOfFree != 0 || c.Spool.MaxHeldMBPerUser != 0 || c.Server.GetJobsLimit != 0 {
					t.Errorf("zeros turn the bounds off: %+v %+v", c.Spool, c.Server)
				}
				if b := c.Pages.budget(); b != pages.DefaultBudget {
					t.Errorf("page budget %+v, want the default %+v", b, pages.DefaultBudget)
				}
			},
		},
		{name: "bad release floor", yaml: "queues: [{name: a, release_requires: [card, pin]}]\n", wantErr: "queues[0]: release_requires"},
		{name: "web release past a floor", yaml: "queues: [{name: a, release_requires: [card+pin], release_from_web: true}]\n",
			wantErr: "queues[0]: release_from_web"},
		{name: "qr link lifetime", yaml: "release: {qr_lifetime: 1s}\n", wantErr: "release.qr_lifetime"},
		{name: "no device failures", yaml: "release: {device_max_failures: 0}\n", wantErr: "release.device_max_failures"},
		{name: "short device window", yaml: "release: {device_failure_window: 10ms}\n", wantErr: "release.device_failure_window"},
		{name: "no password failures", yaml: "credentials: {max_password_failures: -1}\n", wantErr: "credentials.max_password_failures"},
		{name: "no address failures", yaml: "credentials: {max_address_failures: 0}\n", wantErr: "credentials.max_address_failures"},
		{
			name: "throttle defaults and release floor",
			yaml: "queues: [{name: payroll, release_requires: [card+pin, id+pin]}]\n",
			check: func(t *testing.T, c Config) {
				if c.Release.DeviceMaxFailures != 10 || c.Release.DeviceFailureWindow != 5*time.Minute ||
					c.Credentials.MaxPasswordFailures != 10 || c.Credentials.MaxAddressFailures != 30 {
					t.Errorf("throttle defaults: %+v %+v", c.Release, c.Credentials)
				}
				q, err := c.Queues[0].queue()
				if err != nil || !slices.Equal(q.ReleaseRequires, []string{"card+pin", "id+pin"}) {
					t.Errorf("release floor %v, %v", q.ReleaseRequires, err)
				}
			},
		},
		{name: "anchor interval too short", yaml: "audit: {anchor_every: 0s}\n", wantErr: "audit.anchor_every"},
		{
			name: "journal on PostgreSQL by default",
			yaml: "database: {url: \"postgres://x/y\"}\n",
			check: func(t *testing.T, c Config) {
				if c.journalDir() != filepath.Join(c.DataDir, "journal") {
					t.Errorf("journal dir %q, want the data dir's", c.journalDir())
				}
			},
		},
		{
			name: "no journal by default with a shared spool",
			yaml: "database: {url: \"postgres://x/y\"}\nspool: {shared: true, dir: /srv/spool}\n",
			check: func(t *testing.T, c Config) {
				if c.journalDir() != "" {
					t.Errorf("journal dir %q with a shared spool, want none", c.journalDir())
				}
			},
		},
		{
			name: "anchor file",
			yaml: "data_dir: /srv/pg\naudit: {anchor_every: 30s, anchor_file: /var/log/printgate/anchors.log}\n",
			check: func(t *testing.T, c Config) {
				if c.Audit.AnchorEvery != 30*time.Second || c.anchorFile() != "/var/log/printgate/anchors.log" {
					t.Errorf("audit: %+v, anchor file %s", c.Audit, c.anchorFile())
				}
				c.Audit.AnchorFile = ""
				if c.anchorFile() != "/srv/pg/audit-anchors.log" {
					t.Errorf("default anchor file %s", c.anchorFile())
				}
			},
		},
		{
			name: "env database url",
			env:  map[string]string{"PRINTGATE_DATABASE_URL": "postgres://u@127.0.0.1/db"},
			check: func(t *testing.T, c Config) {
				if c.Database.URL != "postgres://u@127.0.0.1/db" {
					t.Errorf("database url %q", c.Database.URL)
				}
			},
		},
		{
			name: "data flag wins",
			yaml: "data_dir: /from/file\n",
			env:  map[string]string{"PRINTGATE_DATA_DIR": "/from/env"},
			data: "/from/flag",
			check: func(t *testing.T, c Config) {
				if c.DataDir != "/from/flag" {
					t.Errorf("data dir %q", c.DataDir)
				}
			},
		},
		{
			name: "queue defaults",
			yaml: "queues: [{name: q}]\n",
			check: func(t *testing.T, c Config) {
				// The service runs the queues validate parsed.
				if len(c.queues) != 1 {
					t.Fatalf("parsed queues: %+v", c.queues)
				}
				q := c.queues[0]
				if q.Mode != release.Hold || q.Auth != release.AuthRequestingUserName || q.MaxSize != defaultMaxDocumentMB<<20 ||
					len(q.Formats) == 0 || len(q.TrustedNetworks) != 2 {
					t.Errorf("queue defaults: %+v", q)
				}
				if q.UnknownOwner != release.RefuseUnknown || !c.Owners.FoldCase || !c.Owners.StripDomain || c.Owners.CacheFor != 30*time.Second {
					t.Errorf("owner defaults: queue unknown_owner %q, owners %+v", q.UnknownOwner, c.Owners)
				}
				if c.Monitoring.MaxObservedPerPoll != monitor.DefaultMaxObservedPerPoll ||
					c.Monitoring.MaxObservedPerDay != monitor.DefaultMaxObservedPerDay {
					t.Errorf("monitoring defaults: %+v", c.Monitoring)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PRINTGATE_DATABASE_URL", "")
			os.Unsetenv("PRINTGATE_DATABASE_URL")
			t.Setenv("PRINTGATE_DATA_DIR", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			path := ""
			if tc.yaml != "" {
				path = filepath.Join(t.TempDir(), "c.yaml")
				os.WriteFile(path, []byte(tc.yaml), 0o600)
			}
			c, err := loadConfig(path, tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

// TestExampleConfig keeps the documented example loadable.
func TestExampleConfig(t *testing.T) {
	if _, err := loadConfig("../../configs/printgate.example.yaml", ""); err != nil {
		t.Fatal(err)
	}
}

// TestFlagsAnywhere checks that --config and --data work before and after
// the subcommand name.
func TestFlagsAnywhere(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfgPath, []byte("log: {level: warn}\n"), 0o600)
	for _, args := range [][]string{
		{"--config", cfgPath, "--data", "DIR", "migrate"},
		{"migrate", "--config", cfgPath, "--data", "DIR"},
		{"--data=DIR", "migrate", "--config=" + cfgPath},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			for i, a := range args {
				args[i] = strings.ReplaceAll(a, "DIR", dir)
			}
			var out bytes.Buffer
			a := &app{stdout: &out, stderr: &out}
			cmd := a.command()
			cmd.SetArgs(args)
			if err := cmd.Execute(); err != nil {
				t.Fatalf("%v: %v\n%s", args, err, out.String())
			}
			if _, err := os.Stat(filepath.Join(dir, "printgate.db")); err != nil {
				t.Errorf("migrate did not use --data: %v", err)
			}
			if a.configPath != cfgPath {
				t.Errorf("config path %q", a.configPath)
			}
		})
	}
}
