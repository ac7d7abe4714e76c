package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// Board is an attached interface (spec/api.md §2.2).
type Board struct {
	Index    int
	NICID    uint64
	IfName   string
	Hostname string
	MTU      int
	NUMANode int // -1 when unknown
	Loopback bool
}

// UnexpHandler is the endpoint's unexpected handler (spec/api.md §7.4). data
// is the payload when avail is true (valid only during the call); the
// returned action is 0 (continue) or 1 (finished).
type UnexpHandler func(ctx uintptr, src Address, matchInfo uint64, length uint32, data []byte, avail bool) int

// Unexpected-handler actions.
const (
	RecvContinue = 0
	RecvFinished = 1
)

// Config configures an Engine. The zero value of each field means its
// default (documented on the field).
type Config struct {
	Boards      []Board // attached boards, by index
	BoardMax    uint32  // 32
	EndpointMax uint32  // 32

	DisableSelf bool // self sends take the normal message path
	// DisableShared sends to endpoints of this host (of this process
	// too) through the board's network link (OpenLink, asked to deliver
	// the host's frames to itself) with the remote thresholds; an
	// endpoint without a network link (no raw-socket permission) falls
	// back to the local link with the remote thresholds.
	DisableShared bool
	RndvThreshold uint32 // 32768: largest eager message to remote hosts
	// SharedRndvThreshold is the largest eager message between endpoints
	// of this host (4096).
	SharedRndvThreshold uint32
	ResendsMax          uint32 // 1000: default retry budget of a request

	// WaitSpin makes blocking calls poll instead of sleeping.
	WaitSpin bool
	// SpinTime is how long a blocking call polls before it sleeps (50 µs).
	SpinTime time.Duration

	// ThreadID identifies the calling thread (to refuse some calls from
	// inside the unexpected handler). Default: every call is one thread.
	ThreadID func() int64
	// Report passes a non-success completion status through the error
	// handler and returns the status to store (spec/api.md §4.1). Called
	// without any engine lock held. Default: the status unchanged.
	Report func(ep *Endpoint, msg string, code Status) Status
	// Fatal ends the process after a broken contract (an unexpected
	// handler returning a bad action). Default: panic.
	Fatal func(msg string)
	// Session returns a new random session id. Default: math/rand/v2.
	Session func() uint32

	// OpenLink attaches an endpoint to its board's network link and tells
	// the wire mode; nil (or a nil Link) means the endpoint has no network
	// path (the loopback board, or no raw socket access).
	OpenLink func(b Board, endpoint uint32) (link.Link, wire.Mode, error)
	// OpenLocalLink attaches an endpoint to the other processes of this
	// host (shared memory); the mode is used when there is no OpenLink
	// link. Nil: no same-host path between processes.
	OpenLocalLink func(b Board, endpoint uint32) (link.Link, wire.Mode, error)
	// PID is this process's id, announced to same-host receivers of large
	// messages so that they copy them in one step (0: never).
	PID uint32
	// ReadProcess copies n bytes at addr of process pid into dst (the
	// same-host single copy: process_vm_readv). Nil, or an error, makes
	// the receiver pull the message through the same-host link instead.
	ReadProcess func(pid uint32, addr uint64, n uint32, dst [][]byte) error
	// LocalEndpointOpen reports whether another process of this host has
	// endpoint index of board b open (nil: assume it has). Sends and
	// connects to an index nobody opened fail at once with
	// REMOTE_ENDPOINT_CLOSED instead of waiting for an answer.
	LocalEndpointOpen func(b Board, index uint32) bool
	// Peers is the host's peer table (local boards first).
	Peers []Peer
	// NotAckedMax is the number of received messages that triggers an
	// explicit ack (4).
	NotAckedMax uint32
	// ZombieSend bounds the eager sends completed before their ack (512);
	// NoZombies makes every send wait for its ack.
	ZombieSend uint32
	NoZombies  bool
	// Now reads the clock (time.Now).
	Now func() time.Time
	// RefreshPeers returns the new remote peer table when it changed
	// (the table published by the node service or omx_init_peers); it is
	// polled about once a second by the progress goroutines. Nil: never.
	RefreshPeers func() ([]Peer, bool)
	// AcquireSlot claims (board, index) for this process host-wide (the
	// endpoint registry of the node state directory). It returns a release
	// function, or an error wrapping ErrBusy when another process holds
	// the slot. Nil: only this process is checked.
	AcquireSlot func(b Board, index, session uint32) (release func(), err error)
	// NoNetworkReason says why endpoints have no network path (no
	// raw-socket rights, no node service), for the message connects to
	// other hosts give; Warn prints such a message (once per process; nil:
	// nothing is printed).
	NoNetworkReason string
	Warn            func(msg string)
	// UnexpQueueMax bounds the unexpected queue of an endpoint, in bytes
	// (DefaultUnexpQueueMax; MX_PARAM_UNEXP_QUEUE_MAX changes it per
	// endpoint): messages from the wire beyond it are dropped unacked.
	UnexpQueueMax int
	// PartnersMax bounds the partners an endpoint keeps
	// (DefaultPartnersMax).
	PartnersMax int
	// Protocol delays (spec/wire.md §8.2): retransmission (500 ms),
	// delayed ack (1 ms; Open-MX: 1/64 s), pull retransmission (1 s). The retransmission
	// timeouts come from the measured round trip (wirecc.go); ResendDelay
	// and PullTimeout are their ceilings, and ResendDelay is the unit of
	// the retry budget: a request fails after ResendsMax × ResendDelay
	// without an answer. Tests shorten them.
	ResendDelay, AckDelay, PullTimeout time.Duration
}

func (c *Config) setDefaults() {
	// The engine owns its tables: the caller's slices are not shared.
	c.Boards = append([]Board(nil), c.Boards...)
	c.Peers = append([]Peer(nil), c.Peers...)
	if c.BoardMax == 0 {
		c.BoardMax = 32
	}
	if c.EndpointMax == 0 {
		c.EndpointMax = 32
	}
	if c.RndvThreshold == 0 {
		c.RndvThreshold = 32768
	}
	if c.SharedRndvThreshold == 0 {
		c.SharedRndvThreshold = 4096
	}
	if c.ResendsMax == 0 {
		c.ResendsMax = 1000
	}
	if c.UnexpQueueMax <= 0 {
		c.UnexpQueueMax = DefaultUnexpQueueMax
	}
	if c.PartnersMax <= 0 {
		c.PartnersMax = DefaultPartnersMax
	}
	if c.SpinTime == 0 {
		c.SpinTime = 50 * time.Microsecond
	}
	if c.ThreadID == nil {
		c.ThreadID = func() int64 { return 0 }
	}
	if c.Report == nil {
		c.Report = func(_ *Endpoint, _ string, code Status) Status { return code }
	}
	if c.Fatal == nil {
		c.Fatal = func(msg string) { panic(msg) }
	}
	if c.Session == nil {
		c.Session = rand.Uint32
	}
	if c.NotAckedMax == 0 {
		c.NotAckedMax = 4
	}
	if c.ZombieSend == 0 && !c.NoZombies {
		c.ZombieSend = 512
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ResendDelay == 0 {
		c.ResendDelay = 500 * time.Millisecond
	}
	if c.AckDelay == 0 {
		c.AckDelay = time.Millisecond
	}
	if c.PullTimeout == 0 {
		c.PullTimeout = time.Second
	}
}

// Engine is the library state of one process: its boards and the endpoints
// it opened. Safe for concurrent use.
type Engine struct {
	mu    sync.Mutex
	cfg   Config
	slots map[slotKey]*Endpoint // open endpoints by (board, index)
	// open is len(slots), readable without the lock: with a single
	// endpoint open, sends need not look for another one of this process.
	open atomic.Int32

	peerIdx   map[uint64]uint16 // index of each nic in the peer table
	endpoints table[*Endpoint]
	requests  table[*Request]
	partners  table[*Partner]

	goroutines atomic.Int64 // goroutines the engine started and has not joined

	noPathWarned atomic.Bool // the no-network-path message was printed

	nextRefresh atomic.Int64 // unix ns of the next RefreshPeers poll
}

// refreshPeers polls the peer table source at most once a second.
func (e *Engine) refreshPeers(now time.Time) {
	next := e.nextRefresh.Load()
	if now.UnixNano() < next || !e.nextRefresh.CompareAndSwap(next, now.Add(time.Second).UnixNano()) {
		return
	}
	e.mu.Lock()
	f := e.cfg.RefreshPeers
	e.mu.Unlock()
	if f == nil {
		return
	}
	if peers, changed := f(); changed {
		e.SetPeers(peers)
	}
}

type slotKey struct{ board, index uint32 }

// New returns an Engine with cfg.
func New(cfg Config) *Engine {
	cfg.setDefaults()
	e := &Engine{cfg: cfg, slots: make(map[slotKey]*Endpoint)}
	e.reindexLocked()
	e.partners.genMask = partnerGenMask
	// Endpoint and request handles keep their top two bits clear, for the
	// kind tags the C boundary adds.
	e.endpoints.genMask = 1<<30 - 1
	e.requests.genMask = 1<<30 - 1
	return e
}

// Config returns the engine's configuration (with defaults filled in).
func (e *Engine) Config() Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg
}

// SetConfig replaces the configuration used by endpoints opened from now on.
func (e *Engine) SetConfig(cfg Config) {
	cfg.setDefaults()
	e.mu.Lock()
	e.cfg = cfg
	e.reindexLocked()
	e.mu.Unlock()
}

// Boards returns the attached boards.
func (e *Engine) Boards() []Board {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Board(nil), e.cfg.Boards...)
}

// Board returns the board of index i.
func (e *Engine) Board(i uint32) (Board, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.cfg.Boards {
		if uint32(b.Index) == i {
			return b, true
		}
	}
	return Board{}, false
}

// BoardByNIC returns the local board whose nic id is nic.
func (e *Engine) BoardByNIC(nic uint64) (Board, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.cfg.Boards {
		if b.NICID == nic {
			return b, true
		}
	}
	return Board{}, false
}

// peersLocked is the peer table: the local boards, then the configured
// peers that are not local boards.
func (e *Engine) peersLocked() []Peer {
	ps := make([]Peer, 0, len(e.cfg.Boards)+len(e.cfg.Peers))
	for _, b := range e.cfg.Boards {
		ps = append(ps, Peer{NICID: b.NICID, Hostname: b.Hostname})
	}
	for _, p := range e.cfg.Peers {
		local := false
		for _, b := range e.cfg.Boards {
			local = local || b.NICID == p.NICID
		}
		if !local {
			ps = append(ps, p)
		}
	}
	return ps
}

// PeerTable returns the peer table.
func (e *Engine) PeerTable() []Peer {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.peersLocked()
}

// SetPeers replaces the remote part of the peer table (a reloaded peers
// file); local boards stay first.
func (e *Engine) SetPeers(peers []Peer) {
	e.mu.Lock()
	e.cfg.Peers = append([]Peer(nil), peers...)
	e.reindexLocked()
	e.mu.Unlock()
}

// reindexLocked rebuilds the nic -> peer table index map after the table
// changed (names do not change indexes).
func (e *Engine) reindexLocked() {
	ps := e.peersLocked()
	e.peerIdx = make(map[uint64]uint16, len(ps))
	for i, p := range ps {
		if _, dup := e.peerIdx[p.NICID]; !dup {
			e.peerIdx[p.NICID] = uint16(i)
		}
	}
}

// peerIndex returns the index of nic in the peer table (a map lookup:
// frames from the wire ask it).
func (e *Engine) peerIndex(nic uint64) (uint16, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	i, ok := e.peerIdx[nic]
	return i, ok
}

// HostnameToNICID looks a host name up in the peer table.
func (e *Engine) HostnameToNICID(name string) (uint64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.peersLocked() {
		if p.Hostname == name {
			return p.NICID, nil
		}
	}
	return 0, ErrPeerNotFound
}

// NICIDToHostname returns the host name of a peer ("" when unknown yet).
func (e *Engine) NICIDToHostname(nic uint64) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.peersLocked() {
		if p.NICID == nic {
			return p.Hostname, nil
		}
	}
	return "", ErrPeerNotFound
}

// Endpoint returns the open endpoint of handle h.
func (e *Engine) Endpoint(h uint64) (*Endpoint, bool) { return e.endpoints.get(h) }

// Request returns the live request of handle h.
func (e *Engine) Request(h uint64) (*Request, bool) { return e.requests.get(h) }

// RequestContext returns the context of a live request, lock-free
// (omx_context).
func (e *Engine) RequestContext(h uint64) (uintptr, bool) {
	r, ok := e.requests.get(h)
	if !ok {
		return 0, false
	}
	return r.status.Context, true
}

// AddrContext returns the context attached to the partner an address
// designates (0 when the partner is gone).
func (e *Engine) AddrContext(a Address) uintptr {
	if p, ok := e.partners.get(partnerHandle(a.ref)); ok {
		return p.context.Load()
	}
	return 0
}

// SetAddrContext attaches ctx to the partner an address designates; it
// reports whether the partner still exists.
func (e *Engine) SetAddrContext(a Address, ctx uintptr) bool {
	if p, ok := e.partners.get(partnerHandle(a.ref)); ok {
		p.context.Store(ctx)
		return true
	}
	return false
}

// Stats counts what the engine holds, for leak checks.
type Stats struct {
	Endpoints, Requests, Partners, Goroutines, Files int
}

// Stats returns the live object counts.
func (e *Engine) Stats() Stats {
	return Stats{
		Endpoints:  e.endpoints.len(),
		Requests:   e.requests.len(),
		Partners:   e.partners.len(),
		Goroutines: int(e.goroutines.Load()),
	}
}

// EndpointOptions are the per-endpoint parameters of OpenEndpoint.
type EndpointOptions struct {
	CtxIDBits, CtxIDShift uint8
	ErrorHandler          any // opaque to the engine, see Endpoint.ErrorHandler
	// Counters, when not nil, holds the endpoint's statistics (for example
	// in a file of the node state directory); nil: counters of its own.
	Counters *Counters
}

// Any board or endpoint index.
const Any = 0xffffffff

// OpenEndpoint opens endpoint index on board (either may be Any) with the
// application key (spec/api.md §5.3 step 8: endpoint indexes in the outer
// loop, boards in the inner loop). Errors: ErrBadEndpoint (index out of
// range), ErrBoardNotFound, ErrBusy, ErrParamBadValue.
func (e *Engine) OpenEndpoint(board, index, key uint32, opt EndpointOptions) (*Endpoint, error) {
	if opt.CtxIDBits > 16 || int(opt.CtxIDBits)+int(opt.CtxIDShift) > 64 {
		return nil, fmt.Errorf("opening endpoint with %d ctxid bits at shift %d: %w", opt.CtxIDBits, opt.CtxIDShift, ErrParamBadValue)
	}
	e.mu.Lock()
	cfg := e.cfg
	var boards, indexes []uint32
	if board == Any {
		for _, b := range cfg.Boards {
			boards = append(boards, uint32(b.Index))
		}
	} else {
		boards = []uint32{board}
	}
	if index == Any {
		for i := uint32(0); i < cfg.EndpointMax; i++ {
			indexes = append(indexes, i)
		}
	} else {
		indexes = []uint32{index}
	}
	busy := false
	var ep *Endpoint
search:
	for _, i := range indexes {
		if i >= cfg.EndpointMax {
			e.mu.Unlock()
			return nil, fmt.Errorf("endpoint index %d (max %d): %w", i, cfg.EndpointMax, ErrBadEndpoint)
		}
		for _, bi := range boards {
			var b *Board
			for k := range cfg.Boards {
				if uint32(cfg.Boards[k].Index) == bi {
					b = &cfg.Boards[k]
				}
			}
			if b == nil {
				continue
			}
			if e.slots[slotKey{bi, i}] != nil {
				busy = true
				continue
			}
			session := cfg.Session()
			var release func()
			if cfg.AcquireSlot != nil {
				var err error
				if release, err = cfg.AcquireSlot(*b, i, session); err != nil {
					if errors.Is(err, ErrBusy) {
						busy = true
						continue
					}
					e.mu.Unlock()
					return nil, fmt.Errorf("attaching endpoint to driver device: %w", err)
				}
			}
			ep = newEndpoint(e, cfg, *b, i, key, session, opt)
			ep.release = release
			e.slots[slotKey{bi, i}] = ep
			e.open.Store(int32(len(e.slots)))
			break search
		}
	}
	e.mu.Unlock()
	if ep != nil {
		if err := ep.openNet(cfg); err != nil {
			e.mu.Lock()
			delete(e.slots, slotKey{uint32(ep.board.Index), ep.index})
			e.open.Store(int32(len(e.slots)))
			e.mu.Unlock()
			if ep.release != nil {
				ep.release()
			}
			return nil, err
		}
	}
	if ep == nil {
		if busy {
			return nil, fmt.Errorf("attaching endpoint: %w", ErrBusy)
		}
		return nil, fmt.Errorf("attaching endpoint to board %d: %w", int32(board), ErrBoardNotFound)
	}
	ep.handle = e.endpoints.add(ep)
	return ep, nil
}

// BoardCounters sums the counters of this process's endpoints on a board.
func (e *Engine) BoardCounters(board uint32) []uint64 {
	e.mu.Lock()
	var eps []*Endpoint
	for k, ep := range e.slots {
		if k.board == board {
			eps = append(eps, ep)
		}
	}
	e.mu.Unlock()
	sum := make([]uint64, NumCounters)
	for _, ep := range eps {
		for i, v := range ep.counters.Snapshot() {
			sum[i] += v
		}
	}
	return sum
}

// lookupLocal returns the endpoint of this process open as (nic, index).
func (e *Engine) lookupLocal(nic uint64, index uint32) *Endpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.cfg.Boards {
		if b.NICID == nic {
			return e.slots[slotKey{uint32(b.Index), index}]
		}
	}
	return nil
}

func (e *Engine) release(ep *Endpoint) {
	e.mu.Lock()
	if e.slots[slotKey{uint32(ep.board.Index), ep.index}] == ep {
		delete(e.slots, slotKey{uint32(ep.board.Index), ep.index})
		e.open.Store(int32(len(e.slots)))
	}
	e.mu.Unlock()
	e.endpoints.remove(ep.handle)
	if ep.release != nil {
		ep.release()
	}
}
