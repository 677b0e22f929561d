package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testdocs"
	"github.com/printgate/printgate/internal/testenv"
)

// ippLangTest is what ipptool sends in Japanese and in English: a refused
// document format, a job that does not exist, and a job held for
// release; each status-message and job-state-message must be in the
// language asked for.
const ippLangTest = `{
	NAME "ja: refused format"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language ja
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name bob
	ATTR mimeMediaType document-format image/x-refused
	FILE doc.pdf
	STATUS client-error-document-format-not-supported
	EXPECT attributes-natural-language OF-TYPE naturalLanguage WITH-VALUE "ja"
	EXPECT status-message OF-TYPE text WITH-VALUE "/^この文書形式/"
}
{
	NAME "ja: no such job"
	OPERATION Get-Job-Attributes
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language ja-JP
	ATTR uri printer-uri $uri
	ATTR integer job-id 999999
	ATTR name requesting-user-name bob
	STATUS client-error-not-found
	EXPECT status-message OF-TYPE text WITH-VALUE "/^そのジョブはありません。$/"
}
{
	NAME "ja: held job"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language ja
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name bob
	ATTR mimeMediaType document-format application/pdf
	FILE doc.pdf
	STATUS successful-ok
	EXPECT status-message OF-TYPE text WITH-VALUE "/^正常に処理しました。$/"
	EXPECT job-state-message OF-TYPE text WITH-VALUE "/^保留中：プリンターでリリースすると印刷されます$/"
}
{
	NAME "en: refused format"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name bob
	ATTR mimeMediaType document-format image/x-refused
	FILE doc.pdf
	STATUS client-error-document-format-not-supported
	EXPECT attributes-natural-language OF-TYPE naturalLanguage WITH-VALUE "en"
	EXPECT status-message OF-TYPE text WITH-VALUE "/^[ -~]+$/"
}
{
	NAME "en: no such job"
	OPERATION Get-Job-Attributes
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR integer job-id 999999
	ATTR name requesting-user-name bob
	STATUS client-error-not-found
	EXPECT status-message OF-TYPE text WITH-VALUE "/^There is no such job.$/"
}
`

// TestIPPLanguage has ipptool, a real IPP client, ask printgate for
// Japanese and English answers: status-message and job-state-message
// follow attributes-natural-language.
func TestIPPLanguage(t *testing.T) {
	srv := startServer(t, newConfig(t, ""))
	dir := t.TempDir()
	for name, b := range map[string][]byte{"doc.pdf": testdocs.PDF(1, "lang", testdocs.A4), "lang.test": []byte(ippLangTest)} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := testenv.RunIpptool(t, dir, "-tI", srv.PrinterURI("secure"), "lang.test")
	if err != nil || strings.Contains(out, "FAIL") {
		t.Fatalf("ipptool: %v\n%s\nserver log:\n%s", err, out, srv.Log)
	}
}
