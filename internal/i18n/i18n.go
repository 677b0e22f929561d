// Package i18n holds what the release API and the command line need to
// answer in the user's language: choosing Japanese or English from an
// Accept-Language header or the locale environment, and a small catalog
// type for messages kept beside the code that says them. The console's
// page catalogs are web's own (web/i18n).
package i18n

import (
	"fmt"
	"strings"

	"golang.org/x/text/language"
)

// Lang is a language printgate answers in.
type Lang string

// Languages.
const (
	En Lang = "en"
	Ja Lang = "ja"
)

// maxAcceptLanguage bounds the header parsed: a real one is short.
const maxAcceptLanguage = 256

var matcher = language.NewMatcher([]language.Tag{language.English, language.Japanese})

// FromAcceptLanguage returns the language an Accept-Language header asks
// for, or def when it asks for neither.
func FromAcceptLanguage(header string, def Lang) Lang {
	header = strings.TrimSpace(header)
	if header == "" {
		return def
	}
	if len(header) > maxAcceptLanguage {
		header = header[:maxAcceptLanguage]
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return def
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return def
	}
	return [...]Lang{En, Ja}[i]
}

// FromEnv returns the language of the POSIX locale: LC_ALL, then
// LC_MESSAGES, then LANG, the first one set ("ja_JP.UTF-8" is Japanese);
// English otherwise, and for the C and POSIX locales.
func FromEnv(getenv func(string) string) Lang {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := getenv(name)
		if v == "" {
			continue
		}
		if strings.HasPrefix(strings.ToLower(v), "ja") {
			return Ja
		}
		return En
	}
	return En
}

// Text is one message in each language. Texts with arguments use fmt
// verbs with explicit indexes (%[1]s), so that a translation may reorder
// them.
type Text struct{ En, Ja string }

// Catalog maps message keys to their texts.
type Catalog map[string]Text

// T returns key's text in lang, formatted with args; an unknown key
// returns the key itself so that the gap shows instead of an empty line.
func (c Catalog) T(lang Lang, key string, args ...any) string {
	t, ok := c[key]
	if !ok {
		return key
	}
	s := t.En
	if lang == Ja && t.Ja != "" {
		s = t.Ja
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}
