package main

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"
)

// deviceQRCommand writes a device's QR label: a PNG of a signed link with
// which users release their jobs at the device from their phones.
func (a *app) deviceQRCommand() *cobra.Command {
	var base, out string
	var valid time.Duration
	qr := &cobra.Command{
		Use:   "qr NAME --url https://HOST[:PORT] --out FILE.png",
		Short: "Write a QR label of a signed link to release at the device from a phone",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			origin, err := qrOrigin(base)
			if err != nil {
				return err
			}
			if out == "" {
				return errors.New("--out: name the PNG file to write")
			}
			if valid != 0 && (valid < time.Hour || valid > maxQRLabelLifetime) {
				return errors.New("--valid: must be 1h to 43800h (5 years), as release.qr_label_lifetime")
			}
			return a.withStack(cmd, func(st *stack) error {
				svc, closeSvc, err := st.service(cmd.Context())
				if err != nil {
					return err
				}
				defer closeSvc()
				ttl := valid
				if ttl == 0 {
					ttl = st.cfg.Release.QRLabelLifetime
				}
				link, err := svc.RemoteRelease().QRLink(cmd.Context(), args[0], ttl, adminName())
				if err != nil {
					return err
				}
				full := origin + link.Path
				if err := qrcode.WriteFile(full, qrcode.Medium, 512, out); err != nil {
					return fmt.Errorf("write %s: %w", out, err)
				}
				_, err = fmt.Fprintf(a.stdout, "QR label of %s written to %s\nlink: %s\nvalid until %s; "+
					"printgate device rotate-token %s revokes it sooner\n",
					link.Device, out, full, link.Expires.Local().Format(time.RFC3339), link.Device)
				return err
			})
		},
	}
	qr.Flags().StringVar(&base, "url", "", "the console's address as phones reach it, e.g. https://print.example.com")
	qr.Flags().StringVar(&out, "out", "", "the PNG file to write")
	qr.Flags().DurationVar(&valid, "valid", 0, "how long the label stays valid (default release.qr_label_lifetime)")
	return qr
}

// qrOrigin checks the --url of a label: an http(s) address with a host
// and nothing after it.
func qrOrigin(base string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
		return "", errors.New("--url: give the console's address as phones reach it, e.g. https://print.example.com")
	}
	return u.Scheme + "://" + u.Host, nil
}

// maxQRLabelLifetime bounds a printed label's validity, from the config or
// the command line: a label is a standing invitation to the device.
const maxQRLabelLifetime = 5 * 365 * 24 * time.Hour
