package mem

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// memLink is one endpoint's attachment to a Hub. It implements link.Link.
type memLink struct {
	hub    *Hub
	key    linkKey
	filter link.Filter
	done   chan struct{} // closed by shut
	closed atomic.Bool

	mu struct {
		sync.Mutex
		q       []slot // ring buffer, grown up to the hub's queue length
		head    int
		n       int
		woken   bool          // Wake was called and no Wait has returned since
		waiters int           // Wait calls blocked on sig
		sig     chan struct{} // closed (and replaced) to wake the waiters
	}
}

// slot is one queued frame; buf is reused when the ring comes round.
type slot struct {
	buf []byte
	at  time.Time // receivable from then on (zero: at once)
}

var _ link.Link = (*memLink)(nil)

// Send implements link.Link.
func (l *memLink) Send(frame []byte) error {
	if l.closed.Load() {
		return fmt.Errorf("mem: send: %w", link.ErrClosed)
	}
	if len(frame) < 14 {
		return fmt.Errorf("mem: send: frame of %d bytes has no Ethernet header", len(frame))
	}
	if err := l.hub.send(frame); err != nil {
		return fmt.Errorf("mem: send: %w", err)
	}
	return nil
}

// Recv implements link.Link.
func (l *memLink) Recv(buf []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return 0, fmt.Errorf("mem: recv: %w", link.ErrClosed)
	}
	if l.mu.n == 0 {
		return 0, nil
	}
	s := &l.mu.q[l.mu.head]
	if !s.at.IsZero() && time.Now().Before(s.at) {
		return 0, nil
	}
	n := copy(buf, s.buf)
	l.mu.head = (l.mu.head + 1) % len(l.mu.q)
	l.mu.n--
	return n, nil
}

// Wait implements link.Link.
func (l *memLink) Wait(timeout time.Duration) error {
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		l.mu.Lock()
		if l.closed.Load() {
			l.mu.Unlock()
			return fmt.Errorf("mem: wait: %w", link.ErrClosed)
		}
		if l.mu.woken {
			l.mu.woken = false
			l.mu.Unlock()
			return nil
		}
		now := time.Now()
		var due time.Time // when the head frame becomes receivable
		if l.mu.n > 0 {
			due = l.mu.q[l.mu.head].at
			if !due.After(now) {
				l.mu.Unlock()
				return nil
			}
		}
		d := time.Duration(-1)
		if timeout >= 0 {
			if d = deadline.Sub(now); d <= 0 {
				l.mu.Unlock()
				return nil
			}
		}
		if !due.IsZero() && (d < 0 || due.Sub(now) < d) {
			d = due.Sub(now)
		}
		if l.mu.sig == nil {
			l.mu.sig = make(chan struct{})
		}
		sig := l.mu.sig
		l.mu.waiters++
		l.mu.Unlock()

		var tc <-chan time.Time
		if d >= 0 {
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			tc = timer.C
		}
		select {
		case <-sig:
		case <-l.done:
		case <-tc:
		}
		l.mu.Lock()
		l.mu.waiters--
		l.mu.Unlock()
	}
}

// Wake implements link.Link.
func (l *memLink) Wake() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.woken = true
	l.signalLocked()
}

// signalLocked wakes every blocked Wait so it re-checks the link. l.mu is
// held.
func (l *memLink) signalLocked() {
	if l.mu.waiters > 0 && l.mu.sig != nil {
		close(l.mu.sig)
		l.mu.sig = nil
	}
}

// MAC implements link.Link.
func (l *memLink) MAC() [6]byte { return l.key.mac }

// MTU implements link.Link.
func (l *memLink) MTU() int { return l.hub.mtu }

// Close implements link.Link.
func (l *memLink) Close() error {
	l.hub.remove(l)
	l.shut()
	return nil
}

// shut marks the link closed, drops its queue and releases the waiters.
func (l *memLink) shut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Swap(true) {
		return
	}
	l.mu.q, l.mu.head, l.mu.n = nil, 0, 0
	close(l.done)
}

// enqueue copies f to the tail of the queue, to become receivable at at
// (zero: now). It reports false if the queue is full or the link closed.
func (l *memLink) enqueue(f []byte, at time.Time, limit int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() || l.mu.n >= limit {
		return false
	}
	if l.mu.n == len(l.mu.q) {
		l.grow(limit)
	}
	s := &l.mu.q[(l.mu.head+l.mu.n)%len(l.mu.q)]
	s.buf = append(s.buf[:0], f...)
	s.at = at
	l.mu.n++
	l.signalLocked()
	return true
}

// grow enlarges the full ring (doubling, at most limit slots), keeping the
// order of the queued frames.
func (l *memLink) grow(limit int) {
	size := min(max(2*len(l.mu.q), 16), limit)
	q := make([]slot, size)
	for i := range l.mu.n {
		q[i] = l.mu.q[(l.mu.head+i)%len(l.mu.q)]
	}
	l.mu.q, l.mu.head = q, 0
}
