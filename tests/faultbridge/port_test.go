package main

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Unix(1000, 0)

// written is a frame the port wrote: its sequence number and when.
type written struct {
	seq uint32
	at  time.Duration // since t0
}

// portRig drives an outPort with a fake clock.
type portRig struct {
	t   *testing.T
	o   *outPort
	c   *Counters
	out []written
	raw [][]byte
}

func newRig(t *testing.T, cfg Port) *portRig {
	c := &Counters{}
	return &portRig{t: t, o: newOutPort(cfg, c, 1<<20, 1024, 9100), c: c}
}

// sized returns an n-byte frame carrying seq at offset 16 (if it is long
// enough).
func sized(seq uint32, n int) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = byte(uint32(i)*13 + seq)
	}
	if n >= 20 {
		binary.BigEndian.PutUint32(f[16:], seq)
	}
	return f
}

func (r *portRig) push(seq uint32, n int, at time.Duration) bool {
	return r.o.push(sized(seq, n), t0.Add(at))
}

// run writes what is due at every instant up to end, in steps of step.
func (r *portRig) run(from, end, step time.Duration) {
	for at := from; at <= end; at += step {
		r.o.writeDue(t0.Add(at), func(f []byte) {
			r.out = append(r.out, written{binary.BigEndian.Uint32(f[16:]), at})
			r.raw = append(r.raw, bytes.Clone(f))
		})
	}
}

func (r *portRig) occupancy(at time.Duration) (int, int) { return r.o.occupancy(t0.Add(at)) }

func TestPortSerialization(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		n    int
		want time.Duration
	}{
		{1e9, 1500, 12192 * time.Nanosecond},    // (1500+24)*8 ns
		{1e9, 60, 672 * time.Nanosecond},        // the 84-byte minimum slot
		{200e6, 9014, 361520 * time.Nanosecond}, // (9014+24)*8/0.2 ns
		{10e9, 1514, 1230 * time.Nanosecond},    // 1230.4 rounded
		{64e3, 1000, 128 * time.Millisecond},    // (1000+24)*8/64000 s
		{0, 1500, 0},                            // no rate: no time
		{1e6, 0, 192 * time.Microsecond},        // only the overhead
		{3e9, 1, 67 * time.Nanosecond},          // 200/3 ns rounded
	} {
		if got := (Port{Rate: tc.rate}).serialization(tc.n); got != tc.want {
			t.Errorf("rate %g, %d bytes: %v, want %v", tc.rate, tc.n, got, tc.want)
		}
	}
}

func TestPortDepartures(t *testing.T) {
	const ser = 12192 * time.Nanosecond // 1500 bytes at 1 Gbit/s
	r := newRig(t, Port{Rate: 1e9})
	// A burst of 5 at t0 leaves back to back; frame 5 arrives at 100µs on an
	// idle port and leaves one serialization later; 6 arrives while 5 is
	// being sent and waits for it.
	for i := range 5 {
		if !r.push(uint32(i), 1500, 0) {
			t.Fatalf("frame %d dropped without a queue limit", i)
		}
	}
	if f, b := r.occupancy(0); f != 5 || b != 5*1500 {
		t.Errorf("occupancy after the burst: %d frames %d bytes", f, b)
	}
	if f, _ := r.occupancy(2*ser + 1); f != 3 {
		t.Errorf("occupancy after 2 departures: %d frames, want 3", f)
	}
	r.push(5, 1500, 100*time.Microsecond)
	r.push(6, 1500, 105*time.Microsecond)
	r.run(0, 200*time.Microsecond, time.Nanosecond)
	want := []written{{0, ser}, {1, 2 * ser}, {2, 3 * ser}, {3, 4 * ser}, {4, 5 * ser},
		{5, 100*time.Microsecond + ser}, {6, 100*time.Microsecond + 2*ser}}
	if diff := cmp.Diff(want, r.out, cmp.AllowUnexported(written{})); diff != "" {
		t.Errorf("departures (-want +got):\n%s", diff)
	}
	if st := r.c.Snapshot(); st.QueuePeak != 5 || st.QueueDrops != 0 {
		t.Errorf("counters %+v", st)
	}
}

// TestPortLateWriter: a writer that wakes up late sends what is due in a
// burst, and the frames after keep the virtual schedule: no rate is lost.
func TestPortLateWriter(t *testing.T) {
	const ser = 12192 * time.Nanosecond
	r := newRig(t, Port{Rate: 1e9})
	for i := range 100 {
		r.push(uint32(i), 1500, 0)
	}
	// The writer sleeps 1ms, then writes every 100µs.
	r.run(time.Millisecond, 2*time.Millisecond, 100*time.Microsecond)
	if len(r.out) != 100 {
		t.Fatalf("%d frames written", len(r.out))
	}
	burst := int(time.Millisecond / ser) // due at 1ms
	for i, w := range r.out {
		due := time.Duration(i+1) * ser
		wantAt := max(time.Millisecond, (due+100*time.Microsecond-1)/(100*time.Microsecond)*(100*time.Microsecond))
		if w.seq != uint32(i) || w.at != wantAt {
			t.Fatalf("frame %d: seq %d written at %v, want at %v (due %v)", i, w.seq, w.at, wantAt, due)
		}
	}
	if r.out[burst-1].at != time.Millisecond || r.out[burst].at == time.Millisecond {
		t.Errorf("the late wake-up wrote through frame %d", burst)
	}
	// Long run at a constant overload: 10000 frames of mixed sizes arrive
	// at twice the rate; the last departure is exactly the sum of the
	// serialization times.
	r = newRig(t, Port{Rate: 1e9})
	r.o = newOutPort(r.o.cfg, r.c, 64<<20, 20000, 9100) // room for the backlog
	var total time.Duration
	rng := rand.New(rand.NewPCG(1, 2))
	at := time.Duration(0)
	for i := range 10000 {
		n := 60 + rng.IntN(9000)
		total += Port{Rate: 1e9}.serialization(n)
		r.push(uint32(i), n, at)
		at += Port{Rate: 1e9}.serialization(n) / 2
		r.o.writeDue(t0.Add(at), func([]byte) {})
	}
	if due, ok := r.o.nextDue(); !ok || r.o.last.Sub(t0) != total || due.After(r.o.last) || r.c.QueueDrops.Load() != 0 {
		t.Errorf("last departure %v (next due %v, %d drops), want %v", r.o.last.Sub(t0), due.Sub(t0), r.c.QueueDrops.Load(), total)
	}
}

func TestPortTailDropFrames(t *testing.T) {
	const ser = 12192 * time.Nanosecond
	r := newRig(t, Port{Rate: 1e9, QueueFrames: 3})
	var accepted []uint32
	for i := range 10 {
		if r.push(uint32(i), 1500, 0) {
			accepted = append(accepted, uint32(i))
		}
	}
	// One departure frees one place, exactly at the departure time.
	if r.push(10, 1500, ser-1) {
		t.Error("frame accepted into a full queue")
	}
	if !r.push(11, 1500, ser) || r.push(12, 1500, ser) {
		t.Error("the place freed by a departure is not taken exactly once")
	}
	accepted = append(accepted, 11)
	r.run(0, 10*ser, time.Nanosecond)
	if diff := cmp.Diff([]uint32{0, 1, 2, 11}, accepted); diff != "" {
		t.Errorf("accepted (-want +got):\n%s", diff)
	}
	want := []written{{0, ser}, {1, 2 * ser}, {2, 3 * ser}, {11, 4 * ser}}
	if diff := cmp.Diff(want, r.out, cmp.AllowUnexported(written{})); diff != "" {
		t.Errorf("written (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(DirStats{QueueDrops: 9, QueuePeak: 3}, r.c.Snapshot()); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
}

func TestPortTailDropBytes(t *testing.T) {
	r := newRig(t, Port{Rate: 1e6, QueueBytes: 1000})
	for i, tc := range []struct {
		n  int
		ok bool
	}{{300, true}, {300, true}, {300, true}, {300, false}, {100, true}, {1, false}, {60, false}} {
		if got := r.push(uint32(i), tc.n, 0); got != tc.ok {
			t.Errorf("frame %d (%d bytes, %d queued): accepted %v, want %v", i, tc.n, 900, got, tc.ok)
		}
	}
	if f, b := r.occupancy(0); f != 4 || b != 1000 {
		t.Errorf("occupancy %d frames %d bytes, want 4 and 1000", f, b)
	}
	// After the first departure (324*8 µs at 1 Mbit/s) 300 bytes are free.
	first := 324 * 8 * time.Microsecond
	if r.push(10, 301, first) || !r.push(11, 300, first) {
		t.Error("wrong room after the first departure")
	}
	if diff := cmp.Diff(DirStats{QueueDrops: 4, QueuePeak: 4}, r.c.Snapshot()); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
	// Both limits: whichever is hit first.
	r = newRig(t, Port{Rate: 1e6, QueueBytes: 1000, QueueFrames: 2})
	if !r.push(0, 100, 0) || !r.push(1, 100, 0) || r.push(2, 100, 0) {
		t.Error("frame limit with a byte limit")
	}
	r = newRig(t, Port{Rate: 1e6, QueueBytes: 150, QueueFrames: 2})
	if !r.push(0, 100, 0) || r.push(1, 100, 0) {
		t.Error("byte limit with a frame limit")
	}
}

func TestPortPeak(t *testing.T) {
	const ser = 12192 * time.Nanosecond
	r := newRig(t, Port{Rate: 1e9})
	// Bursts of 2, 7 and 4 frames, each after the queue drained: the peak
	// is the biggest burst. A frame arriving 1ns before the previous one
	// departs sees it still queued.
	at := time.Duration(0)
	for _, burst := range []int{2, 7, 4} {
		for range burst {
			r.push(0, 1500, at)
		}
		at += time.Duration(burst)*ser + time.Microsecond
	}
	if got := r.c.QueuePeak.Load(); got != 7 {
		t.Errorf("peak %d, want 7", got)
	}
	r.push(0, 1500, at)
	r.push(0, 1500, at+ser-1)
	r.push(0, 1500, at+2*ser-1) // the first has left, the second not
	if f, _ := r.occupancy(at + 2*ser - 1); f != 2 {
		t.Errorf("occupancy %d, want 2", f)
	}
	if got := r.c.QueuePeak.Load(); got != 7 {
		t.Errorf("peak %d, want still 7", got)
	}
}

func TestPortDelay(t *testing.T) {
	const (
		ser   = 12192 * time.Nanosecond
		delay = time.Millisecond
	)
	// With a rate: written at departure + delay; frames on the line (after
	// their departure) do not take room in the queue.
	r := newRig(t, Port{Rate: 1e9, Delay: delay, QueueFrames: 2})
	r.push(0, 1500, 0)
	r.push(1, 1500, 0)
	if r.push(2, 1500, 0) {
		t.Error("queue of 2 took a third frame")
	}
	if !r.push(3, 1500, 2*ser) || !r.push(4, 1500, 2*ser) {
		t.Error("departed frames still take room in the queue")
	}
	r.run(0, 3*delay, time.Microsecond/4)
	want := []written{{0, delay + ser}, {1, delay + 2*ser}, {3, delay + 3*ser}, {4, delay + 4*ser}}
	// The rig writes in steps of 250ns: round the due times up.
	for i := range want {
		want[i].at = (want[i].at + 249) / 250 * 250
	}
	if diff := cmp.Diff(want, r.out, cmp.AllowUnexported(written{})); diff != "" {
		t.Errorf("written (-want +got):\n%s", diff)
	}

	// Without a rate: a pure delay line, in order, never a queue.
	r = newRig(t, Port{Delay: delay, QueueFrames: 1})
	for i := range 50 {
		if !r.push(uint32(i), 100+i, time.Duration(i)*time.Microsecond) {
			t.Fatalf("frame %d dropped by a delay line", i)
		}
	}
	r.run(0, 2*delay, time.Microsecond)
	for i, w := range r.out {
		if w.seq != uint32(i) || w.at != delay+time.Duration(i)*time.Microsecond {
			t.Fatalf("frame %d: seq %d at %v", i, w.seq, w.at)
		}
	}
	if len(r.out) != 50 || r.c.QueuePeak.Load() != 0 || r.c.QueueDrops.Load() != 0 {
		t.Errorf("%d written, counters %+v", len(r.out), r.c.Snapshot())
	}
	if _, ok := r.o.nextDue(); ok {
		t.Error("frames pending after all were written")
	}
}

// TestPortStore runs many frames of random sizes through a small store: they
// come out intact and in order whatever the wrapping, and full stops the
// caller before the store or the frame table overflows.
func TestPortStore(t *testing.T) {
	const maxFrame = 300
	c := &Counters{}
	o := newOutPort(Port{Rate: 1e8}, c, 4000, 20, maxFrame)
	rng := rand.New(rand.NewPCG(3, 4))
	var sent, got [][]byte
	now := t0
	seq := uint32(0)
	for range 20000 {
		now = now.Add(time.Duration(rng.IntN(20)) * time.Microsecond)
		o.writeDue(now, func(f []byte) { got = append(got, bytes.Clone(f)) })
		if o.full() {
			if len(o.q)+4 <= o.maxPending && o.free() >= 4*maxFrame {
				t.Fatalf("full with %d frames and %d bytes free", len(o.q), o.free())
			}
			continue
		}
		for range 1 + rng.IntN(4) { // up to four copies per frame read
			f := sized(seq, 20+rng.IntN(maxFrame-19))
			seq++
			if !o.push(f, now) {
				t.Fatalf("frame %d refused though not full", seq)
			}
			sent = append(sent, f)
		}
	}
	o.writeDue(now.Add(time.Second), func(f []byte) { got = append(got, bytes.Clone(f)) })
	if len(got) != len(sent) {
		t.Fatalf("%d frames written, %d sent", len(got), len(sent))
	}
	for i := range sent {
		if !bytes.Equal(got[i], sent[i]) {
			t.Fatalf("frame %d changed in the store", i)
		}
	}
	if c.QueueDrops.Load() != 0 || len(sent) < 10000 {
		t.Errorf("%d frames, counters %+v", len(sent), c.Snapshot())
	}
	// A frame bigger than the store is the queue's loss, not a crash.
	if o.push(make([]byte, 4001), now) || c.QueueDrops.Load() != 1 {
		t.Errorf("oversized frame: counters %+v", c.Snapshot())
	}
}
