package main

// The output port of one direction, a model of a switch output port kept
// free of sockets and clocks (the caller passes the time) so it can be tested
// in memory:
//
//	frame from the fault pipeline, arriving at time now
//	  -> tail drop? the queue holds QueueFrames frames, or the frame would
//	     take it over QueueBytes bytes (count QueueDrops, stop)
//	  -> departure = max(now, previous departure) + (len+24)*8/Rate
//	     (the frame waits in the queue until its last bit is sent)
//	  -> written at departure + Delay (the line), in order
//
// Times are virtual: the departure of a frame depends only on the arrival
// times and lengths of the frames before it, never on when the caller gets
// round to writing them. A writer woken late writes every frame that is due,
// in one burst, so timer slack costs no rate. The queue occupancy that tail
// drop compares with the limits is likewise virtual: the frames accepted
// whose departure is after now.
//
// Without a rate the port sends each frame when it arrives, so the queue
// never holds one and the queue limits have no effect.

import (
	"math"
	"time"
)

// EthOverhead is the per-frame cost on the wire beyond the bytes a socket
// reads: preamble and start delimiter (8), frame check sequence (4) and the
// minimum inter-frame gap (12). At a rate R a frame of n bytes takes
// (n+EthOverhead)*8/R seconds, as on real Ethernet (where n >= 60).
const EthOverhead = 24

// Port is the output port of one direction. The zero value sends every frame
// at once.
type Port struct {
	QueueFrames int           // queued frames beyond which frames are dropped; 0: no limit
	QueueBytes  int           // queued bytes a frame may not take the queue over; 0: no limit
	Rate        float64       // bits per second; 0: no limit (no queueing)
	Delay       time.Duration // added to every frame's departure (order is kept)
}

// active reports whether frames go through the port's queue at all; if not,
// the pipeline writes them straight to the socket.
func (p Port) active() bool { return p.Rate > 0 || p.Delay > 0 }

// serialization is how long a frame of n bytes occupies the port.
func (p Port) serialization(n int) time.Duration {
	if p.Rate <= 0 {
		return 0
	}
	return time.Duration(math.Round(float64(n+EthOverhead) * 8 * 1e9 / p.Rate))
}

// pending is a frame accepted by the port and not written yet.
type pending struct {
	off, n int       // its bytes: store[off : off+n]
	depart time.Time // virtual end of its transmission
	due    time.Time // depart + Delay: when it is written
}

// outPort is the state of a Port. It is not safe for concurrent use: the
// goroutine of the direction owns it.
//
// Frames are copied into store, a ring of bytes used in FIFO order (frames
// are freed in the order they were stored), so the port allocates nothing
// per frame. store and maxPending bound the memory of the port whatever the
// limits of the model: full reports when the caller must stop reading input
// until frames are written.
type outPort struct {
	cfg Port
	c   *Counters

	q        []pending // in order of departure: qbuf[qhead:]
	qbuf     []pending // reused: q restarts at its start when empty
	qhead    int
	departed int       // q[:departed] have departed (are on the line)
	queued   int       // bytes of q[departed:]
	last     time.Time // departure of the last frame accepted

	store      []byte
	maxPending int
	maxFrame   int // the largest frame push may be given
}

// newOutPort returns a port storing at most storeBytes bytes of frames and
// maxPending frames, frames being at most maxFrame bytes. Counters receive
// QueueDrops and QueuePeak.
func newOutPort(cfg Port, c *Counters, storeBytes, maxPending, maxFrame int) *outPort {
	return &outPort{cfg: cfg, c: c, store: make([]byte, storeBytes), maxPending: maxPending, maxFrame: maxFrame}
}

// advance marks the frames whose departure is not after now as departed.
func (o *outPort) advance(now time.Time) {
	for o.departed < len(o.q) && !o.q[o.departed].depart.After(now) {
		o.queued -= o.q[o.departed].n
		o.departed++
	}
}

// occupancy returns the frames and bytes in the queue at now: accepted, not
// departed.
func (o *outPort) occupancy(now time.Time) (frames, bytes int) {
	o.advance(now)
	return len(o.q) - o.departed, o.queued
}

// push offers the frame arriving at now to the port, which copies it. It
// returns false if the frame was dropped (and counted in QueueDrops).
func (o *outPort) push(frame []byte, now time.Time) bool {
	n := len(frame)
	o.advance(now)
	frames := len(o.q) - o.departed
	if o.cfg.QueueFrames > 0 && frames >= o.cfg.QueueFrames ||
		o.cfg.QueueBytes > 0 && o.queued+n > o.cfg.QueueBytes {
		o.c.QueueDrops.Add(1)
		return false
	}
	off, ok := o.alloc(n)
	if !ok || len(o.q) >= o.maxPending {
		// The caller reads no input while full, so this takes a frame
		// bigger than maxFrame: count it as the queue's loss.
		o.c.QueueDrops.Add(1)
		return false
	}
	copy(o.store[off:], frame)
	depart := now
	if o.last.After(depart) {
		depart = o.last // the port is busy until then
	}
	depart = depart.Add(o.cfg.serialization(n))
	o.last = depart
	if o.qhead > 0 && (len(o.q) == 0 || len(o.qbuf) == cap(o.qbuf) && o.qhead >= len(o.q)) {
		// Move the pending frames to the start of qbuf rather than grow it
		// (copy handles the overlap).
		m := copy(o.qbuf, o.q)
		o.qbuf, o.qhead = o.qbuf[:m], 0
	}
	o.qbuf = append(o.qbuf, pending{off: off, n: n, depart: depart, due: depart.Add(o.cfg.Delay)})
	o.q = o.qbuf[o.qhead:]
	if depart.After(now) {
		o.queued += n
		if f := uint64(frames + 1); f > o.c.QueuePeak.Load() {
			o.c.QueuePeak.Store(f)
		}
	} else {
		o.departed++ // every frame before it has departed too
	}
	return true
}

// alloc reserves n bytes of store after the last stored frame, wrapping to
// the start of store when the end is too short.
func (o *outPort) alloc(n int) (int, bool) {
	n = max(n, 1) // a slot of its own, so offsets stay ordered
	if len(o.q) == 0 {
		return 0, n <= len(o.store)
	}
	head := o.q[0].off
	tail := o.q[len(o.q)-1].off + max(o.q[len(o.q)-1].n, 1)
	if o.q[len(o.q)-1].off >= head { // not wrapped: free are [tail, end) and [0, head)
		if tail+n <= len(o.store) {
			return tail, true
		}
		return 0, n <= head
	}
	return tail, tail+n <= head // wrapped: free is [tail, head)
}

// free returns the largest frame alloc can take now.
func (o *outPort) free() int {
	if len(o.q) == 0 {
		return len(o.store)
	}
	head := o.q[0].off
	tail := o.q[len(o.q)-1].off + max(o.q[len(o.q)-1].n, 1)
	if o.q[len(o.q)-1].off >= head {
		return max(len(o.store)-tail, head)
	}
	return head - tail
}

// full reports whether the port may not have room for the frames of one
// more received frame (up to four copies: a duplicated frame and a
// duplicated held one); the caller then reads no input until writeDue has
// written frames.
func (o *outPort) full() bool {
	return len(o.q)+4 > o.maxPending || o.free() < 4*o.maxFrame
}

// nextDue returns when the oldest pending frame is to be written.
func (o *outPort) nextDue() (time.Time, bool) {
	if len(o.q) == 0 {
		return time.Time{}, false
	}
	return o.q[0].due, true
}

// writeDue writes, in order, every frame due at now and returns how many.
// write must not keep the slice.
func (o *outPort) writeDue(now time.Time, write func([]byte)) int {
	o.advance(now)
	n := 0
	for len(o.q) > 0 && !o.q[0].due.After(now) {
		e := o.q[0]
		write(o.store[e.off : e.off+e.n])
		o.q = o.q[1:]
		o.qhead++
		o.departed-- // due >= depart, so advance marked it departed
		n++
	}
	return n
}
