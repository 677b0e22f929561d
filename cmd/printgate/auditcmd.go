package main

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/monitor"
	"github.com/printgate/printgate/release/stamp"
)

// errChainBroken makes "audit verify" exit non-zero.
var errChainBroken = errors.New("the audit chain does not verify")

func (a *app) auditCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify, export and purge the audit trail"}
	cmd.AddCommand(a.auditVerifyCommand(), a.auditExportCommand(), a.auditPurgeCommand(), a.auditUpgradeCommand(),
		a.auditLookupCommand(), a.auditVerifyForwardedCommand())
	return cmd
}

func (a *app) auditVerifyCommand() *cobra.Command {
	var from, to int64
	var anchorsPath string
	c := &cobra.Command{
		Use:   "verify",
		Short: "Check the keyed hash chain (or a range), the job records and anchors; name what does not verify",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts := audit.VerifyOptions{From: from, To: to}
			if anchorsPath != "" {
				var err error
				if opts.Anchors, err = readAnchors(anchorsPath); err != nil {
					return err
				}
			}
			return a.withStack(cmd, func(st *stack) error {
				rep, err := st.audit.VerifyWith(cmd.Context(), opts)
				if err != nil {
					return err
				}
				if !rep.OK() {
					return a.reportBroken(rep, anchorsPath)
				}
				a.printf("verify.ok", rep.Checked, rep.From, rep.To, rep.Elapsed.Round(time.Millisecond), rep.EventsPerSecond)
				if rep.Jobs > 0 {
					a.printf("verify.jobs", rep.Jobs)
				}
				if anchorsPath != "" {
					a.printf("verify.anchors", rep.Anchors, anchorsPath, rep.AnchorsPurged)
				}
				a.printf("verify.hash", rep.LastHash)
				return st.recordAdmin(cmd, audit.EventChainVerified, map[string]string{
					"checked": fmt.Sprint(rep.Checked), "last-seq": fmt.Sprint(rep.LastSeq),
					"last-hash": fmt.Sprintf("%x", rep.LastHash), "job-records": fmt.Sprint(rep.Jobs),
					"anchors": fmt.Sprint(rep.Anchors),
				})
			})
		},
	}
	c.Flags().Int64Var(&from, "from", 0, "first sequence to check (0: the start)")
	c.Flags().Int64Var(&to, "to", 0, "last sequence to check (0: the end)")
	c.Flags().StringVar(&anchorsPath, "anchors", "", "also check the anchors in this file (a copy of audit.anchor_file)")
	return c
}

// readAnchors reads an anchor file.
func readAnchors(path string) ([]audit.Anchor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--anchors: %w", err)
	}
	defer f.Close()
	anchors, err := audit.ParseAnchors(f)
	if err != nil {
		return nil, fmt.Errorf("--anchors %s: %w", path, err)
	}
	return anchors, nil
}

// reportBroken prints what does not verify and returns errChainBroken.
func (a *app) reportBroken(rep audit.Report, anchorsPath string) error {
	var what []string
	if rep.FirstBad != 0 {
		fmt.Fprintf(a.stdout, "BROKEN at sequence %d: %s\n%d events verified before it (%.0f events/s)\n",
			rep.FirstBad, rep.Reason, rep.Checked, rep.EventsPerSecond)
		what = append(what, fmt.Sprintf("first bad sequence %d", rep.FirstBad))
	}
	for _, j := range rep.BadJobs {
		fmt.Fprintf(a.stdout, "BROKEN job %d: its record differs from its events: %s\n", j.JobID, j.Reason)
	}
	if rep.JobsBad > 0 {
		if more := rep.JobsBad - int64(len(rep.BadJobs)); more > 0 {
			fmt.Fprintf(a.stdout, "... and %d more jobs\n", more)
		}
		what = append(what, fmt.Sprintf("%d job records differ from the events", rep.JobsBad))
	}
	for _, an := range rep.BadAnchors {
		fmt.Fprintf(a.stdout, "BROKEN anchor of sequence %d (%s line %d): %s\n", an.Seq, anchorsPath, an.Line, an.Reason)
	}
	if len(rep.BadAnchors) > 0 {
		what = append(what, fmt.Sprintf("%d anchors do not hold", len(rep.BadAnchors)))
	}
	return fmt.Errorf("%w: %s", errChainBroken, strings.Join(what, "; "))
}

func (a *app) auditExportCommand() *cobra.Command {
	var format, user, queue, device, fromS, toS, typ, lang string
	var shiftJIS, jobs, withoutPrintgate bool
	c := &cobra.Command{
		Use:   "export",
		Short: "Write events (or job records with --jobs) as CSV or JSON Lines to standard output",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			enc, err := audit.ParseEncoding(format)
			if err != nil {
				return err
			}
			return a.withStack(cmd, func(st *stack) error {
				f := audit.Filter{User: user, Queue: queue, Device: device, Type: typ}
				if withoutPrintgate {
					// Events of that type, or with --jobs their records.
					f.Type, f.Source = monitor.EventDeviceJobObserved, audit.SourcePrinterLog
				}
				if f.From, err = parseTime(fromS, st.audit.Location()); err != nil {
					return fmt.Errorf("--from: %w", err)
				}
				if f.To, err = parseTime(toS, st.audit.Location()); err != nil {
					return fmt.Errorf("--to: %w", err)
				}
				// Recorded before the first row, as the console does: an
				// export cut short has still handed rows out.
				if err := st.recordAdmin(cmd, audit.EventExport, exportDetails(cmd, "format", "user", "queue",
					"device", "from", "to", "type", "jobs", "printed-without-printgate")); err != nil {
					return err
				}
				w := bufio.NewWriterSize(a.stdout, 64<<10)
				x, err := st.audit.ExportCounted(cmd.Context(), w, f,
					audit.Format{Encoding: enc, ShiftJIS: shiftJIS, Jobs: jobs, Lang: lang})
				if err != nil {
					return err
				}
				if err := w.Flush(); err != nil {
					return err
				}
				if x.Replaced > 0 {
					fmt.Fprintf(a.stderr, "warning: %d character(s) that Shift_JIS (CP932) cannot hold written as \"?\"; "+
						"export without --shift-jis (UTF-8, which Excel opens) to keep them\n", x.Replaced)
				}
				return nil
			})
		},
	}
	c.Flags().StringVar(&format, "format", "csv", "csv or jsonl")
	c.Flags().StringVar(&user, "user", "", "only this user's")
	c.Flags().StringVar(&queue, "queue", "", "only this queue's")
	c.Flags().StringVar(&device, "device", "", "only this device's")
	c.Flags().StringVar(&fromS, "from", "", "from this time (2026-04-01 or RFC 3339), in the configured zone")
	c.Flags().StringVar(&toS, "to", "", "up to this time")
	c.Flags().BoolVar(&shiftJIS, "shift-jis", false, "CSV in Shift_JIS for older Excel")
	c.Flags().StringVar(&lang, "lang", "en", "language of the CSV header: en or ja")
	c.Flags().BoolVar(&jobs, "jobs", false, "one row per job instead of one per event")
	c.Flags().StringVar(&typ, "type", "", "only events of this type (such as device-job-observed)")
	c.Flags().BoolVar(&withoutPrintgate, "printed-without-printgate", false,
		"only jobs printers' own logs list that did not come through printgate (device-job-observed)")
	return c
}

// exportDetails are the audit event's details of an export: the value of
// each of the named flags that is set, and the format's, set or not.
func exportDetails(cmd *cobra.Command, flags ...string) map[string]string {
	d := map[string]string{}
	for _, name := range flags {
		if f := cmd.Flags().Lookup(name); f != nil && (f.Changed || name == "format") {
			d[name] = f.Value.String()
		}
	}
	return d
}

func (a *app) auditPurgeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "purge",
		Short: "Remove events older than the retention, leaving a signed checkpoint",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStack(cmd, func(st *stack) error {
				rep, err := st.audit.PurgeExpired(cmd.Context(), adminName())
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "purged %d events and %d job records older than %s\n",
					rep.Events, rep.Jobs, st.audit.RetentionCutoff().In(st.audit.Location()).Format(time.DateOnly))
				return err
			})
		},
	}
}

func (a *app) auditUpgradeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "upgrade",
		Short: "Sign a chain hashed without a key by an earlier version, so that keyed events may follow it",
		Long: `Signs the head of a chain hashed with plain SHA-256 by an earlier printgate with the
audit key. Anyone with rights on the database can make such a chain, so check it first: run
printgate audit verify, and compare its head with a copy kept outside the database.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStack(cmd, func(st *stack) error {
				cfg := st.cfg
				up, err := st.keyAudit(cmd.Context(), a.logger(cfg), true)
				if err != nil {
					return err
				}
				if !up.Keyed {
					return fmt.Errorf("audit: the chain was not signed: %s", up.Reason)
				}
				_, err = fmt.Fprintf(a.stdout, "chain keyed: %d plain events signed (they verified: %v), %d marks written\n",
					up.Plain, up.Verified, up.Marks)
				return err
			})
		},
	}
}

// errNoSuchCode makes "audit lookup" exit non-zero.
var errNoSuchCode = errors.New("no job carries this verification code")

func (a *app) auditLookupCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "lookup CODE",
		Short: "Find the job whose forensic stamp carries a verification code, and check the code against its record",
		Long: `Finds the job a printed page comes from by the verification code in its stamp (queues
with stamp: true), typed with or without spaces or hyphens, and checks that the job's audit
record vouches for the code: the code is a keyed MAC of the record's owner, queue, printer,
release time and document digest. Exits non-zero when no job carries the code.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStack(cmd, func(st *stack) error {
				m, err := st.stampCodes.Lookup(cmd.Context(), st.audit, args[0])
				switch {
				case errors.Is(err, stamp.ErrBadCode):
					return fmt.Errorf("%q is not a verification code: it has %d characters of 0-9 and A-Z (no I, L, O or U)",
						args[0], stamp.CodeLen)
				case errors.Is(err, stamp.ErrNotFound):
					return fmt.Errorf("%w: %s", errNoSuchCode, args[0])
				case err != nil:
					return err
				}
				return a.printMatch(m, st.audit.Location())
			})
		},
	}
}

// printMatch prints the job a verification code leads to. Every value a
// user or printer chose is shown (quoted where it holds control
// characters), so that a name cannot forge the answer's lines.
func (a *app) printMatch(m stamp.Match, loc *time.Location) error {
	j := m.Job
	name := shown(j.DocumentName)
	if j.HideName {
		name = "(hidden: " + name + ")"
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "verification code %s: job %d; its audit record vouches for the code\n", m.Code, j.JobID)
	for _, row := range [][2]string{
		{"owner", j.Owner},
		{"queue", j.Queue},
		{"printer", redactPrinter(m.Event.Printer)},
		{"released", m.Time.In(loc).Format("2006-01-02 15:04:05 MST")},
		{"document", fmt.Sprintf("%s · %s · %d bytes · SHA-256 %x", name, j.Format, j.Size, j.SHA256)},
		{"outcome", j.Outcome},
		{"stamp", m.Event.Details[stamp.DetailText]},
		{"event", fmt.Sprintf("%d (%s)", m.Event.Seq, m.Event.At.In(loc).Format(time.RFC3339))},
	} {
		fmt.Fprintf(w, "%s\t%s\n", row[0], shown(row[1]))
	}
	return w.Flush()
}

// redactPrinter masks a password in a printer address.
func redactPrinter(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// parseTime reads a date or an RFC 3339 time; "" is no bound.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation(time.DateOnly, s, loc)
}

// recordAdmin appends an administrative event done from the command line
// that changes nothing, such as an export.
func (st *stack) recordAdmin(cmd *cobra.Command, event string, details map[string]string) error {
	return st.db.WithContext(cmd.Context()).Transaction(st.adminHook(cmd, event, details))
}

// adminHook appends an administrative event done from the command line
// within the transaction of the change it records.
func (st *stack) adminHook(cmd *cobra.Command, event string, details map[string]string) database.Hook {
	return func(tx *gorm.DB) error {
		_, err := st.audit.Append(cmd.Context(), tx, audit.Event{Type: event, Actor: adminName(), Details: details})
		return err
	}
}

// ownerHook is adminHook for an action on user, who becomes the event's
// owner so that the action shows in the user's history.
func (st *stack) ownerHook(cmd *cobra.Command, event, user string, details map[string]string) database.Hook {
	return func(tx *gorm.DB) error {
		_, err := st.audit.Append(cmd.Context(), tx, audit.Event{Type: event, Actor: adminName(), Owner: user,
			Details: details})
		return err
	}
}
