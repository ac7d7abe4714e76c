package mem

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0x0a}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0x0b}
)

const ptTiny = 37

// frame builds a TINY frame from src to (dst, ep) of n bytes carrying id
// at bytes 20..23.
func frame(dst, src [6]byte, ep uint8, id uint32, n int) []byte {
	b := make([]byte, n)
	copy(b, dst[:])
	copy(b[6:], src[:])
	b[12], b[13], b[16], b[17] = 0x86, 0xdf, ptTiny, ep
	binary.BigEndian.PutUint32(b[20:], id)
	for i := 24; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}

// leakCheck fails the test if it leaves goroutines behind.
func leakCheck(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<16)
				t.Errorf("goroutine leak: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
}

func mustOpen(t *testing.T, h *Hub, mac [6]byte, ep uint8) link.Link {
	t.Helper()
	l, err := h.Open(mac, ep)
	if err != nil {
		t.Fatalf("Open(%x, %d): %v", mac, ep, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// drain returns every frame pending on l.
func drain(t *testing.T, l link.Link) [][]byte {
	t.Helper()
	var out [][]byte
	buf := make([]byte, 10000)
	for {
		n, err := l.Recv(buf)
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if n == 0 {
			return out
		}
		out = append(out, append([]byte(nil), buf[:n]...))
	}
}

// ids extracts the frame ids of frames.
func ids(frames [][]byte) []uint32 {
	var out []uint32
	for _, f := range frames {
		out = append(out, binary.BigEndian.Uint32(f[20:]))
	}
	return out
}

func TestDelivery(t *testing.T) {
	leakCheck(t)
	h := NewHub(HubConfig{})
	defer h.Close()
	a := mustOpen(t, h, macA, 0)
	b3 := mustOpen(t, h, macB, 3)
	b0 := mustOpen(t, h, macB, 0)
	if a.MAC() != macA || b3.MAC() != macB {
		t.Errorf("MAC() = %x, %x; want %x, %x", a.MAC(), b3.MAC(), macA, macB)
	}
	if a.MTU() != DefaultMTU {
		t.Errorf("MTU() = %d, want %d", a.MTU(), DefaultMTU)
	}

	short := frame(macB, macA, 3, 1, 30)
	if err := a.Send(short); err != nil {
		t.Fatalf("Send: %v", err)
	}
	short[20] = 0xee // Send must have copied the frame
	long := frame(macB, macA, 3, 2, 9014)
	if err := a.Send(long); err != nil {
		t.Fatalf("Send: %v", err)
	}

	got := drain(t, b3)
	want0 := append(frame(macB, macA, 3, 1, 30), make([]byte, 30)...)
	if diff := cmp.Diff([][]byte{want0, long}, got); diff != "" {
		t.Errorf("frames mismatch (-want +got):\n%s", diff)
	}
	if f := drain(t, b0); len(f) != 0 {
		t.Errorf("endpoint 0 received %d frames meant for endpoint 3", len(f))
	}
	if f := drain(t, a); len(f) != 0 {
		t.Errorf("sender received %d frames", len(f))
	}

	// A short buffer truncates.
	if err := a.Send(long); err != nil {
		t.Fatal(err)
	}
	small := make([]byte, 100)
	if n, err := b3.Recv(small); n != 100 || err != nil || !bytes.Equal(small, long[:100]) {
		t.Errorf("Recv(short buf) = %d, %v; want 100 bytes of the frame", n, err)
	}
	want := HubStats{Sent: 3, Delivered: 3}
	if diff := cmp.Diff(want, h.Stats()); diff != "" {
		t.Errorf("stats mismatch (-want +got):\n%s", diff)
	}
}

func TestFilterRouting(t *testing.T) {
	h := NewHub(HubConfig{})
	defer h.Close()
	a := mustOpen(t, h, macA, 1)
	b := mustOpen(t, h, macB, 2)
	magic := uint32(2) ^ link.PullMagic
	for _, tc := range []struct {
		name string
		set  func(f []byte)
		want bool
	}{
		{"tiny ep2", func(f []byte) {}, true},
		{"tiny ep1", func(f []byte) { f[17] = 1 }, false},
		{"nack_lib byte 25", func(f []byte) { f[16], f[17], f[25] = 44, 9, 2 }, true},
		{"nack_lib wrong byte 25", func(f []byte) { f[16], f[25] = 44, 1 }, false},
		{"pull reply magic", func(f []byte) { f[16] = 42; binary.BigEndian.PutUint32(f[28:], magic) }, true},
		{"pull reply other magic", func(f []byte) { f[16] = 42; binary.BigEndian.PutUint32(f[28:], magic^1) }, false},
		{"raw", func(f []byte) { f[16] = 1 }, false},
		{"host query (every endpoint of the board)", func(f []byte) { f[16] = 3 }, true},
		{"other ethertype", func(f []byte) { f[13] = 0 }, false},
		{"broadcast", func(f []byte) { copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := frame(macB, macA, 2, 7, 60)
			tc.set(f)
			before := h.Stats()
			if err := a.Send(f); err != nil {
				t.Fatal(err)
			}
			got := drain(t, b)
			if (len(got) == 1) != tc.want || len(got) > 1 {
				t.Errorf("received %d frames, want accepted=%v", len(got), tc.want)
			}
			after := h.Stats()
			if !tc.want && after.Unrouted != before.Unrouted+1 {
				t.Errorf("Unrouted = %d, want %d", after.Unrouted, before.Unrouted+1)
			}
		})
	}
}

func TestOversize(t *testing.T) {
	h := NewHub(HubConfig{MTU: 1514})
	defer h.Close()
	a := mustOpen(t, h, macA, 0)
	b := mustOpen(t, h, macB, 0)
	if b.MTU() != 1514 {
		t.Errorf("MTU() = %d, want 1514", b.MTU())
	}
	for _, n := range []int{1514, 1515, 9014} {
		if err := a.Send(frame(macB, macA, 0, uint32(n), n)); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]uint32{1514}, ids(drain(t, b))); diff != "" {
		t.Errorf("delivered mismatch (-want +got):\n%s", diff)
	}
	if s := h.Stats(); s.Oversize != 2 || s.Delivered != 1 {
		t.Errorf("stats = %+v, want Oversize 2, Delivered 1", s)
	}
}

func TestQueueFull(t *testing.T) {
	h := NewHub(HubConfig{QueueLen: 8})
	defer h.Close()
	a := mustOpen(t, h, macA, 0)
	b := mustOpen(t, h, macB, 0)
	for i := range 10 {
		if err := a.Send(frame(macB, macA, 0, uint32(i), 60)); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]uint32{0, 1, 2, 3, 4, 5, 6, 7}, ids(drain(t, b))); diff != "" {
		t.Errorf("delivered mismatch (-want +got):\n%s", diff)
	}
	if s := h.Stats(); s.Overflow != 2 || s.Delivered != 8 {
		t.Errorf("stats = %+v, want Overflow 2, Delivered 8", s)
	}
	// The ring wraps correctly once drained.
	for i := range 20 {
		if err := a.Send(frame(macB, macA, 0, uint32(100+i), 60)); err != nil {
			t.Fatal(err)
		}
		if got := ids(drain(t, b)); len(got) != 1 || got[0] != uint32(100+i) {
			t.Fatalf("frame %d: got %v", i, got)
		}
	}
}

// sendSeq sends frames with ids 0..n-1 from a to b and returns what b got.
func sendSeq(t *testing.T, h *Hub, n int) [][]byte {
	t.Helper()
	a := mustOpen(t, h, macA, 0)
	b := mustOpen(t, h, macB, 0)
	var got [][]byte
	for i := range n {
		if err := a.Send(frame(macB, macA, 0, uint32(i), 64)); err != nil {
			t.Fatal(err)
		}
		got = append(got, drain(t, b)...)
	}
	h.Flush()
	return append(got, drain(t, b)...)
}

func seq(n int) []uint32 {
	s := make([]uint32, n)
	for i := range s {
		s[i] = uint32(i)
	}
	return s
}

func TestFaults(t *testing.T) {
	const n = 6
	for _, tc := range []struct {
		name  string
		cfg   HubConfig
		want  []uint32
		stats HubStats
	}{
		{"none", HubConfig{}, seq(n), HubStats{Sent: n, Delivered: n}},
		{"drop 0", HubConfig{Drop: 0}, seq(n), HubStats{Sent: n, Delivered: n}},
		{"drop 1", HubConfig{Drop: 1}, nil, HubStats{Sent: n, Dropped: n}},
		{"duplicate 0", HubConfig{Duplicate: 0}, seq(n), HubStats{Sent: n, Delivered: n}},
		{"reorder 0", HubConfig{Reorder: 0}, seq(n), HubStats{Sent: n, Delivered: n}},
		{"duplicate 1", HubConfig{Duplicate: 1}, []uint32{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5},
			HubStats{Sent: n, Delivered: 2 * n, Duplicated: n}},
		{"reorder 1", HubConfig{Reorder: 1}, []uint32{1, 0, 3, 2, 5, 4},
			HubStats{Sent: n, Delivered: n, Reordered: n / 2}},
		{"clamped above 1", HubConfig{Drop: 7}, nil, HubStats{Sent: n, Dropped: n}},
		{"clamped below 0", HubConfig{Drop: -1}, seq(n), HubStats{Sent: n, Delivered: n}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHub(tc.cfg)
			defer h.Close()
			got := ids(sendSeq(t, h, n))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("delivered mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.stats, h.Stats()); diff != "" {
				t.Errorf("stats mismatch (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("reorder held frame released by flush", func(t *testing.T) {
		h := NewHub(HubConfig{Reorder: 1})
		defer h.Close()
		got := ids(sendSeq(t, h, 3)) // 0,1 swap; 2 held until Flush
		if diff := cmp.Diff([]uint32{1, 0, 2}, got); diff != "" {
			t.Errorf("delivered mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("corrupt 1", func(t *testing.T) {
		h := NewHub(HubConfig{Corrupt: 1, Seed: 3})
		defer h.Close()
		got := sendSeq(t, h, 200)
		// A flip in a byte the filter reads (ptype, endpoint) may route
		// the frame elsewhere, here nowhere.
		if s := h.Stats(); uint64(len(got))+s.Unrouted != 200 || len(got) < 180 {
			t.Fatalf("received %d frames and %d unrouted, want 200 in all, most received", len(got), s.Unrouted)
		}
		// Frames arrive in order; match each with the next original one
		// bit away from it.
		distance := func(f, g []byte) (flipped, at int) {
			for j := range f {
				if d := bits.OnesCount8(f[j] ^ g[j]); d > 0 {
					flipped += d
					at = j
				}
			}
			return flipped, at
		}
		positions := map[int]bool{}
		next := 0
		for k, f := range got {
			for ; next < 200; next++ {
				if d, at := distance(f, frame(macB, macA, 0, uint32(next), 64)); d == 1 {
					if at < 16 {
						t.Fatalf("received frame %d: bit flipped at byte %d, want >= 16", k, at)
					}
					positions[at] = true
					break
				}
			}
			if next == 200 {
				t.Fatalf("received frame %d is not one bit away from a sent frame:\n%x", k, f)
			}
			next++
		}
		if len(positions) < 20 {
			t.Errorf("corruption hit only %d distinct bytes in 200 frames", len(positions))
		}
		if s := h.Stats(); s.Corrupted != 200 {
			t.Errorf("Corrupted = %d, want 200", s.Corrupted)
		}
	})

	t.Run("corrupt 0", func(t *testing.T) {
		h := NewHub(HubConfig{Corrupt: 0})
		defer h.Close()
		for i, f := range sendSeq(t, h, 50) {
			want := frame(macB, macA, 0, uint32(i), 64)
			if !bytes.Equal(f, want) {
				t.Fatalf("frame %d altered", i)
			}
		}
	})

	t.Run("duplicate and reorder 1", func(t *testing.T) {
		h := NewHub(HubConfig{Duplicate: 1, Reorder: 1})
		defer h.Close()
		// Each frame is duplicated; one copy of every other frame is held
		// until the next frame's copies are delivered.
		got := ids(sendSeq(t, h, 4))
		if diff := cmp.Diff([]uint32{0, 1, 1, 0, 2, 3, 3, 2}, got); diff != "" {
			t.Errorf("delivered mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestSetFaults(t *testing.T) {
	h := NewHub(HubConfig{})
	defer h.Close()
	a := mustOpen(t, h, macA, 0)
	b := mustOpen(t, h, macB, 0)
	send := func(id uint32) {
		t.Helper()
		if err := a.Send(frame(macB, macA, 0, id, 60)); err != nil {
			t.Fatal(err)
		}
	}
	send(1)
	h.SetFaults(1, 0, 0, 0)
	send(2)
	h.SetFaults(0, 1, 0, 0)
	send(3)
	h.SetFaults(0, 0, 0, 0)
	send(4)
	if diff := cmp.Diff([]uint32{1, 3, 3, 4}, ids(drain(t, b))); diff != "" {
		t.Errorf("delivered mismatch (-want +got):\n%s", diff)
	}
}

func TestSeedDeterminism(t *testing.T) {
	run := func(seed int64) ([][]byte, HubStats) {
		h := NewHub(HubConfig{Seed: seed, Drop: 0.2, Duplicate: 0.2, Reorder: 0.2, Corrupt: 0.2})
		defer h.Close()
		got := sendSeq(t, h, 300)
		return got, h.Stats()
	}
	f1, s1 := run(42)
	f2, s2 := run(42)
	if diff := cmp.Diff(f1, f2); diff != "" {
		t.Errorf("same seed, different frames (-first +second):\n%s", diff)
	}
	if s1 != s2 {
		t.Errorf("same seed, different stats: %+v vs %+v", s1, s2)
	}
	for name, c := range map[string]uint64{"dropped": s1.Dropped, "duplicated": s1.Duplicated, "reordered": s1.Reordered, "corrupted": s1.Corrupted} {
		if c < 20 || c > 100 { // 300 frames at p=0.2: about 60
			t.Errorf("%s = %d frames of 300 at p=0.2", name, c)
		}
	}
	f3, _ := run(43)
	if cmp.Equal(f1, f3) {
		t.Error("seeds 42 and 43 gave the same faults")
	}
}

func TestOpenClose(t *testing.T) {
	leakCheck(t)
	h := NewHub(HubConfig{})
	a, err := h.Open(macA, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Open(macA, 0); !errors.Is(err, ErrInUse) {
		t.Errorf("second Open = %v, want ErrInUse", err)
	}
	b, err := h.Open(macA, 1)
	if err != nil {
		t.Fatalf("Open(other endpoint): %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	buf := make([]byte, 64)
	if _, err := a.Recv(buf); !errors.Is(err, link.ErrClosed) {
		t.Errorf("Recv after Close = %v, want ErrClosed", err)
	}
	if err := a.Send(frame(macB, macA, 0, 0, 60)); !errors.Is(err, link.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if err := a.Wait(-1); !errors.Is(err, link.ErrClosed) {
		t.Errorf("Wait after Close = %v, want ErrClosed", err)
	}
	a.Wake() // harmless
	// The pair is free again, and a closed link no longer receives.
	a2, err := h.Open(macA, 0)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if err := b.Send(frame(macA, macA, 0, 9, 60)); err != nil {
		t.Fatal(err)
	}
	if got := ids(drain(t, a2)); len(got) != 1 || got[0] != 9 {
		t.Errorf("reopened link got %v, want [9]", got)
	}

	h.Close()
	h.Close()
	if _, err := h.Open(macB, 0); !errors.Is(err, link.ErrClosed) {
		t.Errorf("Open after hub Close = %v, want ErrClosed", err)
	}
	for _, l := range []link.Link{a2, b} {
		if err := l.Send(frame(macB, macA, 0, 0, 60)); !errors.Is(err, link.ErrClosed) {
			t.Errorf("Send after hub Close = %v, want ErrClosed", err)
		}
		if err := l.Wait(time.Hour); !errors.Is(err, link.ErrClosed) {
			t.Errorf("Wait after hub Close = %v, want ErrClosed", err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("Close after hub Close: %v", err)
		}
	}
	if err := a.Send(make([]byte, 10)); err == nil {
		t.Error("Send of a 10-byte frame succeeded")
	}
}

// TestWait runs in a synctest bubble, so durations are exact.
func TestWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub(HubConfig{})
		defer h.Close()
		a := mustOpen(t, h, macA, 0)
		b := mustOpen(t, h, macB, 0)

		elapsed := func(f func() error) time.Duration {
			t.Helper()
			start := time.Now()
			if err := f(); err != nil {
				t.Fatalf("Wait: %v", err)
			}
			return time.Since(start)
		}

		// Timeout.
		if d := elapsed(func() error { return b.Wait(30 * time.Millisecond) }); d != 30*time.Millisecond {
			t.Errorf("Wait(30ms) on an idle link took %v", d)
		}
		if d := elapsed(func() error { return b.Wait(0) }); d != 0 {
			t.Errorf("Wait(0) took %v", d)
		}
		// Wake before Wait: the next Wait returns at once, only that one.
		b.Wake()
		if d := elapsed(func() error { return b.Wait(time.Second) }); d != 0 {
			t.Errorf("Wait after Wake took %v", d)
		}
		if d := elapsed(func() error { return b.Wait(10 * time.Millisecond) }); d != 10*time.Millisecond {
			t.Errorf("second Wait after one Wake took %v, want the timeout", d)
		}
		// Wake during a Wait.
		go func() {
			time.Sleep(5 * time.Millisecond)
			b.Wake()
		}()
		if d := elapsed(func() error { return b.Wait(-1) }); d != 5*time.Millisecond {
			t.Errorf("Wait woken after 5ms took %v", d)
		}
		// A frame during a Wait.
		go func() {
			time.Sleep(7 * time.Millisecond)
			a.Send(frame(macB, macA, 0, 1, 60))
		}()
		if d := elapsed(func() error { return b.Wait(time.Second) }); d != 7*time.Millisecond {
			t.Errorf("Wait for a frame sent after 7ms took %v", d)
		}
		// A pending frame: Wait returns at once, until it is received.
		if d := elapsed(func() error { return b.Wait(time.Second) }); d != 0 {
			t.Errorf("Wait with a pending frame took %v", d)
		}
		if got := ids(drain(t, b)); len(got) != 1 {
			t.Errorf("received %v", got)
		}
		// A frame for someone else does not wake us.
		go func() {
			time.Sleep(time.Millisecond)
			a.Send(frame(macB, macA, 1, 1, 60))
		}()
		if d := elapsed(func() error { return b.Wait(20 * time.Millisecond) }); d != 20*time.Millisecond {
			t.Errorf("Wait with a frame for another endpoint took %v", d)
		}
		// Close during a Wait.
		go func() {
			time.Sleep(3 * time.Millisecond)
			b.Close()
		}()
		start := time.Now()
		if err := b.Wait(-1); !errors.Is(err, link.ErrClosed) {
			t.Errorf("Wait during Close = %v, want ErrClosed", err)
		}
		if d := time.Since(start); d != 3*time.Millisecond {
			t.Errorf("Wait interrupted by Close took %v", d)
		}
	})
}

func TestWaitSeveralWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub(HubConfig{})
		defer h.Close()
		b := mustOpen(t, h, macB, 0)
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Go(func() { errs[i] = b.Wait(-1) })
		}
		synctest.Wait() // all three blocked
		h.Close()
		wg.Wait()
		for i, err := range errs {
			if !errors.Is(err, link.ErrClosed) {
				t.Errorf("waiter %d: %v, want ErrClosed", i, err)
			}
		}
	})
}

func TestDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := NewHub(HubConfig{Delay: 5 * time.Millisecond})
		defer h.Close()
		a := mustOpen(t, h, macA, 0)
		b := mustOpen(t, h, macB, 0)
		start := time.Now()
		a.Send(frame(macB, macA, 0, 1, 60))
		time.Sleep(2 * time.Millisecond)
		a.Send(frame(macB, macA, 0, 2, 60))
		if got := drain(t, b); len(got) != 0 {
			t.Fatalf("frames receivable before the delay: %v", ids(got))
		}
		var got []uint32
		for len(got) < 2 {
			if err := b.Wait(time.Second); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids(drain(t, b)) {
				got = append(got, id)
				want := 5 * time.Millisecond
				if id == 2 {
					want = 7 * time.Millisecond
				}
				if d := time.Since(start); d != want {
					t.Errorf("frame %d received after %v, want %v", id, d, want)
				}
			}
		}
		if diff := cmp.Diff([]uint32{1, 2}, got); diff != "" {
			t.Errorf("delivered mismatch (-want +got):\n%s", diff)
		}
		// A Wait shorter than the delay times out.
		a.Send(frame(macB, macA, 0, 3, 60))
		start = time.Now()
		if err := b.Wait(time.Millisecond); err != nil || time.Since(start) != time.Millisecond {
			t.Errorf("Wait(1ms) with a frame due in 5ms: %v after %v", err, time.Since(start))
		}
	})
}

// TestConcurrent has four boards exchange frames with each other from
// several goroutines while receivers poll and wait; run it with -race.
func TestConcurrent(t *testing.T) {
	leakCheck(t)
	const boards, perPair = 4, 500
	h := NewHub(HubConfig{QueueLen: boards * perPair})
	defer h.Close()
	macs := make([][6]byte, boards)
	links := make([]link.Link, boards)
	for i := range boards {
		macs[i] = [6]byte{0x02, 0, 0, 0, 1, byte(i)}
		links[i] = mustOpen(t, h, macs[i], 5)
	}
	var wg sync.WaitGroup
	received := make([]map[string]int, boards)
	for i := range boards {
		received[i] = map[string]int{}
		wg.Go(func() {
			buf := make([]byte, 128)
			want := (boards - 1) * perPair
			for n := 0; n < want; {
				m, err := links[i].Recv(buf)
				if err != nil {
					t.Errorf("board %d Recv: %v", i, err)
					return
				}
				if m == 0 {
					if err := links[i].Wait(5 * time.Second); err != nil {
						t.Errorf("board %d Wait: %v", i, err)
						return
					}
					continue
				}
				received[i][fmt.Sprintf("%x", buf[6:12])]++
				n++
			}
		})
	}
	for i := range boards {
		for j := range boards {
			if i == j {
				continue
			}
			wg.Go(func() {
				for k := range perPair {
					if err := links[i].Send(frame(macs[j], macs[i], 5, uint32(k), 60)); err != nil {
						t.Errorf("Send: %v", err)
						return
					}
					if k%50 == 0 {
						links[j].Wake() // spurious wake-ups are harmless
					}
				}
			})
		}
	}
	wg.Wait()
	for i := range boards {
		for j := range boards {
			if i == j {
				continue
			}
			if got := received[i][fmt.Sprintf("%x", macs[j][:])]; got != perPair {
				t.Errorf("board %d got %d frames from board %d, want %d", i, got, j, perPair)
			}
		}
	}
	want := uint64(boards * (boards - 1) * perPair)
	if s := h.Stats(); s.Sent != want || s.Delivered != want {
		t.Errorf("stats = %+v, want %d sent and delivered", s, want)
	}
}

// TestConcurrentClose closes links while other goroutines use them.
func TestConcurrentClose(t *testing.T) {
	leakCheck(t)
	for range 20 {
		h := NewHub(HubConfig{})
		a := mustOpen(t, h, macA, 0)
		b := mustOpen(t, h, macB, 0)
		var wg sync.WaitGroup
		wg.Go(func() {
			for a.Send(frame(macB, macA, 0, 0, 60)) == nil {
			}
		})
		wg.Go(func() {
			buf := make([]byte, 64)
			for {
				if _, err := b.Recv(buf); err != nil {
					return
				}
				if err := b.Wait(time.Millisecond); err != nil {
					return
				}
			}
		})
		wg.Go(func() {
			for b.Wait(-1) == nil {
			}
		})
		time.Sleep(time.Millisecond)
		b.Close()
		h.Close()
		wg.Wait()
	}
}
