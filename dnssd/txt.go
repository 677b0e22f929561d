package dnssd

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/printgate/printgate/ipp"
)

// Service types and the subtypes printgate registers under each: _print
// (PWG 5100.14: an IPP printer, as opposed to a scanner or a fax) and
// _universal (what iOS and macOS browse for).
const (
	TypeIPP  = "_ipp._tcp"
	TypeIPPS = "_ipps._tcp"
)

// subtypes returns the subtype names of service type typ.
func subtypes(typ string) []string {
	return []string{"_print._sub." + typ, "_universal._sub." + typ}
}

// maxTXTString is the longest string of a TXT record (RFC 6763 §6.1: one
// length byte).
const maxTXTString = 255

// maxLabel is the longest DNS label, and so the longest instance name
// (RFC 6763 §4.1.1), in bytes.
const maxLabel = 63

// TXT returns the TXT record strings ("key=value") of a queue described
// by d, announced as an IPPS service when tlsVersion ("1.2") is not
// empty. The keys are those of PWG 5100.14 and Apple's Bonjour Printing
// 1.2; every value comes from d, the queue's Get-Printer-Attributes
// answer. A value too long for one TXT string is cut: a list (pdl, URF)
// at its last whole element, a text at a character boundary.
func TXT(d ipp.Description, tlsVersion string) []string {
	rp := d.Name
	if u, err := url.Parse(d.URI); err == nil && u.Path != "" {
		rp = strings.TrimPrefix(u.Path, "/")
	}
	urf := "none"
	if len(d.URF) > 0 {
		urf = list("URF", d.URF)
	}
	air := "none"
	if d.Auth == "basic" {
		air = "username,password"
	}
	txt := []string{
		"txtvers=1",
		"qtotal=1",
		text("rp", rp),
		text("ty", d.MakeAndModel),
		text("adminurl", d.MoreInfo),
		text("note", d.Location),
		"priority=0",
		"product=(" + cut(d.MakeAndModel, maxTXTString-len("product=()")) + ")",
		"pdl=" + list("pdl", d.Formats),
		"URF=" + urf,
		text("UUID", d.UUID),
	}
	if tlsVersion != "" {
		txt = append(txt, text("TLS", tlsVersion))
	}
	return append(txt,
		"Color="+flag(d.Color),
		"Duplex="+flag(d.Duplex),
		text("kind", strings.Join(d.Kind, ",")),
		"air="+air,
	)
}

// flag is a Bonjour boolean.
func flag(b bool) string {
	if b {
		return "T"
	}
	return "F"
}

// text returns "key=value", value cut at a character boundary to fit one
// TXT string.
func text(key, value string) string {
	return key + "=" + cut(value, maxTXTString-len(key)-1)
}

// list joins values with commas, leaving out the last ones where they
// would not fit one TXT string after "key=".
func list(key string, values []string) string {
	room := maxTXTString - len(key) - 1
	var out string
	for _, v := range values {
		next := v
		if out != "" {
			next = out + "," + v
		}
		if len(next) > room {
			break
		}
		out = next
	}
	return out
}

// cut returns the longest prefix of s of at most n bytes that ends at a
// character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// InstanceName is the service instance name of a queue, the name users
// see in "Add printer": printer-info where the administrator set one,
// else the queue's name at host, as CUPS names shared printers. It fits
// one DNS label.
func InstanceName(d ipp.Description, host string) string {
	name := d.Info
	if name == "" || name == d.Name {
		name = d.Name
		if host != "" {
			name += " @ " + host
		}
	}
	return cut(strings.ToValidUTF8(name, ""), maxLabel)
}
