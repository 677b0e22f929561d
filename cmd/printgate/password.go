package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/web"
)

// setPasswordCommand replaces a built-in user's password: the way back for
// users whose hashes no longer verify (credentials.key lost or replaced),
// and for a forgotten password.
func (a *app) setPasswordCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "set-password NAME",
		Short: "Set a built-in user's password; the password is asked for on a terminal, else read from standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStack(cmd, func(st *stack) error {
				b, err := st.requireBuiltin()
				if err != nil {
					return err
				}
				pw, err := a.readNewSecret(cmd.Context(), "password")
				if err != nil {
					return err
				}
				rec := st.adminHook(cmd, audit.EventConfigChanged, map[string]string{"password-set-user": args[0]})
				if err := b.SetPassword(cmd.Context(), args[0], pw, rec); err != nil {
					return err
				}
				// A password set because the old one was lost, or taken,
				// ends the console sessions it opened, as the console's
				// own reset does.
				id, err := b.Lookup(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				ended, err := web.EndUserSessions(cmd.Context(), st.db, id.Name)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "password set for %s; %d console sessions ended\n", args[0], ended)
				return err
			})
		},
	}
}
