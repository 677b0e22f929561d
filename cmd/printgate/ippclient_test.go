package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/OpenPrinting/goipp"
)

var requestIDs atomic.Uint32

// ippRequest builds a request with the operation attributes every request
// starts with, then attrs (name, tag, value triples as goipp.Attribute).
func ippRequest(op goipp.Op, printerURI, user string, attrs ...goipp.Attribute) *goipp.Message {
	m := goipp.NewRequest(goipp.MakeVersion(2, 0), op, requestIDs.Add(1))
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(printerURI)))
	if user != "" {
		m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(user)))
	}
	for _, a := range attrs {
		m.Operation.Add(a)
	}
	return m
}

// ippDo sends m (and doc, if any) to printerURI over plain HTTP and
// decodes the reply. It fails the test on a transport error.
func ippDo(t testing.TB, printerURI string, m *goipp.Message, doc []byte) *goipp.Message {
	t.Helper()
	hdr, err := m.EncodeBytes()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	url := "http://" + strings.TrimPrefix(printerURI, "ipp://")
	resp, err := http.Post(url, goipp.ContentType, io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(doc)))
	if err != nil {
		t.Fatalf("post %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("post %s: HTTP %s: %s", url, resp.Status, body)
	}
	var reply goipp.Message
	if err := reply.Decode(resp.Body); err != nil {
		t.Fatalf("decode reply: %v", err)
	}
	return &reply
}

// status returns the reply's status code.
func status(m *goipp.Message) goipp.Status { return goipp.Status(m.Code) }

// attrValue returns the first value of name in attrs as a string.
func attrValue(attrs goipp.Attributes, name string) string {
	for _, a := range attrs {
		if a.Name == name && len(a.Values) > 0 {
			return a.Values[0].V.String()
		}
	}
	return ""
}

// jobGroups returns the job groups of a Get-Jobs reply.
func jobGroups(m *goipp.Message) []goipp.Attributes {
	var out []goipp.Attributes
	for _, g := range m.Groups {
		if g.Tag == goipp.TagJobGroup {
			out = append(out, g.Attrs)
		}
	}
	return out
}

func nameVal(name, v string) goipp.Attribute {
	return goipp.MakeAttribute(name, goipp.TagName, goipp.String(v))
}

func mimeVal(v string) goipp.Attribute {
	return goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String(v))
}

func intVal(name string, v int) goipp.Attribute {
	return goipp.MakeAttribute(name, goipp.TagInteger, goipp.Integer(v))
}

func boolVal(name string, v bool) goipp.Attribute {
	return goipp.MakeAttribute(name, goipp.TagBoolean, goipp.Boolean(v))
}

func keywordVal(name string, vals ...string) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, v := range vals {
		a.Values.Add(goipp.TagKeyword, goipp.String(v))
	}
	return a
}

// ippsDo is ippDo over TLS (trusting printgate's generated certificate)
// with HTTP Basic credentials; it returns the HTTP status and, for 200,
// the decoded reply.
func ippsDo(t testing.TB, addr, queue, user, password string, m *goipp.Message, doc []byte) (int, *goipp.Message) {
	t.Helper()
	return ippHTTP(t, "https://"+addr+"/ipp/print/"+queue, user, password, m, doc)
}

func ippHTTP(t testing.TB, url, user, password string, m *goipp.Message, doc []byte) (int, *goipp.Message) {
	t.Helper()
	hdr, err := m.EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(doc)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", goipp.ContentType)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("post %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	var reply goipp.Message
	if err := reply.Decode(resp.Body); err != nil {
		t.Fatalf("decode reply: %v", err)
	}
	return resp.StatusCode, &reply
}
