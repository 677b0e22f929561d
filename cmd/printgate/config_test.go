package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{name: "bad mode", yaml: "queues: [{name: a, mode: print}]\n", wantErr: "queues[0]: mode"},
		{name: "direct without printer", yaml: "queues: [{name: a, mode: direct}]\n", wantErr: "queues[0]: printer"},
		{name: "bad queue name", yaml: "queues: [{name: \"a/b\"}]\n", wantErr: "queues[0].name"},
		{name: "duplicate queue", yaml: "queues: [{name: a}, {name: a}]\n", wantErr: "used twice"},
		{name: "bad cidr", yaml: "queues: [{name: a, trusted_networks: [\"10.0.0.0/33\"]}]\n", wantErr: "trusted_networks"},
		{name: "bad listen", yaml: "server: {listen: [\"8631\"]}\n", wantErr: "server.listen[0]"},
		{name: "bad database", yaml: "database: {url: \"mysql://x\"}\n", wantErr: "database.url"},
		{name: "anchor interval too short", yaml: "audit: {anchor_every: 0s}\n", wantErr: "audit.anchor_every"},
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
				q, err := c.Queues[0].queue()
				if err != nil {
					t.Fatal(err)
				}
				if q.Mode != "hold" || q.Auth != "requesting-user-name" || q.MaxSize != defaultMaxDocumentMB<<20 ||
					len(q.Formats) == 0 || len(q.TrustedNetworks) != 2 {
					t.Errorf("queue defaults: %+v", q)
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
