package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCardReaderFormats: bob's card 04A1B2C3 read by readers of each kind
// (decimal, decimal LSB first, hex LSB first) signs bob in at a device
// set up for that reader, and not at one set up for another; a card
// enrolled at a decimal kiosk is the same card at a hex device; formats
// that mean nothing are refused with what is wrong.
func TestCardReaderFormats(t *testing.T) {
	e := newReleaseEnv(t, "", nil)
	e.addDevice("dec", "card", "--reader-format", "dec")
	e.addDevice("decrev", "card", "--reader-format", "DEC, reverse")
	e.addDevice("lsb", "card")
	if out := runCLI(t, e.cfg, "", "device", "set", "lsb", "--reader-format", "reverse"); !strings.Contains(out, "hex,reverse") {
		t.Errorf("device set: %s", out)
	}
	for _, bad := range []struct{ format, says string }{
		{"decimal", `"decimal": use prefix:TEXT`},
		{"dec,strip:2", "comes before hex or dec"},
		{"hex,dec", "only one of hex and dec"},
		{"dec:12", "dec takes a number from 4 to 10"},
	} {
		if out, err := tryCLI(t, e.cfg, "", "device", "set", "lsb", "--reader-format", bad.format); err == nil ||
			!strings.Contains(err.Error(), "reader format") || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("device set --reader-format %q: %v, want an error saying %q\n%s", bad.format, err, bad.says, out)
		}
		if _, err := tryCLI(t, e.cfg, "", "device", "add", "x", "--printer", e.printer.URI, "--queue", "secure",
			"--reader-format", bad.format); err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("device add --reader-format %q: %v", bad.format, err)
		}
	}
	list := runCLI(t, e.cfg, "", "device", "list")
	for _, want := range []string{"dec,reverse", "hex,reverse", "CARD READER"} {
		if !strings.Contains(list, want) {
			t.Errorf("device list does not show %q:\n%s", want, list)
		}
	}
	if strings.Contains(list, "\nx ") {
		t.Errorf("a device with a refused format was added:\n%s", list)
	}

	tests := []struct {
		device, card string
		ok           bool
	}{
		{"dec", "77705923", true}, // 0x04A1B2C3
		{"dec", "0077705923\r\n", true},
		{"decrev", "3283263748", true}, // 0xC3B2A104
		{"lsb", "c3:b2:a1:04", true},
		{"mfp1", "04 a1 b2 c3", true},
		{"mfp1", "77705923", false}, // decimal digits read as hex: another card
		{"dec", "3283263748", false},
		{"dec", "04A1B2C3", false},
		{"decrev", "77705923", false},
		{"lsb", "04A1B2C3", false},
	}
	for _, tt := range tests {
		code, out := e.call(tt.device, http.MethodPost, "/release/sessions", map[string]string{"card": tt.card})
		switch {
		case tt.ok && (code != http.StatusCreated || out["user"] != "bob"):
			t.Errorf("%s reader, card %q: HTTP %d %v, want bob signed in", tt.device, tt.card, code, out)
		case !tt.ok && code != http.StatusUnauthorized:
			t.Errorf("%s reader, card %q: HTTP %d %v, want 401", tt.device, tt.card, code, out)
		case tt.ok:
			e.call(tt.device, http.MethodDelete, "/release/sessions/"+out["session"].(string), nil)
		}
	}

	// Enrolled where it was read in decimal, the card is 12345678 in hex.
	e.addDevice("kiosk", "card", "--self-enroll", "--reader-format", "dec")
	login := map[string]string{"card": "305419896", "user": "alice", "password": "alice-secret"}
	if code, out := e.call("kiosk", http.MethodPost, "/release/sessions", login); code != http.StatusCreated || out["user"] != "alice" {
		t.Fatalf("self-enrolment at a decimal kiosk: HTTP %d %v", code, out)
	}
	if code, out := e.call("mfp1", http.MethodPost, "/release/sessions", map[string]string{"card": "12:34:56:78"}); code != http.StatusCreated || out["user"] != "alice" {
		t.Errorf("the self-enrolled card at a hex device: HTTP %d %v", code, out)
	}

	export := runCLI(t, e.cfg, "", "audit", "export", "--format", "jsonl")
	if leaks := leakedSecrets(export); len(leaks) > 0 {
		t.Errorf("the audit trail shows %v", leaks)
	}
}

// importedCard is card i of TestCardImport's file: its canonical UID and
// the line that enrols it for user, in one of three reader formats.
func importedCard(i int, user string) (uid, line string) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], 0x20000000+uint32(i))
	uid = fmt.Sprintf("%X", b)
	switch i % 3 {
	case 1:
		return uid, fmt.Sprintf("%s,%d,dec", user, binary.BigEndian.Uint32(b[:]))
	case 2:
		slices.Reverse(b[:])
		return uid, fmt.Sprintf("%s,%x,reverse", user, b)
	}
	return uid, user + "," + uid
}

// TestCardImport enrols 1,000 cards written in three reader formats from
// one file: a file with a refused line enrols nothing and says which
// lines and why; the good file enrols all, recorded as one event with the
// count; an imported card signs its user in; importing again changes
// nothing; --partial enrols the good lines of a file with refused ones;
// card list shows fingerprints and never a whole UID; the UID is no
// longer taken as an argument.
func TestCardImport(t *testing.T) {
	e := newReleaseEnv(t, "", nil)
	users := []string{"bob", "alice", "carol", "dave"}
	for _, u := range users[2:] {
		runCLI(t, e.cfg, u+"-secret\n", "user", "add", u)
	}
	const n = 1000
	var file strings.Builder
	file.WriteString("user,uid,format\n")
	uids := make([]string, n)
	for i := range n {
		var line string
		uids[i], line = importedCard(i, users[i%len(users)])
		file.WriteString(line + "\n")
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("cards.csv", file.String())
	bad := write("bad.csv", file.String()+"ghost,DEADBEEF\nbob,not a card\ncarol,04A1B2C3\n")
	var out strings.Builder // every command's output, checked for UIDs

	o, err := tryCLI(t, e.cfg, "", "card", "import", bad)
	out.WriteString(o)
	for _, want := range []string{"line 1002 refused: no such user", "line 1003 refused: card UID, read as hex",
		"line 1004 refused: credential: card belongs to another user"} {
		if !strings.Contains(o, want) {
			t.Errorf("import with refused lines does not say %q:\n%s", want, o)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "3 of 1003 lines refused, nothing enrolled") {
		t.Errorf("import with refused lines: %v", err)
	}
	cards := func() int { return strings.Count(runCLI(t, e.cfg, "", "card", "list"), "\n") - 1 }
	if got := cards(); got != 1 {
		t.Fatalf("%d cards after a refused import, want bob's 1", got)
	}

	o = runCLI(t, e.cfg, "", "card", "import", good)
	out.WriteString(o)
	if !strings.Contains(o, "1000 cards enrolled, 0 already enrolled, 0 lines refused") {
		t.Errorf("import: %s", o)
	}
	if got := cards(); got != n+1 {
		t.Errorf("%d cards after the import, want %d", got, n+1)
	}
	for _, i := range []int{0, 1, 2, n - 1} {
		code, res := e.call("mfp1", http.MethodPost, "/release/sessions", map[string]string{"card": uids[i]})
		if want := users[i%len(users)]; code != http.StatusCreated || res["user"] != want {
			t.Errorf("imported card %d: HTTP %d %v, want %s", i, code, res, want)
		}
	}
	o = runCLI(t, e.cfg, "", "card", "import", good)
	if !strings.Contains(o, "0 cards enrolled, 1000 already enrolled") {
		t.Errorf("import again: %s", o)
	}

	partial := write("partial.csv", "dave,CAFEF00D\nalice,04a1b2c3\n")
	o = runCLI(t, e.cfg, "", "card", "import", "--partial", partial)
	out.WriteString(o)
	if !strings.Contains(o, "line 2 refused: credential: card belongs to another user") ||
		!strings.Contains(o, "1 cards enrolled, 0 already enrolled, 1 lines refused") {
		t.Errorf("partial import: %s", o)
	}

	export := runCLI(t, e.cfg, "", "audit", "export", "--format", "jsonl")
	var imports []map[string]any
	for line := range strings.Lines(export) {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		if ev["type"] == "cards-imported" {
			imports = append(imports, ev)
		}
	}
	if len(imports) != 2 || fmt.Sprint(imports[0]["details"]) != "map[added:1000 already:0 refused:0]" ||
		fmt.Sprint(imports[1]["details"]) != "map[added:1 already:0 refused:1]" {
		t.Errorf("cards-imported events: %v, want one of 1000 cards and one of 1", imports)
	}

	list := runCLI(t, e.cfg, "", "card", "list")
	bobs := runCLI(t, e.cfg, "", "card", "list", "bob")
	out.WriteString(list + bobs)
	if got := strings.Count(bobs, "\nbob "); got != n/len(users)+1 {
		t.Errorf("card list bob: %d cards, want %d:\n%s", got, n/len(users)+1, bobs)
	}
	old, err := tryCLI(t, e.cfg, "", "card", "add", "bob", "04:a1:b2:c3")
	out.WriteString(old)
	if err == nil || !strings.Contains(err.Error(), "standard input") || strings.Contains(err.Error(), "04:a1:b2:c3") {
		t.Errorf("card add with the UID as an argument: %v", err)
	} else {
		out.WriteString(err.Error())
	}
	for _, text := range []struct{ what, s string }{{"command output", out.String()}, {"audit trail", export}} {
		if leaks := leakedSecrets(text.s); len(leaks) > 0 {
			t.Errorf("%s shows %v", text.what, leaks)
		}
		for i, uid := range uids {
			dec := strconv.FormatUint(uint64(0x20000000+i), 10)
			if strings.Contains(strings.ToUpper(text.s), uid) || strings.Contains(text.s, dec) {
				t.Fatalf("%s shows card %d:\n%s", text.what, i, text.s)
			}
		}
	}
}
