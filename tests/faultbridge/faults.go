package main

// The fault pipeline of one direction, kept free of sockets and clocks so it
// can be tested in memory (the output port that follows it is in port.go):
//
//	received frame
//	  -> drop?     (count, stop)
//	  -> burst loss? (Gilbert-Elliott: count, stop)
//	  -> corrupt?  (flip one bit at offset >= CorruptFrom, in place)
//	  -> dup?      (the frame will be sent twice)
//	  -> a frame is held?  send this one, then the held one (reordered)
//	     reorder?          hold this one until the next frame or the flush
//	                       timeout, whichever comes first
//	     otherwise         send it
//
//	  -> the output port (port.go): tail drop, rate limit, delay
//
// Every frame draws the same five random numbers in the same order whatever
// the probabilities, so the drop pattern of a seed does not change when
// another knob does. The Gilbert-Elliott channel draws from a generator of
// its own, and only when it is enabled: turning it on or off does not change
// the other faults of a seed either.

import (
	"fmt"
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

	// Burst loss, a Gilbert-Elliott channel: a two-state Markov chain
	// stepped once per received frame. GEP is the probability of going from
	// the good state to the bad one, GER back; a frame is lost with
	// probability GELossGood in the good state and GELossBad in the bad one.
	// The channel is enabled when GEP or GELossGood is not 0. With
	// GELossGood 0 and GELossBad 1 the long-run loss rate is GEP/(GEP+GER)
	// and losses come in bursts of 1/GER frames on average.
	GEP, GER, GELossBad, GELossGood float64
}

// geEnabled reports whether the Gilbert-Elliott channel can lose frames.
func (f Faults) geEnabled() bool { return f.GEP > 0 || f.GELossGood > 0 }

// check reports the first probability out of [0, 1].
func (f Faults) check() error {
	for _, v := range []struct {
		name string
		p    float64
	}{{"drop", f.Drop}, {"dup", f.Dup}, {"reorder", f.Reorder}, {"corrupt", f.Corrupt},
		{"ge-p", f.GEP}, {"ge-r", f.GER}, {"ge-loss-bad", f.GELossBad}, {"ge-loss-good", f.GELossGood}} {
		if !(v.p >= 0 && v.p <= 1) {
			return fmt.Errorf("-%s %v: not a probability in [0, 1]", v.name, v.p)
		}
	}
	return nil
}

// Counters are the per-direction statistics. Fields are updated atomically
// so the stats dumper can read them while the pipeline runs.
type Counters struct {
	Received    atomic.Uint64 // frames read from the input interface
	Forwarded   atomic.Uint64 // frames written to the output (copies included)
	Dropped     atomic.Uint64 // frames dropped on purpose (-drop)
	BurstDrops  atomic.Uint64 // frames lost by the Gilbert-Elliott channel
	Duplicated  atomic.Uint64 // extra copies sent
	Reordered   atomic.Uint64 // held frames sent after a later frame
	Flushed     atomic.Uint64 // held frames sent by the flush timeout
	Corrupted   atomic.Uint64 // frames with one bit flipped
	QueueDrops  atomic.Uint64 // frames the full output queue refused (tail drop)
	QueuePeak   atomic.Uint64 // most frames the output queue held at once
	SendErrors  atomic.Uint64 // frames the output refused (write error)
	KernelDrops atomic.Uint64 // frames the input socket lost (PACKET_STATISTICS)
}

// DirStats is the JSON form of Counters.
type DirStats struct {
	Received    uint64 `json:"received"`
	Forwarded   uint64 `json:"forwarded"`
	Dropped     uint64 `json:"dropped"`
	BurstDrops  uint64 `json:"burst_drops"`
	Duplicated  uint64 `json:"duplicated"`
	Reordered   uint64 `json:"reordered"`
	Flushed     uint64 `json:"flushed"`
	Corrupted   uint64 `json:"corrupted"`
	QueueDrops  uint64 `json:"queue_drops"`
	QueuePeak   uint64 `json:"queue_peak"`
	SendErrors  uint64 `json:"send_errors"`
	KernelDrops uint64 `json:"kernel_drops"`
}

// Snapshot returns the current values.
func (c *Counters) Snapshot() DirStats {
	return DirStats{
		Received:    c.Received.Load(),
		Forwarded:   c.Forwarded.Load(),
		Dropped:     c.Dropped.Load(),
		BurstDrops:  c.BurstDrops.Load(),
		Duplicated:  c.Duplicated.Load(),
		Reordered:   c.Reordered.Load(),
		Flushed:     c.Flushed.Load(),
		Corrupted:   c.Corrupted.Load(),
		QueueDrops:  c.QueueDrops.Load(),
		QueuePeak:   c.QueuePeak.Load(),
		SendErrors:  c.SendErrors.Load(),
		KernelDrops: c.KernelDrops.Load(),
	}
}

// newRand returns the generator of one direction: the same seed and
// direction always give the same sequence.
func newRand(seed int64, dir uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x6f6d78666175_0000|dir))
}

// newGERand returns the Gilbert-Elliott generator of one direction, a
// sequence of its own.
func newGERand(seed int64, dir uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x6f6d78676531_0000|dir))
}

// gilbert is a Gilbert-Elliott burst loss channel. It starts in the good
// state.
type gilbert struct {
	p, r, lossBad, lossGood float64
	rng                     *rand.Rand
	bad                     bool
}

// lost steps the channel by one frame: it decides the frame's fate in the
// current state, then moves to the next state. Each call draws two numbers.
func (g *gilbert) lost() bool {
	rLoss, rMove := g.rng.Float64(), g.rng.Float64()
	loss := g.lossGood
	if g.bad {
		loss = g.lossBad
		g.bad = rMove >= g.r
	} else {
		g.bad = rMove < g.p
	}
	return rLoss < loss
}

// pipe applies Faults to the frames of one direction. It is not safe for
// concurrent use: one goroutine owns it.
type pipe struct {
	f    Faults
	rng  *rand.Rand
	ge   *gilbert // nil: burst loss disabled
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

// newPipe returns the pipeline of direction dir (0 or 1) of a bridge seeded
// with seed. send is the next stage (the socket or the output port).
func newPipe(f Faults, seed int64, dir uint64, c *Counters, bufSize int, send func([]byte)) *pipe {
	if f.CorruptFrom < 0 {
		f.CorruptFrom = 0
	}
	p := &pipe{f: f, rng: newRand(seed, dir), c: c, send: send, spare: make([]byte, bufSize)}
	if f.geEnabled() {
		p.ge = &gilbert{p: f.GEP, r: f.GER, lossBad: f.GELossBad, lossGood: f.GELossGood, rng: newGERand(seed, dir)}
	}
	return p
}

// frame processes the n-byte frame at the start of buf, received at now. It
// returns the buffer the caller must use for its next receive: buf itself,
// or another buffer of the same size when buf is kept as the held frame.
func (p *pipe) frame(buf []byte, n int, now time.Time) []byte {
	p.c.Received.Add(1)
	rDrop, rCorrupt := p.rng.Float64(), p.rng.Float64()
	rDup, rReorder := p.rng.Float64(), p.rng.Float64()
	pos := p.rng.Uint64()
	// The channel steps on every frame, even one -drop takes.
	burst := p.ge != nil && p.ge.lost()

	if rDrop < p.f.Drop {
		p.c.Dropped.Add(1)
		return buf
	}
	if burst {
		p.c.BurstDrops.Add(1)
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
