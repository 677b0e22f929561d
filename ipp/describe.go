package ipp

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Description is what a queue tells about itself, taken from the very
// attribute list its Get-Printer-Attributes answer is made of, so that
// what DNS-SD announces (PWG 5100.14's TXT keys) can never disagree with
// what a client then reads over IPP.
type Description struct {
	// Name is printer-name, the queue's name.
	Name string
	// Info is printer-info, Location printer-location, MakeAndModel
	// printer-make-and-model.
	Info, Location, MakeAndModel string
	// UUID is printer-uuid without its "urn:uuid:" prefix.
	UUID string
	// URI is printer-uri-supported and MoreInfo printer-more-info, for
	// the scheme and host the description was asked for.
	URI, MoreInfo string
	// Formats is document-format-supported, the default first.
	Formats []string
	// URF is urf-supported; empty when the queue takes no image/urf.
	URF []string
	// Color is color-supported; Duplex says sides-supported has a
	// two-sided value.
	Color, Duplex bool
	// Kind is printer-kind.
	Kind []string
	// Auth is uri-authentication-supported: "basic" or
	// "requesting-user-name".
	Auth string
	// Accepting is printer-is-accepting-jobs.
	Accepting bool
}

// Describe returns the description of queue as a client reaching it at
// scheme ("ipp" or "ipps") and host (host:port) would read it; it fails
// with ErrNotFound for an unknown queue.
func (s *Server) Describe(ctx context.Context, queue, scheme, host string) (Description, error) {
	p, err := s.backend.Printer(ctx, queue)
	if err != nil {
		return Description{}, fmt.Errorf("describe queue %q: %w", queue, err)
	}
	m := index(s.printerAttributes(p, location{scheme: scheme, host: host}, 0))
	d := Description{Name: p.Name}
	d.Info, _ = m.str("printer-info")
	d.Location, _ = m.str("printer-location")
	d.MakeAndModel, _ = m.str("printer-make-and-model")
	uuid, _ := m.str("printer-uuid")
	d.UUID = strings.TrimPrefix(uuid, "urn:uuid:")
	d.URI, _ = m.str("printer-uri-supported")
	d.MoreInfo, _ = m.str("printer-more-info")
	d.Formats = stringValues(m["document-format-supported"])
	d.URF = stringValues(m["urf-supported"])
	d.Color, _ = m.boolean("color-supported")
	d.Duplex = slices.ContainsFunc(stringValues(m["sides-supported"]), func(v string) bool {
		return strings.HasPrefix(v, "two-sided")
	})
	d.Kind = stringValues(m["printer-kind"])
	d.Auth, _ = m.str("uri-authentication-supported")
	d.Accepting, _ = m.boolean("printer-is-accepting-jobs")
	return d, nil
}
