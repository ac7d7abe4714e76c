package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sink records what a pipe sends, as the 4-byte sequence numbers the test
// frames carry at offset 16.
type sink struct {
	frames [][]byte
}

func (s *sink) send(frame []byte) { s.frames = append(s.frames, bytes.Clone(frame)) }

func (s *sink) seqs() []uint32 {
	var out []uint32
	for _, f := range s.frames {
		out = append(out, binary.BigEndian.Uint32(f[16:]))
	}
	return out
}

// testFrame is a 60-byte frame with seq at offset 16 and a fixed pattern
// elsewhere.
func testFrame(seq uint32) []byte {
	f := make([]byte, 60)
	for i := range f {
		f[i] = byte(i * 7)
	}
	binary.BigEndian.PutUint32(f[16:], seq)
	return f
}

// feed runs n frames (seq 0..n-1) through a new pipe and returns the sink
// and counters.
func feed(t *testing.T, f Faults, seed int64, n int) (*sink, *Counters) {
	t.Helper()
	s := &sink{}
	c := &Counters{}
	p := newPipe(f, seed, 0, c, bufSize, s.send)
	buf := make([]byte, bufSize)
	now := time.Unix(1000, 0)
	for i := range n {
		fr := testFrame(uint32(i))
		copy(buf, fr)
		buf = p.frame(buf, len(fr), now)
		now = now.Add(time.Microsecond)
	}
	p.flush()
	return s, c
}

func seqRange(n int) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = uint32(i)
	}
	return out
}

func TestPipeFaults(t *testing.T) {
	const n = 9
	tests := []struct {
		name  string
		f     Faults
		want  []uint32
		stats DirStats
	}{
		{"none", Faults{}, seqRange(n), DirStats{Received: n}},
		{"drop all", Faults{Drop: 1}, nil, DirStats{Received: n, Dropped: n}},
		{"dup all", Faults{Dup: 1}, []uint32{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8}, DirStats{Received: n, Duplicated: n}},
		// Every frame is held and the next one overtakes it; the odd last
		// frame goes out by the flush.
		{"reorder all", Faults{Reorder: 1}, []uint32{1, 0, 3, 2, 5, 4, 7, 6, 8}, DirStats{Received: n, Reordered: 4, Flushed: 1}},
		{"reorder and dup", Faults{Reorder: 1, Dup: 1}, []uint32{1, 1, 0, 0, 3, 3, 2, 2, 5, 5, 4, 4, 7, 7, 6, 6, 8, 8}, DirStats{Received: n, Duplicated: n, Reordered: 4, Flushed: 1}},
		{"drop beats the rest", Faults{Drop: 1, Dup: 1, Reorder: 1, Corrupt: 1}, nil, DirStats{Received: n, Dropped: n}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c := feed(t, tc.f, 1, n)
			if diff := cmp.Diff(tc.want, s.seqs()); diff != "" {
				t.Errorf("sent frames mismatch (-want +got):\n%s", diff)
			}
			// The sink does not count; Forwarded is the socket writer's job.
			if diff := cmp.Diff(tc.stats, c.Snapshot()); diff != "" {
				t.Errorf("counters mismatch (-want +got):\n%s", diff)
			}
			for i, f := range s.frames {
				want := testFrame(s.seqs()[i])
				if !bytes.Equal(f, want) {
					t.Errorf("frame %d changed without corruption:\n got %x\nwant %x", i, f, want)
				}
			}
		})
	}
}

func TestPipeCorruptFlipsOneBit(t *testing.T) {
	for _, from := range []int{DefaultCorruptFrom, 14, 59} {
		s, c := feed(t, Faults{Corrupt: 1, CorruptFrom: from}, 7, 200)
		if got := c.Corrupted.Load(); got != 200 {
			t.Errorf("from %d: corrupted = %d, want 200", from, got)
		}
		hit := map[int]bool{}
		for i, f := range s.frames {
			want := testFrame(uint32(i))
			if len(f) != len(want) {
				t.Fatalf("frame %d: length %d, want %d", i, len(f), len(want))
			}
			flipped := 0
			for j := range f {
				if d := f[j] ^ want[j]; d != 0 {
					flipped += bits.OnesCount8(d)
					if j < from {
						t.Errorf("from %d: frame %d corrupted at offset %d", from, i, j)
					}
					hit[j] = true
				}
			}
			if flipped != 1 {
				t.Errorf("from %d: frame %d has %d flipped bits, want 1", from, i, flipped)
			}
		}
		// 200 draws over at most 46 offsets reach most of them.
		if span := 60 - from; len(hit) < span/2 {
			t.Errorf("from %d: corruption hit only %d of %d offsets", from, len(hit), span)
		}
	}
	// A frame no longer than the protected head is never corrupted.
	s := &sink{}
	c := &Counters{}
	p := newPipe(Faults{Corrupt: 1, CorruptFrom: 16}, 1, 0, c, bufSize, s.send)
	buf := make([]byte, bufSize)
	p.frame(buf, 16, time.Time{})
	if c.Corrupted.Load() != 0 || len(s.frames) != 1 || !bytes.Equal(s.frames[0], make([]byte, 16)) {
		t.Errorf("16-byte frame with corrupt-from 16: corrupted=%d frames=%x", c.Corrupted.Load(), s.frames)
	}
}

func TestPipeDeterministic(t *testing.T) {
	f := Faults{Drop: 0.3, Dup: 0.2, Reorder: 0.2, Corrupt: 0.1, CorruptFrom: 16}
	a, _ := feed(t, f, 42, 500)
	b, _ := feed(t, f, 42, 500)
	if diff := cmp.Diff(a.frames, b.frames); diff != "" {
		t.Errorf("same seed, different output (-first +second):\n%s", diff)
	}
	c, _ := feed(t, f, 43, 500)
	if cmp.Equal(a.frames, c.frames) {
		t.Errorf("seeds 42 and 43 produced identical output")
	}
	// The two directions of one bridge draw different sequences.
	r0, r1 := newRand(42, 0), newRand(42, 1)
	if r0.Uint64() == r1.Uint64() && r0.Uint64() == r1.Uint64() {
		t.Errorf("directions 0 and 1 share a random sequence")
	}
	// The drop pattern does not depend on the other knobs.
	d1, _ := feed(t, Faults{Drop: 0.5}, 9, 300)
	d2, _ := feed(t, Faults{Drop: 0.5, Corrupt: 1, CorruptFrom: 20, Dup: 1}, 9, 300)
	if diff := cmp.Diff(dedup(d1.seqs()), dedup(d2.seqs())); diff != "" {
		t.Errorf("drop pattern changed with other knobs (-alone +with):\n%s", diff)
	}
}

func dedup(s []uint32) []uint32 {
	var out []uint32
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func TestPipeProbabilities(t *testing.T) {
	const n = 20000
	_, c := feed(t, Faults{Drop: 0.25, Dup: 0.1}, 3, n)
	if got := float64(c.Dropped.Load()) / n; got < 0.23 || got > 0.27 {
		t.Errorf("drop rate %.3f, want about 0.25", got)
	}
	// Duplication is decided for the frames that survive the drop.
	if got := float64(c.Duplicated.Load()) / float64(n-c.Dropped.Load()); got < 0.085 || got > 0.115 {
		t.Errorf("dup rate %.3f, want about 0.1", got)
	}
}

func TestPipeFlushDeadline(t *testing.T) {
	s := &sink{}
	p := newPipe(Faults{Reorder: 1, ReorderFlush: 5 * time.Millisecond}, 1, 0, &Counters{}, bufSize, s.send)
	if _, ok := p.flushDeadline(); ok {
		t.Fatal("flush deadline with nothing held")
	}
	now := time.Unix(50, 0)
	buf := make([]byte, bufSize)
	copy(buf, testFrame(1))
	next := p.frame(buf, 60, now)
	if &next[0] == &buf[0] {
		t.Fatal("held frame's buffer handed back for the next receive")
	}
	d, ok := p.flushDeadline()
	if !ok || !d.Equal(now.Add(5*time.Millisecond)) {
		t.Fatalf("flushDeadline = %v, %v; want %v, true", d, ok, now.Add(5*time.Millisecond))
	}
	if len(s.frames) != 0 {
		t.Fatalf("held frame sent early")
	}
	// The caller overwrites its new buffer; the held frame must not change.
	copy(next, testFrame(2))
	p.flush()
	if diff := cmp.Diff([]uint32{1}, s.seqs()); diff != "" {
		t.Errorf("flushed frames mismatch (-want +got):\n%s", diff)
	}
	if _, ok := p.flushDeadline(); ok {
		t.Error("flush deadline still set after flush")
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-a", "p0", "-b", "p1", "-drop", "0.5", "-corrupt-head", "-ethertype", "0x86DF", "-seed", "9", "-delay", "2ms"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := config{a: "p0", b: "p1", faults: Faults{Drop: 0.5, CorruptFrom: 14, ReorderFlush: 5 * time.Millisecond, GELossBad: 1},
		port: Port{Delay: 2 * time.Millisecond}, rcvbuf: 8 << 20, seed: 9, ethertype: 0x86DF}
	if diff := cmp.Diff(want, cfg, cmp.AllowUnexported(config{})); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
	cfg, err = parseFlags([]string{"-a", "x", "-b", "y"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.faults.CorruptFrom != DefaultCorruptFrom || cfg.ethertype != 0 || cfg.seed != 1 || cfg.rcvbuf != 8<<20 ||
		cfg.port != (Port{}) || cfg.faults.geEnabled() || cfg.faults.GELossBad != 1 {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = parseFlags([]string{"-a", "x", "-b", "y", "-rate", "200M", "-queue-frames", "24", "-queue-bytes", "65536",
		"-ge-p", "0.01", "-ge-r", "0.25", "-ge-loss-bad", "0.9", "-ge-loss-good", "0.001", "-rcvbuf", "0"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	wantF := Faults{CorruptFrom: DefaultCorruptFrom, ReorderFlush: 5 * time.Millisecond, GEP: 0.01, GER: 0.25, GELossBad: 0.9, GELossGood: 0.001}
	if cfg.port != (Port{QueueFrames: 24, QueueBytes: 65536, Rate: 200e6}) || cfg.faults != wantF || cfg.rcvbuf != 0 {
		t.Errorf("port and burst loss flags: %+v", cfg)
	}
	for in, want := range map[string]float64{"1e9": 1e9, "1G": 1e9, "100M": 100e6, "100m": 100e6, "2.5g": 2.5e9, "64k": 64e3, "1T": 1e12, "0": 0, "12345": 12345} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range [][]string{
		{"-a", "x"},
		{"-a", "x", "-b", "x"},
		{"-a", "x", "-b", "y", "-drop", "1.5"},
		{"-a", "x", "-b", "y", "-dup", "-0.1"},
		{"-a", "x", "-b", "y", "-reorder", "NaN"},
		{"-a", "x", "-b", "y", "-ge-p", "2"},
		{"-a", "x", "-b", "y", "-ge-loss-bad", "-1"},
		{"-a", "x", "-b", "y", "-ethertype", "0x10000"},
		{"-a", "x", "-b", "y", "-ethertype", "ip"},
		{"-a", "x", "-b", "y", "-reorder-flush", "0s"},
		{"-a", "x", "-b", "y", "-rate", "-1M"},
		{"-a", "x", "-b", "y", "-rate", "fast"},
		{"-a", "x", "-b", "y", "-rate", "M"},
		{"-a", "x", "-b", "y", "-rate", "1e400"},
		{"-a", "x", "-b", "y", "-queue-frames", "-1"},
		{"-a", "x", "-b", "y", "-queue-bytes", "-1"},
		{"-a", "x", "-b", "y", "-rcvbuf", "-1"},
		{"-a", "x", "-b", "y", "-delay", "-1ms"},
		{"-a", "x", "-b", "y", "extra"},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", bad)
		}
	}
}

// TestPipeSeedUnchanged pins the faults of a seed as they were before the
// Gilbert-Elliott channel existed: scripts and tests that rely on a seed's
// pattern keep it.
func TestPipeSeedUnchanged(t *testing.T) {
	s, c := feed(t, Faults{Drop: 0.3, Dup: 0.2, Reorder: 0.2, ReorderFlush: 1}, 42, 40)
	want := []uint32{2, 1, 3, 3, 4, 4, 5, 6, 7, 10, 8, 11, 12, 12, 14, 18, 17, 19, 20, 21, 22, 22, 24, 26, 25, 27, 28, 28, 29, 30, 31, 31, 33, 32, 34, 37, 37, 36, 39, 38}
	if diff := cmp.Diff(want, s.seqs()); diff != "" {
		t.Errorf("seed 42 frames changed (-before +now):\n%s", diff)
	}
	if diff := cmp.Diff(DirStats{Received: 40, Dropped: 7, Duplicated: 7, Reordered: 7}, c.Snapshot()); diff != "" {
		t.Errorf("seed 42 counters changed (-before +now):\n%s", diff)
	}
}

// geRun steps a Gilbert-Elliott channel n times and returns the loss rate
// and the mean length of the runs of consecutive losses.
func geRun(g *gilbert, n int) (rate, meanBurst float64) {
	losses, bursts, prev := 0, 0, false
	for range n {
		l := g.lost()
		if l {
			losses++
			if !prev {
				bursts++
			}
		}
		prev = l
	}
	if bursts == 0 {
		return 0, 0
	}
	return float64(losses) / float64(n), float64(losses) / float64(bursts)
}

func TestGilbertElliott(t *testing.T) {
	// About 2000 bursts for the rarest case: the tolerances are about three
	// standard errors.
	const n = 1000000
	near := func(what string, got, want, tol float64) {
		t.Helper()
		if got < want*(1-tol) || got > want*(1+tol) {
			t.Errorf("%s = %.4f, want %.4f ± %.0f%%", what, got, want, tol*100)
		}
	}
	for _, tc := range []struct{ p, r float64 }{{0.01, 0.2}, {0.05, 0.5}, {0.002, 0.05}} {
		g := &gilbert{p: tc.p, r: tc.r, lossBad: 1, rng: newGERand(7, 0)}
		rate, burst := geRun(g, n)
		// Stationary probability of the bad state, where every frame is
		// lost; a stay there lasts 1/r frames on average, and two stays
		// are separated by at least one good frame.
		near(fmt.Sprintf("p=%v r=%v: loss rate", tc.p, tc.r), rate, tc.p/(tc.p+tc.r), 0.1)
		near(fmt.Sprintf("p=%v r=%v: mean burst", tc.p, tc.r), burst, 1/tc.r, 0.07)
	}
	// Partial losses in both states.
	g := &gilbert{p: 0.02, r: 0.1, lossBad: 0.5, lossGood: 0.01, rng: newGERand(7, 0)}
	rate, _ := geRun(g, n)
	piBad := 0.02 / (0.02 + 0.1)
	near("partial losses: loss rate", rate, piBad*0.5+(1-piBad)*0.01, 0.1)

	// The step order: the fate of a frame is decided in the state the
	// previous frame left, starting good. p = r = 1 alternates.
	g = &gilbert{p: 1, r: 1, lossBad: 1, rng: newGERand(1, 0)}
	for i := range 10 {
		if got := g.lost(); got != (i%2 == 1) {
			t.Fatalf("p=r=1: frame %d lost = %v", i, got)
		}
	}
	// Without losses in the good state the channel never loses before it
	// leaves it.
	g = &gilbert{p: 0, r: 0.5, lossBad: 1, rng: newGERand(1, 0)}
	if rate, _ := geRun(g, 1000); rate != 0 {
		t.Errorf("p=0: loss rate %v", rate)
	}
}

func TestPipeBurstLoss(t *testing.T) {
	const n = 50000
	ge := Faults{GEP: 0.02, GER: 0.25, GELossBad: 1}
	s, c := feed(t, ge, 5, n)
	st := c.Snapshot()
	if st.Dropped != 0 || st.BurstDrops+uint64(len(s.frames)) != n {
		t.Fatalf("counters %+v with %d frames sent", st, len(s.frames))
	}
	if got, want := float64(st.BurstDrops)/n, 0.02/0.27; got < want*0.8 || got > want*1.2 {
		t.Errorf("burst loss rate %.4f, want about %.4f", got, want)
	}
	// The losses are the gaps in the sequence numbers: bursts of 1/r = 4.
	gaps, lost, prev := 0, 0, -1
	for _, seq := range s.seqs() {
		if d := int(seq) - prev - 1; d > 0 {
			gaps++
			lost += d
		} else if d < 0 {
			t.Fatalf("seq %d after %d", seq, prev)
		}
		prev = int(seq)
	}
	lost += n - 1 - prev
	if prev != n-1 {
		gaps++
	}
	if uint64(lost) != st.BurstDrops || float64(lost)/float64(gaps) < 3.4 || float64(lost)/float64(gaps) > 4.6 { // ±15%
		t.Errorf("%d frames lost in %d bursts (counted %d), want bursts of about 4", lost, gaps, st.BurstDrops)
	}

	// Turning the channel on leaves the other faults of the seed alone: the
	// same frames are dropped by -drop (which wins when both hit) and the
	// channel only removes frames.
	f := Faults{Drop: 0.3, Dup: 0.2}
	off, cOff := feed(t, f, 11, 2000)
	f.GEP, f.GER, f.GELossBad = 0.05, 0.3, 1
	on, cOn := feed(t, f, 11, 2000)
	if cOn.Dropped.Load() != cOff.Dropped.Load() || cOn.Duplicated.Load() > cOff.Duplicated.Load() || cOn.BurstDrops.Load() == 0 {
		t.Errorf("with burst loss %+v, without %+v", cOn.Snapshot(), cOff.Snapshot())
	}
	kept := map[uint32]bool{}
	for _, seq := range off.seqs() {
		kept[seq] = true
	}
	for _, seq := range on.seqs() {
		if !kept[seq] {
			t.Fatalf("frame %d forwarded only with burst loss on", seq)
		}
	}
	if got, want := uint64(len(dedup(off.seqs()))-len(dedup(on.seqs()))), cOn.BurstDrops.Load(); got != want {
		t.Errorf("burst loss removed %d frames, counted %d", got, want)
	}
}
