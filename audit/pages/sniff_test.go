package pages

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// pjl wraps doc in the PJL job header a Windows printer driver writes.
func pjl(language string, doc []byte) []byte {
	head := "\x1b%-12345X@PJL JOB NAME=\"給与明細.pdf\"\r\n@PJL SET USERNAME=\"hanako\"\r\n" +
		"@PJL COMMENT printgate test\r\n\r\n@PJL ENTER LANGUAGE=" + language + "\r\n"
	return append([]byte(head), doc...)
}

func TestSniff(t *testing.T) {
	pdf := testdocs.PDF(1, "sniff", testdocs.A4)
	shiftJIS := []byte{0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea, '\r', '\n'} // 日本語 in Shift_JIS
	iso2022 := []byte("\x1b$B$3$s$K$A$O\x1b(B\n")                      // こんにちは in ISO-2022-JP
	noise := make([]byte, 512)
	rand.Read(noise)
	tests := []struct {
		name string
		doc  []byte
		want string
	}{
		{"pdf", pdf, FormatPDF},
		{"pdf after a mail gateway's bytes", append([]byte("\r\n\r\n--boundary\r\n"), pdf...), FormatPDF},
		{"pdf header past 1024 bytes", append(bytes.Repeat([]byte("x"), 1100), pdf...), FormatText},
		{"pdf in pjl", pjl("PDF", pdf), FormatPDF},
		{"postscript", testdocs.DSC(2, "sniff", testdocs.A4), FormatPostScript},
		{"postscript in pjl", pjl("POSTSCRIPT", testdocs.DSC(1, "x", testdocs.A4)), FormatPostScript},
		{"postscript after ctrl-d", append([]byte{4}, testdocs.PostScript(1)...), FormatPostScript},
		{"pwg raster", testdocs.PWGRaster(1), FormatPWGRaster},
		{"urf", testdocs.URF(1), FormatURF},
		{"jpeg", testdocs.JPEG(8, 8), FormatJPEG},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), FormatPNG},
		{"pcl reset", []byte("\x1bE\x1b&l26A\x1b*t300R"), FormatPCL},
		{"pcl in pjl", pjl("PCL", []byte("\x1bE\x1b&l0O")), FormatPCL},
		{"ascii text", []byte("Quarterly report\r\n\tTotal: 42\f"), FormatText},
		{"utf-8 text", []byte("給与明細 2026年11月\n"), FormatText},
		{"shift_jis text", shiftJIS, FormatText},
		{"iso-2022-jp text", iso2022, FormatText},
		{"random bytes", noise, ""},
		{"nul in text", []byte("text\x00more"), ""},
		{"pjl header alone", []byte("\x1b%-12345X@PJL JOB\r\n@PJL ENTER LANG"), ""},
		{"cups raster v3", []byte("RaS3\x00\x00\x00\x00"), ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sniff(tt.doc); got != tt.want {
				t.Errorf("Sniff = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSniffLooksAtSniffSize checks that what lies past SniffSize changes
// nothing: the head a submission buffers is all Sniff needs.
func TestSniffLooksAtSniffSize(t *testing.T) {
	text := bytes.Repeat([]byte("line of text\n"), SniffSize/13+1)
	if got := Sniff(append(text, 0, 1, 2, 3)); got != FormatText {
		t.Errorf("text with binary past SniffSize: Sniff = %q, want %q", got, FormatText)
	}
	if got := Sniff(append(text[:SniffSize-8], 0)); got != "" {
		t.Errorf("text with a NUL within SniffSize: Sniff = %q, want \"\"", got)
	}
}

// TestSniffGhostscriptOutput identifies what a real converter writes:
// Ghostscript's PCL (ljet4), PostScript (ps2write) and PWG raster.
func TestSniffGhostscriptOutput(t *testing.T) {
	gs := testenv.Tool(t, "gs")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, testdocs.PDF(1, "ghostscript", testdocs.A4), 0o600); err != nil {
		t.Fatal(err)
	}
	for device, want := range map[string]string{"ljet4": FormatPCL, "ps2write": FormatPostScript, "pwgraster": FormatPWGRaster} {
		t.Run(device, func(t *testing.T) {
			out := filepath.Join(dir, device)
			cmd := exec.Command(gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-r72", "-sDEVICE="+device,
				"-sOutputFile="+out, in)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("gs: %v\n%s", err, msg)
			}
			doc, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := Sniff(doc); got != want {
				t.Errorf("Sniff = %q, want %q (starts %q)", got, want, doc[:min(len(doc), 16)])
			}
		})
	}
}

func TestRecognizes(t *testing.T) {
	for _, f := range []string{FormatPDF, "Application/PDF; version=1.7", FormatPCL, FormatText, "text/plain;charset=utf-8", FormatURF} {
		if !Recognizes(f) {
			t.Errorf("Recognizes(%q) = false", f)
		}
	}
	for _, f := range []string{FormatOctetStream, "image/tiff", "application/vnd.cups-raster", ""} {
		if Recognizes(f) {
			t.Errorf("Recognizes(%q) = true", f)
		}
	}
}

// FuzzSniff checks Sniff on any bytes: it answers a format Recognizes or
// nothing, agrees with Detect wherever Detect knows the format, and looks
// at SniffSize bytes only.
func FuzzSniff(f *testing.F) {
	f.Add(testdocs.PDF(1, "fuzz", testdocs.A4)[:64])
	f.Add(pjl("POSTSCRIPT", []byte("%!PS-Adobe-3.0\n")))
	f.Add(pjl("PCL", []byte("\x1bE")))
	f.Add([]byte("plain text\r\n"))
	f.Add([]byte("\x1b%-12345X@PJL\n\n\r@pjl x"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		got := Sniff(doc)
		if got != "" && !Recognizes(got) {
			t.Fatalf("Sniff = %q, which Recognizes does not know", got)
		}
		if d := Detect(doc); d != "" && got != d {
			t.Errorf("Sniff = %q, Detect = %q", got, d)
		}
		if len(doc) > SniffSize {
			if again := Sniff(doc[:SniffSize]); again != got {
				t.Errorf("Sniff of the whole = %q, of the first SniffSize bytes = %q", got, again)
			}
		}
		if got == FormatText && strings.ContainsRune(string(doc[:min(len(doc), SniffSize)]), 0) {
			t.Errorf("text with a NUL")
		}
	})
}
