package releaseapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/printgate/printgate/release"
)

// deviceReply is what a kiosk learns of its device: what to offer, and
// the QR code that lets a phone release here.
type deviceReply struct {
	Device     string `json:"device"`
	SelfEnroll bool   `json:"self_enroll"`
	// QR is absent when the server makes no QR links, or the device does
	// not allow QR release (release.ErrQRNotAllowed).
	QR *qrJSON `json:"qr,omitempty"`
}

// qrJSON is a signed link and its QR code's modules, row by row, "1" dark
// and "0" light, quiet zone included: the kiosk draws them on a canvas,
// so that the page needs no image from elsewhere.
type qrJSON struct {
	Path      string `json:"path"`
	ExpiresAt string `json:"expires_at"`
	// URL is what the modules encode: the link on the origin the kiosk
	// asked at.
	URL     string   `json:"url"`
	Modules []string `json:"modules"`
}

// device answers GET /release/device for the device of the bearer token.
func (a *API) device(c *gin.Context) {
	dev, link, err := a.svc.KioskQR(c.Request.Context(), deviceToken(c))
	if err != nil && !errors.Is(err, release.ErrNoQR) {
		a.fail(c, err)
		return
	}
	out := deviceReply{Device: dev.Name, SelfEnroll: dev.SelfEnroll}
	if err == nil {
		url := a.origin(c.Request) + link.Path
		code, err := qrcode.New(url, qrcode.Medium)
		if err != nil {
			a.fail(c, err)
			return
		}
		out.QR = &qrJSON{Path: link.Path, ExpiresAt: link.Expires.UTC().Format(time.RFC3339), URL: url,
			Modules: modules(code.Bitmap())}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// modules writes a QR bitmap as rows of "0" and "1".
func modules(bitmap [][]bool) []string {
	rows := make([]string, len(bitmap))
	for i, row := range bitmap {
		var b strings.Builder
		for _, dark := range row {
			if dark {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		}
		rows[i] = b.String()
	}
	return rows
}

// origin is the scheme and host the request came to, as the kiosk's
// browser reached the server: the phone reaches it the same way. Behind a
// TLS-terminating proxy (API.Secure) that is https.
func (a *API) origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || a.Secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
