package release

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/printerinfo"
)

// A queue advertises what its printers can do: a direct queue its
// printer, a hold queue every enabled device's printer that releases its
// jobs. It takes the union of their capabilities. A job is released at
// one printer the user chooses by walking up to it, so what the queue
// offers is what some printer of the queue can do; a job that the
// printer it is released at cannot honour is changed with a record, or
// refused, there (release.unsupported_options, printerinfo.Fit), and the
// user sees why. An intersection would hide from every user the duplex
// or A3 printer on their floor because one old printer lacks it.
//
// Printers not asked yet, AppSocket printers and printers that did not
// answer add nothing; when none is known the ipp.Server's defaults stand
// (A4, A3, letter...; 300 and 600 dpi; every sides value).

// queuePrinters returns the URIs of the printers behind q. Every IPP
// request asks (a Print-Job too), so a hold queue's list is read from the
// devices table at most every devicesFresh; a device added meanwhile is
// advertised that much later.
func (s *Service) queuePrinters(ctx context.Context, q Queue) ([]string, error) {
	if q.Mode == Direct {
		if q.Printer == "" {
			return nil, nil
		}
		return []string{q.Printer}, nil
	}
	return s.devicePrinters.get(ctx, s.now(), q.Name, s.readDevicePrinters, s.log)
}

// devicesFresh is how long a read of the devices' printers is used.
const devicesFresh = 5 * time.Second

// readDevicePrinters returns the printers of the enabled devices, by
// queue.
func (s *Service) readDevicePrinters(ctx context.Context) (map[string][]string, error) {
	var devs []Device
	if err := s.db.WithContext(ctx).Where("enabled = ?", true).Order("id").Find(&devs).Error; err != nil {
		return nil, dbErr("list devices", err)
	}
	byQueue := map[string][]string{}
	for _, d := range devs {
		if d.Printer == "" {
			continue
		}
		for _, name := range d.QueueList() {
			if !slices.Contains(byQueue[name], d.Printer) {
				byQueue[name] = append(byQueue[name], d.Printer)
			}
		}
	}
	return byQueue, nil
}

// printerLists keeps the last read of the devices' printers.
type printerLists struct {
	mu      sync.Mutex
	at      time.Time
	byQueue map[string][]string
}

// get returns queue's printers, reading them again with read when the
// last read is older than devicesFresh. What a queue advertises is no
// reason to refuse a request: when the database cannot be read, the last
// list stands (none before the first read), and it is tried again
// devicesFresh later.
func (l *printerLists) get(ctx context.Context, now time.Time, queue string,
	read func(context.Context) (map[string][]string, error), log *slog.Logger) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.at.IsZero() || now.Sub(l.at) >= devicesFresh || now.Before(l.at) {
		l.at = now
		byQueue, err := read(ctx)
		if err != nil {
			log.Warn("release: the printers behind the hold queues could not be read; the last list stands", "err", err)
		} else {
			l.byQueue = byQueue
		}
	}
	return slices.Clone(l.byQueue[queue]), nil
}

// advertised is what queue q advertises given what is cached of its
// printers: the union of their capabilities, and the formats q accepts
// that some printer takes as they are or converted. Colour is the queue's
// own word (queues[].color), not its printers': a colour job released at
// a monochrome printer prints in black and white with the change recorded
// (release.unsupported_options.color), like any other option.
func advertised(q Queue, printers []printerinfo.Info) (caps ipp.Capabilities, formats []string, color bool) {
	var known []printerinfo.Capabilities
	for _, p := range printers {
		if p.Caps.Known {
			known = append(known, p.Caps)
		}
	}
	if len(known) == 0 {
		return ipp.Capabilities{}, q.Formats, q.Color
	}
	for _, c := range known {
		caps.Media = union(caps.Media, c.Media...)
		caps.MediaReady = union(caps.MediaReady, c.MediaReady...)
		if caps.MediaDefault == "" {
			caps.MediaDefault = c.MediaDefault
		}
		caps.Sides = union(caps.Sides, c.Sides...)
		caps.Resolutions = union(caps.Resolutions, dpis(c.Resolutions)...)
		caps.RasterResolutions = union(caps.RasterResolutions, dpis(c.PWGRasterResolutions)...)
		caps.URF = union(caps.URF, c.URF...)
		caps.PageRanges = caps.PageRanges || c.PageRanges
		caps.CopiesMax = max(caps.CopiesMax, c.CopiesMax)
		caps.RasterTypes = union(caps.RasterTypes, c.PWGRasterTypes...)
		caps.RasterSheetBack = cmp.Or(caps.RasterSheetBack, c.PWGRasterSheetBack)
		caps.Supplies = appendSupplies(caps.Supplies, c.Supplies)
		for _, m := range c.Markers {
			caps.Markers = append(caps.Markers, ipp.Marker(m))
		}
	}
	slices.Sort(caps.Resolutions)
	slices.Sort(caps.RasterResolutions)
	formats = printable(q.Formats, printers)
	return caps, formats, q.Color
}

// printable keeps the formats of accepts that some printer takes as they
// are or converted (or every format while a printer's formats are
// unknown); application/octet-stream stays where the queue accepts it,
// since the printer judges it. It never returns nothing: with no format
// printable anywhere the queue's list stands, and releases say why.
func printable(accepts []string, printers []printerinfo.Info) []string {
	var out []string
	for _, f := range accepts {
		ok := f == "application/octet-stream"
		for _, p := range printers {
			if !p.Caps.Known || len(p.Caps.Formats) == 0 {
				ok = true
				break
			}
			if _, _, can := convertChoose(f, p.Caps.Formats); can {
				ok = true
				break
			}
		}
		if ok {
			out = append(out, f)
		}
	}
	if len(out) == 0 || len(out) == 1 && out[0] == "application/octet-stream" {
		return accepts
	}
	return out
}

// dpis returns the resolutions in dots per inch, square ones only:
// printgate advertises and converts at square resolutions.
func dpis(rs []printerinfo.Resolution) []int {
	var out []int
	for _, r := range rs {
		if r.X != r.Y {
			continue
		}
		d := r.X
		if r.Units == "dpcm" {
			d = (r.X*254 + 50) / 100
		}
		if d > 0 {
			out = append(out, d)
		}
	}
	return out
}

// union appends to list the values of add it does not have.
func union[T comparable](list []T, add ...T) []T {
	for _, v := range add {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// appendSupplies appends a printer's supplies to those of the printers
// before it, numbered on: printer-supply indexes are the printer's own,
// and two printers' would clash in one list.
func appendSupplies(list []ipp.Supply, add []printerinfo.Supply) []ipp.Supply {
	for _, s := range add {
		fields := strings.Split(s.Value, ";")
		for i, f := range fields {
			if strings.HasPrefix(strings.ToLower(f), "index=") {
				fields[i] = fmt.Sprintf("index=%d", len(list)+1)
			}
		}
		list = append(list, ipp.Supply{Value: strings.Join(fields, ";"), Description: s.Description})
	}
	return list
}
