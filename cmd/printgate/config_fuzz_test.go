package main

import (
	"os"
	"testing"
)

// FuzzConfig feeds arbitrary YAML to the config decoder and validator:
// they must refuse or accept it, never panic.
func FuzzConfig(f *testing.F) {
	for _, path := range []string{"../../configs/printgate.example.yaml", "../../configs/ldap-openldap.yaml",
		"../../configs/ldap-activedirectory.yaml"} {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("queues: [{name: a, mode: direct, printer: \"ipp://x\"}]\n"))
	f.Add([]byte("server: {listen: [\"127.0.0.1:1\"]}\naudit: {time_zone: Asia/Tokyo}\n"))
	f.Add([]byte("directory: {type: ldap, ldap: {url: \"ldap://127.0.0.1\", base_dn: \"dc=x\"}}\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg := defaultConfig()
		if err := decodeConfig(raw, &cfg); err != nil {
			return
		}
		if err := cfg.validate(); err != nil {
			return
		}
		for _, q := range cfg.Queues {
			if _, err := q.queue(); err != nil {
				t.Fatalf("validated config has a bad queue: %v", err)
			}
		}
	})
}
