package main

// The fault pipeline of one direction, kept free of sockets and clocks so it
// can be tested in memory:
//
//	received frame
//	  -> drop?     (count, stop)
//	  -> corrupt?  (flip one bit at offset >= CorruptFrom, in place)
//	  -> dup?      (the frame will be sent twice)
//	  -> a frame is held?  send this one, then the held one (reordered)
//	     reorder?          hold this one until the next frame or the flush
//	                       timeout, whichever comes first
//	     otherwise         send it
//
// Every frame draws the same five random numbers in the same order whatever
// the probabilities, so the drop pattern of a seed does not change when
// another knob does.

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// DefaultCorruptFrom is the first frame offset corruption may hit: 16 skips
// the Ethernet header and the Open-MX peer index (the 16-byte common head of
// spec/wire.md §1.1), so corrupted frames still reach their destination and
// carry a damaged Open-MX body.
const DefaultCorruptFrom = 16

// Faults are the fault probabilities and knobs of one direction. The zero
// value forwards every frame untouched.
type Faults struct {
	Drop, Dup, Reorder, Corrupt float64 // probabilities in [0, 1]
	CorruptFrom                 int     // first offset corruption may hit
	ReorderFlush                time.Duration
}

// Counters are the per-direction statistics. Fields are updated atomically
// so the stats dumper can read them while the pipeline runs.
type Counters struct {
	Received    atomic.Uint64 // frames read from the input interface
	Forwarded   atomic.Uint64 // frames written to the output (copies included)
	Dropped     atomic.Uint64 // frames dropped on purpose
	Duplicated  atomic.Uint64 // extra copies sent
	Reordered   atomic.Uint64 // held frames sent after a later frame
	Flushed     atomic.Uint64 // held frames sent by the flush timeout
	Corrupted   atomic.Uint64 // frames with one bit flipped
	SendErrors  atomic.Uint64 // frames the output refused (write error)
	KernelDrops atomic.Uint64 // frames the input socket lost (PACKET_STATISTICS)
}

// DirStats is the JSON form of Counters.
type DirStats struct {
	Received    uint64 `json:"received"`
	Forwarded   uint64 `json:"forwarded"`
	Dropped     uint64 `json:"dropped"`
	Duplicated  uint64 `json:"duplicated"`
	Reordered   uint64 `json:"reordered"`
	Flushed     uint64 `json:"flushed"`
	Corrupted   uint64 `json:"corrupted"`
	SendErrors  uint64 `json:"send_errors"`
	KernelDrops uint64 `json:"kernel_drops"`
}

// Snapshot returns the current values.
func (c *Counters) Snapshot() DirStats {
	return DirStats{
		Received:    c.Received.Load(),
		Forwarded:   c.Forwarded.Load(),
		Dropped:     c.Dropped.Load(),
		Duplicated:  c.Duplicated.Load(),
		Reordered:   c.Reordered.Load(),
		Flushed:     c.Flushed.Load(),
		Corrupted:   c.Corrupted.Load(),
		SendErrors:  c.SendErrors.Load(),
		KernelDrops: c.KernelDrops.Load(),
	}
}

// newRand returns the generator of one direction: the same seed and
// direction always give the same sequence.
func newRand(seed int64, dir uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x6f6d78666175_0000|dir))
}

// pipe applies Faults to the frames of one direction. It is not safe for
// concurrent use: one goroutine owns it.
type pipe struct {
	f    Faults
	rng  *rand.Rand
	c    *Counters
	send func(frame []byte) // writes one copy; counts Forwarded/SendErrors

	// The held frame (reordering). held and spare swap ownership with the
	// caller's receive buffer, so holding never allocates.
	holding    bool
	held       []byte
	heldCopies int
	heldSince  time.Time
	spare      []byte
}

func newPipe(f Faults, rng *rand.Rand, c *Counters, bufSize int, send func([]byte)) *pipe {
	if f.CorruptFrom < 0 {
		f.CorruptFrom = 0
	}
	return &pipe{f: f, rng: rng, c: c, send: send, spare: make([]byte, bufSize)}
}

// frame processes the n-byte frame at the start of buf, received at now. It
// returns the buffer the caller must use for its next receive: buf itself,
// or another buffer of the same size when buf is kept as the held frame.
func (p *pipe) frame(buf []byte, n int, now time.Time) []byte {
	p.c.Received.Add(1)
	rDrop, rCorrupt := p.rng.Float64(), p.rng.Float64()
	rDup, rReorder := p.rng.Float64(), p.rng.Float64()
	pos := p.rng.Uint64()

	if rDrop < p.f.Drop {
		p.c.Dropped.Add(1)
		return buf
	}
	frame := buf[:n]
	if rCorrupt < p.f.Corrupt && n > p.f.CorruptFrom {
		corrupt(frame, p.f.CorruptFrom, pos)
		p.c.Corrupted.Add(1)
	}
	copies := 1
	if rDup < p.f.Dup {
		copies = 2
		p.c.Duplicated.Add(1)
	}
	switch {
	case p.holding:
		p.emit(frame, copies)
		p.emit(p.held, p.heldCopies)
		p.holding = false
		p.c.Reordered.Add(1)
		return buf
	case rReorder < p.f.Reorder:
		p.holding, p.heldCopies, p.heldSince = true, copies, now
		p.held = frame
		next := p.spare
		p.spare = buf
		return next
	default:
		p.emit(frame, copies)
		return buf
	}
}

// flushDeadline reports when the held frame must be flushed, if one is held.
func (p *pipe) flushDeadline() (time.Time, bool) {
	return p.heldSince.Add(p.f.ReorderFlush), p.holding
}

// flush sends the held frame, if any (nothing came after it in time).
func (p *pipe) flush() {
	if !p.holding {
		return
	}
	p.emit(p.held, p.heldCopies)
	p.holding = false
	p.c.Flushed.Add(1)
}

func (p *pipe) emit(frame []byte, copies int) {
	for range copies {
		p.send(frame)
	}
}

// corrupt flips one bit of frame, in a byte at offset >= from chosen by r.
// The caller guarantees len(frame) > from.
func corrupt(frame []byte, from int, r uint64) {
	idx := from + int(r%uint64(len(frame)-from))
	bit := (r >> 40) % 8
	frame[idx] ^= 1 << bit
}
