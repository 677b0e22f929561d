package monitor

import (
	"context"
	"fmt"
	"strings"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/ipp"
)

// Bounds on what is kept of a printer's state.
const (
	maxReasons  = 16
	maxSupplies = 16
	maxText     = 64
)

// printerStatus is what Get-Printer-Attributes says of a printer's state.
type printerStatus struct {
	state, reasons, supplies string
}

// status asks the printer for its state, reasons and supplies.
func (m *Monitor) status(ctx context.Context, uri string) (printerStatus, error) {
	attrs, err := m.client.PrinterAttributes(ctx, uri, "printer-state", "printer-state-reasons",
		"printer-supply-description", "marker-names", "marker-levels")
	if err != nil {
		return printerStatus{}, err
	}
	var st printerStatus
	byName := map[string]goipp.Values{}
	for _, a := range attrs {
		if _, dup := byName[a.Name]; !dup {
			byName[a.Name] = a.Values
		}
	}
	if v := byName["printer-state"]; len(v) > 0 {
		if n, ok := v[0].V.(goipp.Integer); ok {
			st.state = stateName(int(n))
		}
	}
	st.reasons = strings.Join(texts(byName["printer-state-reasons"], maxReasons), ",")
	names := texts(byName["marker-names"], maxSupplies)
	if len(names) == 0 {
		names = texts(byName["printer-supply-description"], maxSupplies)
	}
	levels := byName["marker-levels"]
	var supplies []string
	for i, n := range names {
		s := n
		if i < len(levels) {
			if l, ok := levels[i].V.(goipp.Integer); ok && l >= 0 && l <= 100 {
				s = fmt.Sprintf("%s %d%%", n, int(l))
			}
		}
		supplies = append(supplies, s)
	}
	st.supplies = strings.Join(supplies, "; ")
	return st, nil
}

// stateName is the keyword of an IPP printer-state.
func stateName(n int) string {
	switch n {
	case 3:
		return "idle"
	case 4:
		return "processing"
	case 5:
		return "stopped"
	}
	return "unknown"
}

// texts returns at most max string values, each made printable and short.
func texts(vs goipp.Values, max int) []string {
	var out []string
	for _, v := range vs {
		if len(out) == max {
			break
		}
		var s string
		switch x := v.V.(type) {
		case goipp.String:
			s = string(x)
		case goipp.TextWithLang:
			s = x.Text
		default:
			continue
		}
		if s = ipp.Printable(strings.ReplaceAll(s, ";", ","), maxText); s != "" {
			out = append(out, s)
		}
	}
	return out
}
