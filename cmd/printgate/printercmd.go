package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gorm.io/gorm"

	"github.com/printgate/printgate/audit"
	"github.com/printgate/printgate/monitor"
)

// printerCommand manages printers registered for monitoring only; each
// device's printer is monitored without being added here.
func (a *app) printerCommand() *cobra.Command {
	printer := &cobra.Command{Use: "printer", Short: "Printers whose own job logs and counters are monitored"}
	var uri, snmp string
	var v3 snmpV3Flags
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Monitor a printer that is not a device's (with --snmp, the community is read from standard input)",
		Long: `Monitors a printer that is not a device's: its job log and state and, with --snmp, its
page counter. The SNMPv2c community is read from standard input. With --snmp-user the agent
is read over SNMPv3 instead; its passphrases are read from --snmp-passphrase-file (the
authentication passphrase on the first line, the privacy one on the second), else from
PRINTGATE_SNMP_AUTH_PASSPHRASE and PRINTGATE_SNMP_PRIV_PASSPHRASE, else from standard input
(the same two lines); never from the command line.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStack(cmd, func(st *stack) error {
				spec := monitor.Spec{Name: args[0], URI: uri, SNMPAddr: snmp}
				var err error
				switch {
				case snmp == "" && v3.user != "":
					return fmt.Errorf("--snmp-user needs --snmp HOST[:PORT]")
				case v3.user != "":
					if spec.SNMPv3, err = a.readSNMPv3(v3); err != nil {
						return err
					}
				case snmp != "":
					if spec.SNMPCommunity, err = a.readSecret("SNMP community"); err != nil {
						return err
					}
				}
				reg, err := st.monitorRegistry()
				if err != nil {
					return err
				}
				p, err := reg.Add(cmd.Context(), spec,
					printerEvent(cmd.Context(), st.audit, "printer-monitored", spec.Name, spec.URI))
				if err != nil {
					return err
				}
				snmpNote := a.t("printer.nosnmp")
				switch {
				case p.SNMPVersion == monitor.Version3:
					snmpNote = a.t("printer.snmpv3", p.SNMPAddr, p.SNMPUser)
				case p.SNMPAddr != "":
					snmpNote = a.t("printer.snmp", p.SNMPAddr)
				}
				err = a.printf("printer.added", p.Name, p.URI, snmpNote)
				return err
			})
		},
	}
	add.Flags().StringVar(&uri, "uri", "", "the printer's IPP URI: ipp://HOST/ipp/print or ipps://...")
	add.Flags().StringVar(&snmp, "snmp", "", "HOST[:PORT] of the printer's SNMP agent (SNMPv2c, or v3 with --snmp-user) to read its page counter")
	add.Flags().StringVar(&v3.user, "snmp-user", "", "SNMPv3 USM user name (the agent is then read over SNMPv3)")
	add.Flags().StringVar(&v3.auth, "snmp-auth", "SHA-256", "SNMPv3 authentication protocol: SHA or SHA-256")
	add.Flags().StringVar(&v3.priv, "snmp-priv", "AES", "SNMPv3 privacy protocol: AES or none")
	add.Flags().StringVar(&v3.file, "snmp-passphrase-file", "", "file holding the SNMPv3 passphrases: authentication, then privacy, one a line")
	_ = add.MarkFlagRequired("uri")

	list := &cobra.Command{
		Use:   "list",
		Short: "List monitored printers, devices' included, with their last poll",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withStack(cmd, func(st *stack) error {
				reg, err := st.monitorRegistry()
				if err != nil {
					return err
				}
				ps, err := reg.List(cmd.Context())
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, a.t("printer.header"))
				for _, p := range ps {
					last := "never"
					if !p.LastPoll.IsZero() {
						last = p.LastPoll.Local().Format("2006-01-02 15:04:05")
					}
					snmpCol := or(p.SNMPAddr, "-")
					if p.SNMPVersion == monitor.Version3 {
						snmpCol = "v3 " + p.SNMPUser + "@" + p.SNMPAddr
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", shown(p.Name), shown(p.URI), p.Source, shown(snmpCol),
						or(p.State, "-"), last, shown(or(p.LastError, "-")))
				}
				return w.Flush()
			})
		},
	}
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Stop monitoring a printer added with printer add",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStack(cmd, func(st *stack) error {
				reg, err := st.monitorRegistry()
				if err != nil {
					return err
				}
				err = reg.Remove(cmd.Context(), args[0],
					printerEvent(cmd.Context(), st.audit, "printer-unmonitored", args[0], ""))
				if err != nil {
					return err
				}
				err = a.printf("printer.removed", args[0])
				return err
			})
		},
	}
	printer.AddCommand(add, list, remove)
	return printer
}

// printerEvent records a change of the monitored printers.
func printerEvent(ctx context.Context, log *audit.Log, what, name, uri string) func(tx *gorm.DB) error {
	return func(tx *gorm.DB) error {
		d := map[string]string{what: name}
		if uri != "" {
			d["uri"] = uri
		}
		_, err := log.Append(ctx, tx, audit.Event{Type: audit.EventConfigChanged, Actor: adminName(), Printer: uri, Details: d})
		return err
	}
}

func or(s, alt string) string {
	if s != "" {
		return s
	}
	return alt
}
