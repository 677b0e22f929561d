package audit

import (
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// An event row stores its Job and Details as JSON text. Append writes it
// with the encoders below, which produce exactly what encoding/json makes
// of jobJSON and of a map[string]string (TestEventJSON holds them to it),
// without reflection: they run for every event of every job. Reading
// (decodeColumns) uses encoding/json.

// jobJSON is how a JobInfo is stored in an event row. Times use the
// canonical layout and the digest hex, so decoding gives back exactly the
// values that were hashed.
type jobJSON struct {
	Queue        string `json:"queue"`
	Owner        string `json:"owner"`
	ClaimedUser  string `json:"claimed_user,omitempty"`
	ClientAddr   string `json:"client_addr,omitempty"`
	DocumentName string `json:"document_name"`
	HideName     bool   `json:"name_hidden,omitempty"`
	Format       string `json:"format,omitempty"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256,omitempty"`
	Pages        int    `json:"pages"`
	PagesKnown   bool   `json:"pages_known"`
	PagesReason  string `json:"pages_reason,omitempty"`
	Copies       int    `json:"copies"`
	Sides        string `json:"sides,omitempty"`
	ColorMode    string `json:"color_mode,omitempty"`
	Media        string `json:"media,omitempty"`
	HasJobPIN    bool   `json:"has_job_pin,omitempty"`
	Submitted    string `json:"submitted"`
}

func toJobJSON(j *JobInfo) jobJSON {
	return jobJSON{
		Queue: j.Queue, Owner: j.Owner, ClaimedUser: j.ClaimedUser, ClientAddr: j.ClientAddr,
		DocumentName: j.DocumentName, HideName: j.HideName, Format: j.Format, Size: j.Size,
		SHA256: hex.EncodeToString(j.SHA256), Pages: j.Pages, PagesKnown: j.PagesKnown,
		PagesReason: j.PagesReason, Copies: j.Copies, Sides: j.Sides, ColorMode: j.ColorMode,
		Media: j.Media, HasJobPIN: j.HasJobPIN, Submitted: formatTime(j.Submitted),
	}
}

// appendJobJSON appends json.Marshal(toJobJSON(j)) to b.
func appendJobJSON(b []byte, j *JobInfo) []byte {
	str := func(b []byte, name, v string, omitEmpty bool) []byte {
		if omitEmpty && v == "" {
			return b
		}
		return appendJSONString(append(b, name...), v)
	}
	flag := func(b []byte, name string, v, omitEmpty bool) []byte {
		switch {
		case v:
			return append(append(b, name...), "true"...)
		case omitEmpty:
			return b
		}
		return append(append(b, name...), "false"...)
	}
	b = str(b, `{"queue":`, j.Queue, false)
	b = str(b, `,"owner":`, j.Owner, false)
	b = str(b, `,"claimed_user":`, j.ClaimedUser, true)
	b = str(b, `,"client_addr":`, j.ClientAddr, true)
	b = str(b, `,"document_name":`, j.DocumentName, false)
	b = flag(b, `,"name_hidden":`, j.HideName, true)
	b = str(b, `,"format":`, j.Format, true)
	b = appendJSONInt(append(b, `,"size":`...), j.Size)
	if len(j.SHA256) > 0 {
		b = append(hex.AppendEncode(append(b, `,"sha256":"`...), j.SHA256), '"')
	}
	b = appendJSONInt(append(b, `,"pages":`...), int64(j.Pages))
	b = flag(b, `,"pages_known":`, j.PagesKnown, false)
	b = str(b, `,"pages_reason":`, j.PagesReason, true)
	b = appendJSONInt(append(b, `,"copies":`...), int64(j.Copies))
	b = str(b, `,"sides":`, j.Sides, true)
	b = str(b, `,"color_mode":`, j.ColorMode, true)
	b = str(b, `,"media":`, j.Media, true)
	b = flag(b, `,"has_job_pin":`, j.HasJobPIN, true)
	b = append(b, `,"submitted":"`...)
	if !j.Submitted.IsZero() {
		b = j.Submitted.UTC().AppendFormat(b, timeLayout)
	}
	return append(b, `"}`...)
}

// appendDetailsJSON appends json.Marshal(d) to b, sorting the keys in
// keys (scratch space, returned for reuse).
func appendDetailsJSON(b []byte, d map[string]string, keys []string) ([]byte, []string) {
	keys = sortedKeys(keys[:0], d)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = appendJSONString(append(b, ':'), d[k])
	}
	return append(b, '}'), keys
}

func appendJSONInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// appendJSONString appends s as encoding/json writes a string: quoted,
// with <, > and & escaped for HTML, control characters escaped, invalid
// UTF-8 replaced and U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(append(b, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(append(b, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(b, s[start:]...), '"')
}

func (s jobJSON) info() (*JobInfo, error) {
	digest, err := hex.DecodeString(s.SHA256)
	if err != nil {
		return nil, fmt.Errorf("job sha256: %w", err)
	}
	if len(digest) == 0 {
		digest = nil
	}
	submitted, err := parseTime(s.Submitted)
	if err != nil {
		return nil, fmt.Errorf("job submitted time: %w", err)
	}
	return &JobInfo{
		Queue: s.Queue, Owner: s.Owner, ClaimedUser: s.ClaimedUser, ClientAddr: s.ClientAddr,
		DocumentName: s.DocumentName, HideName: s.HideName, Format: s.Format, Size: s.Size,
		SHA256: digest, Pages: s.Pages, PagesKnown: s.PagesKnown, PagesReason: s.PagesReason,
		Copies: s.Copies, Sides: s.Sides, ColorMode: s.ColorMode, Media: s.Media,
		HasJobPIN: s.HasJobPIN, Submitted: submitted,
	}, nil
}

// storedJSON is an event's Job and Details as its row holds them.
type storedJSON struct{ job, details sql.NullString }

// canonical reports whether s is exactly what Append writes for ev's Job
// and Details. The hash covers the decoded values, so another spelling
// of the same values (an escaped letter, a key given twice, hex in upper
// case) would pass it, while a search that reads the text itself (the
// record's My Number filter matches details with LIKE) would see
// something else: Verify refuses any spelling but the one.
func (s storedJSON) canonical(ev *Event) bool {
	if s.job.Valid != (ev.Job != nil) || s.details.Valid != (ev.Details != nil) {
		return false
	}
	if s.job.Valid && string(appendJobJSON(nil, ev.Job)) != s.job.String {
		return false
	}
	if s.details.Valid {
		if len(ev.Details) == 0 {
			return false // Append stores no details as NULL
		}
		b, _ := appendDetailsJSON(nil, ev.Details, nil)
		return string(b) == s.details.String
	}
	return true
}

// decodeColumns reads the stored JSON of an event's Job and Details.
func decodeColumns(ev *Event, job, details sql.NullString) error {
	if job.Valid {
		var s jobJSON
		if err := json.Unmarshal([]byte(job.String), &s); err != nil {
			return fmt.Errorf("decode job of event %d: %w", ev.Seq, err)
		}
		j, err := s.info()
		if err != nil {
			return fmt.Errorf("decode job of event %d: %w", ev.Seq, err)
		}
		ev.Job = j
	}
	if details.Valid {
		if err := json.Unmarshal([]byte(details.String), &ev.Details); err != nil {
			return fmt.Errorf("decode details of event %d: %w", ev.Seq, err)
		}
	}
	return nil
}
