package main

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/printgate/printgate/release"
)

// adminName is who the audit trail records for command-line actions.
func adminName() string { return "cli:" + currentUser() }

// withAdmin runs f with the administration verbs of the release service
// (not started) over the command's config.
func (a *app) withAdmin(cmd *cobra.Command, f func(st *stack, adm *release.Admin) error) error {
	return a.withStack(cmd, func(st *stack) error {
		svc, closeSvc, err := st.service(cmd.Context())
		if err != nil {
			return err
		}
		defer closeSvc()
		return f(st, svc.Admin())
	})
}

func (a *app) deviceCommand() *cobra.Command {
	device := &cobra.Command{Use: "device", Short: "Manage MFPs and release stations"}
	var printer, methods, format string
	var queues []string
	var selfEnroll, allowPlain, cardRequired bool
	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Register a device and print its token (shown only once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(cmd, func(_ *stack, adm *release.Admin) error {
				spec := release.DeviceSpec{Name: args[0], Printer: printer, Queues: queues,
					Methods: splitComma(methods), SelfEnroll: selfEnroll, AllowPlainCredentials: allowPlain,
					ReaderFormat: format, CardRequired: cardRequired}
				d, token, err := adm.AddDevice(cmd.Context(), spec, adminName())
				if err != nil {
					return err
				}
				err = a.printf("device.added", d.Name, d.Printer, d.Queues, d.Methods, d.ReaderFormat, token)
				return err
			})
		},
	}
	add.Flags().StringVar(&printer, "printer", "", "printer URI: ipp://, ipps:// or socket://HOST:9100")
	add.Flags().StringArrayVar(&queues, "queue", nil, "queue whose jobs the device may release (repeatable)")
	add.Flags().StringVar(&methods, "auth", "card,id+pin,qr", authHelp)
	add.Flags().BoolVar(&selfEnroll, "self-enroll", false, "let users enrol an unknown card with their password")
	add.Flags().BoolVar(&allowPlain, "allow-plain-credentials", false,
		"accept PINs and passwords from this device over plain HTTP (for panels that cannot use HTTPS)")
	add.Flags().StringVar(&format, "reader-format", "hex", readerFormatHelp)
	add.Flags().BoolVar(&cardRequired, "card-required", false, cardRequiredHelp)

	list := &cobra.Command{
		Use:   "list",
		Short: "List devices",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withAdmin(cmd, func(_ *stack, adm *release.Admin) error {
				devs, err := adm.Devices(cmd.Context())
				if err != nil {
					return err
				}
				throttled, err := adm.DeviceThrottles(cmd.Context())
				if err != nil {
					return err
				}
				var tab table
				tab.row(strings.Split(a.t("device.header"), "\t")...)
				for _, d := range devs {
					until := "-"
					if st, ok := throttled[d.Name]; ok {
						until = st.Until.UTC().Format(time.RFC3339)
					}
					tab.row(d.Name, d.Printer, d.Queues, d.Methods,
						cmp.Or(d.ReaderFormat, "hex"), a.yesNo(d.SelfEnroll), a.yesNo(d.AllowPlainCredentials), a.yesNo(d.Enabled), until)
				}
				return tab.write(a.stdout)
			})
		},
	}
	setEnabled := func(use, short string, enabled bool) *cobra.Command {
		return &cobra.Command{
			Use: use + " NAME", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.withAdmin(cmd, func(_ *stack, adm *release.Admin) error {
					if err := adm.SetDeviceEnabled(cmd.Context(), args[0], enabled, adminName()); err != nil {
						return err
					}
					err := a.printf("device."+use+"d", args[0])
					return err
				})
			},
		}
	}
	rotate := &cobra.Command{
		Use:   "rotate-token NAME",
		Short: "Give a device a new token; the old one stops working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(cmd, func(_ *stack, adm *release.Admin) error {
				token, err := adm.RotateToken(cmd.Context(), args[0], adminName())
				if err != nil {
					return err
				}
				err = a.printf("device.token", args[0], token)
				return err
			})
		},
	}
	clear := &cobra.Command{
		Use:   "clear-throttle NAME",
		Short: "Let a device throttled after failed sign-ins sign users in again at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(cmd, func(_ *stack, adm *release.Admin) error {
				cleared, err := adm.ClearDeviceThrottle(cmd.Context(), args[0], adminName())
				if err != nil {
					return err
				}
				msg := "device.cleared"
				if !cleared {
					msg = "device.unchanged"
				}
				err = a.printf(msg, args[0])
				return err
			})
		},
	}
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a device: its token is refused and its sessions end at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(cmd, func(_ *stack, adm *release.Admin) error {
				if err := adm.RemoveDevice(cmd.Context(), args[0], adminName()); err != nil {
					return err
				}
				err := a.printf("device.removed", args[0])
				return err
			})
		},
	}
	device.AddCommand(add, a.deviceSetCommand(), list, setEnabled("disable", "Refuse the device's token", false),
		setEnabled("enable", "Accept the device's token again", true), rotate, clear, remove,
		a.deviceQRCommand())
	return device
}

// readerFormatHelp is the help of --reader-format.
const readerFormatHelp = "how the device's card reader writes UIDs: " + readerFormatSteps + "; e.g. dec,reverse"

// authHelp is the help of --auth.
const authHelp = "sign-in methods, comma-separated: card, card+pin, id+pin, and qr (release from a phone " +
	"signed in to the console after opening the device's QR link; leave it out where the device must take two factors)"

// cardRequiredHelp is the help of --card-required.
const cardRequiredHelp = "the device lets nobody sign in without a card (its own card authentication, a card-operated door): " +
	"an ID+PIN sign-in there is two factors, enough to release a job holding a My Number"

// deviceSetCommand changes a registered device's settings.
func (a *app) deviceSetCommand() *cobra.Command {
	var format, methods string
	var cardRequired bool
	set := &cobra.Command{
		Use:   "set NAME [--reader-format FORMAT] [--card-required=true|false] [--auth METHODS]",
		Short: "Change a device's settings",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			setFormat, setCard := cmd.Flags().Changed("reader-format"), cmd.Flags().Changed("card-required")
			setAuth := cmd.Flags().Changed("auth")
			if !setFormat && !setCard && !setAuth {
				return fmt.Errorf("device set %s: name a setting to change (--reader-format, --card-required, --auth)", args[0])
			}
			return a.withAdmin(cmd, func(_ *stack, adm *release.Admin) error {
				if setAuth {
					if err := adm.SetDeviceMethods(cmd.Context(), args[0], splitComma(methods), adminName()); err != nil {
						return err
					}
					if err := a.printf("device.methods", args[0], strings.Join(splitComma(methods), ",")); err != nil {
						return err
					}
				}
				if setFormat {
					f, err := adm.SetReaderFormat(cmd.Context(), args[0], format, adminName())
					if err != nil {
						return err
					}
					if err := a.printf("device.reader", args[0], f); err != nil {
						return err
					}
				}
				if !setCard {
					return nil
				}
				if err := adm.SetCardRequired(cmd.Context(), args[0], cardRequired, adminName()); err != nil {
					return err
				}
				return a.printf("device.card_required", args[0], a.yesNo(cardRequired))
			})
		},
	}
	set.Flags().StringVar(&format, "reader-format", "", readerFormatHelp)
	set.Flags().BoolVar(&cardRequired, "card-required", false, cardRequiredHelp)
	set.Flags().StringVar(&methods, "auth", "", authHelp)
	return set
}

func splitComma(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
