package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/release/rules"
)

// ldapYAML is a directory block that passes validation.
const ldapYAML = `directory:
  type: ldap
  ldap: {url: "ldap://127.0.0.1:389", bind_dn: "cn=svc,dc=example,dc=com", bind_password: x, base_dn: "dc=example,dc=com"}
`

// TestConfigRules: print rules load as documented, and each bad rule
// fails the load with a message naming the setting.
func TestConfigRules(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, wantErr string
	}{
		{"negative max_pages", "queues: [{name: a, rules: {max_pages: -1}}]\n", "queues[0].rules: max_pages: -1 must not be negative"},
		{"format not a MIME type", "queues: [{name: a, rules: {formats: [pdf]}}]\n", `queues[0].rules: formats: "pdf" is not a document format`},
		{"format the queue refuses", "queues: [{name: a, formats: [application/pdf], rules: {formats: [image/jpeg]}}]\n",
			`queues[0].rules.formats: "image/jpeg" is not among the formats the queue accepts`},
		{"bad hours", "queues: [{name: a, rules: {hours: \"8-20\"}}]\n", `queues[0].rules: hours: "8-20" must be a window such as 08:00-20:00`},
		{"bad weekday", "queues: [{name: a, rules: {weekdays: [monday]}}]\n", `queues[0].rules: weekdays: "monday" must be one of`},
		{"unknown rule", "queues: [{name: a, rules: {max_page: 3}}]\n", `unknown key "max_page"`},
		{"group rules on the built-in directory", "rules_by_group: [{group: \"cn=interns,dc=example,dc=com\", max_pages: 10}]\n",
			"rules_by_group[0]: rules by group need directory.type ldap"},
		{"group not a DN", ldapYAML + "rules_by_group: [{group: interns, max_pages: 10}]\n", `rules_by_group[0].group: "interns" is not a group DN`},
		{"group rule sets nothing", ldapYAML + "rules_by_group: [{group: \"cn=interns,dc=example,dc=com\"}]\n", "rules_by_group[0]: sets no rule"},
		{"group format no queue accepts", ldapYAML + "queues: [{name: a, formats: [application/pdf]}]\n" +
			"rules_by_group: [{group: \"cn=interns,dc=example,dc=com\", formats: [text/plain]}]\n",
			`rules_by_group[0].formats: "text/plain" is not among the formats any queue accepts`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o600)
			_, err := loadConfig(path, "")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}

	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte(ldapYAML+`queues:
  - name: secure
    rules: {force_monochrome: true, force_two_sided: true, max_pages: 50,
            formats: [application/pdf], hours: "08:00-20:00", weekdays: [mon, tue, wed, thu, fri]}
rules_by_group: [{group: "cn=interns,ou=groups,dc=example,dc=com", max_pages: 10, force_monochrome: true}]
`), 0o600)
	c, err := loadConfig(path, "")
	if err != nil {
		t.Fatal(err)
	}
	q := c.queues[0].Rules
	if !q.ForceMonochrome || !q.ForceTwoSided || q.MaxPages != 50 || q.Hours != "08:00-20:00" || q.Scope != "" {
		t.Errorf("queue rules %+v", q)
	}
	if len(c.groupRules) != 1 || c.groupRules[0].Scope != "cn=interns,ou=groups,dc=example,dc=com" || c.groupRules[0].MaxPages != 10 {
		t.Errorf("group rules %+v", c.groupRules)
	}
	// The hours are in audit.time_zone (Asia/Tokyo by default): 07:30 UTC
	// on a Monday is 16:30 there, within them.
	if err := (rules.Set{q}).Check(rules.Job{Format: "application/pdf", Pages: 1, PagesKnown: true, Enforceable: true,
		At: mustTime(t, "2026-03-02T07:30:00Z")}); err != nil {
		t.Errorf("a job at 16:30 in Tokyo: %v", err)
	}
}

// TestConfigCheckCommand: `printgate config check` reports a bad rule and
// passes a good configuration.
func TestConfigCheckCommand(t *testing.T) {
	run := func(yaml string) (string, error) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(path, []byte(yaml), 0o600)
		var out bytes.Buffer
		a := &app{stdout: &out, stderr: &out}
		cmd := a.command()
		cmd.SetArgs([]string{"config", "check", "--config", path})
		err := cmd.Execute()
		return out.String(), err
	}
	if _, err := run("queues: [{name: a, rules: {hours: \"20:00-20:00\"}}]\n"); err == nil ||
		!strings.Contains(err.Error(), `queues[0].rules: hours: "20:00-20:00" is an empty window`) {
		t.Errorf("config check of an empty window: %v", err)
	}
	out, err := run("queues: [{name: a, rules: {max_pages: 5}}]\n")
	if err != nil || !strings.Contains(out, "configuration OK") {
		t.Errorf("config check of a good file: %v %s", err, out)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
