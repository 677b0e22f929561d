package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/credential"
	"github.com/printgate/printgate/release/directory"
)

// withStack runs f with the state opened from the command's config.
func (a *app) withStack(cmd *cobra.Command, f func(st *stack) error) error {
	cfg, err := loadConfig(a.configPath, a.dataDir)
	if err != nil {
		return err
	}
	if err := a.checkImplicitDataDir(cfg); err != nil {
		return err
	}
	log := a.logger(cfg)
	st, err := openStack(cmd.Context(), cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	// Commands write to the record too: the same checks as serve's
	// start, so that none of them runs against another data dir's
	// database or appends to a chain that is not keyed.
	if _, _, err := a.bindDatabase(cmd.Context(), st); err != nil {
		return err
	}
	if _, err := st.keyAudit(cmd.Context(), log, false); err != nil {
		return err
	}
	if dir := cfg.journalDir(); dir != "" {
		// A command sees what the running server has acknowledged: the
		// server writes its journal's jobs within milliseconds. Without a
		// server to write them (a crash, printgate stopped), the command
		// goes on without them and says so; backup refuses instead.
		name, err := cfg.journalName()
		if err == nil {
			err = release.WaitJournalApplied(cmd.Context(), st.db.DB, dir, name, cliJournalWait)
		}
		if err != nil {
			log.Warn("jobs acknowledged into the journal are not yet in the database, and this command does not see them", "err", err)
		}
	}
	return f(st)
}

// errNoDataDir refuses a command given neither a configuration nor a
// data dir, where the default data dir does not exist.
var errNoDataDir = errors.New("no --config or --data given, and no data dir here")

// checkImplicitDataDir refuses a command that names no configuration and
// no data dir (flag or PRINTGATE_DATA_DIR) when the default data dir
// (./var) is not there: an administrator who forgot --config on a
// packaged install would otherwise add a user or a card to a new, empty
// database in the current folder, and see it succeed. serve makes the
// default data dir on purpose (the quick start); a command run where it
// keeps it finds it.
func (a *app) checkImplicitDataDir(cfg Config) error {
	if a.configPath != "" || a.dataDir != "" || os.Getenv("PRINTGATE_DATA_DIR") != "" {
		return nil
	}
	if _, err := os.Stat(cfg.DataDir); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("%w (%s): pass --config, e.g. --config /etc/printgate/printgate.yaml, "+
		"or run the command where printgate serve keeps %s", errNoDataDir, cfg.DataDir, cfg.DataDir)
}

// cliJournalWait bounds how long a command waits for the running server
// to write the jobs its journal holds.
const cliJournalWait = 2 * time.Second

// readSecret reads one line from standard input. Secrets never come as
// arguments, where ps and shell history would show them.
func (a *app) readSecret(what string) (string, error) {
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil {
			return "", fmt.Errorf("read %s from standard input: %w", what, err)
		}
		return "", fmt.Errorf("read %s from standard input: empty", what)
	}
	return line, nil
}

func (a *app) userCommand() *cobra.Command {
	user := &cobra.Command{Use: "user", Short: "Manage users, their PINs and locks"}
	var display, email, role, employee string
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a built-in user; the password is asked for on a terminal, else read from standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := directory.ParseRole(role)
			if err != nil {
				return err
			}
			return a.withStack(cmd, func(st *stack) error {
				b, err := st.requireBuiltin()
				if err != nil {
					return err
				}
				pw, err := a.readNewSecret(cmd.Context(), "password")
				if err != nil {
					return err
				}
				u := directory.User{Name: args[0], DisplayName: display, Email: email, EmployeeNumber: employee, Role: r}
				rec := st.adminHook(cmd, audit.EventUserAdded, map[string]string{"user": args[0], "role": string(r)})
				if err := b.AddUser(cmd.Context(), u, pw, rec); err != nil {
					return err
				}
				err = a.printf("user.added", args[0], r)
				return err
			})
		},
	}
	add.Flags().StringVar(&display, "display-name", "", "name shown in the console and at the printer")
	add.Flags().StringVar(&email, "email", "", "mail address")
	add.Flags().StringVar(&employee, "employee-number", "", "employee number (for ID+PIN sign-in at printers)")
	add.Flags().StringVar(&role, "role", "user", "user, auditor or admin")

	setPIN := &cobra.Command{
		Use:   "set-pin NAME",
		Short: "Set a user's release PIN; the PIN is asked for on a terminal, else read from standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStack(cmd, func(st *stack) error {
				// By name only: an employee number typed here would set
				// the PIN of whoever has it.
				id, err := directory.LookupName(cmd.Context(), st.dir, args[0])
				if err != nil {
					return fmt.Errorf("user %s: %w", args[0], err)
				}
				pin, err := a.readNewSecret(cmd.Context(), "PIN")
				if err != nil {
					return err
				}
				rec := st.adminHook(cmd, audit.EventPINSet, map[string]string{"user": id.Name})
				if err := st.creds.SetAccountPIN(cmd.Context(), credential.Account{Name: id.Name, ID: id.AccountID}, pin, rec); err != nil {
					return err
				}
				err = a.printf("user.pin-set", id.Name)
				return err
			})
		},
	}
	unlock := &cobra.Command{
		Use:   "unlock NAME",
		Short: "Unlock a user locked out by wrong PINs or wrong passwords",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStack(cmd, func(st *stack) error {
				counted, err := st.passwords.Reset(cmd.Context(), args[0], adminName())
				if err != nil {
					return err
				}
				// A password lock that was lifted has its own event
				// (throttle-cleared), recorded by Reset with its change.
				rec := st.ownerHook(cmd, audit.EventUserUnlocked, args[0], nil)
				if err := st.creds.Unlock(cmd.Context(), args[0], rec); err != nil &&
					!(errors.Is(err, credential.ErrNotFound) && counted) {
					return err
				}
				err = a.printf("user.unlocked", args[0])
				return err
			})
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List built-in users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStack(cmd, func(st *stack) error {
				b, err := st.requireBuiltin()
				if err != nil {
					return err
				}
				users, err := b.Users(cmd.Context())
				if err != nil {
					return err
				}
				var tab table
				tab.row(strings.Split(a.t("user.header"), "\t")...)
				for _, u := range users {
					ps, err := st.creds.PINStatus(cmd.Context(), u.Name)
					if err != nil {
						return err
					}
					tab.row(u.Name, string(u.Role), u.DisplayName, u.EmployeeNumber,
						a.yesNo(ps.Set), a.yesNo(ps.Locked()), a.yesNo(u.Disabled))
				}
				return tab.write(a.stdout)
			})
		},
	}
	user.AddCommand(add, setPIN, unlock, list, a.setPasswordCommand())
	user.AddCommand(a.leaverCommands()...)
	return user
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
