package ipp

import (
	"net/http"
	"strconv"

	"github.com/OpenPrinting/goipp"
)

func (s *Server) finish(w http.ResponseWriter, req *request, status goipp.Status, msg string) {
	req.resp.Code = goipp.Code(status)
	s.write(w, req.resp, req.loc.lang, msg, req.groups)
}

// writeError answers a request whose header could not be read, in
// English: its natural language is unknown.
func (s *Server) writeError(w http.ResponseWriter, resp *goipp.Message, status goipp.Status, msg string) {
	resp.Code = goipp.Code(status)
	s.write(w, resp, langEn, msg, nil)
}

// write sends resp with the operation attributes every reply starts with,
// its status-message in lang, followed by groups, repeated groups already
// encoded by encodeGroup.
func (s *Server) write(w http.ResponseWriter, resp *goipp.Message, lang, msg string, groups []byte) {
	status := goipp.Status(resp.Code)
	if msg == "" && lang != langJa {
		msg = status.String()
	}
	if lang != langJa {
		lang = langEn
	}
	op := goipp.Attributes{
		strs("attributes-charset", goipp.TagCharset, "utf-8"),
		strs("attributes-natural-language", goipp.TagLanguage, lang),
		text("status-message", truncateUTF8(localize(lang, status, msg), statusMessageMax)),
	}
	resp.Operation = append(op, resp.Operation...)
	fixed := goipp.Groups{{Tag: goipp.TagOperationGroup, Attrs: resp.Operation}}
	if len(resp.Unsupported) > 0 {
		fixed = append(fixed, goipp.Group{Tag: goipp.TagUnsupportedGroup, Attrs: resp.Unsupported})
	}
	if len(resp.Printer) > 0 {
		fixed = append(fixed, goipp.Group{Tag: goipp.TagPrinterGroup, Attrs: resp.Printer})
	}
	if len(resp.Job) > 0 {
		fixed = append(fixed, goipp.Group{Tag: goipp.TagJobGroup, Attrs: resp.Job})
	}
	resp.Groups = fixed
	head, err := resp.EncodeBytes()
	if err != nil {
		s.log.Error("ipp: encode reply", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// head ends with the end-of-attributes tag; the repeated groups go
	// before it.
	end := head[len(head)-1:]
	head = head[:len(head)-1]
	n := len(head) + len(groups) + len(end)
	// The upload may have taken long since ServeHTTP's deadline.
	s.replyDeadline(w, n)
	w.Header().Set("Content-Type", goipp.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	w.Write(head)
	w.Write(groups)
	w.Write(end)
}

// encodeGroup appends g in IPP's encoding to buf, as it appears within a
// message: its delimiter tag, then its attributes.
func encodeGroup(buf []byte, g goipp.Group) ([]byte, error) {
	// goipp encodes whole messages only: encode g alone, straight onto
	// buf (a Get-Jobs of thousands of jobs makes no buffer for each),
	// then keep what lies between the 8-byte message header and the
	// end-of-attributes tag.
	start := len(buf)
	w := appender{buf}
	m := goipp.Message{Groups: goipp.Groups{g}}
	if err := m.Encode(&w); err != nil {
		return buf[:start], err
	}
	n := copy(w.b[start:], w.b[start+8:len(w.b)-1])
	return w.b[:start+n], nil
}

// appender is an io.Writer that appends to b.
type appender struct{ b []byte }

func (a *appender) Write(p []byte) (int, error) {
	a.b = append(a.b, p...)
	return len(p), nil
}
