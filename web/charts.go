package web

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/audit"
)

// Chart limits: the longest period the charts cover, the default one, and
// how many users the top-users chart names.
const (
	maxChartDays     = 366
	defaultChartDays = 30
	topUsers         = 10
)

// The charts are drawn as SVG on the server: no script, nothing for the
// content security policy to allow. Geometry is in the SVG's own units;
// the style sheet scales each chart to the width of the page.
const (
	chartWidth    = 640.0
	dayChartH     = 220.0
	dayChartLeft  = 44.0 // room for the value axis labels
	dayChartBase  = 190.0
	dayChartTop   = 12.0
	barRowH       = 26.0
	barLabelW     = 150.0
	barValueRoom  = 60.0
	splitBarH     = 36.0
	maxLabelRunes = 18
)

// column is one bar of the pages-per-day chart.
type column struct {
	X, Y, W, H float64
	// Label is the day as the axis shows it ("" to leave it out), Title
	// the day and value as a tooltip says it.
	Label, Title string
	Value        int64
}

// dayChart is the pages-per-day chart.
type dayChart struct {
	Width, Height float64
	Left, Base    float64
	Columns       []column
	// Ticks are the value axis's gridlines.
	Ticks []tick
	Total int64
}

type tick struct {
	Y     float64
	Label string
}

// barRow is one bar of a horizontal bar chart.
type barRow struct {
	// Y is the top of the row, BarY of its bar; W is the bar's width and
	// ValueX where its value is written.
	Y, BarY, W, ValueX float64
	Label              string
	// Full is the whole key, where Label shortens it.
	Full  string
	Value int64
}

// barChart is a horizontal bar chart: top users, pages per device.
type barChart struct {
	Width, Height float64
	LabelW        float64
	Rows          []barRow
}

// split is the colour-versus-mono chart: one bar in three parts, the
// impressions of jobs in colour, in monochrome and of unknown colour
// (audit.Color), so that a job that asked for no colour mode is not
// counted as either.
type split struct {
	Width, Height                 float64
	ColorW, MonoW, UnknownW       float64
	Color, Mono, Unknown          int64
	ColorPct, MonoPct, UnknownPct int
}

// chartsData is the charts page's data.
type chartsData struct {
	// State is "ok", "unavailable", "invalid" or "error".
	State    string
	From, To string
	// Source is the source filter, as the history page's ("" for all
	// jobs, "printgate", "printer-log" for those printed without it).
	Source string
	// TopN is how many users the top-users chart names at most.
	TopN    int
	Days    dayChart
	Users   barChart
	Devices barChart
	Split   split
	Total   audit.Total
}

// chartsPage draws pages per day, the top users, colour versus black and
// white, and pages per device, for a period of calendar days in the
// configured time zone (the last 30 days unless the form says otherwise).
func (s *server) chartsPage(c *gin.Context) {
	today := s.now().In(s.tz)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, s.tz)
	d := chartsData{State: "unavailable", TopN: topUsers,
		From: cmp.Or(strings.TrimSpace(c.Query("from")), today.AddDate(0, 0, 1-defaultChartDays).Format(dateLayout)),
		To:   cmp.Or(strings.TrimSpace(c.Query("to")), today.Format(dateLayout)), Source: strings.TrimSpace(c.Query("source"))}
	source, sourceOK := sources[d.Source]
	v := view{Title: "charts.title"}
	status := http.StatusOK
	from, errFrom := time.ParseInLocation(dateLayout, d.From, s.tz)
	to, errTo := time.ParseInLocation(dateLayout, d.To, s.tz)
	to = to.AddDate(0, 0, 1) // the "to" day is included
	switch {
	case !sourceOK:
		d.State, v.Error, status = "invalid", s.locale(c).T("history.bad_source"), http.StatusBadRequest
	case errFrom != nil || errTo != nil:
		d.State, v.Error, status = "invalid", s.locale(c).T("history.bad_date"), http.StatusBadRequest
	case !from.Before(to):
		d.State, v.Error, status = "invalid", s.locale(c).T("history.bad_range"), http.StatusBadRequest
	case to.Sub(from) > maxChartDays*24*time.Hour+time.Hour: // an hour of slack for a DST change
		d.State, v.Error, status = "invalid", s.locale(c).T("charts.too_long", maxChartDays), http.StatusBadRequest
	case s.opts.Record != nil:
		d.State = "ok"
		if err := s.fillCharts(c.Request.Context(), s.locale(c), &d, source, from, to); err != nil {
			s.log.Error("web: charts", "err", err)
			d.State = "error"
		}
	}
	v.Data = d
	s.render(c, status, "charts", v)
}

// fillCharts reads the totals of [from, to) and lays out the charts.
func (s *server) fillCharts(ctx context.Context, loc *locale, d *chartsData, source string, from, to time.Time) error {
	totals := func(by audit.GroupBy) ([]audit.Total, error) {
		return s.opts.Record.Totals(ctx, audit.TotalsQuery{GroupBy: by, From: from, To: to, Source: source})
	}
	grand, err := totals("")
	if err != nil {
		return err
	}
	if len(grand) > 0 {
		d.Total = grand[0]
	}
	days, err := totals(audit.ByDay)
	if err != nil {
		return err
	}
	users, err := totals(audit.ByUser)
	if err != nil {
		return err
	}
	devices, err := totals(audit.ByDevice)
	if err != nil {
		return err
	}
	d.Days = layoutDays(loc, days, from, to)
	d.Users = layoutBars(top(users, topUsers), "")
	d.Devices = layoutBars(top(devices, 0), loc.T("charts.not_released"))
	d.Split = layoutSplit(d.Total)
	return nil
}

// top returns the totals with the most pages first, at most n (0: all).
func top(ts []audit.Total, n int) []audit.Total {
	ts = slices.Clone(ts)
	slices.SortStableFunc(ts, func(a, b audit.Total) int {
		return cmp.Or(cmp.Compare(b.Impressions, a.Impressions), cmp.Compare(b.Jobs, a.Jobs), strings.Compare(a.Key, b.Key))
	})
	if n > 0 && len(ts) > n {
		ts = ts[:n]
	}
	return ts
}

// layoutDays draws one column per calendar day of [from, to), a day
// without jobs as an empty one.
func layoutDays(loc *locale, ts []audit.Total, from, to time.Time) dayChart {
	pages := make(map[string]int64, len(ts))
	var most, total int64
	for _, t := range ts {
		pages[t.Key] = t.Impressions
		most = max(most, t.Impressions)
		total += t.Impressions
	}
	var days []time.Time
	for day := from; day.Before(to); day = day.AddDate(0, 0, 1) {
		days = append(days, day)
	}
	ch := dayChart{Width: chartWidth, Height: dayChartH, Left: dayChartLeft, Base: dayChartBase, Total: total}
	top := niceCeil(most)
	plotH := dayChartBase - dayChartTop
	marks := []int64{0, top}
	if top%2 == 0 {
		marks = []int64{0, top / 2, top}
	}
	for _, v := range marks {
		ch.Ticks = append(ch.Ticks, tick{Y: dayChartBase - plotH*float64(v)/float64(top), Label: fmt.Sprint(v)})
	}
	slot := (chartWidth - dayChartLeft - 4) / float64(max(len(days), 1))
	// Label about eight days, whatever the period: more would overlap.
	every := max(1, int(math.Ceil(float64(len(days))/8)))
	for i, day := range days {
		key := day.Format(dateLayout)
		v := pages[key]
		h := plotH * float64(v) / float64(top)
		col := column{X: dayChartLeft + float64(i)*slot + slot*0.1, W: slot * 0.8, Y: dayChartBase - h, H: h,
			Value: v, Title: loc.T("charts.day_value", loc.Day(day), v)}
		if i%every == 0 {
			col.Label = fmt.Sprintf("%d/%d", day.Month(), day.Day())
		}
		ch.Columns = append(ch.Columns, col)
	}
	return ch
}

// layoutBars draws one bar per total; a total without a key is named
// blank.
func layoutBars(ts []audit.Total, blank string) barChart {
	ch := barChart{Width: chartWidth, LabelW: barLabelW, Height: float64(len(ts))*barRowH + 4}
	var most int64
	for _, t := range ts {
		most = max(most, t.Impressions)
	}
	plotW := chartWidth - barLabelW - barValueRoom
	for i, t := range ts {
		full := t.Key
		if full == "" {
			full = blank
		}
		w := 0.0
		if most > 0 {
			w = plotW * float64(t.Impressions) / float64(most)
		}
		y := float64(i) * barRowH
		ch.Rows = append(ch.Rows, barRow{Y: y, BarY: y + 4, W: w, ValueX: barLabelW + w + 6,
			Label: shorten(full, maxLabelRunes), Full: full, Value: t.Impressions})
	}
	return ch
}

// layoutSplit draws colour and black-and-white impressions as one bar.
func layoutSplit(t audit.Total) split {
	sp := split{Width: chartWidth, Height: splitBarH, Color: t.ColorImpressions, Mono: t.MonoImpressions,
		Unknown: t.UnknownColorImpressions}
	sum := sp.Color + sp.Mono + sp.Unknown
	if sum == 0 {
		return sp
	}
	share := func(n int64) float64 { return float64(n) / float64(sum) }
	sp.ColorW, sp.MonoW = chartWidth*share(sp.Color), chartWidth*share(sp.Mono)
	sp.UnknownW = chartWidth - sp.ColorW - sp.MonoW
	sp.ColorPct, sp.MonoPct = int(math.Round(100*share(sp.Color))), int(math.Round(100*share(sp.Mono)))
	// The rounded shares add up to 100: the last part present takes the
	// rest.
	if sp.Unknown > 0 {
		sp.UnknownPct = max(0, 100-sp.ColorPct-sp.MonoPct)
	} else {
		sp.MonoPct = 100 - sp.ColorPct
	}
	return sp
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten, at least 2: the
// top of the value axis.
func niceCeil(n int64) int64 {
	if n <= 2 {
		return 2
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

// shorten cuts s to n runes, marking the cut with an ellipsis.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
