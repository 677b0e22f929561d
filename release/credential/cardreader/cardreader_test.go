package cardreader

import (
	"errors"
	"strings"
	"testing"

	"github.com/printgate/printgate/release/credential"
)

func TestParse(t *testing.T) {
	tests := []struct {
		spec, want string
		bad        string // part of the error message when refused
	}{
		{spec: "", want: "hex"},
		{spec: "hex", want: "hex"},
		{spec: " HEX ", want: "hex"},
		{spec: "dec", want: "dec"},
		{spec: "dec:7", want: "dec:7"},
		{spec: "dec, reverse", want: "dec,reverse"},
		{spec: "reverse", want: "hex,reverse"},
		{spec: "strip:2,dec", want: "strip:2,dec"},
		{spec: "prefix:fc12,hex,reverse", want: "prefix:FC12,hex,reverse"},
		{spec: "prefix:99,strip:1,dec:4", want: "prefix:99,strip:1,dec:4"},
		{spec: "decimal", bad: `"decimal": use prefix`},
		{spec: "dec:3", bad: "dec takes a number from 4 to 10"},
		{spec: "dec:x", bad: "dec takes a number"},
		{spec: "strip", bad: `"strip": use`},
		{spec: "strip:0", bad: "strip takes a number from 1 to 16"},
		{spec: "prefix:", bad: "prefix takes 1 to 16 letters or digits"},
		{spec: "prefix:a*b", bad: "prefix takes"},
		{spec: "hex,dec", bad: "only one of hex and dec"},
		{spec: "reverse,reverse", bad: "given once"},
		{spec: "dec,strip:2", bad: "comes before hex or dec"},
		{spec: "dec,,reverse", bad: "an empty step"},
		{spec: "hex:2", bad: `"hex:2"`},
		{spec: strings.Repeat("reverse,", 10), bad: "longer than 64"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			f, err := Parse(tt.spec)
			if tt.bad != "" {
				if !errors.Is(err, ErrBadFormat) || !strings.Contains(err.Error(), tt.bad) {
					t.Fatalf("Parse(%q) = %v, %v; want ErrBadFormat saying %q", tt.spec, f, err, tt.bad)
				}
				return
			}
			if err != nil || f.String() != tt.want {
				t.Fatalf("Parse(%q) = %q, %v; want %q", tt.spec, f, err, tt.want)
			}
			again, err := Parse(f.String())
			if err != nil || again.String() != f.String() {
				t.Errorf("Parse(%q) = %q, %v; want it back", f, again, err)
			}
		})
	}
}

// TestNormalize: one card, 04A1B2C3, as readers of each kind write it,
// becomes the one canonical form; what a reader of another kind writes
// does not.
func TestNormalize(t *testing.T) {
	tests := []struct {
		format, in, want string
	}{
		{"hex", "04:a1:b2:c3", "04A1B2C3"},
		{"hex", "04a1b2c3\r\n", "04A1B2C3"},
		{"", "04 A1 B2 C3", "04A1B2C3"},
		{"dec", "77705923", "04A1B2C3"},
		{"dec", "0077705923", "04A1B2C3"},
		{"dec,reverse", "3283263748", "04A1B2C3"},
		{"reverse", "c3:b2:a1:04", "04A1B2C3"},
		{"strip:3,dec", "123077705923", "04A1B2C3"},
		{"prefix:FC,hex", "fc04a1b2c3", "04A1B2C3"},
		{"dec:7", "1220090263205836", "0455AA66BB77CC"},
		{"dec:7,reverse", "57552542014002436", "0455AA66BB77CC"},
		{"dec", "41394", "0000A1B2"},
		{"dec:4", "41394", "0000A1B2"},
		{"dec", "1208925819614629174706175", "FFFFFFFFFFFFFFFFFFFF"}, // 2^80-1

		{"dec", "04A1B2C3", ""},                           // a hex reader's output on a decimal device
		{"hex", "77705923x", ""},                          // not hex
		{"dec", "", ""},                                   // nothing
		{"dec", "1208925819614629174706176", ""},          // 2^80: 11 bytes
		{"dec", "00000000000000000000000001", ""},         // 26 digits
		{"dec:4", "1220090263205836", ""},                 // 7 bytes on a 4-byte reader
		{"prefix:FC,hex", "04a1b2c3", ""},                 // no site prefix
		{"strip:8,hex", "04a1b2c3", ""},                   // nothing after the site code
		{"hex", "04a1b2", ""},                             // 3 bytes
		{"hex", strings.Repeat(" ", 60) + "04a1b2c3", ""}, // past MaxInput
	}
	for _, tt := range tests {
		t.Run(tt.format+" "+tt.in, func(t *testing.T) {
			f, err := Parse(tt.format)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Normalize(tt.in)
			if tt.want == "" {
				if !errors.Is(err, credential.ErrBadUID) {
					t.Fatalf("%s: Normalize(%q) = %q, %v; want ErrBadUID", f, tt.in, got, err)
				}
				if tt.in != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
					t.Errorf("the error shows the input: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("%s: Normalize(%q) = %q, %v; want %q", f, tt.in, got, err, tt.want)
			}
		})
	}
}

// FuzzReaderFormat feeds formats and reader output: a format Parse takes
// prints back as itself, what Normalize accepts is a canonical UID, the
// default format takes exactly what credential.NormalizeUID takes, and
// no error repeats the input.
func FuzzReaderFormat(f *testing.F) {
	for _, seed := range []struct{ spec, in string }{
		{"hex", "04:a1:b2:c3"}, {"dec", "77705923"}, {"dec,reverse", "3283263748"},
		{"strip:3,dec", "123077705923"}, {"prefix:FC,hex,reverse", "FC C3 B2 A1 04"},
		{"dec:10", "1208925819614629174706175"}, {"reverse,hex", "0"}, {"", "04a1b2c3\r\n"},
	} {
		f.Add(seed.spec, seed.in)
	}
	f.Fuzz(func(t *testing.T, spec, in string) {
		format, err := Parse(spec)
		if err != nil {
			if !errors.Is(err, ErrBadFormat) {
				t.Fatalf("Parse(%q): %v, not ErrBadFormat", spec, err)
			}
			format = Hex
		} else if again, err := Parse(format.String()); err != nil || again.String() != format.String() {
			t.Fatalf("Parse(%q) = %q; Parse of that = %q, %v", spec, format, again, err)
		}
		got, err := format.Normalize(in)
		if err != nil {
			if !errors.Is(err, credential.ErrBadUID) {
				t.Fatalf("Normalize: %v, not ErrBadUID", err)
			}
			if looksLikeUID(in) && strings.Contains(err.Error(), in) {
				t.Fatalf("the error shows the input: %v", err)
			}
		} else if canon, err := credential.NormalizeUID(got); err != nil || canon != got {
			t.Fatalf("%s: Normalize(%q) = %q, not canonical", format, in, got)
		}
		if format.String() == "hex" && len(in) <= MaxInput {
			want, wantErr := credential.NormalizeUID(in)
			if got != want || (err == nil) != (wantErr == nil) {
				t.Fatalf("hex: Normalize(%q) = %q, %v; NormalizeUID = %q, %v", in, got, err, want, wantErr)
			}
		}
	})
}

// looksLikeUID reports whether s is 8 or more hex digits: what must not
// be in an error. Shorter strings may be in its fixed words by chance.
func looksLikeUID(s string) bool {
	return len(s) >= 8 && strings.Trim(s, "0123456789abcdefABCDEF") == ""
}
