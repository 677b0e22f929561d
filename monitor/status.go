package monitor

import (
	"context"
	"fmt"
	"strconv"
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
	// clock relates the printer's times to printgate's (match.go).
	clock printerClock
}

// status asks the printer for its state, reasons and supplies.
func (m *Monitor) status(ctx context.Context, uri string) (printerStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	attrs, err := m.client.PrinterAttributes(ctx, uri, "printer-state", "printer-state-reasons",
		"printer-supply", "printer-supply-description", "marker-names", "marker-levels",
		"printer-up-time", "printer-current-time")
	if err != nil {
		return printerStatus{}, err
	}
	st := printerStatus{clock: printerClock{at: m.now(), upTime: -1}}
	byName := map[string]goipp.Values{}
	for _, a := range attrs {
		if _, dup := byName[a.Name]; !dup {
			byName[a.Name] = a.Values
		}
	}
	if v := byName["printer-up-time"]; len(v) > 0 {
		if n, ok := v[0].V.(goipp.Integer); ok && n >= 0 {
			st.clock.upTime = int(n)
		}
	}
	if v := byName["printer-current-time"]; len(v) > 0 {
		if t, ok := v[0].V.(goipp.Time); ok {
			st.clock.current = t.UTC()
		}
	}
	if v := byName["printer-state"]; len(v) > 0 {
		if n, ok := v[0].V.(goipp.Integer); ok {
			st.state = stateName(int(n))
		}
	}
	reasons := texts(byName["printer-state-reasons"], maxReasons)
	if len(reasons) == 1 && reasons[0] == "none" {
		reasons = nil
	}
	st.reasons = strings.Join(reasons, ",")
	names := texts(byName["marker-names"], maxSupplies)
	var levels []int
	for _, v := range byName["marker-levels"] {
		l, _ := v.V.(goipp.Integer)
		levels = append(levels, int(l))
	}
	if len(names) == 0 {
		// No marker-*: the supplies and their levels
		// ("index=1;class=...;level=75;...").
		names = texts(byName["printer-supply-description"], maxSupplies)
		levels = supplyLevels(byName["printer-supply"])
	}
	var supplies []string
	for i, n := range names {
		s := n
		if i < len(levels) && levels[i] >= 0 && levels[i] <= 100 {
			s = fmt.Sprintf("%s %d%%", n, levels[i])
		}
		supplies = append(supplies, s)
	}
	st.supplies = strings.Join(supplies, "; ")
	return st, nil
}

// supplyLevels reads the level= of each printer-supply value (-1 when
// it has none).
func supplyLevels(vs goipp.Values) []int {
	var out []int
	for _, v := range vs {
		if len(out) == maxSupplies {
			break
		}
		var s string
		switch x := v.V.(type) {
		case goipp.String:
			s = string(x)
		case goipp.Binary:
			s = string(x)
		}
		level := -1
		for _, field := range strings.Split(s, ";") {
			if n, ok := strings.CutPrefix(field, "level="); ok {
				if l, err := strconv.Atoi(n); err == nil {
					level = l
				}
			}
		}
		out = append(out, level)
	}
	return out
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
