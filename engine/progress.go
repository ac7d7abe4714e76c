package engine

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// message is an incoming message, in an inbox or the unexpected queue.
type message struct {
	src        partnerKey
	srcSession uint32
	matchInfo  uint64
	length     uint32
	class      int
	sync       bool
	data       []byte      // classEager: the payload (a private copy)
	send       *Request    // classSelf: the sender's request, same endpoint
	large      *largeSend  // classRndv: the sender's buffer
	pullFrom   *pullSource // classWireRndv: where to pull from
}

// largeSend is a rendezvous send's buffer as seen by the receiver. The
// receiver copies from segs under mu unless the sender aborted it (its
// endpoint closed or the partner was reset), then notifies the sender.
type largeSend struct {
	mu      sync.Mutex
	aborted bool
	done    bool
	segs    [][]byte
	length  uint32
	sender  *Endpoint
	req     *Request // guarded by the sender's lock
	partner *Partner
}

// pull copies the message into dst (at most n bytes) and reports the status
// the receive completes with.
func (ls *largeSend) pull(dst [][]byte, n uint32) (uint32, Status) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.aborted {
		return 0, StatusRemoteEndpointClosed
	}
	return copySegments(dst, ls.segs, n), StatusSuccess
}

// abort makes later pulls fail; called by the sender.
func (ls *largeSend) abort() {
	ls.mu.Lock()
	ls.aborted = true
	ls.segs = nil
	ls.mu.Unlock()
}

// notify tells the sender how many bytes the receiver took (rendezvous
// completion notice), or that the message was refused.
func (ls *largeSend) notify(xfer uint32, st Status) {
	ls.mu.Lock()
	first := !ls.done
	ls.done = true
	ls.mu.Unlock()
	if first {
		ls.sender.inbox.push(event{large: ls, xfer: xfer, status: st}, &ls.sender.sig)
	}
}

// event is an inbox entry: a message arrival or a rendezvous notice.
type event struct {
	frame  []byte // a sequenced frame the progress goroutine read
	local  bool   // frame came through the same-host link
	msg    *message
	large  *largeSend
	xfer   uint32
	status Status
}

// inbox queues events for an endpoint until it progresses. Leaf lock.
type inbox struct {
	mu     sync.Mutex
	q      []event
	n      atomic.Int32
	closed bool
	// frames and bytes count the queued frame events (bounded: see
	// bounds.go).
	frames, bytes int
}

// roomFor reports whether a frame of n bytes may be queued.
func (b *inbox) roomFor(n int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.frames < inboxFramesMax && b.bytes+n <= inboxBytesMax
}

func (b *inbox) push(ev event, sig *signal) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	b.q = append(b.q, ev)
	if ev.frame != nil {
		b.frames++
		b.bytes += len(ev.frame)
	}
	b.n.Add(1)
	b.mu.Unlock()
	sig.broadcast()
	return true
}

func (b *inbox) pop() (event, bool) {
	if b.n.Load() == 0 {
		return event{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.q) == 0 {
		return event{}, false
	}
	ev := b.q[0]
	if ev.frame != nil {
		b.frames--
		b.bytes -= len(ev.frame)
	}
	b.q[0] = event{}
	b.q = b.q[1:]
	if len(b.q) == 0 {
		b.q = nil
	}
	b.n.Add(-1)
	return ev, true
}

func (b *inbox) close() []event {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	q := b.q
	b.q = nil
	b.frames, b.bytes = 0, 0
	b.n.Store(0)
	return q
}

// signal wakes blocked callers when something happened on an endpoint: a
// channel closed and replaced at a broadcast when a caller took it, plus a
// generation counter polled while spinning. Leaf lock.
type signal struct {
	mu    sync.Mutex
	ch    chan struct{}
	armed bool // ch was handed to a waiter
	gen   atomic.Uint64
	wake  func() // also wakes a thread sleeping in the link's Wait
}

func (s *signal) init() { s.ch = make(chan struct{}) }

func (s *signal) current() (chan struct{}, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = true
	return s.ch, s.gen.Load()
}

func (s *signal) broadcast() {
	s.mu.Lock()
	s.gen.Add(1)
	if s.armed {
		close(s.ch)
		s.ch = make(chan struct{})
		s.armed = false
		if s.wake != nil {
			s.wake()
		}
	}
	s.mu.Unlock()
}

// waiter is a thread blocked on the endpoint; Wakeup sets woken.
type waiter struct{ woken bool }

// postProgressLocked is the progression pass of posting calls (isend,
// irecv): queued events are processed, but the link is only polled by the
// completion calls, which the application calls next anyway; this saves a
// system call per posted request on the latency path.
func (ep *Endpoint) postProgressLocked() { ep.progressPassLocked(false) }

// progressLocked runs one progression pass: every queued event is processed
// in order, unless progression is disabled or the unexpected handler is
// running (then events wait). Called with ep.mu held; may release it while
// the unexpected handler runs.
func (ep *Endpoint) progressLocked() { ep.progressPassLocked(true) }

func (ep *Endpoint) progressPassLocked(pollLink bool) {
	for ep.inbox.n.Load() > 0 && !ep.mu.progressOff && !ep.mu.handlerRunning && !ep.mu.closed {
		ev, ok := ep.inbox.pop()
		if !ok {
			break
		}
		switch {
		case ev.frame != nil:
			ep.dispatchLocked(ev.frame, ev.local, true)
		case ev.msg != nil:
			ep.arrivalLocked(ev.msg)
		default:
			ep.noticeLocked(ev.large, ev.xfer, ev.status)
		}
	}
	if pollLink && !ep.mu.progressOff && !ep.mu.handlerRunning && !ep.mu.closed {
		ep.pollLinkLocked(true)
	}
}

// noticeLocked completes a rendezvous send the receiver has finished with.
func (ep *Endpoint) noticeLocked(ls *largeSend, xfer uint32, st Status) {
	delete(ep.mu.largeSends, ls)
	r := ls.req
	if r == nil || r.state != reqPending {
		return
	}
	r.large = nil
	r.status.XferLength = xfer
	if st == StatusSuccess && xfer < r.length {
		st = StatusMessageTruncated
	}
	ep.completeLocked(r, st)
}

// matches is the matching rule of spec/api.md §7.2.
func matches(info, recvInfo, mask uint64) bool { return info&mask == recvInfo }

// arrivalLocked matches an incoming message against the posted receives,
// offers it to the unexpected handler, or queues it as unexpected.
func (ep *Endpoint) arrivalLocked(m *message) {
	if ep.matchPostedLocked(m) {
		return
	}
	if h := ep.mu.handler; h != nil {
		src := ep.partnerLocked(m.src.nicID, m.src.index, m.srcSession).address()
		data, avail := m.available()
		ep.mu.handlerRunning = true
		ep.mu.handlerThread = ep.threadID()
		ctx := ep.mu.handlerCtx
		ep.flushErrorsLocked()
		ep.mu.Unlock()
		action := h(ctx, src, m.matchInfo, m.length, data, avail)
		ep.mu.Lock()
		ep.mu.handlerRunning = false
		ep.handlerDoneCond.Broadcast()
		if ep.mu.closed {
			return
		}
		switch action {
		case RecvFinished:
			ep.consumeLocked(m)
			return
		case RecvContinue:
			if ep.matchPostedLocked(m) {
				return
			}
		default:
			ep.mu.Unlock()
			ep.fatal("The unexpected handler must return either OMX_UNEXP_HANDLER_RECV_FINISHED or _CONTINUE")
			ep.mu.Lock()
			return
		}
	}
	ep.queueUnexpLocked(m)
}

// dataAvailMax is the largest eager message whose payload the unexpected
// handler gets directly (a message carried by a single frame).
const dataAvailMax = 4096

// available returns the payload the unexpected handler may see.
func (m *message) available() ([]byte, bool) {
	switch m.class {
	case classEager:
		if m.length <= dataAvailMax {
			return m.data, true
		}
	case classSelf:
		if len(m.send.segs) == 1 {
			return m.send.segs[0], true
		}
	}
	return nil, false
}

// consumeLocked drops a message the unexpected handler finished with.
func (ep *Endpoint) consumeLocked(m *message) {
	switch m.class {
	case classSelf:
		s := m.send
		s.status.XferLength = m.length
		ep.completeLocked(s, StatusSuccess)
	case classRndv:
		m.large.notify(0, StatusSuccess)
	case classWireRndv:
		ep.sendNotifyLocked(m.pullFrom, 0)
	}
}

func (ep *Endpoint) matchPostedLocked(m *message) bool {
	for r := ep.mu.posted.head; r != nil; r = ep.mu.posted.nextOf(r) {
		if matches(m.matchInfo, r.status.MatchInfo, r.matchMask) {
			ep.mu.posted.remove(r)
			r.posted = false
			ep.deliverLocked(m, r)
			return true
		}
	}
	return false
}

// deliverLocked gives message m to receive r.
func (ep *Endpoint) deliverLocked(m *message, r *Request) {
	r.matched = true
	r.partner = ep.partnerLocked(m.src.nicID, m.src.index, m.srcSession)
	r.status.Addr = r.partner.address()
	r.status.MatchInfo = m.matchInfo
	r.status.MsgLength = m.length
	xfer := min(m.length, r.length)
	st := StatusSuccess
	switch m.class {
	case classEager:
		copySegments(r.segs, [][]byte{m.data}, xfer)
	case classSelf:
		copySegments(r.segs, m.send.segs, xfer)
		m.send.status.XferLength = xfer
		sst := StatusSuccess
		if xfer < m.length {
			sst = StatusMessageTruncated
		}
		ep.completeLocked(m.send, sst)
	case classRndv:
		xfer, st = m.large.pull(r.segs, xfer)
		if st == StatusSuccess {
			m.large.notify(xfer, StatusSuccess)
		}
	case classWireRndv:
		ep.startPullLocked(r, m.pullFrom)
		return
	}
	r.status.XferLength = xfer
	if st == StatusSuccess && xfer < m.length {
		st = StatusMessageTruncated
	}
	ep.completeLocked(r, st)
}

// newRequestLocked creates a pending request of the endpoint, reusing a
// freed one when there is one.
func (ep *Endpoint) newRequestLocked(kind RequestKind, ctx uintptr) *Request {
	r := ep.mu.freeReqs.get()
	if r == nil {
		r = new(Request)
	}
	*r = Request{ep: ep, kind: kind, state: reqPending}
	r.status.Context = ctx
	r.handle = ep.eng.requests.add(r)
	return r
}

// freeLocked forgets a request for good; its handle stops working.
func (ep *Endpoint) freeLocked(r *Request) {
	if r.state == reqFreed {
		return
	}
	r.state = reqFreed
	r.segs = nil
	ep.eng.requests.remove(r.handle)
	ep.recycleLocked(r)
}

// reqPoolMax bounds the freed requests an endpoint keeps for reuse.
const reqPoolMax = 64

// recycleLocked keeps a freed request for reuse when nothing refers to it
// any more: the caller knew it by handle only (a stale handle fails: the
// next use gets a new one), it is in no list, and no packet, message,
// rendezvous or pull points to it.
func (ep *Endpoint) recycleLocked(r *Request) {
	if !r.byHandle || r.pinned || r.unacked || r.forgotten || r.internal || ep.mu.closed || r.state != reqFreed {
		return
	}
	r.partner, r.segs, r.large, r.wrndv, r.wpull = nil, nil, nil, nil, nil
	r.segBuf = [inlineSegments][]byte{}
	r.byHandle = false // in the pool: never recycled twice
	ep.mu.freeReqs.put(r, reqPoolMax)
}

// freeList keeps objects for reuse (last in, first out).
type freeList[T any] []*T

// get returns a kept object, or nil.
func (f *freeList[T]) get() *T {
	n := len(*f)
	if n == 0 {
		return nil
	}
	x := (*f)[n-1]
	(*f)[n-1] = nil
	*f = (*f)[:n-1]
	return x
}

// put keeps x unless max objects are kept already.
func (f *freeList[T]) put(x *T, max int) {
	if len(*f) < max {
		*f = append(*f, x)
	}
}

// completeLocked ends a request with st. A non-success status first goes
// through the error handler (when the lock is next released).
func (ep *Endpoint) completeLocked(r *Request, st Status) {
	if r.state != reqPending {
		return
	}
	r.status.Code = st
	r.segs = nil
	if st != StatusSuccess && !r.internal {
		r.state = reqReporting
		ep.mu.pendingErr = append(ep.mu.pendingErr, r)
		return
	}
	ep.finishLocked(r)
}

// finishLocked puts a completed request in the done queue, or frees it if
// it was forgotten.
func (ep *Endpoint) finishLocked(r *Request) {
	r.state = reqDone
	if r.forgotten {
		ep.freeLocked(r)
		return
	}
	ep.mu.done.pushBack(r)
	if len(ep.mu.waiters) > 0 {
		ep.sig.broadcast()
	}
}

// flushErrorsLocked passes the statuses of requests that completed with an
// error through the error handler (lock released meanwhile), then makes
// them visible.
func (ep *Endpoint) flushErrorsLocked() {
	for len(ep.mu.pendingErr) > 0 && !ep.mu.closed {
		r := ep.mu.pendingErr[0]
		ep.mu.pendingErr = ep.mu.pendingErr[1:]
		if r.state == reqFreed {
			continue
		}
		msg := completionMessage(r)
		ep.mu.Unlock()
		code := ep.report(ep, msg, r.status.Code)
		ep.mu.Lock()
		if r.state == reqFreed {
			continue
		}
		r.status.Code = code
		ep.finishLocked(r)
	}
}

func completionMessage(r *Request) string {
	switch {
	case r.kind == KindRecv && r.status.Code == StatusMessageTruncated:
		return fmt.Sprintf("Completing receive request, truncated from %d to %d bytes", r.status.MsgLength, r.status.XferLength)
	case r.kind == KindRecv:
		return "Completing receive request"
	case r.kind == KindSend && r.status.Code == StatusMessageTruncated:
		return fmt.Sprintf("Completing send request, truncated from %d to %d bytes", r.status.MsgLength, r.status.XferLength)
	case r.kind == KindSend:
		return "Completing send request"
	default:
		return "Completing iconnect request"
	}
}

// waitLocked blocks until cond holds (true), or the timeout expires, Wakeup
// is called or the endpoint closes (false). timeoutMs 0xffffffff means
// forever; 0 means a single check. cond runs with ep.mu held after a
// progression pass.
func (ep *Endpoint) waitLocked(timeoutMs uint32, cond func() bool) bool {
	var (
		w         *waiter // registered after the first unsuccessful pass
		deadline  time.Time
		timer     *time.Timer
		spinUntil time.Time
	)
	defer func() {
		if w != nil {
			delete(ep.mu.waiters, w)
		}
		if timer != nil {
			timer.Stop()
		}
	}()
	if cond() { // already satisfied: no progression pass needed
		return true
	}
	for {
		ep.progressLocked()
		ep.flushErrorsLocked()
		if ep.mu.closed {
			return false
		}
		if cond() {
			return true
		}
		if timeoutMs == 0 {
			return false
		}
		if w == nil {
			w = &waiter{}
			ep.mu.waiters[w] = struct{}{}
			if timeoutMs != 0xffffffff {
				deadline = time.Now().Add(time.Duration(timeoutMs) * time.Millisecond)
			}
		}
		if w.woken || (!deadline.IsZero() && !time.Now().Before(deadline)) {
			return false
		}
		if ep.net != nil {
			ep.blockNetLocked(deadline, &spinUntil)
			continue
		}
		ch, gen := ep.sig.current()
		ep.mu.Unlock()
		ep.block(ch, gen, deadline, &timer)
		ep.mu.Lock()
	}
}

// blockNetLocked waits for network progress: it returns at once while
// spinning (the caller polls the link again), then sleeps in the link's
// Wait, which a frame, Wakeup or a completion by another thread ends.
// Called and returns with ep.mu held.
func (ep *Endpoint) blockNetLocked(deadline time.Time, spinUntil *time.Time) {
	now := ep.now()
	if spinUntil.IsZero() {
		*spinUntil = now.Add(time.Duration(ep.spinTime))
	}
	if ep.spin || now.Before(*spinUntil) {
		ep.mu.Unlock()
		ep.mu.Lock()
		return
	}
	d := 10 * time.Millisecond // bounded: timers of the progress goroutine may complete requests
	if !deadline.IsZero() {
		d = min(d, deadline.Sub(now))
	}
	_, gen := ep.sig.current()
	lnk, shm := ep.net.lnk, ep.net.shm
	ep.mu.Unlock()
	if ep.sig.gen.Load() == gen && ep.inbox.n.Load() == 0 && d > 0 {
		if shm != nil {
			// Both links at once; a millisecond at most if they cannot.
			link.WaitBoth(lnk, shm, d, time.Millisecond)
		} else {
			lnk.Wait(d)
		}
	}
	ep.mu.Lock()
}

// block waits, without the endpoint lock, for the signal to move past gen,
// for the deadline, or spins first (forever with WaitSpin).
func (ep *Endpoint) block(ch chan struct{}, gen uint64, deadline time.Time, timer **time.Timer) {
	start := time.Now()
	for ep.spin || time.Since(start).Nanoseconds() < ep.spinTime {
		if ep.sig.gen.Load() != gen || ep.inbox.n.Load() > 0 {
			return
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return
		}
	}
	if deadline.IsZero() {
		<-ch
		return
	}
	d := time.Until(deadline)
	if d <= 0 {
		return
	}
	if *timer == nil {
		*timer = time.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
	select {
	case <-ch:
	case <-(*timer).C:
	}
}
