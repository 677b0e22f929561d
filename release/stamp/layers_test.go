package stamp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testdocs"
)

// layeredPDF is a one-page PDF with catalogExtra in its catalog and extra
// objects numbered from 5.
func layeredPDF(catalogExtra string, extra ...string) []byte {
	content := "BT /F1 24 Tf 100 400 Td (Payslip) Tj ET"
	objs := append([]string{
		"<< /Type /Catalog /Pages 2 0 R " + catalogExtra + " >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
	}, extra...)
	return testdocs.RawPDF(objs, 1)
}

// TestStampHiddenLayer: a document whose first optional content layer is
// off, and not for printing, must not hide the stamp (pdfcpu puts the
// stamp into the document's first layer); poppler, like printers that
// read PDF, honours the layers.
func TestStampHiddenLayer(t *testing.T) {
	s := newTestStamper(t, Options{})
	st := testStamp(Layout{Position: BottomRight, FontSize: 12})
	hostile := layeredPDF("/OCProperties << /OCGs [5 0 R] /D << /OFF [5 0 R] >> >>",
		"<< /Type /OCG /Name (x) /Usage << /Print << /PrintState /OFF >> /View << /ViewState /OFF >> >> >>")
	out, err := stampBytes(t, s, hostile, st)
	if err != nil {
		t.Fatal(err)
	}
	if text := pdftotext(t, out); !strings.Contains(text, "Job 42") || !strings.Contains(text, st.Code) {
		t.Errorf("the stamp does not show on the page: %q", text)
	}
}
