// Command printgate is the secure print-release and output-audit server.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"os/user"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/printgate/printgate/internal/i18n"
	"github.com/printgate/printgate/release/directory"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// app holds what every subcommand shares: the flags and the output.
type app struct {
	configPath string
	dataDir    string
	stdout     io.Writer
	stderr     io.Writer
	stdin      io.Reader
	// lang is the language of messages, from the locale.
	lang i18n.Lang
	// bound holds listeners already bound to configured addresses, which
	// serve uses instead of binding them itself, so that a test can hand
	// over a port nobody else can take meanwhile.
	bound map[string]net.Listener
	// ready, when not nil, is closed once serve accepts connections.
	ready chan struct{}
	// wrapDirectory, when set, wraps the user directory that serve
	// checks passwords with: tests count the checks through it.
	wrapDirectory func(directory.Directory) directory.Directory
	// now, when set, is the clock the release service decides expiry,
	// reprint windows and session idle timeouts by: tests move it on
	// instead of waiting for time to pass.
	now func() time.Time
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, lang: i18n.FromEnv(os.Getenv)}
	if err := a.command().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "printgate:", a.errorText(err))
		os.Exit(1)
	}
}

func (a *app) command() *cobra.Command {
	root := &cobra.Command{
		Use:           "printgate",
		Short:         "Secure print release and output audit",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "configuration file (YAML)")
	root.PersistentFlags().StringVar(&a.dataDir, "data", "", "data directory (overrides data_dir)")
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.AddCommand(a.serveCommand(), a.migrateCommand(), a.versionCommand(), a.userCommand(), a.cardCommand(), a.aliasCommand(),
		a.deviceCommand(), a.auditCommand(), a.configCommand(), a.backupCommand(), a.restoreCommand(),
		a.printerCommand())
	return root
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(a.stdout, "printgate", version)
			return err
		},
	}
}

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the database schema",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Opening the stack migrates every package's schema.
			return a.withStack(cmd, func(*stack) error {
				_, err := fmt.Fprintln(a.stdout, "database schema is up to date")
				return err
			})
		},
	}
}

// logger writes to stderr in the configured format and level, its
// timestamps in logZone.
func (a *app) logger(cfg Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	loc := logZone(cfg)
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, at slog.Attr) slog.Attr {
		if at.Key == slog.TimeKey && len(groups) == 0 && at.Value.Kind() == slog.KindTime {
			at.Value = slog.TimeValue(at.Value.Time().In(loc))
		}
		return at
	}}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(a.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(a.stderr, opts))
}

// logZone is where log timestamps are written: audit.time_zone, so that a
// log line and the screen showing the same moment agree, or UTC when
// log.utc asks for it (or the zone cannot be loaded, which the config
// check reports).
func logZone(cfg Config) *time.Location {
	if cfg.Log.UTC {
		return time.UTC
	}
	loc, err := time.LoadLocation(cfg.Audit.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// currentUser names the operating-system user running a command, for
// the audit trail.
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}
