package mem

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// DefaultMTU is the frame limit of a Hub whose HubConfig.MTU is zero: the
// largest native-9000 frame plus the Ethernet header (a 9000-byte interface).
const DefaultMTU = 9014

// DefaultQueueLen is the per-link queue bound of a Hub whose
// HubConfig.QueueLen is zero.
const DefaultQueueLen = 4096

// ErrInUse is returned by Hub.Open when a link for the same MAC and endpoint
// index is already open.
var ErrInUse = errors.New("mem: endpoint already open on this board")

// HubConfig configures a Hub. The zero value is a perfect network with the
// default MTU and queue length.
type HubConfig struct {
	// MTU is the largest frame carried, from the destination MAC, without
	// FCS (default DefaultMTU); larger frames are dropped and counted as
	// Oversize.
	MTU int
	// Seed seeds the fault generator.
	Seed int64
	// Drop, Duplicate, Reorder and Corrupt are per-frame probabilities in
	// [0, 1] (values outside are clamped; NaN counts as 0).
	Drop, Duplicate, Reorder, Corrupt float64
	// Delay, when positive, makes every frame receivable only that long
	// after it was delivered to the destination queue.
	Delay time.Duration
	// QueueLen bounds each link's receive queue in frames (default
	// DefaultQueueLen); frames arriving at a full queue are dropped and
	// counted as Overflow.
	QueueLen int
}

// HubStats counts what a Hub did with the frames it was given.
type HubStats struct {
	Sent       uint64 // frames passed to Send on any link of the hub
	Delivered  uint64 // frame copies put in a destination queue
	Dropped    uint64 // frames dropped by the Drop fault
	Duplicated uint64 // frames delivered twice by the Duplicate fault
	Reordered  uint64 // frames held back by the Reorder fault
	Corrupted  uint64 // frames with one bit flipped by the Corrupt fault
	Oversize   uint64 // frames longer than the MTU, dropped
	Overflow   uint64 // frame copies dropped because a queue was full
	Unrouted   uint64 // frame copies no open link accepted
}

// Hub is an in-memory Ethernet segment joining any number of boards. It is
// safe for concurrent use; create it with NewHub.
type Hub struct {
	mtu      int
	queueLen int
	delay    time.Duration

	mu      sync.Mutex
	closed  bool
	rng     *rand.Rand
	drop    float64
	dup     float64
	reorder float64
	corrupt float64
	links   map[linkKey]*memLink
	byMAC   map[[6]byte][]*memLink
	held    map[[6]byte][]byte // Reorder: the frame held back per destination MAC
	scratch []byte
	stats   HubStats
}

type linkKey struct {
	mac      [6]byte
	endpoint uint8
}

// NewHub returns a hub configured by cfg.
func NewHub(cfg HubConfig) *Hub {
	h := &Hub{
		mtu:      cfg.MTU,
		queueLen: cfg.QueueLen,
		delay:    cfg.Delay,
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6f70656e2d6d78)),
		links:    make(map[linkKey]*memLink),
		byMAC:    make(map[[6]byte][]*memLink),
		held:     make(map[[6]byte][]byte),
	}
	if h.mtu <= 0 {
		h.mtu = DefaultMTU
	}
	if h.queueLen <= 0 {
		h.queueLen = DefaultQueueLen
	}
	if h.delay < 0 {
		h.delay = 0
	}
	h.setFaults(cfg.Drop, cfg.Duplicate, cfg.Reorder, cfg.Corrupt)
	return h
}

// SetFaults changes the fault probabilities; frames sent afterwards use
// them. Values are clamped to [0, 1].
func (h *Hub) SetFaults(drop, dup, reorder, corrupt float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setFaults(drop, dup, reorder, corrupt)
}

func (h *Hub) setFaults(drop, dup, reorder, corrupt float64) {
	h.drop, h.dup, h.reorder, h.corrupt = prob(drop), prob(dup), prob(reorder), prob(corrupt)
}

func prob(p float64) float64 {
	if math.IsNaN(p) || p < 0 {
		return 0
	}
	return min(p, 1)
}

// Open attaches a link for endpoint index endpoint on the board mac. The
// link receives the frames link.Filter{MAC: mac, Endpoint: endpoint}
// accepts. It fails with ErrInUse if that pair is already open and with
// link.ErrClosed once the hub is closed.
func (h *Hub) Open(mac [6]byte, endpoint uint8) (link.Link, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, fmt.Errorf("mem: open %x endpoint %d: %w", mac, endpoint, link.ErrClosed)
	}
	k := linkKey{mac, endpoint}
	if h.links[k] != nil {
		return nil, fmt.Errorf("mem: open %x endpoint %d: %w", mac, endpoint, ErrInUse)
	}
	l := &memLink{
		hub:    h,
		key:    k,
		filter: link.Filter{MAC: mac, Endpoint: endpoint},
		done:   make(chan struct{}),
	}
	h.links[k] = l
	h.byMAC[mac] = append(h.byMAC[mac], l)
	return l, nil
}

// Stats returns a snapshot of the hub's counters.
func (h *Hub) Stats() HubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// Flush delivers every frame held back by the Reorder fault now, as if the
// next frame to its destination had been sent.
func (h *Hub) Flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for mac, f := range h.held {
		delete(h.held, mac)
		h.deliver(f)
	}
}

// Close closes every link of the hub (their Wait calls return
// link.ErrClosed) and discards held frames. Later Open calls fail. It is
// idempotent.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	ls := make([]*memLink, 0, len(h.links))
	for _, l := range h.links {
		ls = append(ls, l)
	}
	clear(h.links)
	clear(h.byMAC)
	clear(h.held)
	h.mu.Unlock()
	for _, l := range ls {
		l.shut()
	}
}

// remove detaches l from the routing tables.
func (h *Hub) remove(l *memLink) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.links[l.key] != l {
		return
	}
	delete(h.links, l.key)
	peers := h.byMAC[l.key.mac]
	for i, p := range peers {
		if p == l {
			peers = append(peers[:i], peers[i+1:]...)
			break
		}
	}
	if len(peers) == 0 {
		delete(h.byMAC, l.key.mac)
	} else {
		h.byMAC[l.key.mac] = peers
	}
}

// send carries one frame: pad, check the MTU, apply the faults, deliver.
func (h *Hub) send(frame []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return link.ErrClosed
	}
	h.stats.Sent++
	// Every frame draws the same four numbers, so changing one knob does
	// not shift the decisions of the others.
	rDrop, rCorrupt, rDup, rReorder := h.rng.Float64(), h.rng.Float64(), h.rng.Float64(), h.rng.Float64()
	if len(frame) > h.mtu {
		h.stats.Oversize++
		return nil
	}
	if rDrop < h.drop {
		h.stats.Dropped++
		return nil
	}
	n := max(len(frame), link.MinFrame)
	if cap(h.scratch) < n {
		h.scratch = make([]byte, n, max(n, link.MinFrame*2))
	}
	f := h.scratch[:n]
	clear(f[copy(f, frame):])
	if rCorrupt < h.corrupt && n > 16 {
		// Keep the 16-byte head so the filters still route the frame.
		i := 16 + h.rng.IntN(n-16)
		f[i] ^= 1 << h.rng.IntN(8)
		h.stats.Corrupted++
	}
	copies := 1
	if rDup < h.dup {
		copies = 2
		h.stats.Duplicated++
	}
	dst := [6]byte(f[0:6])
	prev := h.held[dst]
	if rReorder < h.reorder && prev == nil {
		h.held[dst] = append([]byte(nil), f...)
		h.stats.Reordered++
		copies--
	}
	for range copies {
		h.deliver(f)
	}
	if prev != nil {
		delete(h.held, dst)
		h.deliver(prev)
	}
	return nil
}

// deliver copies f into the queue of every link that accepts it. h.mu is
// held.
func (h *Hub) deliver(f []byte) {
	var at time.Time
	if h.delay > 0 {
		at = time.Now().Add(h.delay)
	}
	routed := false
	for _, l := range h.byMAC[[6]byte(f[0:6])] {
		if !l.filter.Accept(f) {
			continue
		}
		routed = true
		if l.enqueue(f, at, h.queueLen) {
			h.stats.Delivered++
		} else {
			h.stats.Overflow++
		}
	}
	if !routed {
		h.stats.Unrouted++
	}
}
