package releaseapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/printgate/printgate/internal/i18n"
	"github.com/printgate/printgate/release"
	"github.com/printgate/printgate/release/throttle"
)

// errorJSON is every refusal's body: a stable machine code a panel app
// may act on, and a message a person at the panel can read, in the
// language of the request's Accept-Language.
type errorJSON struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	// Reason repeats Error for the codes a panel acts on (unknown-card,
	// printer-unavailable), as the API answered before it had codes.
	Reason string `json:"reason,omitempty"`
}

// lang is the language of c's answers: Accept-Language's choice of
// Japanese or English, English when it asks for neither.
func lang(c *gin.Context) i18n.Lang {
	return i18n.FromAcceptLanguage(c.GetHeader("Accept-Language"), i18n.En)
}

// answer refuses c with status and the error code's message.
func answer(c *gin.Context, status int, code string) {
	c.AbortWithStatusJSON(status, errorJSON{Error: code, Message: messages.T(lang(c), code)})
}

// fail answers err with its status, code and a message a person at the
// panel can act on; internal details stay in the log. It is where
// release's error words become HTTP's.
func (a *API) fail(c *gin.Context, err error) {
	var throttled *throttle.Error
	var unavailable *release.PrinterUnavailable
	status, code := http.StatusInternalServerError, codeInternal
	switch {
	case errors.As(err, &unavailable):
		c.AbortWithStatusJSON(http.StatusConflict, printerUnavailable(unavailable, lang(c)))
		return
	case errors.Is(err, release.ErrThrottled):
		status, code = http.StatusTooManyRequests, codeThrottled
		if errors.As(err, &throttled) {
			c.Header("Retry-After", strconv.Itoa(int(throttled.RetryAfter().Seconds())))
		}
	case errors.Is(err, release.ErrLocked):
		status, code = http.StatusLocked, codeLocked
	case errors.Is(err, release.ErrNeedsTLS):
		status, code = http.StatusForbidden, codeNeedsTLS
	case errors.Is(err, release.ErrForbidden):
		status, code = http.StatusForbidden, codeForbidden
	case errors.Is(err, release.ErrUnknownCard):
		// Said only by a device that enrols cards: the kiosk offers to.
		c.AbortWithStatusJSON(http.StatusUnauthorized, errorJSON{Error: codeUnknownCard,
			Message: messages.T(lang(c), codeUnknownCard), Reason: codeUnknownCard})
		return
	case errors.Is(err, release.ErrUnauthorized):
		status, code = http.StatusUnauthorized, codeNotRecognised
	case errors.Is(err, release.ErrNotFound):
		status, code = http.StatusNotFound, codeNotFound
	case errors.Is(err, release.ErrBadLogin):
		status, code = http.StatusBadRequest, codeBadLogin
	case errors.Is(err, release.ErrNotPossible):
		status, code = http.StatusConflict, codeNotPossible
	case errors.Is(err, release.ErrBusy):
		// Too many PIN or password checks at once for the memory they
		// take; no secret was checked.
		c.Header("Retry-After", "2")
		status, code = http.StatusServiceUnavailable, codeBusy
	case errors.Is(err, release.ErrUnavailable):
		status, code = http.StatusServiceUnavailable, codeUnavailable
	default:
		a.log.Error("releaseapi: request failed", "path", c.FullPath(), "err", err)
	}
	answer(c, status, code)
}

// printerUnavailableJSON is the 409 of a release whose printer cannot
// print now: the code and message, and the printer's own words for a
// panel that shows them in its language.
type printerUnavailableJSON struct {
	errorJSON
	Why       string   `json:"why"`
	State     string   `json:"printer_state"`
	Reasons   []string `json:"printer_state_reasons"`
	Reachable bool     `json:"printer_reachable"`
}

func printerUnavailable(e *release.PrinterUnavailable, l i18n.Lang) printerUnavailableJSON {
	why := "printer.cannot"
	switch {
	case !e.Reachable:
		why = "printer.unreachable"
	case e.State == "stopped":
		why = "printer.stopped"
	case e.Why == "printer-not-accepting-jobs":
		why = "printer.not-accepting"
	}
	msg := messages.T(l, why)
	if len(e.Reasons) > 0 && l == i18n.En {
		// The printer's keywords are English; a Japanese panel has them
		// in printer_state_reasons to show in its own words.
		msg += " (" + strings.Join(e.Reasons, ", ") + ")"
	}
	msg += messages.T(l, "printer.kept")
	return printerUnavailableJSON{
		errorJSON: errorJSON{Error: codePrinterUnavailable, Message: msg, Reason: codePrinterUnavailable},
		Why:       e.Why, State: e.State, Reasons: append([]string{}, e.Reasons...), Reachable: e.Reachable}
}
