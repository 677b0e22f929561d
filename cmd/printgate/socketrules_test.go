package main

import (
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/release/rules"
)

// TestRulesAtSocketPrinter: an AppSocket printer cannot be told to print
// two-sided or in black and white, so a job a rule forces to be either is
// not sent there: it is held again with the reason, and the printer gets
// no byte.
func TestRulesAtSocketPrinter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan time.Time, 8)
	go acceptPrints(ln, got)

	e := newReleaseEnv(t, "", func(c *Config) {
		c.Queues[0].Rules = rules.Config{ForceTwoSided: true}
	})
	e.addDeviceAt("socket", "socket://"+ln.Addr().String())
	r := submitTo(t, e.srv, "secure", "bob", "payslip", "application/pdf", testdocs.PDF(2, "forced", testdocs.A4))
	id, _ := strconv.ParseInt(attrValue(r.Job, "job-id"), 10, 64)
	sess := e.login("socket", map[string]string{"card": "04A1B2C3"})
	if code, out := e.call("socket", http.MethodPost, "/release/sessions/"+sess+"/release",
		map[string]any{"jobs": []int64{id}}); code != http.StatusAccepted {
		t.Fatalf("release: HTTP %d %v", code, out)
	}
	job := e.waitState("socket", sess, id, "pending-held")
	if job["state_reason"] != "sides-not-supported" {
		t.Errorf("held with reason %v, want sides-not-supported (%v)", job["state_reason"], job)
	}
	select {
	case <-got:
		t.Error("the AppSocket printer received the job")
	case <-time.After(500 * time.Millisecond):
	}
}
