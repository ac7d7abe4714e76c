package nettest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// bridged is a 2-host network through the fault bridge with a raw socket
// on each host.
type bridged struct {
	n      *Net
	b      *Bridge
	c0, c1 *RawConn
}

func newBridged(t *testing.T, mtu int) *bridged {
	return newBridgedWith(t, mtu, BridgeConfig{})
}

// newBridgedWith is newBridged with the bridge started with c.
func newBridgedWith(t *testing.T, mtu int, c BridgeConfig) *bridged {
	n := New(t, Options{Hosts: 2, MTU: mtu, Bridge: &c})
	if n.Bridge() == nil || n.Middle == "" {
		t.Fatalf("no fault bridge: %+v", n)
	}
	return &bridged{n: n, b: n.Bridge(), c0: n.Hosts[0].OpenRaw(t, etherOMX), c1: n.Hosts[1].OpenRaw(t, etherOMX)}
}

// setFaults restarts the bridge with c and checks the previous run ended
// cleanly (no frame lost or refused outside the faults).
func (x *bridged) setFaults(t *testing.T, c BridgeConfig) {
	t.Helper()
	st, err := x.b.SetFaults(c)
	if err != nil {
		t.Fatal(err)
	}
	checkNoLoss(t, st)
	if got := x.b.Config(); got != c {
		t.Errorf("Config() = %+v, want %+v", got, c)
	}
}

func checkNoLoss(t *testing.T, st BridgeStats) {
	t.Helper()
	for _, d := range []DirStats{st.AToB, st.BToA} {
		if d.KernelDrops != 0 || d.SendErrors != 0 {
			t.Errorf("bridge lost frames outside the faults: %+v", st)
		}
	}
}

// send sends count frames of size bytes, sequence numbers from 0, from host
// i's socket to the other host; it keeps its thread on one CPU so the
// kernel cannot reorder them. It returns the frames.
func (x *bridged) send(t *testing.T, from, count, size int) [][]byte {
	t.Helper()
	return x.sendSeq(t, from, 0, count, size)
}

// sendSeq is send with sequence numbers from first.
func (x *bridged) sendSeq(t *testing.T, from, first, count, size int) [][]byte {
	t.Helper()
	src, dst := x.n.Hosts[from], x.n.Hosts[1-from]
	c := x.c0
	if from == 1 {
		c = x.c1
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set, old unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err == nil {
		for cpu := range 1024 {
			if old.IsSet(cpu) {
				set.Set(cpu)
				break
			}
		}
		if err := unix.SchedSetaffinity(0, &set); err == nil {
			defer unix.SchedSetaffinity(0, &old)
		}
	}
	var frames [][]byte
	for i := first; i < first+count; i++ {
		f := testFrame(dst.MAC, src.MAC, uint32(i), size)
		if err := c.Send(f); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		frames = append(frames, f)
	}
	return frames
}

// settle waits until the bridge has read (or lost in its input socket) want
// frames in direction a->b (or b->a) and has emitted everything it will emit
// for them, and returns its statistics.
func (x *bridged) settle(t *testing.T, aToB bool, want uint64) BridgeStats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := x.b.Stats()
		if err != nil {
			t.Fatal(err)
		}
		d := st.BToA
		if aToB {
			d = st.AToB
		}
		if d.Received+d.KernelDrops > want {
			t.Fatalf("bridge received %d frames, only %d sent: %+v", d.Received, want, st)
		}
		if d.Received+d.KernelDrops == want &&
			d.Forwarded+d.SendErrors+d.QueueDrops == d.Received-d.Dropped-d.BurstDrops+d.Duplicated {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("bridge not settled after 10s (want %d received): %+v", want, st)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// recvAll receives exactly count frames, then checks nothing else comes.
func recvAll(t *testing.T, c *RawConn, count uint64) [][]byte {
	t.Helper()
	var got [][]byte
	for range count {
		got = append(got, recvOne(t, c, 5*time.Second))
	}
	expectNothing(t, c, "frame beyond the bridge's forwarded count")
	return got
}

func seqOf(f []byte) uint32 { return binary.BigEndian.Uint32(f[16:]) }

func seqs(frames [][]byte) []uint32 {
	var s []uint32
	for _, f := range frames {
		s = append(s, seqOf(f))
	}
	return s
}

func TestFaultBridge(t *testing.T) {
	x := newBridged(t, 9000)
	mac0, mac1 := x.n.Hosts[0].MAC, x.n.Hosts[1].MAC

	t.Run("clean", func(t *testing.T) {
		x.setFaults(t, BridgeConfig{})
		var sent [][]byte
		for _, size := range []int{60, 61, 1514, 4000, 9014} {
			sent = append(sent, x.send(t, 0, 40, size)...)
		}
		st := x.settle(t, true, uint64(len(sent)))
		want := DirStats{Received: 200, Forwarded: 200}
		if diff := cmp.Diff(want, st.AToB); diff != "" {
			t.Errorf("a->b stats mismatch (-want +got):\n%s", diff)
		}
		got := recvAll(t, x.c1, 200)
		for i := range sent {
			if !bytes.Equal(got[i], sent[i]) {
				t.Fatalf("frame %d (%d bytes) changed or out of order (got seq %d, %d bytes)", i, len(sent[i]), seqOf(got[i]), len(got[i]))
			}
		}
		// The other direction, counted separately.
		back := x.send(t, 1, 30, 100)
		st = x.settle(t, false, 30)
		if diff := cmp.Diff(DirStats{Received: 30, Forwarded: 30}, st.BToA); diff != "" {
			t.Errorf("b->a stats mismatch (-want +got):\n%s", diff)
		}
		if st.AToB.Received != 200 || st.A != Port(0) || st.B != Port(1) || st.Final {
			t.Errorf("stats: %+v", st)
		}
		if diff := cmp.Diff(back, recvAll(t, x.c0, 30)); diff != "" {
			t.Errorf("b->a frames mismatch (-want +got):\n%s", diff)
		}
		expectNothing(t, x.c1, "frame sent by host1 looped back")
	})

	t.Run("drop all", func(t *testing.T) {
		x.setFaults(t, BridgeConfig{Drop: 1})
		x.send(t, 0, 50, 60)
		x.send(t, 1, 5, 60)
		x.settle(t, true, 50)
		st := x.settle(t, false, 5)
		if diff := cmp.Diff(DirStats{Received: 50, Dropped: 50}, st.AToB); diff != "" {
			t.Errorf("a->b stats mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(DirStats{Received: 5, Dropped: 5}, st.BToA); diff != "" {
			t.Errorf("b->a stats mismatch (-want +got):\n%s", diff)
		}
		expectNothing(t, x.c1, "dropped frame")
		expectNothing(t, x.c0, "dropped frame")
	})

	t.Run("duplicate all", func(t *testing.T) {
		x.setFaults(t, BridgeConfig{Duplicate: 1})
		sent := x.send(t, 0, 25, 1000)
		st := x.settle(t, true, 25)
		if diff := cmp.Diff(DirStats{Received: 25, Forwarded: 50, Duplicated: 25}, st.AToB); diff != "" {
			t.Errorf("stats mismatch (-want +got):\n%s", diff)
		}
		got := recvAll(t, x.c1, 50)
		for i, f := range got {
			if !bytes.Equal(f, sent[i/2]) {
				t.Fatalf("received frame %d: seq %d, want a copy of %d", i, seqOf(f), i/2)
			}
		}
	})

	t.Run("reorder all", func(t *testing.T) {
		// A long flush timeout: every frame but the odd last one is
		// overtaken by its successor, however slow the sender.
		x.setFaults(t, BridgeConfig{Reorder: 1, ReorderFlush: 300 * time.Millisecond})
		sent := x.send(t, 0, 9, 200)
		st := x.settle(t, true, 9)
		if diff := cmp.Diff(DirStats{Received: 9, Forwarded: 9, Reordered: 4, Flushed: 1}, st.AToB); diff != "" {
			t.Errorf("stats mismatch (-want +got):\n%s", diff)
		}
		got := recvAll(t, x.c1, 9)
		if diff := cmp.Diff([]uint32{1, 0, 3, 2, 5, 4, 7, 6, 8}, seqs(got)); diff != "" {
			t.Errorf("order mismatch (-want +got):\n%s", diff)
		}
		for _, f := range got {
			if !bytes.Equal(f, sent[seqOf(f)]) {
				t.Errorf("frame %d changed", seqOf(f))
			}
		}
	})

	for _, head := range []bool{false, true} {
		name := "corrupt body"
		from := 16
		if head {
			name, from = "corrupt head and body", 14
		}
		t.Run(name, func(t *testing.T) {
			x.setFaults(t, BridgeConfig{Corrupt: 1, CorruptHead: head, Seed: 5})
			sent := x.send(t, 0, 200, 60)
			st := x.settle(t, true, 200)
			if diff := cmp.Diff(DirStats{Received: 200, Forwarded: 200, Corrupted: 200}, st.AToB); diff != "" {
				t.Errorf("stats mismatch (-want +got):\n%s", diff)
			}
			got := recvAll(t, x.c1, 200)
			inHead := 0
			for i, f := range got {
				flipped, first := 0, -1
				for j := range f {
					if d := f[j] ^ sent[i][j]; d != 0 {
						flipped += bits.OnesCount8(d)
						first = j
					}
				}
				if flipped != 1 || first < from {
					t.Errorf("frame %d: %d bits flipped, at offset %d; want 1 bit at >= %d", i, flipped, first, from)
				}
				if first < 16 {
					inHead++
				}
			}
			// 200 uniform draws over 46 offsets hit 14..15 (seed 5 does).
			if head && inHead == 0 {
				t.Errorf("-corrupt-head never hit the peer index")
			}
		})
	}

	t.Run("deterministic", func(t *testing.T) {
		run := func(seed int64) []uint32 {
			x.setFaults(t, BridgeConfig{Drop: 0.3, Duplicate: 0.2, Reorder: 0.2, ReorderFlush: 300 * time.Millisecond, Seed: seed})
			x.send(t, 0, 300, 60)
			st := x.settle(t, true, 300)
			d := st.AToB
			if d.Dropped < 50 || d.Dropped > 130 || d.Duplicated == 0 || d.Reordered == 0 {
				t.Errorf("seed %d: implausible counters %+v", seed, d)
			}
			return seqs(recvAll(t, x.c1, d.Forwarded))
		}
		a, b, c := run(42), run(42), run(43)
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("seed 42 twice, different frames (-first +second):\n%s", diff)
		}
		if cmp.Equal(a, c) {
			t.Errorf("seeds 42 and 43 gave the same frames")
		}
	})

	t.Run("ethertype filter", func(t *testing.T) {
		x.setFaults(t, BridgeConfig{EtherType: etherOMX})
		other := x.n.Hosts[1].OpenRaw(t, 0x88B5)
		f := Frame(mac1, mac0, 0x88B5, []byte("local experimental ethertype"))
		if err := x.c0.Send(f); err != nil {
			t.Fatal(err)
		}
		x.send(t, 0, 3, 60)
		st := x.settle(t, true, 3)
		if diff := cmp.Diff(DirStats{Received: 3, Forwarded: 3}, st.AToB); diff != "" {
			t.Errorf("stats mismatch (-want +got):\n%s", diff)
		}
		recvAll(t, x.c1, 3)
		expectNothing(t, other, "frame of another EtherType")
	})

	t.Run("delay", func(t *testing.T) {
		const delay = 40 * time.Millisecond
		x.setFaults(t, BridgeConfig{Delay: delay})
		start := time.Now()
		sent := x.send(t, 0, 5, 500)
		got := recvAll(t, x.c1, 5)
		if el := time.Since(start); el < delay {
			t.Errorf("frames arrived after %v, want >= %v", el, delay)
		}
		if diff := cmp.Diff(sent, got); diff != "" {
			t.Errorf("delayed frames mismatch (-want +got):\n%s", diff)
		}
	})

	// Leave the bridge clean for the cleanup's final check.
	x.setFaults(t, BridgeConfig{})
}

func TestFaultBridgeMTU1500(t *testing.T) {
	x := newBridged(t, 1500)
	sent := x.send(t, 0, 10, 1514)
	x.settle(t, true, 10)
	if diff := cmp.Diff(sent, recvAll(t, x.c1, 10)); diff != "" {
		t.Errorf("frames mismatch (-want +got):\n%s", diff)
	}
	big := testFrame(x.n.Hosts[1].MAC, x.n.Hosts[0].MAC, 0, 1515)
	if err := x.c0.Send(big); !errors.Is(err, unix.EMSGSIZE) {
		t.Errorf("1515-byte frame over MTU 1500: %v, want EMSGSIZE", err)
	}
}

// TestFaultBridgeThroughput pushes jumbo frames through the bridge with a
// bounded window (so no socket overflows) and reports the rate.
func TestFaultBridgeThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	x := newBridged(t, 9000)
	const (
		count  = 20000
		size   = 9014
		window = 256
	)
	var received atomic.Int64
	done := make(chan int, 1)
	go func() {
		buf := make([]byte, 65536)
		n := 0
		for n < count {
			if _, err := x.c1.Recv(buf, 5*time.Second); err != nil {
				break
			}
			n++
			if n%64 == 0 || n == count {
				received.Store(int64(n))
			}
		}
		done <- n
	}()
	f := testFrame(x.n.Hosts[1].MAC, x.n.Hosts[0].MAC, 0, size)
	start := time.Now()
	for i := range count {
		for int64(i)-received.Load() >= window {
			runtime.Gosched()
		}
		if err := x.c0.Send(f); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	n := <-done
	el := time.Since(start)
	if n != count {
		t.Fatalf("received %d of %d frames", n, count)
	}
	st, err := x.b.Stats()
	if err != nil {
		t.Fatal(err)
	}
	checkNoLoss(t, st)
	t.Logf("%d frames of %d bytes in %v: %.2f Gbit/s", count, size, el, float64(count*size*8)/el.Seconds()/1e9)
}

func TestFaultBridgeCommand(t *testing.T) {
	n := New(t, Options{Hosts: 2, MTU: 1500, Bridge: &BridgeConfig{}})
	if _, err := n.Bridge().Stop(); err != nil {
		t.Fatal(err)
	}
	m := n.MiddleHost()
	if m.Env() != nil {
		t.Errorf("middle host Env = %v", m.Env())
	}
	bin := FaultBridgeBinary(t)
	stats := filepath.Join(t.TempDir(), "stats.json")
	p := m.Start(t, nil, bin, "-a", Port(0), "-b", Port(1), "-drop", "1", "-seed", "3", "-stats", stats)
	c0 := n.Hosts[0].OpenRaw(t, etherOMX)
	waitFor(t, func() bool { return strings.HasPrefix(p.Stdout(), "ready\n") })
	for i := range 7 {
		if err := c0.Send(testFrame(n.Hosts[1].MAC, n.Hosts[0].MAC, uint32(i), 60)); err != nil {
			t.Fatal(err)
		}
	}
	var st BridgeStats
	waitFor(t, func() bool {
		if err := p.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(stats)
		if err != nil {
			return false
		}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatalf("stats file: %v\n%s", err, b)
		}
		return st.AToB.Received == 7
	})
	if st.Final || st.Seed != 3 || st.AToB.Dropped != 7 || st.Seq == 0 {
		t.Errorf("mid-run stats: %+v", st)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := p.Wait(5 * time.Second)
	if r.ExitCode != 0 {
		t.Fatalf("exit %d after SIGTERM: %s", r.ExitCode, r.Stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	var final BridgeStats
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &final); err != nil {
		t.Fatalf("last stdout line: %v\n%s", err, r.Stdout)
	}
	b, err := os.ReadFile(stats)
	if err != nil {
		t.Fatal(err)
	}
	var file BridgeStats
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if !final.Final || final.AToB.Dropped != 7 || file != final || final.Seq != uint64(len(lines)-1) {
		t.Errorf("final stats %+v, file %+v, %d stdout lines", final, file, len(lines))
	}

	for _, args := range [][]string{
		{"-a", Port(0)},
		{"-a", Port(0), "-b", Port(1), "-drop", "2"},
		{"-a", Port(0), "-b", Port(1), "-ethertype", "x"},
		{"-a", Port(0), "-b", Port(1), "-rate", "fast"},
		{"-a", Port(0), "-b", Port(1), "-rcvbuf", "-1"},
	} {
		if r := m.Run(t, 5*time.Second, nil, bin, args...); r.ExitCode != 2 || r.Stderr == "" {
			t.Errorf("faultbridge %v: exit %d, stderr %q; want 2 and a message", args, r.ExitCode, r.Stderr)
		}
	}
	if r := m.Run(t, 5*time.Second, nil, bin, "-a", "nosuch0", "-b", Port(1)); r.ExitCode != 1 || !strings.Contains(r.Stderr, "nosuch0") {
		t.Errorf("unknown interface: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
}

// waitFor polls cond (an external process's observable state) until true,
// failing after 10s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met after 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rateSample is what a receiver measured: frames, and the wire bits (frame
// plus 24 bytes of Ethernet overhead) of all the frames after the first,
// received between first and last.
type rateSample struct {
	frames      int
	bits        float64
	first, last time.Time
	seqs        []uint32
	err         error
}

func (r rateSample) rate() float64 { return r.bits / r.last.Sub(r.first).Seconds() }

// receiveUntilQuiet receives on c until stop is closed and then nothing
// arrives for quiet.
func receiveUntilQuiet(c *RawConn, stop <-chan struct{}, quiet time.Duration) rateSample {
	buf := make([]byte, 65536)
	var r rateSample
	for {
		n, err := c.Recv(buf, quiet)
		if errors.Is(err, ErrTimeout) {
			select {
			case <-stop:
				return r
			default:
				continue
			}
		}
		if err != nil {
			r.err = err
			return r
		}
		now := time.Now()
		if r.frames == 0 {
			r.first = now
		} else {
			r.bits += float64(n+24) * 8
		}
		r.last = now
		r.frames++
		r.seqs = append(r.seqs, seqOf(buf[:n]))
	}
}

// TestFaultBridgeRate floods the bridge for about a second through a port
// limited to 200 Mbit/s with a large queue: host1 receives at that rate.
func TestFaultBridgeRate(t *testing.T) {
	const (
		rate = 200e6
		size = 9014
		span = time.Second
	)
	// 4 MiB: the queue drains in 170ms after the flood.
	x := newBridgedWith(t, 9000, BridgeConfig{Rate: rate, QueueBytes: 4 << 20})
	stop := make(chan struct{})
	got := make(chan rateSample, 1)
	go func() { got <- receiveUntilQuiet(x.c1, stop, 200*time.Millisecond) }()

	f := testFrame(x.n.Hosts[1].MAC, x.n.Hosts[0].MAC, 0, size)
	sent := 0
	start := time.Now()
	for time.Since(start) < span {
		if err := x.c0.Send(f); err != nil {
			t.Fatalf("send %d: %v", sent, err)
		}
		sent++
	}
	el := time.Since(start)
	close(stop)
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	st, err := x.b.Stats()
	if err != nil {
		t.Fatal(err)
	}
	d := st.AToB
	t.Logf("sent %d frames in %v (%.2f Gbit/s); host1 received %d in %v: %.1f Mbit/s; bridge %+v",
		sent, el.Round(time.Millisecond), float64(sent*(size+24)*8)/el.Seconds()/1e9,
		r.frames, r.last.Sub(r.first).Round(time.Millisecond), r.rate()/1e6, d)
	// The flood must really overload the port, or this tests nothing.
	if d.QueueDrops == 0 || d.Received < 2*uint64(r.frames) {
		t.Fatalf("the bridge was not overloaded: %+v", d)
	}
	if got := r.rate(); got < rate*0.75 || got > rate*1.25 {
		t.Errorf("received %.1f Mbit/s, want 200 ± 25%%", got/1e6)
	}
	if uint64(r.frames) != d.Forwarded || d.Forwarded+d.QueueDrops != d.Received || d.SendErrors != 0 {
		t.Errorf("host1 received %d frames; bridge %+v", r.frames, d)
	}
	if full := uint64((4 << 20) / size); d.QueuePeak > full || d.QueuePeak < full-1 {
		t.Errorf("queue peak %d frames, want the 4 MiB of the queue (%d)", d.QueuePeak, full)
	}
}

// TestFaultBridgeQueue sends a burst of 200 jumbo frames into a 24-frame
// queue drained at 20 Mbit/s: host1 receives the 24 the queue held plus the
// few that left meanwhile, the rest are tail drops.
func TestFaultBridgeQueue(t *testing.T) {
	const (
		count = 200
		size  = 9014
		rate  = 20e6
		ser   = time.Duration((size + 24) * 8 * 1e9 / rate) // 3.6ms per frame
	)
	x := newBridgedWith(t, 9000, BridgeConfig{Rate: rate, QueueFrames: 24})
	start := time.Now()
	x.send(t, 0, count, size)
	el := time.Since(start)
	st := x.settle(t, true, count)
	d := st.AToB
	got := seqs(recvAll(t, x.c1, d.Forwarded))
	t.Logf("burst sent in %v; host1 received %d frames; bridge %+v", el, len(got), d)
	if d.KernelDrops != 0 || d.SendErrors != 0 || d.Received != count {
		t.Fatalf("frames lost outside the queue: %+v", d)
	}
	if uint64(len(got))+d.QueueDrops != count || d.QueuePeak != 24 {
		t.Errorf("received %d + queue drops %d != %d sent, or peak %d != 24", len(got), d.QueueDrops, count, d.QueuePeak)
	}
	// The bridge reads the burst in about the time it took to send (50ms
	// of margin for a loaded machine); one frame leaves every ser.
	if most := 24 + int((el+50*time.Millisecond)/ser) + 1; len(got) < 24 || len(got) > most {
		t.Errorf("received %d frames, want 24 to %d", len(got), most)
	}
	for i, seq := range got {
		if i < 24 && seq != uint32(i) || i > 0 && seq <= got[i-1] {
			t.Fatalf("received frames out of order or not the head of the burst: %v", got)
		}
	}
}

// TestFaultBridgeBurstLoss runs 2000 frames through a Gilbert-Elliott
// channel: its losses are counted apart, come in bursts, and repeat with
// the seed.
func TestFaultBridgeBurstLoss(t *testing.T) {
	const count = 2000
	c := BridgeConfig{GEP: 0.05, GER: 0.25, Seed: 3} // 1/6 lost, bursts of 4
	x := newBridgedWith(t, 1500, c)
	run := func() []uint32 {
		// In chunks: a burst longer than the kernel's receive backlog
		// (1000 frames) could overflow it, uncounted, when the receive
		// softirq runs late on a loaded machine.
		var d DirStats
		for first := 0; first < count; first += 400 {
			x.sendSeq(t, 0, first, 400, 100)
			d = x.settle(t, true, uint64(first+400)).AToB
		}
		got := seqs(recvAll(t, x.c1, d.Forwarded))
		if d.KernelDrops != 0 || d.SendErrors != 0 || d.Dropped != 0 || d.QueueDrops != 0 ||
			uint64(len(got))+d.BurstDrops != count {
			t.Fatalf("received %d frames, bridge %+v", len(got), d)
		}
		lost := float64(d.BurstDrops) / count
		// Runs of missing sequence numbers.
		bursts, prev := 0, -1
		for _, seq := range got {
			if int(seq) <= prev {
				t.Fatalf("seq %d after %d", seq, prev)
			}
			if int(seq) != prev+1 {
				bursts++
			}
			prev = int(seq)
		}
		if prev != count-1 {
			bursts++
		}
		mean := float64(d.BurstDrops) / float64(bursts)
		t.Logf("%d of %d lost (%.3f) in %d bursts of %.2f frames", d.BurstDrops, count, lost, bursts, mean)
		if lost < 0.11 || lost > 0.23 || mean < 2.8 || mean > 5.2 {
			t.Errorf("loss rate %.3f (want about 0.167), mean burst %.2f (want about 4)", lost, mean)
		}
		return got
	}
	first := run()
	x.setFaults(t, c)
	if second := run(); !cmp.Equal(first, second) {
		t.Errorf("the same seed lost other frames the second time")
	}
	x.setFaults(t, BridgeConfig{})
}

// TestFaultBridgeRcvBuf stops the bridge while a burst of jumbo frames
// arrives: its default 8 MiB buffer keeps them all, the kernel's default
// (RcvBuf -1) only a few, and the bridge counts the rest as kernel drops.
func TestFaultBridgeRcvBuf(t *testing.T) {
	const count = 200
	x := newBridged(t, 9000)
	burst := func() DirStats {
		t.Helper()
		p := x.b.p
		if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return allStopped(t, p.cmd.Process.Pid) })
		x.send(t, 0, count, 9014)
		// On a loaded machine the receive softirq may run later, in
		// ksoftirqd: the frames reach the socket (or its drops) when the
		// per-CPU backlogs are empty, and must while the bridge is stopped.
		waitFor(t, func() bool { return backlogEmpty(t) })
		if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		d := x.settle(t, true, count).AToB
		if got := len(recvAll(t, x.c1, d.Forwarded)); uint64(got) != d.Received || d.Forwarded != d.Received {
			t.Errorf("host1 received %d frames, bridge %+v", got, d)
		}
		return d
	}
	if d := burst(); d.KernelDrops != 0 || d.Received != count {
		t.Errorf("8 MiB buffer: %+v", d)
	}
	b, err := os.ReadFile("/proc/sys/net/core/rmem_default")
	if err != nil {
		t.Fatal(err)
	}
	rmem, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || rmem <= 0 {
		t.Fatalf("net.core.rmem_default %q", b)
	}
	x.setFaults(t, BridgeConfig{RcvBuf: -1})
	d := burst()
	t.Logf("kernel default buffer (%d bytes): %+v", rmem, d)
	// The socket takes frames while the memory it holds (at least their
	// length each) is under its buffer: usually 200 KB, 10 to 25 frames.
	if most := uint64(rmem/9014 + 1); d.Received == 0 || d.Received > most || d.Received+d.KernelDrops != count {
		t.Errorf("kernel default buffer of %d bytes: want 1 to %d frames kept: %+v", rmem, most, d)
	}
	if _, err := x.b.SetFaults(BridgeConfig{}); err != nil { // the kernel drops are expected
		t.Fatal(err)
	}
}

// allStopped reports whether every thread of process pid is stopped.
func allStopped(t *testing.T, pid int) bool {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(dir, task.Name(), "stat"))
		if err != nil {
			return false
		}
		// pid (comm) state ...: the comm may hold spaces and parentheses.
		rest := string(b[bytes.LastIndexByte(b, ')')+1:])
		if f := strings.Fields(rest); len(f) == 0 || f[0] != "T" {
			return false
		}
	}
	return len(tasks) > 0
}

// backlogEmpty reports whether no CPU has received frames waiting for the
// network receive softirq (/proc/net/softnet_stat, column 12: the input and
// process queue lengths, on kernels since 5.10; older ones show 0 there).
func backlogEmpty(t *testing.T) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(line); len(f) >= 12 && strings.Trim(f[11], "0") != "" {
			return false
		}
	}
	return true
}

// TestBridgeConfigArgs checks the command line a BridgeConfig gives (no
// privilege needed).
func TestBridgeConfigArgs(t *testing.T) {
	base := []string{"-drop", "0", "-dup", "0", "-reorder", "0", "-corrupt", "0", "-delay", "0s", "-seed", "0"}
	for _, tc := range []struct {
		c    BridgeConfig
		want []string
	}{
		{BridgeConfig{}, base},
		{BridgeConfig{RcvBuf: -1}, append(base, "-rcvbuf", "0")},
		{BridgeConfig{RcvBuf: 1 << 20}, append(base, "-rcvbuf", "1048576")},
		{BridgeConfig{Rate: 200e6, QueueFrames: 24, QueueBytes: 65536},
			append(base, "-rate", "2e+08", "-queue-frames", "24", "-queue-bytes", "65536")},
		{BridgeConfig{GEP: 0.05, GER: 0.25}, append(base, "-ge-p", "0.05", "-ge-r", "0.25")},
		{BridgeConfig{GEP: 0.01, GER: 0.5, GELossBad: 0.8, GELossGood: 0.001},
			append(base, "-ge-p", "0.01", "-ge-r", "0.5", "-ge-loss-bad", "0.8", "-ge-loss-good", "0.001")},
	} {
		if diff := cmp.Diff(tc.want, tc.c.args()); diff != "" {
			t.Errorf("%+v: args mismatch (-want +got):\n%s", tc.c, diff)
		}
	}
}
