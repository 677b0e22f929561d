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
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Monitor a printer that is not a device's (with --snmp, the community is read from standard input)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withStack(cmd, func(st *stack) error {
				spec := monitor.Spec{Name: args[0], URI: uri, SNMPAddr: snmp}
				if snmp != "" {
					var err error
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
				if p.SNMPAddr != "" {
					snmpNote = a.t("printer.snmp", p.SNMPAddr)
				}
				err = a.printf("printer.added", p.Name, p.URI, snmpNote)
				return err
			})
		},
	}
	add.Flags().StringVar(&uri, "uri", "", "the printer's IPP URI: ipp://HOST/ipp/print or ipps://...")
	add.Flags().StringVar(&snmp, "snmp", "", "HOST[:PORT] of the printer's SNMP agent (SNMPv2c) to read its page counter")
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
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.URI, p.Source, or(p.SNMPAddr, "-"),
						or(p.State, "-"), last, or(p.LastError, "-"))
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
