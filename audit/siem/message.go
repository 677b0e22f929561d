package siem

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/printgate/printgate/audit"
)

// SDID is the structured-data element of every forwarded message. 32473
// is the private enterprise number RFC 5612 reserves for documentation:
// printgate has none registered, and an SD-ID without "@" would have to be
// registered with IANA (RFC 5424 section 6.3.2).
const SDID = "printgate@32473"

// AppName is the APP-NAME of every forwarded message.
const AppName = "printgate"

// priority is facility 13 ("log audit", RFC 5424 table 1) at severity 6
// (informational): an audit event is a record, not an alarm.
const priority = 13*8 + 6

// Header is what a message says about its sender.
type Header struct {
	// Hostname is the HOSTNAME field; "" sends "-".
	Hostname string
	// ProcID is the PROCID field; "" sends "-".
	ProcID string
}

// Format returns ev as an RFC 5424 message, without framing:
//
//	<110>1 TIMESTAMP HOSTNAME printgate PROCID TYPE [printgate@32473 seq="N" prev="HEX" hash="HEX" job="ID"] {JSON}
//
// An event whose Details name a group to notify (a job holding an
// individual number detected or printed) also has notify="GROUP" there.
// TIMESTAMP is the event's time, MSGID its type, and MSG the event as
// audit.MarshalCopy writes it (ASCII JSON, no BOM), so that the copy can
// be checked by itself; seq and the hashes are in the structured data too,
// for a SIEM to index and search by.
func Format(h Header, ev *audit.Event) []byte {
	b := make([]byte, 0, 512)
	b = append(b, '<')
	b = strconv.AppendInt(b, priority, 10)
	b = append(b, ">1 "...)
	b = ev.At.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
	b = append(b, ' ')
	b = appendField(b, h.Hostname, 255)
	b = append(b, ' ')
	b = append(b, AppName...)
	b = append(b, ' ')
	b = appendField(b, h.ProcID, 128)
	b = append(b, ' ')
	b = appendField(b, ev.Type, 32)
	b = append(b, " ["...)
	b = append(b, SDID...)
	b = appendParam(b, "seq", strconv.FormatInt(ev.Seq, 10))
	b = appendParam(b, "prev", fmt.Sprintf("%x", ev.PrevHash))
	b = appendParam(b, "hash", fmt.Sprintf("%x", ev.Hash))
	if ev.JobID != 0 {
		b = appendParam(b, "job", strconv.FormatInt(ev.JobID, 10))
	}
	if g := ev.Details["notify"]; g != "" {
		// The group to tell (the people responsible for My Number
		// documents), where a SIEM's routing rule finds it without
		// reading the JSON.
		b = appendParam(b, "notify", g)
	}
	b = append(b, "] "...)
	return append(b, audit.MarshalCopy(ev)...)
}

// appendField appends a header field: printable US-ASCII without spaces,
// at most max characters, "-" when empty (RFC 5424 section 6.2).
func appendField(b []byte, s string, max int) []byte {
	n := 0
	for i := 0; i < len(s) && n < max; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b = append(b, c)
			n++
		}
	}
	if n == 0 {
		b = append(b, '-')
	}
	return b
}

// appendParam appends ` name="value"`, escaping '"', '\' and ']' as
// RFC 5424 section 6.3.3 asks.
func appendParam(b []byte, name, value string) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, `="`...)
	for i := 0; i < len(value); i++ {
		if c := value[i]; c == '"' || c == '\\' || c == ']' {
			b = append(b, '\\')
		}
		b = append(b, value[i])
	}
	return append(b, '"')
}

// Message is a parsed RFC 5424 message, as much of it as checking a
// forwarded copy needs.
type Message struct {
	// Priority, Timestamp, Hostname, AppName, ProcID and MsgID are the
	// header fields ("-" where the sender left one out).
	Priority                         int
	Timestamp                        string
	Hostname, AppName, ProcID, MsgID string
	// Params holds the parameters of the SDID element (nil when the
	// message has none); other elements are skipped.
	Params map[string]string
	// Msg is the free-form part, without a leading BOM.
	Msg []byte
}

// errSyntax is the start of every parse error.
var errSyntax = errors.New("siem: not an RFC 5424 message")

// Parse reads one RFC 5424 message (without framing), as a collector
// writes it to a file (rsyslog's RSYSLOG_SyslogProtocol23Format).
func Parse(line []byte) (Message, error) {
	var m Message
	rest, ok := bytes.CutPrefix(line, []byte("<"))
	if !ok {
		return m, fmt.Errorf("%w: no <PRI>", errSyntax)
	}
	end := bytes.IndexByte(rest, '>')
	if end < 1 || end > 3 {
		return m, fmt.Errorf("%w: bad <PRI>", errSyntax)
	}
	pri, err := strconv.Atoi(string(rest[:end]))
	if err != nil || pri < 0 || pri > 191 {
		return m, fmt.Errorf("%w: bad <PRI>", errSyntax)
	}
	m.Priority = pri
	rest, ok = bytes.CutPrefix(rest[end+1:], []byte("1 "))
	if !ok {
		return m, fmt.Errorf("%w: version is not 1", errSyntax)
	}
	fields := make([]string, 5)
	for i := range fields {
		var f []byte
		if f, rest, ok = bytes.Cut(rest, []byte(" ")); !ok || len(f) == 0 {
			return m, fmt.Errorf("%w: header field %d missing", errSyntax, i+2)
		}
		fields[i] = string(f)
	}
	m.Timestamp, m.Hostname, m.AppName, m.ProcID, m.MsgID = fields[0], fields[1], fields[2], fields[3], fields[4]
	if rest, err = m.parseSD(rest); err != nil {
		return m, err
	}
	if len(rest) > 0 {
		if rest[0] != ' ' {
			return m, fmt.Errorf("%w: no space after the structured data", errSyntax)
		}
		m.Msg = bytes.TrimPrefix(rest[1:], []byte("\xEF\xBB\xBF"))
	}
	return m, nil
}

// parseSD reads the STRUCTURED-DATA field ("-" or elements) from the
// start of b and returns what follows it.
func (m *Message) parseSD(b []byte) ([]byte, error) {
	if len(b) > 0 && b[0] == '-' {
		return b[1:], nil
	}
	if len(b) == 0 || b[0] != '[' {
		return nil, fmt.Errorf("%w: no structured data", errSyntax)
	}
	for len(b) > 0 && b[0] == '[' {
		id, rest, ok := cutName(b[1:])
		if !ok {
			return nil, fmt.Errorf("%w: bad SD-ID", errSyntax)
		}
		var params map[string]string
		if id == SDID {
			params = map[string]string{}
		}
		b = rest
		for len(b) > 0 && b[0] == ' ' {
			name, rest, ok := cutName(b[1:])
			if !ok || len(rest) < 2 || rest[0] != '=' || rest[1] != '"' {
				return nil, fmt.Errorf("%w: bad SD-PARAM in %s", errSyntax, id)
			}
			value, rest, err := cutValue(rest[2:])
			if err != nil {
				return nil, err
			}
			if params != nil {
				params[name] = value
			}
			b = rest
		}
		if len(b) == 0 || b[0] != ']' {
			return nil, fmt.Errorf("%w: unterminated element %s", errSyntax, id)
		}
		b = b[1:]
		if params != nil && m.Params == nil {
			m.Params = params
		}
	}
	return b, nil
}

// cutName reads an SD-NAME: 1 to 32 printable ASCII characters other than
// '=', ' ', ']' and '"'.
func cutName(b []byte) (string, []byte, bool) {
	i := 0
	for i < len(b) && i <= 64 && b[i] > 32 && b[i] < 127 && !strings.ContainsRune(`= ]"`, rune(b[i])) {
		i++
	}
	if i == 0 || i > 64 { // 32 by the RFC; some senders are generous
		return "", nil, false
	}
	return string(b[:i]), b[i:], true
}

// cutValue reads a PARAM-VALUE after its opening quote, undoing the
// escapes of '"', '\' and ']', and returns what follows the closing quote.
func cutValue(b []byte) (string, []byte, error) {
	var v []byte
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return string(v), b[i+1:], nil
		case c == '\\' && i+1 < len(b) && (b[i+1] == '"' || b[i+1] == '\\' || b[i+1] == ']'):
			v = append(v, b[i+1])
			i++
		default:
			v = append(v, c)
		}
	}
	return "", nil, fmt.Errorf("%w: unterminated PARAM-VALUE", errSyntax)
}
