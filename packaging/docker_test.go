package packaging

import (
	"os"
	"regexp"
	"testing"
)

// TestDockerfile checks what the Dockerfile promises without docker: a
// build stage and a separate run stage, which runs as printgate's own
// user under an init that reaps orphaned processes, and a documented
// build command.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(regexp.MustCompile(`(?m)^FROM `).FindAll(b, -1)); n < 2 {
		t.Errorf("Dockerfile has %d stages, want a build stage and a run stage", n)
	}
	users := regexp.MustCompile(`(?m)^USER (\S+)`).FindAllSubmatch(b, -1)
	if len(users) == 0 || string(users[len(users)-1][1]) != "printgate" {
		t.Errorf("the image does not run as the user printgate (USER lines: %q)", users)
	}
	for _, want := range []string{`(?m)^#\s+docker build `, `(?m)^COPY .*packaging/container.yaml /etc/printgate/printgate.yaml`,
		// An init reaps what a stopped converter leaves.
		`(?m)^RUN apt-get update[^\n]*\n(\t[^\n]*\n)*\t&& apt-get install [^\n]*\btini\b`,
		`(?m)^ENTRYPOINT \["/usr/bin/tini", "--", "/usr/bin/printgate"\]`} {
		if !regexp.MustCompile(want).Match(b) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
}
