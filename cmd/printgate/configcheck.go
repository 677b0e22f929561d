package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/printerinfo"
	"github.com/printgate/printgate/release/stamp"
)

var queueName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// problems collects what is wrong with a config, each naming its setting.
type problems []error

func (p *problems) add(key, format string, a ...any) {
	*p = append(*p, fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, a...)))
}

// validate checks every setting, naming each one that is wrong, and parses
// the queues once into c.queues.
func (c *Config) validate() error {
	var p problems
	if c.DataDir == "" {
		p.add("data_dir", "must not be empty")
	}
	c.checkServer(&p)
	c.checkStorage(&p)
	c.checkAccess(&p)
	c.checkAudit(&p)
	c.checkQueues(&p)
	c.checkProxy(&p)
	if c.stamps() {
		if _, err := stamp.FindFont(c.Stamp.FontFile); err != nil {
			p.add("stamp.font_file", "%v", err)
		}
		if c.Stamp.MaxPages < 1 {
			p.add("stamp.max_pages", "must be at least 1")
		}
	}
	c.checkRules(&p)
	c.checkMonitoring(&p)
	c.checkConsole(&p)
	c.checkSecretFiles(&p)
	return errors.Join(p...)
}

// checkServer checks the database, listeners, log and request limits.
func (c *Config) checkServer(p *problems) {
	if u := c.Database.URL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		p.add("database.url", `must be "" (embedded SQLite) or a postgres:// URL`)
	}
	if j := c.Database.Journal; j != nil && *j && c.Spool.Shared {
		p.add("database.journal", "not with a shared spool (spool.shared): each instance's journal is in its own data dir, and its jobs must be where their documents are")
	}
	if len(c.Server.Listen)+len(c.Server.TLSListen) == 0 {
		p.add("server.listen", "needs at least one address (or server.tls_listen)")
	}
	for i, a := range c.Server.Listen {
		if _, _, err := net.SplitHostPort(a); err != nil {
			p.add(fmt.Sprintf("server.listen[%d]", i), "%q is not host:port", a)
		}
	}
	for i, a := range c.Server.TLSListen {
		if _, _, err := net.SplitHostPort(a); err != nil {
			p.add(fmt.Sprintf("server.tls_listen[%d]", i), "%q is not host:port", a)
		}
	}
	if (c.Server.TLS.CertFile == "") != (c.Server.TLS.KeyFile == "") {
		p.add("server.tls", "cert_file and key_file go together")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		p.add("log.format", "must be text or json")
	}
	c.checkMetrics(p)
	if c.Server.MemoryLimitMB < 0 {
		p.add("server.memory_limit_mb", "must not be negative (0: no limit)")
	}
	if c.Server.GetJobsLimit < 0 {
		p.add("server.get_jobs_limit", "must not be negative (0: no limit)")
	}
	if c.Server.UploadIdle < 0 || c.Server.MinUploadRate < 0 || c.Server.UploadGrace < 0 {
		p.add("server", "upload_idle_timeout, min_upload_rate and upload_grace must not be negative")
	}
	switch c.Server.DNSSD {
	case "auto", "on", "off":
	default:
		p.add("server.dnssd", "must be auto, on or off")
	}
}

// checkStorage checks the spool and the page counting budget.
func (c *Config) checkStorage(p *problems) {
	if c.Spool.QuotaMB < 0 {
		p.add("spool.quota_mb", "must not be negative")
	}
	if pct := c.Spool.QuotaPercentOfFree; pct < 0 || pct > 100 {
		p.add("spool.quota_percent_of_free", "must be 0 (none) to 100")
	}
	if c.Spool.MaxHeldMBPerUser < 0 {
		p.add("spool.max_held_mb_per_user", "must not be negative (0: no limit)")
	}
	if c.Pages.MaxDecodedMB < 1 || c.Pages.MaxObjects < 100 || c.Pages.MaxTime < 100*time.Millisecond || c.Pages.MaxPDFMB < 1 {
		p.add("pages", "max_decoded_mb and max_pdf_mb must be at least 1, max_objects at least 100 and max_time at least 100ms")
	}
	if c.Convert.MaxMemoryMB < 64 || c.Convert.MaxCPU < time.Second || c.Convert.Timeout < time.Second {
		p.add("convert", "max_memory_mb must be at least 64, max_cpu and timeout at least 1s")
	}
}

// checkAccess checks the directory, credentials, throttles and device sessions.
func (c *Config) checkAccess(p *problems) {
	switch c.Directory.Type {
	case "builtin":
	case "ldap":
		if err := c.Directory.LDAP.Validate(); err != nil {
			p.add("directory.ldap", "%v", err)
		}
	default:
		p.add("directory.type", "%q must be builtin or ldap", c.Directory.Type)
	}
	if c.Owners.CacheFor < 0 || c.Owners.CacheFor > 10*time.Minute {
		p.add("owners.cache_for", "must be 0s to 10m")
	}
	if c.Release.SessionIdle < time.Second || c.Release.SweepEvery < 100*time.Millisecond {
		p.add("release", "session_idle must be at least 1s and sweep_every at least 100ms")
	}
	if c.Release.SessionIdle > release.SessionMaxLife {
		// Longer would promise what a session never lasts.
		p.add("release.session_idle", "%v is longer than a device session lasts (%v after its sign-in, however busy)",
			c.Release.SessionIdle, release.SessionMaxLife)
	}
	if c.Release.KeepFinished < time.Minute {
		p.add("release.keep_finished", "must be at least 1m")
	}
	if c.Release.DeviceMaxFailures < 1 || c.Release.DeviceMaxFailures > 1000 {
		p.add("release.device_max_failures", "must be 1 to 1000")
	}
	if c.Release.QRLifetime < 30*time.Second || c.Release.QRLifetime > 24*time.Hour {
		p.add("release.qr_lifetime", "must be 30s to 24h")
	}
	if c.Release.QRLabelLifetime < time.Hour || c.Release.QRLabelLifetime > maxQRLabelLifetime {
		p.add("release.qr_label_lifetime", "must be 1h to 43800h (5 years)")
	}
	if c.Release.DeviceFailureWindow < time.Second {
		p.add("release.device_failure_window", "must be at least 1s")
	}
	c.checkPrinters(p)
	if c.Credentials.MaxPasswordFailures < 1 || c.Credentials.MaxPasswordFailures > 1000 {
		p.add("credentials.max_password_failures", "must be 1 to 1000")
	}
	if c.Credentials.MaxAddressFailures < 1 || c.Credentials.MaxAddressFailures > 100000 {
		p.add("credentials.max_address_failures", "must be 1 to 100000")
	}
	if err := c.Credentials.Policy.Validate(); err != nil {
		p.add("credentials", "%v", err)
	}
	if c.Credentials.Argon2MemoryMB < 19 || c.Credentials.Argon2MemoryMB > 16<<10 {
		p.add("credentials.argon2_memory_mb", "must be from 19 (one check) to 16384")
	}
	if c.Credentials.Argon2Wait < 0 || c.Credentials.Argon2Wait > time.Minute {
		p.add("credentials.argon2_wait", "must be from 0s to 1m")
	}
}

// checkAudit checks the record's time zone, retention and anchors.
func (c *Config) checkAudit(p *problems) {
	if c.Audit.RetentionYears < 1 {
		p.add("audit.retention_years", "must be at least 1")
	}
	if c.Audit.AnchorEvery < time.Second {
		p.add("audit.anchor_every", "must be at least 1s")
	}
	if _, err := time.LoadLocation(c.Audit.TimeZone); err != nil || c.Audit.TimeZone == "" {
		p.add("audit.time_zone", "%q is not a time zone (such as Asia/Tokyo)", c.Audit.TimeZone)
	}
	c.checkForward(p)
}

// checkQueues checks the queues and parses them into c.queues.
func (c *Config) checkQueues(p *problems) {
	if len(c.Queues) == 0 {
		p.add("queues", "needs at least one queue")
	}
	seen := map[string]bool{}
	c.queues = nil
	for i, q := range c.Queues {
		key := fmt.Sprintf("queues[%d]", i)
		if !queueName.MatchString(q.Name) {
			p.add(key+".name", "%q must be 1-63 letters, digits, '.', '_' or '-'", q.Name)
		}
		if seen[q.Name] {
			p.add(key+".name", "%q is used twice", q.Name)
		}
		seen[q.Name] = true
		parsed, err := q.queue()
		if err != nil {
			p.add(key, "%v", err)
		}
		c.queues = append(c.queues, parsed)
	}
}

// queue turns the config of one queue into a release.Queue, with defaults.
func (q QueueConfig) queue() (release.Queue, error) {
	out := release.Queue{
		Name: q.Name, Mode: q.Mode, Printer: q.Printer, Formats: q.Formats,
		MaxSize: q.MaxDocumentMB << 20, Auth: q.Auth, Info: q.Info, Location: q.Location, Color: true,
		AllowPlaintextBasic: q.AllowPlaintextBasic, HideNames: q.HideDocumentNames,
		TTL: q.TTL, KeepAfterPrint: q.KeepAfterPrint, ReleaseRequires: q.ReleaseRequires, ReleaseFromWeb: q.ReleaseFromWeb,
		AcceptUnknownAsOctetStream: q.AcceptUnknownAsOctetStream, UnknownOwner: q.UnknownOwner,
		MyNumber: q.MyNumber, MyNumberTTL: q.MyNumberTTL,
	}
	if err := checkMyNumber(q); err != nil {
		return out, err
	}
	if q.Color != nil {
		out.Color = *q.Color
	}
	switch out.Mode {
	case release.Hold:
	case release.Direct:
		if err := release.CheckPrinterURI(q.Printer); err != nil {
			return out, fmt.Errorf("printer: a direct queue's %w", err)
		}
	case "":
		out.Mode = release.Hold
	default:
		return out, fmt.Errorf("mode: %q must be hold or direct", q.Mode)
	}
	if err := q.checkStamp(&out); err != nil {
		return out, err
	}
	if len(out.Formats) == 0 {
		out.Formats = defaultFormats
	}
	for _, m := range q.ReleaseRequires {
		if m != release.MethodCard && m != release.MethodCardPIN && m != release.MethodIDPIN && m != release.MethodQR {
			return out, fmt.Errorf("release_requires: %q must be card, card+pin, id+pin or qr", m)
		}
	}
	if q.ReleaseFromWeb && len(q.ReleaseRequires) > 0 {
		// The floor asks for the owner at the device; My page would
		// release without them.
		return out, errors.New("release_from_web: a queue with release_requires wants its owner at the device: set one or the other")
	}
	if q.MaxDocumentMB < 0 {
		return out, errors.New("max_document_mb: must not be negative")
	}
	if out.MaxSize == 0 {
		out.MaxSize = defaultMaxDocumentMB << 20
	}
	switch out.Auth {
	case "":
		out.Auth = release.AuthRequestingUserName
	case release.AuthRequestingUserName, release.AuthBasic:
	default:
		return out, fmt.Errorf("auth: %q must be basic or requesting-user-name", q.Auth)
	}
	switch out.UnknownOwner {
	case "":
		out.UnknownOwner = release.RefuseUnknown
	case release.RefuseUnknown, release.HoldUnknown:
		if out.Auth == release.AuthBasic {
			return out, errors.New("unknown_owner: only for auth: requesting-user-name (on basic queues the signed-in user owns the job)")
		}
	default:
		return out, fmt.Errorf("unknown_owner: %q must be refuse or hold", q.UnknownOwner)
	}
	nets := q.TrustedNetworks
	if nets == nil {
		nets = defaultTrusted
	}
	for _, n := range nets {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return out, fmt.Errorf("trusted_networks: %q is not a CIDR prefix", n)
		}
		out.TrustedNetworks = append(out.TrustedNetworks, p.Masked())
	}
	return out, nil
}

// checkPrinters checks how printers are asked and what a release does
// with options they cannot honour.
func (c *Config) checkPrinters(p *problems) {
	r := c.Release
	if r.PrinterRefresh < time.Second {
		p.add("release.printer_refresh", "must be at least 1s")
	}
	if r.PrinterFresh < time.Millisecond || r.PrinterFresh > r.PrinterRefresh {
		p.add("release.printer_fresh", "must be at least 1ms and at most printer_refresh")
	}
	if r.PrinterTimeout < 100*time.Millisecond || r.PrinterTimeout > time.Minute {
		p.add("release.printer_timeout", "must be 100ms to 1m")
	}
	for _, o := range []struct {
		key string
		a   printerinfo.Action
	}{{"copies", r.UnsupportedOptions.Copies}, {"sides", r.UnsupportedOptions.Sides},
		{"color", r.UnsupportedOptions.Color}, {"media", r.UnsupportedOptions.Media}} {
		if o.a != printerinfo.Print && o.a != printerinfo.Refuse {
			p.add("release.unsupported_options."+o.key, "%q must be print or refuse", o.a)
		}
	}
}

// checkStamp parses the queue's stamp settings into out. A stamping queue
// takes only PDF, the one format it can stamp: IPP refuses anything else
// at submission, rather than printing it unstamped later.
func (q QueueConfig) checkStamp(out *release.Queue) error {
	if !q.Stamp {
		if q.StampPosition != "" || q.StampFontSize != 0 {
			return errors.New("stamp_position, stamp_font_size: set without stamp: true")
		}
		return nil
	}
	pos, err := stamp.ParsePosition(q.StampPosition)
	if err != nil {
		return fmt.Errorf("stamp_position: %w", err)
	}
	l := stamp.Layout{Position: pos, FontSize: q.StampFontSize}
	if l.FontSize == 0 {
		l.FontSize = stamp.DefaultFontSize
	}
	if err := l.Check(); err != nil {
		return fmt.Errorf("stamp_font_size: %w", err)
	}
	for _, f := range q.Formats {
		if f != stampFormat {
			return fmt.Errorf("formats: %q: a queue with stamp: true takes only %s, the format it stamps", f, stampFormat)
		}
	}
	if len(out.Formats) == 0 {
		out.Formats = []string{stampFormat}
	}
	out.Stamp = &l
	return nil
}

// stampFormat is the one format a stamping queue takes.
const stampFormat = "application/pdf"
