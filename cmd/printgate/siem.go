package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/audit/siem"
)

// ForwardConfig sends the audit trail to a SIEM as RFC 5424 syslog over
// TLS (RFC 5425); off while Address is empty.
type ForwardConfig struct {
	// Address is the collector's host:port (6514 is syslog over TLS's).
	Address string `yaml:"address"`
	// CAFile holds the certificates the collector's must chain to;
	// default the system's roots.
	CAFile string `yaml:"ca_file,omitempty"`
	// CertFile and KeyFile are a client certificate, for a collector
	// that asks for one.
	CertFile string `yaml:"cert_file,omitempty"`
	KeyFile  string `yaml:"key_file,omitempty"`
	// ServerName is the name the collector's certificate must carry;
	// default the host of Address.
	ServerName string `yaml:"server_name,omitempty"`
	// Batch is the most events sent over one connection; default 500.
	Batch int `yaml:"batch,omitempty"`
	// PollEvery is how often new events are looked for; default 1s.
	PollEvery time.Duration `yaml:"poll_every,omitempty"`
	// Timeout bounds connecting and the collector's confirmation of a
	// batch; default 30s.
	Timeout time.Duration `yaml:"timeout,omitempty"`
	// MaxBackoff is the longest wait between tries while the collector
	// fails (from 1s, doubling); default 1m.
	MaxBackoff time.Duration `yaml:"max_backoff,omitempty"`
}

// checkForward checks audit.forward.
func (c *Config) checkForward(p *problems) {
	f := c.Audit.Forward
	if f.Address == "" {
		if f != (ForwardConfig{}) {
			p.add("audit.forward.address", "is needed by the other audit.forward settings")
		}
		return
	}
	if _, port, err := net.SplitHostPort(f.Address); err != nil || port == "" {
		p.add("audit.forward.address", "%q is not host:port", f.Address)
	}
	if (f.CertFile == "") != (f.KeyFile == "") {
		p.add("audit.forward.cert_file", "needs audit.forward.key_file, and the other way round")
	}
	for key, v := range map[string]time.Duration{"poll_every": f.PollEvery, "timeout": f.Timeout, "max_backoff": f.MaxBackoff} {
		if v < 0 {
			p.add("audit.forward."+key, "must not be negative")
		}
	}
	if f.Batch < 0 || f.Batch > 100000 {
		p.add("audit.forward.batch", "must be between 1 and 100000 (0: 500)")
	}
}

// forwarder returns the SIEM forwarder of cfg, nil when none is set.
func (st *stack) forwarder(log *slog.Logger) (*siem.Forwarder, error) {
	f := st.cfg.Audit.Forward
	if f.Address == "" {
		return nil, nil
	}
	conf, err := siem.ClientTLS(f.Address, siem.TLSFiles{CAFile: f.CAFile, CertFile: f.CertFile, KeyFile: f.KeyFile,
		ServerName: f.ServerName})
	if err != nil {
		return nil, fmt.Errorf("audit.forward: %w", err)
	}
	host, _ := os.Hostname()
	return siem.New(st.db, st.audit, siem.Options{Address: f.Address, TLS: conf, Batch: f.Batch, Poll: f.PollEvery,
		Timeout: f.Timeout, MaxBackoff: f.MaxBackoff, Log: log,
		Header: siem.Header{Hostname: host, ProcID: strconv.Itoa(os.Getpid())}}), nil
}

// startForwarder forwards the audit trail while serve runs. The returned
// stop ends it after one last batch (bounded by 10s), so serve calls it
// after the last append; what it cannot send waits for the next start.
func startForwarder(ctx context.Context, st *stack, log *slog.Logger) (stop func(), err error) {
	fw, err := st.forwarder(log)
	if err != nil || fw == nil {
		return func() {}, err
	}
	loopCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fw.Run(loopCtx)
	}()
	return func() {
		cancel()
		<-done
		final, stopFinal := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer stopFinal()
		if _, err := fw.Once(final); err != nil {
			log.Warn("siem: last batch at shutdown; it is sent at the next start", "err", err)
		}
	}, nil
}

func (a *app) auditVerifyForwardedCommand() *cobra.Command {
	var from, to int64
	c := &cobra.Command{
		Use:   "verify-forwarded FILE",
		Short: "Check a SIEM's copy of the forwarded audit events against the chain; name what is missing or wrong",
		Long: "FILE holds the collector's messages, one RFC 5424 message a line (rsyslog's " +
			"RSYSLOG_SyslogProtocol23Format); other programs' lines are counted and skipped. Each copy is checked " +
			"with the audit key, and every event of the chain up to the forwarder's cursor must have arrived.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			return a.withStack(cmd, func(st *stack) error {
				if to == 0 {
					if to, err = siem.Cursor(cmd.Context(), st.db, siem.DefaultName); err != nil {
						return err
					}
				}
				if to == 0 {
					return fmt.Errorf("nothing was forwarded yet (give --to to check a range anyway)")
				}
				rep, err := siem.Verify(cmd.Context(), st.audit, f, from, to)
				if err != nil {
					return err
				}
				if err := a.reportForwarded(args[0], rep); err != nil {
					return err
				}
				return st.recordAdmin(cmd, audit.EventChainVerified, map[string]string{
					"forwarded-copy": args[0], "from-seq": fmt.Sprint(rep.From), "to-seq": fmt.Sprint(rep.To),
					"copies": fmt.Sprint(rep.Copies), "events": fmt.Sprint(rep.Distinct),
				})
			})
		},
	}
	c.Flags().Int64Var(&from, "from", 0, "first sequence that must have arrived (0: the first kept)")
	c.Flags().Int64Var(&to, "to", 0, "last sequence that must have arrived (0: the forwarder's cursor)")
	return c
}

// reportForwarded prints what verify-forwarded found, and an error
// unless everything verified.
func (a *app) reportForwarded(file string, rep siem.Report) error {
	for _, p := range rep.Problems {
		fmt.Fprintf(a.stdout, "BROKEN %s line %d (sequence %d): %s\n", file, p.Line, p.Seq, p.Reason)
	}
	if rep.Missing > 0 {
		fmt.Fprintf(a.stdout, "MISSING %d events, first %v\n", rep.Missing, rep.MissingSeqs)
	}
	if !rep.OK() {
		return fmt.Errorf("the forwarded copy does not verify: %d bad copies, %d events missing", rep.Bad, rep.Missing)
	}
	fmt.Fprintf(a.stdout, "OK: every event %d-%d arrived and verifies: %d copies of %d events (%d sent again), "+
		"%d later, %d purged since; %d other lines of %d\n",
		rep.From, rep.To, rep.Copies, rep.Distinct, rep.Duplicates, rep.Later, rep.Purged, rep.Other, rep.Lines)
	return nil
}
