package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// configCommand checks a configuration file without starting anything,
// as serve would check it at start-up.
func (a *app) configCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check the configuration"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Load the configuration and report every setting that is wrong",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(a.configPath, a.dataDir)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "configuration OK: %d queues, %d group rules\n", len(cfg.queues), len(cfg.groupRules))
			return err
		},
	})
	return cmd
}
