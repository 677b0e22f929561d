package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// catalogFiles holds one message catalog per language: a flat JSON object
// from message key to text. Texts with arguments use fmt verbs with
// explicit indexes (%[1]d), so that a translation may reorder them.
//
//go:embed i18n/*.json
var catalogFiles embed.FS

// Languages of the console, by code.
const (
	langJa = "ja"
	langEn = "en"
)

// langCookie remembers the language switch.
const langCookie = "printgate_lang"

// missingMarker starts the text shown for a key missing from a catalog,
// so that a test can find untranslated text in a rendered page.
const missingMarker = "[[missing:"

// locale formats text and dates for one language.
type locale struct {
	lang string
	msgs map[string]string
	tz   *time.Location
}

// loadLocales reads the embedded catalogs.
func loadLocales(tz *time.Location) (map[string]*locale, error) {
	out := make(map[string]*locale)
	for _, lang := range []string{langJa, langEn} {
		data, err := catalogFiles.ReadFile("i18n/" + lang + ".json")
		if err != nil {
			return nil, fmt.Errorf("web: catalog %s: %w", lang, err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(data, &msgs); err != nil {
			return nil, fmt.Errorf("web: catalog %s: %w", lang, err)
		}
		out[lang] = &locale{lang: lang, msgs: msgs, tz: tz}
	}
	return out, nil
}

// has reports whether key is in the catalog.
func (l *locale) has(key string) bool {
	_, ok := l.msgs[key]
	return ok
}

// T returns the text for key, formatted with args. A missing key shows as
// the missing marker and the key, never as an empty string.
func (l *locale) T(key string, args ...any) string {
	m, ok := l.msgs[key]
	if !ok {
		return missingMarker + key + "]]"
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

// TOr returns the text for prefix+value, or value itself when the catalog
// has no such key: for values from outside (job outcomes, roles) that a
// newer release may add to.
func (l *locale) TOr(prefix, value string) string {
	if m, ok := l.msgs[prefix+value]; ok {
		return m
	}
	return value
}

// Ended says how a job ended, as a person would: the reason's own words
// ("ended.<reason>") where the catalog has them, else the outcome with
// the reason beside it. A reason keyword alone misleads: a job aborted at
// start-up (document-missing) has the outcome canceled, which reads as
// "deleted by the user".
func (l *locale) Ended(outcome, reason string) string {
	if m, ok := l.msgs["ended."+reason]; ok && reason != "" {
		return m
	}
	out := l.TOr("outcome.", outcome)
	if reason != "" {
		out += " (" + reason + ")"
	}
	return out
}

// Date formats t in the configured time zone; the zero time shows as a
// dash.
func (l *locale) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	layout := "2006-01-02 15:04 MST"
	if l.lang == langJa {
		layout = "2006年1月2日 15:04 MST"
	}
	return t.In(l.tz).Format(layout)
}

// Size formats a byte count for people: "1.5 MB".
func (l *locale) Size(n int64) string {
	const unit = 1000
	if n < unit {
		return l.T("common.bytes", n)
	}
	v, suffix := float64(n), ""
	for _, s := range []string{"kB", "MB", "GB", "TB"} {
		v /= unit
		suffix = s
		if v < unit {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}

// Day formats the calendar date of t in the configured time zone.
func (l *locale) Day(t time.Time) string {
	if l.lang == langJa {
		return t.In(l.tz).Format("2006年1月2日")
	}
	return t.In(l.tz).Format("Mon 2 Jan 2006")
}

// languageMatcher matches Accept-Language to the console's languages,
// with def (when neither matches) first.
func languageMatcher(def string) (language.Matcher, []string) {
	codes := []string{langJa, langEn}
	if def == langEn {
		codes = []string{langEn, langJa}
	}
	tags := make([]language.Tag, len(codes))
	for i, c := range codes {
		tags[i] = language.Make(c)
	}
	return language.NewMatcher(tags), codes
}

// validLang reports whether code names a console language.
func validLang(code string) bool { return code == langJa || code == langEn }

// chooseLanguage picks the language of a reply: the switch (?lang=, which
// also sets the cookie), then the cookie, then Accept-Language, then the
// default.
func (s *server) chooseLanguage(w http.ResponseWriter, r *http.Request) string {
	if q := r.URL.Query().Get("lang"); validLang(q) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 60 * 60,
			HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode})
		return q
	}
	if c, err := r.Cookie(langCookie); err == nil && validLang(c.Value) {
		return c.Value
	}
	accept := r.Header.Get("Accept-Language")
	if len(accept) > 256 {
		accept = accept[:256] // a real header is short; don't parse an essay
	}
	_, i := language.MatchStrings(s.matcher, strings.TrimSpace(accept))
	return s.langs[i]
}
