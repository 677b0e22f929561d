package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"golang.org/x/crypto/argon2"

	"github.com/printgate/printgate/internal/secret"
	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// secretsAttacks are the attacks on secrets at rest and in transit, and
// the argon2 memory flood.
func secretsAttacks() []attack {
	return []attack{
		{"offline PIN guessing from a database copy", "PIN and job PIN hashes keyed by a pepper outside the database " +
			"(internal/secret.Hasher)", attackOfflinePIN},
		{"argon2 flood of bad Basic logins", "one argon2 limiter sized to a memory budget (secret.Limiter, " +
			"credentials.argon2_memory_mb)", attackArgon2Flood},
		{"reading the data dir as another local user", "data dir 0700, files 0600, fixed at start-up (privatePerms)",
			attackLooseFiles},
		{"PIN and password sniffed on a plain-HTTP network", "credentials need TLS off loopback " +
			"(web.inClear, release.checkTransport)", attackPlainCredentials},
	}
}

// plainVerify checks secret against stored the way an attacker holding a
// copy of the database would: argon2id over the secret with the stored
// salt and costs, no pepper.
func plainVerify(t *testing.T, stored, secret string) bool {
	t.Helper()
	parts := strings.Split(stored, "$")
	if len(parts) != 6 {
		t.Fatalf("stored hash %.20s... has %d parts", stored, len(parts))
	}
	var m, tm uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &tm, &p); err != nil {
		t.Fatalf("stored hash costs: %v", err)
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		t.Fatal("stored hash: bad base64")
	}
	return subtle.ConstantTimeCompare(argon2.IDKey([]byte(secret), salt, tm, m, p, uint32(len(key))), key) == 1
}

// attackOfflinePIN takes the stored PIN and job PIN hashes, as a copy of
// the database holds them, and checks the right secrets against them
// without the pepper: they must not match (else a 4-digit PIN falls in
// minutes). With the key file they do, so the check is a real one.
func attackOfflinePIN(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		runCLI(t, cfg, "bob-secret\n", "user", "add", "bob")
		runCLI(t, cfg, "4821\n", "user", "set-pin", "bob")
		srv := startServer(t, cfg)
		uri := srv.PrinterURI("secure")
		r := ippDo(t, uri, ippRequest(goipp.OpPrintJob, uri, "bob", mimeVal("application/pdf"),
			goipp.MakeAttribute("job-password", goipp.TagString, goipp.Binary("5930"))), testdocs.PDF(1, "x", testdocs.A4))
		if status(r) != goipp.StatusOk {
			t.Fatalf("Print-Job: %s", status(r))
		}
		db := openTestDB(t, srv)
		var pinHash, jobHash, pwHash string
		db.Raw(`SELECT pin_hash FROM credential_pins WHERE user_name = 'bob'`).Scan(&pinHash)
		db.Raw(`SELECT password_hash FROM jobs WHERE password_hash <> ''`).Scan(&jobHash)
		db.Raw(`SELECT password_hash FROM users WHERE name = 'bob'`).Scan(&pwHash)
		key, err := os.ReadFile(cfg.credentialKeyFile())
		if err != nil {
			t.Fatal(err)
		}
		h, err := secret.NewHasher(key, secret.Params{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ what, stored, secret string }{
			{"PIN", pinHash, "4821"}, {"job PIN", jobHash, "5930"}, {"password", pwHash, "bob-secret"},
		} {
			if plainVerify(t, c.stored, c.secret) {
				t.Errorf("the stored %s hash verifies with the %s alone: a copy of the database gives it away", c.what, c.what)
			}
			if ok, _, err := h.Verify(t.Context(), c.stored, []byte(c.secret)); !ok || err != nil {
				t.Errorf("the stored %s hash does not verify with the pepper either (%v): the check above proves nothing", c.what, err)
			}
		}
	})
}

// vmHWM is the peak resident set of process pid, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// floodParallel is how many bad Basic logins arrive at once.
const floodParallel = 100

// basicPost sends a Print-Job of doc to queue at addr, with HTTP Basic
// credentials when password is set, and returns the HTTP status and, for
// 200, the IPP status.
func basicPost(addr, queue, user, password string, doc []byte) (int, goipp.Status, error) {
	m := ippRequest(goipp.OpPrintJob, "ipp://"+addr+"/ipp/print/"+queue, user, mimeVal("application/pdf"))
	hdr, err := m.EncodeBytes()
	if err != nil {
		return 0, 0, err
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/ipp/print/"+queue,
		io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(doc)))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", goipp.ContentType)
	if password != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, 0, nil
	}
	var reply goipp.Message
	if err := reply.Decode(resp.Body); err != nil {
		return resp.StatusCode, 0, err
	}
	return resp.StatusCode, goipp.Status(reply.Code), nil
}

// floodConfig is a config with a Basic queue "payroll" beside "secure",
// and bob as a built-in user. The password throttle, which would refuse
// all but ten guesses unchecked, is opened wide, so that every guess
// reaches argon2, as from an attacker with many addresses and accounts,
// and only the limiter stands between them and the memory.
func floodConfig(t *testing.T, dbURL string) Config {
	cfg := newConfig(t, dbURL,
		QueueConfig{Name: "secure", Mode: "hold"},
		QueueConfig{Name: "payroll", Mode: "hold", Auth: "basic", AllowPlaintextBasic: true})
	cfg.Log.Level = "warn"
	cfg.Credentials.MaxPasswordFailures = 1000
	cfg.Credentials.MaxAddressFailures = 1000
	runCLI(t, cfg, "bob-secret\n", "user", "add", "bob")
	return cfg
}

// flood sends floodParallel Print-Jobs with wrong Basic passwords for bob
// at once, and counts the answers; each must be a refusal.
func flood(t *testing.T, addr string) map[string]int {
	doc := testdocs.PDF(1, "flood", testdocs.A4)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers = map[string]int{}
	)
	start := make(chan struct{})
	for i := range floodParallel {
		wg.Go(func() {
			<-start
			code, st, err := basicPost(addr, "payroll", "bob", fmt.Sprintf("wrong-%03d-guess", i), doc)
			key := fmt.Sprintf("HTTP %d", code)
			if code == http.StatusOK {
				key += " " + st.String()
			}
			if err != nil {
				key = "error " + err.Error()
			}
			mu.Lock()
			answers[key]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	for a, n := range answers {
		if a != "HTTP 401" && a != "HTTP 503" && a != "HTTP 429" {
			t.Errorf("%d flood requests got %s, want 401, 429 or 503", n, a)
		}
	}
	return answers
}

// attackArgon2Flood sends 100 parallel Print-Jobs with a wrong Basic
// password to a real printgate process. Each argon2 check takes 19 MiB,
// so unbounded they take 1.9 GiB; under the limiter the process stays
// under 256 MiB, no flood request succeeds, and a normal client prints
// meanwhile. Run alone, it prints the peak for docs/BENCHMARKS.md.
func attackArgon2Flood(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := floodConfig(t, dbURL)
		p := startProcess(t, cfg)
		addr := cfg.Server.Listen[0]
		base := vmHWM(t, p.cmd.Process.Pid)
		// A normal client prints on the other queue while the flood runs.
		normal := make(chan string, 1)
		go func() {
			code, st, err := basicPost(addr, "secure", "alice", "", testdocs.PDF(1, "normal", testdocs.A4))
			normal <- fmt.Sprintf("HTTP %d %s %v", code, st, err)
		}()
		answers := flood(t, addr)
		if got := <-normal; got != fmt.Sprintf("HTTP 200 %s <nil>", goipp.StatusOk) {
			t.Errorf("a normal client during the flood got %s", got)
		}
		peak := vmHWM(t, p.cmd.Process.Pid)
		t.Logf("argon2 flood of %d parallel bad Basic logins: VmHWM %d MiB (%d MiB before); answers %v",
			floodParallel, peak>>20, base>>20, answers)
		if peak > 256<<20 {
			t.Errorf("peak RSS %d MiB under the flood, want under 256 MiB", peak>>20)
		}
		// The limiter turns requests away only while it is full.
		doc := testdocs.PDF(1, "after", testdocs.A4)
		if code, st, err := basicPost(addr, "payroll", "bob", "bob-secret", doc); code != http.StatusOK || st != goipp.StatusOk || err != nil {
			t.Errorf("the right password after the flood: HTTP %d %s %v", code, st, err)
		}
	})
}

// attackLooseFiles loosens the data dir and its files as an old printgate
// (or a careless copy) left them, 0755 and 0644, and restarts: every
// directory must be 0700 and every file 0600 again, with each fix logged.
func attackLooseFiles(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		cfg := newConfig(t, dbURL)
		srv := startServer(t, cfg)
		checkPrivate(t, cfg.DataDir, dbURL == "")
		srv.Stop(t)

		loosened := 0
		filepath.WalkDir(cfg.DataDir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			mode := fs.FileMode(0o644)
			if d.IsDir() {
				mode = 0o755
			}
			if os.Chmod(path, mode) == nil {
				loosened++
			}
			return nil
		})
		if loosened < 5 {
			t.Fatalf("loosened only %d paths; the data dir holds too little to prove anything", loosened)
		}
		srv = startServer(t, cfg)
		checkPrivate(t, cfg.DataDir, dbURL == "")
		if !strings.Contains(srv.Log.String(), "made private") || !strings.Contains(srv.Log.String(), "credentials.key") {
			t.Errorf("start-up did not log what it made private:\n%s", srv.Log)
		}
	})
}

// checkPrivate fails unless every directory under dir is 0700 and every
// file 0600, and, on SQLite, the database with its -wal and -shm files
// exists to be checked.
func checkPrivate(t *testing.T, dir string, sqlite bool) {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s is %v, want %v", path, info.Mode().Perm(), want)
		}
		seen[d.Name()] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"credentials.key", "audit.key", "master.key", "spool"}
	if sqlite {
		want = append(want, "printgate.db", "printgate.db-wal", "printgate.db-shm")
	}
	for _, name := range want {
		if !seen[name] {
			t.Errorf("the data dir has no %s to check", name)
		}
	}
}

// outsideAddr is an address of this machine that is not loopback, from
// which a client looks to printgate as one on the network does.
func outsideAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	testenv.Need(t, "a non-loopback IPv4 address of this machine", errors.New("none found"))
	return ""
}

// attackPlainCredentials signs in over plain HTTP from a non-loopback
// address of this machine: PINs, passwords and console sign-ins are
// refused before they are checked (six wrong PINs lock nobody), a card
// alone passes, a device allowed plain credentials signs in, and with
// server.allow_plain_credentials everything is accepted.
func attackPlainCredentials(t *testing.T) {
	forEachDB(t, func(t *testing.T, dbURL string) {
		host := outsideAddr(t)
		for _, allow := range []bool{false, true} {
			t.Run(fmt.Sprintf("allow_plain_credentials=%v", allow), func(t *testing.T) {
				if dbURL != "" {
					dbURL = testenv.Postgres(t) // a fresh database for each server
				}
				e := newReleaseEnv(t, dbURL, func(c *Config) {
					c.Server.Listen = []string{net.JoinHostPort(host, strconv.Itoa(testenv.FreePort(t)))}
					c.Server.AllowPlainCredentials = allow
					for i := range c.Queues { // bob prints from the same address
						c.Queues[i].TrustedNetworks = []string{host + "/32"}
					}
				})
				e.addDevice("panel", "id+pin", "--allow-plain-credentials")
				want := http.StatusForbidden
				if allow {
					want = http.StatusCreated
				}
				if !allow {
					for i := range 6 {
						code, out := e.call("mfp1", http.MethodPost, "/release/sessions",
							map[string]string{"user": "bob", "pin": fmt.Sprintf("90%02d", i+13)})
						if code != want || !strings.Contains(fmt.Sprint(out["message"]), "https://") {
							t.Fatalf("wrong PIN %d in clear from %s: HTTP %d %v, want %d saying to use https", i, host, code, out, want)
						}
					}
				}
				if code, out := e.call("mfp1", http.MethodPost, "/release/sessions",
					map[string]string{"user": "bob", "pin": "4821"}); code != want {
					t.Errorf("right PIN in clear: HTTP %d %v, want %d", code, out, want)
				}
				if code, out := e.call("mfp1", http.MethodPost, "/release/sessions",
					map[string]string{"card": "04A1B2C3", "user": "bob", "password": "bob-secret"}); code != want {
					t.Errorf("card with password in clear: HTTP %d %v, want %d", code, out, want)
				}
				// A card alone may sign in in clear; a job PIN may not
				// travel in clear either.
				sess := e.login("mfp1", map[string]string{"card": "04A1B2C3"})
				id := e.submit("bob", testdocs.PDF(1, "pin job", testdocs.A4),
					goipp.MakeAttribute("job-password", goipp.TagString, goipp.Binary("2468")))
				wantRelease := map[bool]int{false: http.StatusForbidden, true: http.StatusAccepted}[allow]
				if code, out := e.call("mfp1", http.MethodPost, "/release/sessions/"+sess+"/release",
					map[string]any{"jobs": []int64{id}, "job_pins": map[string]string{strconv.FormatInt(id, 10): "1111"}}); code != wantRelease {
					t.Errorf("job PIN in clear: HTTP %d %v, want %d", code, out, wantRelease)
				}
				// Refused before checking: the six wrong PINs above counted
				// for nothing, so bob is not locked, and a device allowed
				// plain credentials signs him in.
				e.login("panel", map[string]string{"user": "bob", "pin": "4821"})
				code := consoleSignIn(t, e.srv.Addr, "bob", "bob-secret")
				if wantConsole := map[bool]int{false: http.StatusForbidden, true: http.StatusSeeOther}[allow]; code != wantConsole {
					t.Errorf("console sign-in in clear: HTTP %d, want %d", code, wantConsole)
				}
			})
		}
	})
}

// consoleSignIn posts the console's sign-in form and returns the status.
func consoleSignIn(t *testing.T, addr, name, password string) int {
	t.Helper()
	return consoleSignInReply(t, addr, name, password).StatusCode
}

// consoleSignInReply signs name in to the console at addr over plain
// HTTP and returns the reply, its body closed.
func consoleSignInReply(t *testing.T, addr, name, password string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	form := url.Values{"name": {name}, "password": {password}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://"+addr)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}
