package ipp

import (
	"time"

	"github.com/OpenPrinting/goipp"
)

// Small constructors keep the attribute tables readable.

func keywords(name string, vals ...string) goipp.Attribute {
	return strs(name, goipp.TagKeyword, vals...)
}

func strs(name string, tag goipp.Tag, vals ...string) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, v := range vals {
		a.Values.Add(tag, goipp.String(v))
	}
	return a
}

func text(name, v string) goipp.Attribute { return strs(name, goipp.TagText, v) }

func nameAttr(name, v string) goipp.Attribute { return strs(name, goipp.TagName, v) }

func uris(name string, vals ...string) goipp.Attribute { return strs(name, goipp.TagURI, vals...) }

func ints(name string, vals ...int) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, v := range vals {
		a.Values.Add(goipp.TagInteger, goipp.Integer(v))
	}
	return a
}

func enums(name string, vals ...int) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, v := range vals {
		a.Values.Add(goipp.TagEnum, goipp.Integer(v))
	}
	return a
}

func boolean(name string, v bool) goipp.Attribute {
	return goipp.MakeAttribute(name, goipp.TagBoolean, goipp.Boolean(v))
}

func rangeAttr(name string, lo, hi int) goipp.Attribute {
	return goipp.MakeAttribute(name, goipp.TagRange, goipp.Range{Lower: lo, Upper: hi})
}

func dateTime(name string, t time.Time) goipp.Attribute {
	if t.IsZero() {
		return goipp.MakeAttribute(name, goipp.TagNoValue, goipp.Void{})
	}
	return goipp.MakeAttribute(name, goipp.TagDateTime, goipp.Time{Time: t})
}

func resolution(name string, dpi ...int) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, d := range dpi {
		a.Values.Add(goipp.TagResolution, goipp.Resolution{Xres: d, Yres: d, Units: goipp.UnitsDpi})
	}
	return a
}

func collection(name string, vals ...goipp.Collection) goipp.Attribute {
	a := goipp.Attribute{Name: name}
	for _, v := range vals {
		a.Values.Add(goipp.TagBeginCollection, v)
	}
	return a
}

// attrs indexes the attributes of one group of a request by name.
type attrs map[string]goipp.Attribute

func index(list goipp.Attributes) attrs {
	m := make(attrs, len(list))
	for _, a := range list {
		if _, dup := m[a.Name]; !dup {
			m[a.Name] = a
		}
	}
	return m
}

// str returns the first value of name as a string and whether it was there
// with a string-like tag; of a name or text with language, the text.
func (m attrs) str(name string) (string, bool) {
	a, ok := m[name]
	if !ok {
		return "", false
	}
	return attrString(a)
}

// attrString returns a's first value as str does.
func attrString(a goipp.Attribute) (string, bool) {
	if len(a.Values) == 0 {
		return "", false
	}
	switch v := a.Values[0].V.(type) {
	case goipp.String:
		return string(v), true
	case goipp.TextWithLang:
		return v.Text, true
	}
	return "", false
}

func (m attrs) integer(name string) (int, bool) {
	a, ok := m[name]
	if !ok || len(a.Values) == 0 {
		return 0, false
	}
	i, ok := a.Values[0].V.(goipp.Integer)
	return int(i), ok
}

func (m attrs) boolean(name string) (bool, bool) {
	a, ok := m[name]
	if !ok || len(a.Values) == 0 {
		return false, false
	}
	b, ok := a.Values[0].V.(goipp.Boolean)
	return bool(b), ok
}

// filter keeps the attributes of list that the requested-attributes set
// selects. groups maps each group keyword (job-template, ...) to the names
// it stands for.
func filter(list goipp.Attributes, requested []string, groups map[string][]string) goipp.Attributes {
	if len(requested) == 0 {
		return list
	}
	want := make(map[string]bool)
	for _, r := range requested {
		if r == "all" {
			return list
		}
		if names, ok := groups[r]; ok {
			for _, n := range names {
				want[n] = true
			}
			continue
		}
		want[r] = true
	}
	out := make(goipp.Attributes, 0, len(want))
	for _, a := range list {
		if want[a.Name] {
			out = append(out, a)
		}
	}
	return out
}

// stringValues returns every value of a as strings, for keyword sets such
// as requested-attributes.
func stringValues(a goipp.Attribute) []string {
	out := make([]string, 0, len(a.Values))
	for _, v := range a.Values {
		if s, ok := v.V.(goipp.String); ok {
			out = append(out, string(s))
		}
	}
	return out
}
