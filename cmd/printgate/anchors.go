package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/printgate/printgate/audit"
)

// startAnchors appends a signed anchor of the audit chain head to the
// anchor file every audit.anchor_every while serve runs. The returned stop
// ends the interval and writes a last anchor, so serve calls it after the
// last append (the release service closed), at a clean shutdown.
func startAnchors(ctx context.Context, st *stack, log *slog.Logger) (stop func(), err error) {
	file, err := audit.OpenAnchorFile(st.cfg.anchorFile())
	if err != nil {
		return nil, err
	}
	a := audit.NewAnchorer(st.audit, st.cfg.Audit.AnchorEvery, nil, file)
	loopCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(loopCtx, func(err error) { log.Error("audit: anchor", "err", err) })
	}()
	return func() {
		cancel()
		<-done
		final, stopFinal := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer stopFinal()
		if _, _, err := a.AnchorNow(final); err != nil {
			log.Error("audit: anchor at shutdown", "err", err)
		}
		if err := file.Close(); err != nil {
			log.Error("audit: close anchor file", "err", err)
		}
	}, nil
}
