package engine

import (
	"sync"
	"sync/atomic"
	"time"
)

// Endpoint is an open endpoint. Its methods are safe for concurrent use.
//
// Lock order: Endpoint.mu, then any leaf lock (another endpoint's inbox,
// signal, a largeSend). Endpoint.mu is released while application
// callbacks run (unexpected handler, error handler).
type Endpoint struct {
	eng     *Engine
	handle  uint64
	board   Board
	index   uint32
	key     uint32
	session uint32
	ctxMask uint64

	// Snapshot of the engine configuration at open time.
	disableSelf     bool
	netSelf         bool // this host's endpoints are reached over the network link (DisableShared)
	endpointMax     uint32
	eagerMax        uint32 // to other endpoints of this host
	spin            bool
	spinTime        int64     // ns
	net             *netState // nil: no network path
	release         func()    // frees the host-wide slot claim (nil: none)
	localNICs       []uint64  // nic ids of this host's boards
	localOpen       func(b Board, index uint32) bool
	pid             uint32
	readProcess     func(pid uint32, addr uint64, n uint32, dst [][]byte) error
	readFallback    atomic.Bool // process_vm_readv was refused once: pull from now on
	rndvThreshold   uint32
	unexpMax        int // bound of the unexpected queue, bytes (guarded by mu)
	partnersMax     int
	noPathReason    string
	warn            func(msg string)
	reclaimed       uint64 // partners reclaimed (guarded by mu)
	zombieMax       int
	notAckedMax     uint32
	clock           func() time.Time
	resendDelay     time.Duration
	ackDelay        time.Duration
	pullTimeout     time.Duration
	threadID        func() int64
	report          func(ep *Endpoint, msg string, code Status) Status
	fatal           func(msg string)
	requestResends  atomic.Uint32
	errHandler      atomic.Pointer[any]
	counters        *Counters
	resends         atomic.Uint64 // retransmitted packets, pull and connect requests
	recovery        recoveryStats
	inbox           inbox
	sig             signal
	handlerDoneCond *sync.Cond

	mu struct {
		sync.Mutex
		closed         bool
		posted         reqList
		done           reqList
		unexp          []*message
		unexpBytes     int // counted against unexpMax (bounds.go)
		partners       map[partnerKey]*Partner
		self           *Partner
		handler        UnexpHandler
		handlerCtx     uintptr
		handlerRunning bool
		handlerThread  int64
		progressOff    bool
		waiters        map[*waiter]struct{}
		pendingErr     []*Request
		largeSends     map[*largeSend]struct{}
		forgotten      []*Request         // forgotten pending requests (no handle)
		freeSends      freeList[wireSend] // acknowledged packets, for reuse
		freeReqs       freeList[Request]  // freed requests, for reuse
	}
}

func newEndpoint(e *Engine, cfg Config, b Board, index, key, session uint32, opt EndpointOptions) *Endpoint {
	ep := &Endpoint{
		eng:           e,
		board:         b,
		index:         index,
		key:           key,
		session:       session,
		disableSelf:   cfg.DisableSelf,
		endpointMax:   cfg.EndpointMax,
		eagerMax:      cfg.SharedRndvThreshold,
		spin:          cfg.WaitSpin,
		spinTime:      cfg.SpinTime.Nanoseconds(),
		threadID:      cfg.ThreadID,
		clock:         cfg.Now,
		resendDelay:   cfg.ResendDelay,
		ackDelay:      cfg.AckDelay,
		pullTimeout:   cfg.PullTimeout,
		notAckedMax:   cfg.NotAckedMax,
		zombieMax:     int(cfg.ZombieSend),
		rndvThreshold: cfg.RndvThreshold,
		unexpMax:      cfg.UnexpQueueMax,
		partnersMax:   cfg.PartnersMax,
		noPathReason:  cfg.NoNetworkReason,
		warn:          cfg.Warn,
		report:        cfg.Report,
		fatal:         cfg.Fatal,
	}
	if cfg.DisableShared {
		ep.eagerMax = cfg.RndvThreshold
	}
	if opt.CtxIDBits > 0 {
		ep.ctxMask = (uint64(1)<<opt.CtxIDBits - 1) << opt.CtxIDShift
	}
	ep.requestResends.Store(cfg.ResendsMax)
	for _, b := range cfg.Boards {
		ep.localNICs = append(ep.localNICs, b.NICID)
	}
	ep.localOpen = cfg.LocalEndpointOpen
	ep.pid, ep.readProcess = cfg.PID, cfg.ReadProcess
	if ep.counters = opt.Counters; ep.counters == nil {
		ep.counters = new(Counters)
	}
	h := opt.ErrorHandler
	ep.errHandler.Store(&h)
	ep.handlerDoneCond = sync.NewCond(&ep.mu.Mutex)
	ep.mu.posted = reqList{}
	ep.mu.done = reqList{done: true}
	ep.mu.partners = make(map[partnerKey]*Partner)
	ep.mu.waiters = make(map[*waiter]struct{})
	ep.mu.largeSends = make(map[*largeSend]struct{})
	ep.sig.init()
	return ep
}

// localNIC reports whether nic is one of this host's boards (fixed after
// the engine is created, so no lock is needed).
func (ep *Endpoint) localNIC(nic uint64) bool {
	for _, n := range ep.localNICs {
		if n == nic {
			return true
		}
	}
	return false
}

// Handle returns the endpoint's handle (never 0).
func (ep *Endpoint) Handle() uint64 { return ep.handle }

// Board returns the endpoint's board as it was when the endpoint opened.
func (ep *Endpoint) Board() Board { return ep.board }

// Index returns the endpoint index.
func (ep *Endpoint) Index() uint32 { return ep.index }

// Session returns the endpoint's session id.
func (ep *Endpoint) Session() uint32 { return ep.session }

// Counters returns the endpoint's statistics.
func (ep *Endpoint) Counters() *Counters { return ep.counters }

// Resends returns how many packets, pull requests and connect requests the
// endpoint retransmitted (not one of the Open-MX counters).
func (ep *Endpoint) Resends() uint64 { return ep.resends.Load() }

// ErrorHandler returns the opaque error handler stored for the endpoint
// (nil: use the global one).
func (ep *Endpoint) ErrorHandler() any { return *ep.errHandler.Load() }

// SetErrorHandler stores h and returns the previous handler.
func (ep *Endpoint) SetErrorHandler(h any) any { return *ep.errHandler.Swap(&h) }

// SetRequestTimeout sets the retry budget of requests created later
// (resends; 0xffffffff means never time out).
func (ep *Endpoint) SetRequestTimeout(resends uint32) { ep.requestResends.Store(resends) }

// Closed reports whether the endpoint was closed.
func (ep *Endpoint) Closed() bool {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.mu.closed
}

// Address returns the endpoint's own address (its "myself" partner).
func (ep *Endpoint) Address() Address {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.selfPartner().address()
}

// inHandler reports whether the calling thread runs the unexpected handler.
func (ep *Endpoint) inHandlerLocked() bool {
	return ep.mu.handlerRunning && ep.mu.handlerThread == ep.threadID()
}

// lock takes the endpoint lock and fails if the endpoint is closed.
func (ep *Endpoint) lock() error {
	ep.mu.Lock()
	if ep.mu.closed {
		ep.mu.Unlock()
		return ErrBadEndpoint
	}
	return nil
}

// unlock reports pending errors through the error handler, then releases
// the endpoint lock.
func (ep *Endpoint) unlock() {
	ep.flushErrorsLocked()
	ep.mu.Unlock()
}

// Progress runs one progression pass (omx_progress).
func (ep *Endpoint) Progress() error {
	if err := ep.lock(); err != nil {
		return err
	}
	ep.progressLocked()
	ep.unlock()
	return nil
}

// DisableProgression stops event processing on the endpoint until
// ReenableProgression (spec/api.md §5.25).
func (ep *Endpoint) DisableProgression() error {
	if err := ep.lock(); err != nil {
		return err
	}
	defer ep.mu.Unlock()
	if ep.inHandlerLocked() {
		return ErrInHandler
	}
	for ep.mu.handlerRunning {
		ep.handlerDoneCond.Wait()
	}
	ep.mu.progressOff = true
	return nil
}

// ReenableProgression resumes event processing and runs one pass.
func (ep *Endpoint) ReenableProgression() error {
	if err := ep.lock(); err != nil {
		return err
	}
	ep.mu.progressOff = false
	ep.progressLocked()
	ep.unlock()
	return nil
}

// RegisterUnexpHandler sets (h != nil) or removes the unexpected handler.
func (ep *Endpoint) RegisterUnexpHandler(h UnexpHandler, ctx uintptr) error {
	if err := ep.lock(); err != nil {
		return err
	}
	ep.mu.handler, ep.mu.handlerCtx = h, ctx
	ep.mu.Unlock()
	return nil
}

// Wakeup releases every thread blocked in a wait on the endpoint (they
// return as on a timeout). Threads not blocked are not affected.
func (ep *Endpoint) Wakeup() error {
	if err := ep.lock(); err != nil {
		return err
	}
	for w := range ep.mu.waiters {
		w.woken = true
	}
	ep.mu.Unlock()
	ep.sig.broadcast()
	return nil
}

// Close closes the endpoint: every request is destroyed without completion,
// unexpected messages are dropped, rendezvous senders waiting on this
// endpoint are told it closed, and the endpoint index is released.
func (ep *Endpoint) Close() error {
	if err := ep.lock(); err != nil {
		return err
	}
	if ep.inHandlerLocked() {
		ep.mu.Unlock()
		return ErrInHandler
	}
	for ep.mu.handlerRunning {
		ep.handlerDoneCond.Wait()
	}
	if ep.mu.closed {
		ep.mu.Unlock()
		return ErrBadEndpoint
	}
	for _, p := range ep.mu.partners {
		if p.w != nil && ep.net != nil {
			if !p.w.ackDue.IsZero() {
				ep.sendAckLocked(p) // flush delayed acks (spec/wire.md §4.12)
			}
			ep.sendGoodbyeLocked(p)
		}
	}
	ep.mu.closed = true
	for _, ev := range ep.inbox.close() {
		if ev.msg != nil {
			ep.refuseMessage(ev.msg, StatusRemoteEndpointClosed)
		}
	}
	for _, m := range ep.mu.unexp {
		ep.refuseMessage(m, StatusRemoteEndpointClosed)
	}
	ep.mu.unexp = nil
	ep.mu.unexpBytes = 0
	for ls := range ep.mu.largeSends {
		ls.abort()
	}
	ep.mu.largeSends = nil
	for _, r := range ep.requestsLocked() {
		ep.freeLocked(r)
	}
	ep.mu.posted, ep.mu.done = reqList{}, reqList{done: true}
	ep.mu.pendingErr = nil
	for k, p := range ep.mu.partners {
		ep.eng.partners.remove(p.handle)
		delete(ep.mu.partners, k)
	}
	ep.mu.self = nil
	for w := range ep.mu.waiters {
		w.woken = true
	}
	ep.mu.Unlock()
	ep.sig.broadcast()
	ep.closeNet()
	ep.eng.release(ep)
	return nil
}

// requestsLocked returns the endpoint's live requests, those the
// application forgot included.
func (ep *Endpoint) requestsLocked() []*Request {
	var rs []*Request
	for _, r := range ep.eng.requests.snapshot() {
		if r.ep == ep {
			rs = append(rs, r)
		}
	}
	for _, r := range ep.mu.forgotten {
		if r.state != reqFreed {
			rs = append(rs, r)
		}
	}
	return rs
}

// refuseMessage tells the sender of a message that will never be received.
func (ep *Endpoint) refuseMessage(m *message, st Status) {
	if m.large != nil {
		m.large.notify(0, st)
	}
}

// selfPartner returns the endpoint's partner for itself, creating it.
func (ep *Endpoint) selfPartner() *Partner {
	if ep.mu.self == nil {
		ep.mu.self = ep.partnerLocked(ep.board.NICID, ep.index, ep.session)
	}
	return ep.mu.self
}

// partnerLocked returns (creating it) the partner for (nic, index), and
// records its latest session.
func (ep *Endpoint) partnerLocked(nic uint64, index, session uint32) *Partner {
	k := partnerKey{nic, index}
	p := ep.mu.partners[k]
	if p == nil {
		p = &Partner{ep: ep, nicID: nic, index: index}
		p.handle = ep.eng.partners.add(p)
		ep.mu.partners[k] = p
	}
	p.session = session
	return p
}

// partnerForAddr resolves a destination address: the partner it references
// when it is one of this endpoint's, else the one for its (nic, index).
func (ep *Endpoint) partnerForAddr(a Address) *Partner {
	if p, ok := ep.eng.partners.get(partnerHandle(a.ref)); ok && p.ep == ep && p.nicID == a.NICID && p.index == a.Endpoint {
		return p
	}
	k := partnerKey{a.NICID, a.Endpoint}
	if p := ep.mu.partners[k]; p != nil {
		return p
	}
	return ep.partnerLocked(a.NICID, a.Endpoint, a.Session)
}
