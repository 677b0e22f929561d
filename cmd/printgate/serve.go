package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/printgate/printgate/internal/database"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/spool"
	"github.com/printgate/printgate/web"
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

// openDB opens the configured database and brings its schema up to date.
func openDB(ctx context.Context, cfg Config, log *slog.Logger) (*database.DB, error) {
	db, err := database.Open(ctx, cfg.Database.URL, cfg.DataDir, log)
	if err != nil {
		return nil, err
	}
	if err := release.Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// serve runs printgate until ctx ends.
func (a *app) serve(ctx context.Context, cfg Config) error {
	log := a.logger(cfg)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	key, err := spool.LoadOrCreateKey(cfg.spoolKeyFile())
	if err != nil {
		return err
	}
	sp, err := spool.Open(filepath.Join(cfg.DataDir, "spool"), key)
	if err != nil {
		return err
	}
	defer sp.Close()
	var queues []release.Queue
	for _, qc := range cfg.Queues {
		q, _ := qc.queue() // validated by loadConfig
		queues = append(queues, q)
	}
	svc, err := release.New(release.Options{DB: db, Spool: sp, Queues: queues, Client: &ipp.Client{}, Log: log})
	if err != nil {
		return err
	}
	if err := svc.Start(ctx); err != nil {
		return err
	}
	defer svc.Close()
	handler := web.New(web.Options{IPP: ipp.NewServer(svc, log), Log: log})
	return a.listen(ctx, cfg, handler, log)
}

// listen serves handler on every configured address until ctx ends, then
// shuts down gracefully.
func (a *app) listen(ctx context.Context, cfg Config, handler http.Handler, log *slog.Logger) error {
	errc := make(chan error, len(cfg.Server.Listen))
	var servers []*http.Server
	for _, addr := range cfg.Server.Listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", addr, err)
		}
		srv := &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		servers = append(servers, srv)
		for _, q := range cfg.Queues {
			fmt.Fprintf(a.stdout, "printgate: print to ipp://%s%s%s (%s queue)\n", ln.Addr(), ipp.PathPrefix, q.Name, orHold(q.Mode))
		}
		go func() { errc <- srv.Serve(ln) }()
	}
	fmt.Fprintf(a.stdout, "printgate: data in %s\n", cfg.DataDir)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
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

func orHold(mode string) string {
	if mode == "" {
		return "hold"
	}
	return mode
}
