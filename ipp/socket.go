package ipp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"
)

// socketDrainTimeout bounds the wait for an AppSocket printer to close the
// connection after the whole document was sent.
const socketDrainTimeout = 5 * time.Minute

// printSocket sends doc over a raw AppSocket (JetDirect) connection. The
// protocol has no status: success is every byte written and the printer
// closing its end, which it does once it has taken the job.
func (c *Client) printSocket(ctx context.Context, target *url.URL, doc io.Reader) (JobStatus, error) {
	where := "socket://" + target.Host
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", target.Host)
	if err != nil {
		return JobStatus{}, fmt.Errorf("ipp: print to %s: %w", where, err)
	}
	defer conn.Close()
	// Cancelling ctx unblocks whatever I/O is in progress.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := io.Copy(conn, doc); err != nil {
		return JobStatus{}, socketError(ctx, where, "send document", err)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		if err := tcp.CloseWrite(); err != nil {
			return JobStatus{}, socketError(ctx, where, "finish document", err)
		}
	}

	drainCtx, cancel := context.WithTimeout(ctx, socketDrainTimeout)
	defer cancel()
	stopDrain := context.AfterFunc(drainCtx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stopDrain()
	// Whatever the printer says on the back channel is of no use here.
	if _, err := io.Copy(io.Discard, conn); err != nil {
		if ctx.Err() == nil && errors.Is(drainCtx.Err(), context.DeadlineExceeded) {
			return JobStatus{}, fmt.Errorf("ipp: print to %s: printer did not close the connection within %v", where, socketDrainTimeout)
		}
		return JobStatus{}, socketError(ctx, where, "wait for printer", err)
	}
	return JobStatus{State: JobCompleted}, nil
}

// socketError reports ctx's cause rather than the deadline error that
// cancellation provokes.
func socketError(ctx context.Context, where, action string, err error) error {
	if ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	return fmt.Errorf("ipp: print to %s: %s: %w", where, action, err)
}
