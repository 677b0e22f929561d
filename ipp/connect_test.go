package ipp

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testenv"
)

// A connection opened ahead carries the job that takes it and nothing
// else; one closed unused, or opened to another printer, carries nothing.
func TestConnectAhead(t *testing.T) {
	doc := []byte("%!PS\nshowpage\n")
	ctx := context.Background()
	c := &Client{}
	tests := []struct {
		name string
		// run connects to first and, maybe, prints to second.
		run                   func(t *testing.T, first, second *testenv.SocketPrinter)
		wantFirst, wantSecond [][]byte
	}{
		{
			name: "the job takes it",
			run: func(t *testing.T, first, _ *testenv.SocketPrinter) {
				ahead := connect(t, c, first.URI())
				if _, err := c.PrintJobOn(ctx, ahead, first.URI(), PrintRequest{}, bytes.NewReader(doc)); err != nil {
					t.Fatal(err)
				}
				leftOpen(t, ahead)
			},
			wantFirst: [][]byte{doc},
		},
		{
			name: "closed unused",
			run: func(t *testing.T, first, _ *testenv.SocketPrinter) {
				if err := connect(t, c, first.URI()).Close(); err != nil {
					t.Fatal(err)
				}
			},
			wantFirst: [][]byte{{}},
		},
		{
			name: "a job to another printer",
			run: func(t *testing.T, first, second *testenv.SocketPrinter) {
				ahead := connect(t, c, first.URI())
				if _, err := c.PrintJobOn(ctx, ahead, second.URI(), PrintRequest{}, bytes.NewReader(doc)); err != nil {
					t.Fatal(err)
				}
				leftOpen(t, ahead)
			},
			wantFirst:  [][]byte{{}},
			wantSecond: [][]byte{doc},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, second := testenv.NewSocketPrinter(t), testenv.NewSocketPrinter(t)
			tt.run(t, first, second)
			// Received stops the listener: a connection the client
			// opened and closed but the printer has not accepted yet
			// would be dropped with it.
			first.Await(t, len(tt.wantFirst))
			second.Await(t, len(tt.wantSecond))
			if got := first.Received(); !slices.EqualFunc(got, tt.wantFirst, bytes.Equal) {
				t.Errorf("first printer got %q, want %q", got, tt.wantFirst)
			}
			if got := second.Received(); !slices.EqualFunc(got, tt.wantSecond, bytes.Equal) {
				t.Errorf("second printer got %q, want %q", got, tt.wantSecond)
			}
		})
	}
}

// leftOpen fails t if PrintJobOn left ahead open, and closes it.
func leftOpen(t *testing.T, ahead *Conn) {
	t.Helper()
	if ahead.conn != nil {
		t.Error("PrintJobOn left the connection open")
		ahead.Close()
	}
}

func connect(t *testing.T, c *Client, uri string) *Conn {
	t.Helper()
	ahead, err := c.Connect(context.Background(), uri)
	if err != nil || ahead == nil {
		t.Fatalf("Connect(%s) = %v, %v", uri, ahead, err)
	}
	return ahead
}

// An IPP printer's requests open or reuse their connections: nothing is
// opened ahead.
func TestConnectAheadIPP(t *testing.T) {
	p := testenv.NewSocketPrinter(t)
	ahead, err := (&Client{}).Connect(context.Background(), strings.Replace(p.URI(), "socket://", "ipp://", 1)+"/ipp/print")
	if err != nil || ahead != nil {
		t.Fatalf("Connect = %v, %v; want nil, nil", ahead, err)
	}
	if got := p.Received(); len(got) != 0 {
		t.Errorf("the printer got %d connections", len(got))
	}
}
