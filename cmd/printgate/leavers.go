package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/directory"
	"github.com/printgate/printgate/web"
)

// Leavers: `user disable`, `user enable` and `user remove`. A disabled
// user keeps their cards and PIN, which are refused; a removed one loses
// them. Either way what they left held is destroyed and their sessions,
// at devices and in the console, end.

// leaverCommands returns the disable, enable and remove subcommands of
// `printgate user`.
func (a *app) leaverCommands() []*cobra.Command {
	disable := &cobra.Command{
		Use:   "disable NAME",
		Short: "Refuse a built-in user everywhere: their held jobs are destroyed and their sessions end",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(cmd, func(st *stack, adm *release.Admin) error {
				b, name, err := st.builtinUser(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				rec := st.adminHook(cmd, audit.EventUserDisabled, map[string]string{"user": name})
				if err := b.SetDisabled(cmd.Context(), name, true, rec); err != nil {
					return err
				}
				sessions, jobs, err := closeAccount(cmd.Context(), st, adm, name, "user-disabled")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "user %s disabled: %d held jobs destroyed, %d sessions ended; "+
					"cards and PIN are kept but refused\n", name, jobs, sessions)
				return err
			})
		},
	}
	enable := &cobra.Command{
		Use:   "enable NAME",
		Short: "Let a disabled built-in user sign in again (destroyed jobs stay destroyed)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStack(cmd, func(st *stack) error {
				b, name, err := st.builtinUser(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				rec := st.adminHook(cmd, audit.EventUserEnabled, map[string]string{"user": name})
				if err := b.SetDisabled(cmd.Context(), name, false, rec); err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "user %s enabled\n", name)
				return err
			})
		},
	}
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a user: held jobs destroyed, sessions ended, cards and PIN removed",
		Long: "Remove a user: held jobs destroyed, sessions ended, cards and PIN removed.\n" +
			"A built-in user is deleted. With an LDAP directory the account itself stays there:\n" +
			"printgate forgets what it keeps of the user; disable or delete the account in the directory.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(cmd, func(st *stack, adm *release.Admin) error {
				return a.removeUser(cmd, st, adm, args[0])
			})
		},
	}
	return []*cobra.Command{disable, enable, remove}
}

// removeUser is `printgate user remove`. A built-in user is disabled
// first, so that nothing new arrives while the rest is undone, and
// deleted last, with the audit event.
func (a *app) removeUser(cmd *cobra.Command, st *stack, adm *release.Admin, arg string) error {
	ctx := cmd.Context()
	name := arg
	if st.builtin != nil {
		b, n, err := st.builtinUser(ctx, arg)
		if err != nil {
			return err
		}
		name = n
		// Recorded like `user disable`, in the same transaction: from
		// here the account is refused, whatever follows.
		rec := st.adminHook(cmd, audit.EventUserDisabled, map[string]string{"user": name, "cause": "user-removed"})
		if err := b.SetDisabled(ctx, name, true, rec); err != nil {
			return err
		}
	} else if id, err := st.dir.Lookup(ctx, arg); err == nil && strings.EqualFold(id.Name, arg) {
		name = id.Name
	} else if err != nil && !errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("user %s: %w", arg, err)
	} else {
		n, others, err := storedName(ctx, st, adm, arg)
		if err != nil {
			return err
		}
		name = n
		for _, o := range others {
			fmt.Fprintf(a.stdout, "note: printgate also keeps data under %q; remove it with: printgate user remove %s\n", o, o)
		}
	}
	sessions, jobs, err := closeAccount(ctx, st, adm, name, "user-removed")
	if err != nil {
		return err
	}
	cards, err := st.creds.Cards(ctx, name)
	if err != nil {
		return err
	}
	pin, err := st.creds.PINStatus(ctx, name)
	if err != nil {
		return err
	}
	if err := st.creds.Forget(ctx, name); err != nil {
		return err
	}
	rec := st.adminHook(cmd, audit.EventUserRemoved, map[string]string{"user": name,
		"held-jobs-destroyed": fmt.Sprint(jobs), "sessions-ended": fmt.Sprint(sessions),
		"cards-removed": fmt.Sprint(len(cards)), "pin-removed": fmt.Sprint(pin.Set)})
	if st.builtin != nil {
		err = st.builtin.DeleteUser(ctx, name, rec)
	} else {
		err = st.db.WithContext(ctx).Transaction(rec)
	}
	if err != nil {
		return err
	}
	pinDone := "no PIN"
	if pin.Set {
		pinDone = "PIN removed"
	}
	_, err = fmt.Fprintf(a.stdout, "user %s removed: %d held jobs destroyed, %d sessions ended, %d cards removed, %s\n",
		name, jobs, sessions, len(cards), pinDone)
	return err
}

// storedName finds the spelling under which printgate keeps what it has
// of arg, a name the directory does not know (an LDAP account deleted
// there before `user remove`): every cleanup matches the stored name
// exactly, and the directory's spelling may differ from what is typed in
// case. A spelling typed exactly is taken as it is; others equal but for
// case are returned too, to be removed on their own. A name under which
// nothing is kept, or several spellings none of which is typed exactly,
// are refused: nothing would be removed, or the wrong user might be.
func storedName(ctx context.Context, st *stack, adm *release.Admin, arg string) (string, []string, error) {
	held, err := adm.HeldUsers(ctx)
	if err != nil {
		return "", nil, err
	}
	console, err := web.SessionUsers(ctx, st.db)
	if err != nil {
		return "", nil, err
	}
	creds, err := st.creds.Users(ctx)
	if err != nil {
		return "", nil, err
	}
	var names []string
	for _, n := range slices.Concat(held, console, creds) {
		if strings.EqualFold(n, arg) && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	switch {
	case slices.Contains(names, arg):
		return arg, slices.DeleteFunc(names, func(n string) bool { return n == arg }), nil
	case len(names) == 0:
		return "", nil, fmt.Errorf("user %s: not in the directory, and printgate keeps nothing of that name "+
			"(no cards, PIN, held jobs or sessions)", arg)
	case len(names) > 1:
		return "", nil, fmt.Errorf("user %s: not in the directory, and printgate keeps data under several spellings "+
			"of that name (%s): remove each by its exact spelling", arg, strings.Join(names, ", "))
	}
	return names[0], nil, nil
}

// builtinUser returns the built-in directory and the stored spelling of
// the user named name (not an employee number).
func (st *stack) builtinUser(ctx context.Context, name string) (*directory.Builtin, string, error) {
	b := st.builtin
	if b == nil {
		return nil, "", fmt.Errorf("users come from %s: disable the account there "+
			"(printgate refuses accounts the directory marks disabled: directory.ldap.disabled_attribute)", st.cfg.Directory.Type)
	}
	id, err := b.Lookup(ctx, name)
	if err == nil && !strings.EqualFold(id.Name, name) {
		err = directory.ErrNotFound // an employee number, not a name
	}
	if err != nil {
		return nil, "", fmt.Errorf("user %s: %w", name, err)
	}
	return b, id.Name, nil
}

// closeAccount ends user's sessions at devices and in the console and
// destroys their held jobs, each recorded with cause.
func closeAccount(ctx context.Context, st *stack, adm *release.Admin, user, cause string) (sessions int64, jobs int, err error) {
	devSessions, err := adm.EndUserSessions(ctx, user)
	if err != nil {
		return 0, 0, err
	}
	webSessions, err := web.EndUserSessions(ctx, st.db, user)
	if err != nil {
		return 0, 0, err
	}
	jobs, err = adm.DestroyHeldJobs(ctx, user, cause, adminName())
	return devSessions + webSessions, jobs, err
}
