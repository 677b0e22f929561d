package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/release/owner"
)

// aliasCommand manages the alias table: the login names, other than
// their directory name, under which users' jobs arrive (a Windows or Mac
// login). Each change is audited with the change.
func (a *app) aliasCommand() *cobra.Command {
	alias := &cobra.Command{Use: "alias", Short: "Map other login names to directory users (who owns a job)"}
	add := &cobra.Command{
		Use:   "add LOGIN USER",
		Short: "Make jobs sent under LOGIN the jobs of the directory user USER",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withOwners(cmd, func(st *stack, m *owner.Mapper) error {
				login := m.Normalize(args[0])
				rec := st.adminHook(cmd, audit.EventAliasAdded, map[string]string{"login": login, "user": args[1]})
				al, err := m.AddAlias(cmd.Context(), args[0], args[1], rec)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "jobs sent as %s now belong to %s (running servers: within %s)\n",
					al.Login, al.User, st.cfg.Owners.CacheFor)
				return err
			})
		},
	}
	remove := &cobra.Command{
		Use:   "remove LOGIN",
		Short: "Remove the alias of LOGIN",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withOwners(cmd, func(st *stack, m *owner.Mapper) error {
				rec := st.adminHook(cmd, audit.EventAliasRemoved, map[string]string{"login": m.Normalize(args[0])})
				al, err := m.RemoveAlias(cmd.Context(), args[0], rec)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "alias %s (of %s) removed\n", al.Login, al.User)
				return err
			})
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the aliases",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withOwners(cmd, func(_ *stack, m *owner.Mapper) error {
				aliases, err := m.Aliases(cmd.Context())
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "LOGIN\tUSER\tADDED")
				for _, al := range aliases {
					fmt.Fprintf(w, "%s\t%s\t%s\n", shown(al.Login), shown(al.User), al.CreatedAt.Format("2006-01-02 15:04"))
				}
				return w.Flush()
			})
		},
	}
	alias.AddCommand(add, remove, list)
	return alias
}

// withOwners runs f with the stack and its owner mapper.
func (a *app) withOwners(cmd *cobra.Command, f func(*stack, *owner.Mapper) error) error {
	return a.withStack(cmd, func(st *stack) error {
		m, err := st.owners()
		if err != nil {
			return err
		}
		return f(st, m)
	})
}
