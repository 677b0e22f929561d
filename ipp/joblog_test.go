package ipp

import (
	"bytes"
	"testing"
	"time"
)

// TestDecodeCompletedJobs: a printer's job log reads back as it was
// written, printer text made printable and at most limit jobs kept.
func TestDecodeCompletedJobs(t *testing.T) {
	done := time.Date(2026, 4, 1, 9, 30, 0, 0, time.UTC)
	jobs := []CompletedJob{
		{ID: 7, UUID: "urn:uuid:1", State: JobCompleted, User: "mallory", Name: "secret\nplan", Impressions: 3, CompletedUp: 99, Completed: done,
			ColorImpressions: 1, MonoImpressions: 2},
		{ID: 8, State: JobAborted, User: "bob", Name: "x", Impressions: 0},
		{ID: 9, State: JobCompleted, User: "eve", Name: "y", Impressions: 1},
	}
	tests := []struct {
		name  string
		limit int
		want  int
	}{
		{"all", 0, 3},
		{"limited", 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeCompletedJobs(bytes.NewReader(EncodeCompletedJobs(jobs)), tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("%d jobs, want %d", len(got), tc.want)
			}
			j := got[0]
			if j.ID != 7 || j.UUID != "urn:uuid:1" || j.User != "mallory" || j.Name != "secret plan" ||
				j.Impressions != 3 || j.State != JobCompleted || !j.Completed.Equal(done) || j.CompletedUp != 99 || j.Sheets != -1 ||
				j.ColorImpressions != 1 || j.MonoImpressions != 2 {
				t.Errorf("first job %+v", j)
			}
			if j := got[1]; j.ColorImpressions != -1 || j.MonoImpressions != -1 {
				t.Errorf("a job without job-impressions-completed-col: %+v", j)
			}
		})
	}
}

// FuzzDecodeCompletedJobs: whatever a printer answers to Get-Jobs, the
// job log is read without a panic, within its limit, with positive IDs
// and printable text.
func FuzzDecodeCompletedJobs(f *testing.F) {
	f.Add(EncodeCompletedJobs([]CompletedJob{{ID: 1, UUID: "urn:uuid:a", State: JobCompleted, User: "u", Name: "n", Impressions: 2}}))
	f.Add(EncodeCompletedJobs(nil))
	f.Add(EncodeCompletedJobs([]CompletedJob{{ID: 2, State: JobCompleted, Impressions: 4, ColorImpressions: 3, MonoImpressions: 1}}))
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		jobs, err := DecodeCompletedJobs(bytes.NewReader(b), 10)
		if err != nil {
			return
		}
		if len(jobs) > 10 {
			t.Fatalf("%d jobs past the limit", len(jobs))
		}
		for _, j := range jobs {
			if j.ColorImpressions < -1 || j.MonoImpressions < -1 || j.ColorImpressions > maxImpressions || j.MonoImpressions > maxImpressions {
				t.Fatalf("colour counts of job %+v", j)
			}
			// The names are not cut: their reader masks them first
			// (CompletedJob).
			if j.ID <= 0 || bytes.ContainsAny([]byte(j.Name+j.User), "\n\r\x00") {
				t.Fatalf("job %+v", j)
			}
		}
	})
}
