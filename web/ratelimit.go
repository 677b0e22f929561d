package web

import (
	"sync"
	"time"
)

// Sign-in limits: after signinFailures failed sign-ins within signinWindow
// for one user name, or from one client address, further attempts are
// refused until the window ends.
const (
	signinFailures  = 10
	signinWindow    = 15 * time.Minute
	limiterCapacity = 10000
)

// limiter counts failures per key (a user name or a client address) in
// fixed windows.
//
// It lives in memory: counts are per instance and start afresh when
// printgate restarts. That is enough to turn online password guessing
// from thousands of tries a minute into a few an hour; the directory's
// own lockout (an LDAP password policy) stays the hard limit. Its size is
// bounded: when full, expired windows are swept and, failing that, the
// oldest one is dropped, so a flood of invented names costs memory once
// and never more.
type limiter struct {
	mu       sync.Mutex
	max      int
	window   time.Duration
	capacity int
	now      func() time.Time
	counts   map[string]*failureWindow
}

type failureWindow struct {
	start    time.Time
	failures int
}

func newLimiter(max int, window time.Duration, capacity int, now func() time.Time) *limiter {
	return &limiter{max: max, window: window, capacity: capacity, now: now, counts: make(map[string]*failureWindow)}
}

// blocked reports whether any of keys has used up its failures, and how
// long until the latest of those windows ends.
func (l *limiter) blocked(keys ...string) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	for _, k := range keys {
		w, ok := l.counts[k]
		if !ok {
			continue
		}
		if left := w.start.Add(l.window).Sub(now); left <= 0 {
			delete(l.counts, k)
		} else if w.failures >= l.max {
			wait = max(wait, left)
		}
	}
	return wait, wait > 0
}

// fail counts one failure against each of keys.
func (l *limiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		w, ok := l.counts[k]
		if ok && now.Sub(w.start) >= l.window {
			ok = false
		}
		if !ok {
			l.makeRoom()
			w = &failureWindow{start: now}
			l.counts[k] = w
		}
		w.failures++
	}
}

// reset forgets key's failures, after a successful sign-in.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.counts, key)
}

// makeRoom keeps the map below capacity. It runs with mu held.
func (l *limiter) makeRoom() {
	if len(l.counts) < l.capacity {
		return
	}
	now := l.now()
	var oldestKey string
	var oldest time.Time
	for k, w := range l.counts {
		if now.Sub(w.start) >= l.window {
			delete(l.counts, k)
			continue
		}
		if oldestKey == "" || w.start.Before(oldest) {
			oldestKey, oldest = k, w.start
		}
	}
	if len(l.counts) >= l.capacity {
		delete(l.counts, oldestKey)
	}
}
