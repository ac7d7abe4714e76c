package nettest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
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
	n := New(t, Options{Hosts: 2, MTU: mtu, Bridge: &BridgeConfig{}})
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
	for i := range count {
		f := testFrame(dst.MAC, src.MAC, uint32(i), size)
		if err := c.Send(f); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		frames = append(frames, f)
	}
	return frames
}

// settle waits until the bridge has read want frames in direction a->b (or
// b->a) and has emitted everything it will emit for them, and returns its
// statistics.
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
		if d.Received > want {
			t.Fatalf("bridge received %d frames, only %d sent: %+v", d.Received, want, st)
		}
		if d.Received == want && d.Forwarded+d.SendErrors == d.Received-d.Dropped+d.Duplicated {
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
