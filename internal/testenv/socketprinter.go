package testenv

import (
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// SocketPrinter is an AppSocket (JetDirect) printer on loopback: it reads
// each connection to its end and keeps what each carried.
type SocketPrinter struct {
	// Accepted receives once per connection, as it is accepted (buffered:
	// nobody need read it).
	Accepted chan struct{}
	l        net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	jobs     [][]byte
	accepted int
}

// NewSocketPrinter starts a SocketPrinter that stops with the test.
func NewSocketPrinter(t testing.TB) *SocketPrinter {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &SocketPrinter{Accepted: make(chan struct{}, 64), l: l}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { p.Received() })
	return p
}

func (p *SocketPrinter) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepted++
		p.mu.Unlock()
		select {
		case p.Accepted <- struct{}{}:
		default:
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer c.Close()
			got, _ := io.ReadAll(c)
			p.mu.Lock()
			p.jobs = append(p.jobs, got)
			p.mu.Unlock()
		}()
	}
}

// URI is the printer's socket:// URI.
func (p *SocketPrinter) URI() string { return "socket://" + p.l.Addr().String() }

// Await waits until the printer has accepted n connections in all.
// Received drops a connection still waiting to be accepted, which a
// client may already have written to and closed: a test that counts on a
// connection awaits it first.
func (p *SocketPrinter) Await(t testing.TB, n int) {
	t.Helper()
	WaitFor(t, fmt.Sprintf("%d connections to the printer", n), func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.accepted >= n
	})
}

// Received stops the printer, waits for every connection to end and
// returns what each carried, in the order they ended.
func (p *SocketPrinter) Received() [][]byte {
	p.l.Close()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jobs
}
