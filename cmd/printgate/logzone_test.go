package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestLogTimeZone checks that log timestamps are written in
// audit.time_zone with its offset, and in UTC when log.utc says so, in
// both log formats.
func TestLogTimeZone(t *testing.T) {
	tests := []struct {
		name, zone, format string
		utc                bool
		want               *regexp.Regexp
	}{
		{"tokyo text", "Asia/Tokyo", "text", false, regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+09:00$`)},
		{"tokyo json", "Asia/Tokyo", "json", false, regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+09:00$`)},
		{"new york text", "America/New_York", "text", false, regexp.MustCompile(`-0[45]:00$`)},
		{"utc by setting", "Asia/Tokyo", "text", true, regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.Audit.TimeZone, cfg.Log.Format, cfg.Log.UTC = tt.zone, tt.format, tt.utc
			var buf bytes.Buffer
			a := &app{stderr: &buf}
			a.logger(cfg).Info("started", "queue", "secure")
			ts := logTime(t, buf.String(), tt.format)
			if !tt.want.MatchString(ts) {
				t.Errorf("timestamp %q does not match %s; line: %s", ts, tt.want, buf.String())
			}
		})
	}
}

// logTime returns the time field of a log line.
func logTime(t *testing.T, line, format string) string {
	t.Helper()
	if format == "json" {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		s, _ := m["time"].(string)
		return s
	}
	field, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
	return field
}
