package main

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/audit/siem"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// TestMyNumberNotifySIEM: with my_number.notify_group set, a real rsyslog
// receiving the audit stream gets, for each job holding an individual
// number that prints, a printed message naming the group in its
// structured data (for a SIEM's routing rule) and in the event; a job
// without a number prints without one. No message holds the number or the
// document's name.
func TestMyNumberNotifySIEM(t *testing.T) {
	testenv.Tool(t, "pdftotext")
	col := testenv.StartRsyslog(t)
	e := newReleaseEnv(t, "", func(c *Config) {
		c.MyNumber.NotifyGroup = "jimu-sekininsha"
		c.Audit.Forward = ForwardConfig{Address: col.Addr, CAFile: col.CAFile, ServerName: "localhost",
			Batch: 20, PollEvery: 20 * time.Millisecond, Timeout: 5 * time.Second, MaxBackoff: 200 * time.Millisecond}
	})
	doc, err := testdocs.JapanesePDF(testdocs.IPAGothic, t.TempDir(), []string{"源泉徴収票\n個人番号 1234 5678 9018"})
	if err != nil {
		t.Fatal(err)
	}
	secretName := "源泉徴収票-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	secret := e.submitDoc("bob", secretName, secretName, doc)
	clean := e.submitDoc("bob", "lunch", "lunch", testdocs.PDF(1, "lunch menu", testdocs.A4))
	both := e.login("mfp1", map[string]string{"card": "04A1B2C3", "pin": "4821"})
	if code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+both+"/release", map[string]any{"jobs": []int64{secret, clean}}); code != http.StatusAccepted {
		t.Fatalf("card+PIN release: HTTP %d %v", code, out)
	}
	e.waitState("mfp1", both, secret, "completed")
	e.waitState("mfp1", both, clean, "completed")
	db := openForCheck(t, e.cfg)
	testenv.WaitFor(t, "the forwarder to reach the chain head", func() bool {
		return cursorOf(t, db) == chainHead(t, db)
	})
	e.srv.Stop(t)
	col.Stop() // rsyslog has written everything to its file

	raw, err := os.ReadFile(col.File)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range append(myNumberForms, secretName) {
		if bytes.Contains(raw, []byte(form)) {
			t.Errorf("the SIEM stream holds %q", form)
		}
	}
	notified := map[int64]bool{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m, err := siem.Parse(sc.Bytes())
		if err != nil || m.MsgID != audit.EventPrinted {
			continue
		}
		ev, err := audit.UnmarshalCopy(m.Msg)
		if err != nil {
			t.Fatalf("printed message: %v", err)
		}
		if g := m.Params["notify"]; g != "" {
			if g != "jimu-sekininsha" || ev.Details["notify"] != g || ev.Details["sensitive"] != "my-number" {
				t.Errorf("printed message of job %d: notify %q, event details %v", ev.JobID, g, ev.Details)
			}
			notified[ev.JobID] = true
		}
	}
	if !notified[secret] || notified[clean] || len(notified) != 1 {
		t.Errorf("printed messages naming the group: %v, want job %d alone", notified, secret)
	}
	if !strings.Contains(string(raw), `job="`+strconv.FormatInt(clean, 10)+`"`) {
		t.Errorf("the stream lacks the clean job: it proves nothing")
	}
}
