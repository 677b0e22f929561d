package cardreader

import (
	"errors"
	"strings"
	"testing"

	"github.com/printgate/printgate/release/credential"
)

func TestReadCSV(t *testing.T) {
	file := "user,uid,format\n" +
		"# exported from the old system\n" +
		"alice, 04:a1:b2:c3\n" +
		"bob,77705923,dec\n" +
		"\n" +
		"carol,3283263748,\"dec,reverse\"\n" +
		"dave,04a1b2c3,decimal\n" +
		"04A1B2C3,erin\n" +
		",04a1b2c3\n" +
		"frank\n" +
		"grace,0455aa66bb77cc,hex,extra\n"
	lines, err := ReadCSV(strings.NewReader(file), Hex)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		n         int
		user, uid string
		err       string
	}{
		{3, "alice", "04A1B2C3", ""},
		{4, "bob", "04A1B2C3", ""},
		{6, "carol", "04A1B2C3", ""},
		{7, "", "", "reader format in the third column"},
		{8, "", "", "card UID, read as hex: credential: card UID must be"},
		{9, "", "", "the user must be"},
		{10, "", "", "found 1 columns"},
		{11, "", "", "found 4 columns"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d: %+v", len(lines), len(want), lines)
	}
	for i, w := range want {
		l := lines[i]
		if l.N != w.n || l.User != w.user || l.UID != w.uid || (l.Err == nil) != (w.err == "") ||
			l.Err != nil && !strings.Contains(l.Err.Error(), w.err) {
			t.Errorf("line %d: %+v, want %+v", i, l, w)
		}
		if l.Err != nil && strings.Contains(strings.ToUpper(l.Err.Error()), "04A1B2C3") {
			t.Errorf("line %d: the error shows the UID: %v", l.N, l.Err)
		}
	}

	dec, _ := Parse("dec")
	lines, err = ReadCSV(strings.NewReader("alice,77705923\nbob,04a1b2c3,hex\n"), dec)
	if err != nil || len(lines) != 2 || lines[0].UID != "04A1B2C3" || lines[1].UID != "04A1B2C3" {
		t.Errorf("file in decimal: %+v, %v", lines, err)
	}
}

func TestReadCSVLimits(t *testing.T) {
	tests := []struct {
		name, file, err string
	}{
		{"too many lines", strings.Repeat("a,04a1b2c3\n", MaxCSVLines+1), "more than 100000 cards"},
		{"too large", "a,\"" + strings.Repeat("x", MaxCSVBytes) + "\"\n", "larger than 16 MiB"},
		{"not CSV", "alice,\"04a1b2c3\n", "extraneous or missing"},
		{"bare quote", "alice,04a1\"b2c3\n", "line 1, column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := ReadCSV(strings.NewReader(tt.file), Hex)
			if !errors.Is(err, ErrBadCSV) || !strings.Contains(err.Error(), tt.err) || lines != nil {
				t.Fatalf("%d lines, %v; want ErrBadCSV saying %q", len(lines), err, tt.err)
			}
			if strings.Contains(strings.ToUpper(err.Error()), "04A1") {
				t.Errorf("the error shows the file: %v", err)
			}
		})
	}
	lines, err := ReadCSV(strings.NewReader(strings.Repeat("a,04a1b2c3\n", MaxCSVLines)), Hex)
	if err != nil || len(lines) != MaxCSVLines {
		t.Errorf("%d lines at the limit: %d, %v", MaxCSVLines, len(lines), err)
	}
}

// FuzzCardCSV feeds files of cards to ReadCSV: every line it accepts has
// a canonical UID and a user, every refused one keeps nothing of itself.
func FuzzCardCSV(f *testing.F) {
	f.Add("user,uid,format\nalice,04:a1:b2:c3\nbob,77705923,dec\n", "hex")
	f.Add("carol,3283263748,\"dec,reverse\"\r\n# c\n\n,x\n", "dec")
	f.Add("a,\"04a1\nb2c3\"\n\"\"\"\",1,2,3\n", "reverse")
	f.Fuzz(func(t *testing.T, file, spec string) {
		def, err := Parse(spec)
		if err != nil {
			def = Hex
		}
		lines, err := ReadCSV(strings.NewReader(file), def)
		if err != nil {
			if !errors.Is(err, ErrBadCSV) || lines != nil {
				t.Fatalf("%d lines, %v", len(lines), err)
			}
			return
		}
		if len(lines) > MaxCSVLines {
			t.Fatalf("%d lines", len(lines))
		}
		for _, l := range lines {
			if l.Err != nil {
				if l.User != "" || l.UID != "" {
					t.Fatalf("refused line keeps %+v", l)
				}
				continue
			}
			if canon, err := credential.NormalizeUID(l.UID); err != nil || canon != l.UID || l.User == "" || l.N < 1 {
				t.Fatalf("accepted line %+v", l)
			}
		}
	})
}
