package ipp_test

import (
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/release"
)

// TestOthersSeeNoReasons: Get-Jobs which-jobs=all, asked by someone other
// than the jobs' owner, tells a job held because its document holds an
// individual number, or expired for it, from no other held or expired
// job: its job-state-reasons and job-state-message are those of any job
// in its state, in English and in Japanese. The owner still sees why.
func TestOthersSeeNoReasons(t *testing.T) {
	e := newServerEnv(t, "")
	now := time.Now().UTC()
	rows := []release.Job{
		{Name: "lunch", State: release.StateHeld, Reason: "job-hold-until-specified", HoldUntil: "indefinite"},
		{Name: "tax", State: release.StateHeld, Reason: release.ReasonMyNumber, Sensitive: "my-number",
			Message: "This job holds an individual number (My Number): release it at a printer with your card and PIN."},
		{Name: "old lunch", State: release.StateExpired, Reason: "job-expired",
			Message: "The job was not released in time; it was deleted."},
		{Name: "old tax", State: release.StateExpired, Reason: "job-expired", Sensitive: "my-number",
			Message: "The job holds an individual number and was not released in time; it was deleted."},
	}
	for i := range rows {
		j := &rows[i]
		j.Queue, j.Owner, j.Format, j.Copies, j.CreatedAt, j.UpdatedAt = "secure", "hanako", "application/pdf", 1, now, now
		if err := e.db.Create(j).Error; err != nil {
			t.Fatal(err)
		}
	}
	// status lists, by job ID, each job's reasons and message.
	status := func(user, lang string) map[int64]string {
		m := e.request(goipp.OpGetJobs, "secure", user, keywords("which-jobs", "all"),
			keywords("requested-attributes", "job-id", "job-state", "job-state-reasons", "job-state-message", "job-hold-until"))
		m.Operation[1] = goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String(lang))
		reply := e.do(t, "secure", m, nil)
		out := map[int64]string{}
		for _, g := range reply.Groups {
			if g.Tag != goipp.TagJobGroup {
				continue
			}
			var id int64
			var parts []string
			for _, a := range g.Attrs {
				var vals []string
				for _, v := range a.Values {
					vals = append(vals, v.V.String())
				}
				if a.Name == "job-id" {
					id = int64(a.Values[0].V.(goipp.Integer))
					continue
				}
				parts = append(parts, a.Name+"="+strings.Join(vals, ","))
			}
			out[id] = strings.Join(parts, " ")
		}
		if len(out) != len(rows) {
			t.Fatalf("Get-Jobs as %s listed %d jobs, want %d: %v", user, len(out), len(rows), out)
		}
		return out
	}
	for _, lang := range []string{"en", "ja"} {
		t.Run(lang, func(t *testing.T) {
			seen := status("taro", lang)
			for _, pair := range [][2]int{{0, 1}, {2, 3}} {
				plain, secret := seen[rows[pair[0]].ID], seen[rows[pair[1]].ID]
				if plain != secret {
					t.Errorf("another user tells %s from %s:\n%s\n%s", rows[pair[1]].Name, rows[pair[0]].Name, secret, plain)
				}
			}
			for id, s := range seen {
				for _, word := range []string{"my-number", "individual number", "My Number", "個人番号", "マイナンバー"} {
					if strings.Contains(s, word) {
						t.Errorf("another user sees job %d as %s", id, s)
						break
					}
				}
			}
		})
	}
	own := status("hanako", "en")
	if !strings.Contains(own[rows[1].ID], release.ReasonMyNumber) {
		t.Errorf("the owner sees her job held for its number as %s", own[rows[1].ID])
	}
	if !strings.Contains(own[rows[3].ID], "individual number") {
		t.Errorf("the owner sees her job expired for its number as %s", own[rows[3].ID])
	}
}
