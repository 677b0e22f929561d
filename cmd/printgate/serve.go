package main

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/printgate/printgate/dnssd"
	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/internal/tlscert"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/release/throttle"
	"github.com/printgate/printgate/web"
	"github.com/printgate/printgate/web/releaseapi"
)

func (a *app) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(a.configPath, a.dataDir)
			if err != nil {
				return err
			}
			return a.serve(cmd.Context(), cfg)
		},
	}
}

// serve runs printgate until ctx ends.
func (a *app) serve(ctx context.Context, cfg Config) error {
	log := a.logger(cfg)
	if limit, ok := memoryLimit(cfg, os.Getenv); ok {
		debug.SetMemoryLimit(limit)
	}
	// Before anything in the data dir is opened: a second serve would
	// recover as if the first were dead, then fail only at its bind.
	lock, err := lockDataDir(cfg.DataDir, "serve")
	if err != nil {
		return err
	}
	defer lock.Close() // last: after everything below has stopped
	st, err := openStack(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	dbID, newSpool, err := a.bindDatabase(ctx, st)
	if err != nil {
		return err
	}
	a.printf("serve.database", st.db, dbID)
	st.newSpool = newSpool
	st.now = a.now
	if up, err := st.keyAudit(ctx, log, false); err != nil {
		return err
	} else if !up.Keyed {
		return fmt.Errorf("audit: the chain is not keyed, so printgate appends nothing to it: %s", up.Reason)
	}
	if a.wrapDirectory != nil {
		st.dir = a.wrapDirectory(st.dir)
		st.passwords = throttle.NewPasswords(st.throttle, st.dir)
	}
	stopAnchors, err := startAnchors(ctx, st, log)
	if err != nil {
		return err
	}
	defer stopAnchors() // after the service closes: the last anchor covers its last event
	ops, err := a.newOps(cfg, st, log)
	if err != nil {
		return err
	}
	defer ops.Close() // after the service closes: its last moves are logged
	st.observer = ops.observer()
	stopForwarder, err := startForwarder(ctx, st, log)
	if err != nil {
		return err
	}
	defer stopForwarder() // after the service closes too: its last batch holds the last events
	svc, closeSvc, err := st.service(ctx)
	if err != nil {
		return err
	}
	defer closeSvc()
	if err := svc.Start(ctx); err != nil {
		if newSpool {
			// Bound only now: the next start must judge the spool afresh.
			st.unbindSpool()
		}
		return err
	}
	prime := func(ctx context.Context, c *sql.Conn) error {
		if err := svc.Prime(ctx, c); err != nil {
			log.Warn("serve: a connection to PostgreSQL could not be primed; the first jobs pay for it", "err", err)
		}
		return nil
	}
	if err := st.db.Warm(ctx, warmConns, prime); err != nil {
		return err
	}
	ippServer := ipp.NewServer(svc.IPP(), log,
		ipp.WithUploadLimits(cfg.Server.UploadIdle, cfg.Server.MinUploadRate, cfg.Server.UploadGrace),
		ipp.WithJobsListLimit(cfg.Server.GetJobsLimit),
		ipp.WithJobsPage(jobsPage(st.db.Dialect)))
	ops.watch(st, svc, log)
	stopStaging := startStagingSweep(ctx, cfg.DataDir, cfg.Release.SweepEvery, log)
	defer stopStaging()
	mon, stopMonitor, err := st.startMonitor(ctx, svc)
	if err != nil {
		return err
	}
	defer stopMonitor()
	opts := st.consoleOptions(svc)
	if err := st.consoleSSO(&opts); err != nil {
		return err
	}
	opts.IPP = ippServer
	ops.webOptions(&opts)
	opts.Printers = mon.View()
	api := releaseapi.New(svc.DeviceRelease(), log)
	api.Secure = cfg.Server.BehindTLSProxy
	for _, r := range api.Routes() {
		opts.API = append(opts.API, web.APIRoute(r))
	}
	var handler http.Handler = web.New(opts)
	a.adminHint(ctx, st)
	var opsHandler http.Handler
	if cfg.Server.MetricsListen != "" {
		opsHandler = web.NewOps(ops.opsOptions(log))
	}
	return a.listen(ctx, cfg, handler, opsHandler, ippServer, log)
}

// listen serves handler on every configured address, and opsHandler on
// server.metrics_listen, with the queues desc describes advertised by
// DNS-SD, until ctx ends, then withdraws them and shuts down gracefully.
func (a *app) listen(ctx context.Context, cfg Config, handler, opsHandler http.Handler, desc dnssd.Describer, log *slog.Logger) error {
	if err := a.inherit(cfg); err != nil {
		return err
	}
	var listeners []net.Listener
	defer func() {
		for _, ln := range listeners {
			ln.Close()
		}
	}()
	// The certificate first: a listener must not accept connections
	// while another one of the same server is still missing.
	var tlsConf *tls.Config
	if len(cfg.Server.TLSListen) > 0 {
		var err error
		if tlsConf, err = serverTLS(cfg); err != nil {
			return err
		}
	}
	for _, addr := range cfg.Server.Listen {
		ln, err := a.bind(addr)
		if err != nil {
			return err
		}
		listeners = append(listeners, ln)
		a.printURIs(cfg, "ipp", ln.Addr())
	}
	for _, addr := range cfg.Server.TLSListen {
		ln, err := a.bind(addr)
		if err != nil {
			return err
		}
		listeners = append(listeners, tls.NewListener(ln, tlsConf))
		a.printURIs(cfg, "ipps", ln.Addr())
	}
	// Only the IPP listeners are advertised: bound before the metrics one.
	adv, err := advertise(ctx, cfg, desc, listeners, tlsConf, log)
	if err != nil {
		return err
	}
	var opsLn net.Listener
	if addr := cfg.Server.MetricsListen; addr != "" {
		ln, err := a.bind(addr)
		if err != nil {
			adv.Close()
			return err
		}
		listeners, opsLn = append(listeners, ln), ln
		a.printf("serve.metrics", ln.Addr())
	}
	a.printf("serve.data", cfg.DataDir)
	errc := make(chan error, len(listeners))
	var servers []*http.Server
	for _, ln := range listeners {
		h := handler
		if ln == opsLn {
			h = opsHandler
		}
		srv := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		servers = append(servers, srv)
		go func() { errc <- srv.Serve(ln) }()
	}
	if a.ready != nil {
		close(a.ready)
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	// Withdrawn first: a client that finds a queue can print to it.
	adv.Close()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(shutdown)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// bind returns the listener handed over for addr (by a test or by socket
// activation), or binds addr.
func (a *app) bind(addr string) (net.Listener, error) {
	if ln, ok := a.bound[addr]; ok {
		delete(a.bound, addr)
		return ln, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

// serverTLS loads the configured certificate or the generated one.
func serverTLS(cfg Config) (*tls.Config, error) {
	var (
		cert tls.Certificate
		err  error
	)
	if cfg.Server.TLS.CertFile != "" {
		cert, err = tlscert.Load(cfg.Server.TLS.CertFile, cfg.Server.TLS.KeyFile)
	} else {
		cert, err = tlscert.LoadOrCreate(cfg.DataDir, cfg.Server.TLS.Hostnames)
	}
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// printURIs tells the user where to print and where to sign in.
func (a *app) printURIs(cfg Config, scheme string, addr net.Addr) {
	for _, q := range cfg.queues {
		a.printf("serve.print", fmt.Sprintf("%s://%s%s%s", scheme, addr, ipp.PathPrefix, q.Name), q.Mode)
	}
	web := "http"
	if scheme == "ipps" {
		web = "https"
	}
	a.printf("serve.signin", fmt.Sprintf("%s://%s", web, addr))
}

// adminHint tells a new user how to create the first administrator: no
// setup page exists, by design.
func (a *app) adminHint(ctx context.Context, st *stack) {
	if st.builtin == nil {
		return
	}
	users, err := st.builtin.Users(ctx)
	if err != nil {
		return
	}
	for _, u := range users {
		if u.Role == directory.RoleAdmin {
			return
		}
	}
	a.printf("serve.no-admin")
	a.printf("serve.no-command")
}

// jobsPage is how many jobs Get-Jobs reads at a time on dialect. SQLite
// walks the queue's index in order, so small pages cost no time and keep
// the memory of listing a deep queue down (issue 12's RSS target);
// PostgreSQL sorts the rest of the queue for each page (the states are
// an IN list over the (queue, state, id) index), so fewer, larger pages
// list it faster (docs/BENCHMARKS.md).
func jobsPage(dialect database.Dialect) int {
	if dialect == database.SQLite {
		return 500
	}
	return ipp.DefaultJobsPage
}

// warmConns is how many connections to PostgreSQL serve opens before it
// listens: the committer's, and a few for the requests and background
// work beside it.
const warmConns = 4

// memoryLimit returns the soft memory limit serve sets for the Go
// runtime, and false when it sets none: $GOMEMLIMIT, which the runtime
// reads itself, wins, and server.memory_limit_mb 0 asks for none. With
// the default of 28 MiB the heap, 3–12 MiB while printgate submits and
// lists jobs, is collected before a burst doubles it: peak RSS with 32
// clients sending 10 MB documents went from 64–70 to 60 MiB, and with
// 10,000 held and listed from 64–65 to 62–63 MiB (32 MiB did not reach
// that), at the same rates (docs/BENCHMARKS.md).
func memoryLimit(cfg Config, getenv func(string) string) (int64, bool) {
	if getenv("GOMEMLIMIT") != "" || cfg.Server.MemoryLimitMB <= 0 {
		return 0, false
	}
	return int64(cfg.Server.MemoryLimitMB) << 20, true
}
