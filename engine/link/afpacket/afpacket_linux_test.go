//go:build linux

package afpacket

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// modes are the receive paths every exchange test runs over.
var modes = []struct {
	name string
	rx   RxMode
}{{"recv", RxRecv}, {"ring", RxRing}}

// frame builds a frame for (dst, ep) of type pt, n bytes long, with id at
// bytes 20..23 and a pattern after it.
func frame(dst, src [6]byte, pt, ep uint8, id uint32, n int) []byte {
	b := make([]byte, n)
	copy(b, dst[:])
	copy(b[6:], src[:])
	b[12], b[13], b[16], b[17] = 0x86, 0xdf, pt, ep
	binary.BigEndian.PutUint32(b[20:], id)
	for i := 32; i < n; i++ {
		b[i] = byte(i * 7)
	}
	return b
}

// recvUntil reads frames from l until one carries id marker (not
// returned), failing after a few seconds.
func recvUntil(t *testing.T, l link.Link, marker uint32) [][]byte {
	t.Helper()
	var got [][]byte
	buf := make([]byte, 10000)
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := l.Recv(buf)
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if n == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("marker %#x not received after %d frames", marker, len(got))
			}
			if err := l.Wait(100 * time.Millisecond); err != nil {
				t.Fatalf("Wait: %v", err)
			}
			continue
		}
		if n >= 24 && binary.BigEndian.Uint32(buf[20:]) == marker {
			return got
		}
		got = append(got, append([]byte(nil), buf[:n]...))
	}
}

func ids(frames [][]byte) []uint32 {
	var out []uint32
	for _, f := range frames {
		out = append(out, binary.BigEndian.Uint32(f[20:]))
	}
	return out
}

const marker = 0xfeedf00d

func TestOpenNoInterface(t *testing.T) {
	for _, name := range []string{"", "omx-no-such-if", "waytoolonginterfacename"} {
		_, err := Open(Config{Interface: name})
		if !errors.Is(err, link.ErrNoInterface) {
			t.Errorf("Open(%q) = %v, want ErrNoInterface", name, err)
		}
	}
}

func TestOpenPermission(t *testing.T) {
	check := func(err error) {
		t.Helper()
		if !errors.Is(err, link.ErrPermission) {
			t.Fatalf("Open without CAP_NET_RAW = %v, want ErrPermission", err)
		}
		if !strings.Contains(err.Error(), "CAP_NET_RAW") || !strings.Contains(err.Error(), "root") {
			t.Errorf("error %q does not say how to fix it", err)
		}
	}
	if os.Geteuid() != 0 {
		// Unprivileged (unless the binary was given the capability).
		if l, err := Open(Config{Interface: "lo"}); err == nil {
			l.Close()
			t.Skip("this unprivileged test has CAP_NET_RAW")
		} else {
			check(err)
		}
		return
	}
	p := newPair(t, 1500)
	// Drop CAP_NET_RAW from the effective set of one locked thread, open
	// there, then restore it (or let the thread die).
	errc := make(chan error, 1)
	inNetns(t, p.nsA, func() {
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		saved := data
		data[0].Effective &^= 1 << unix.CAP_NET_RAW
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			errc <- err
			return
		}
		l, err := Open(Config{Interface: p.ifA})
		if l != nil {
			l.Close()
		}
		errc <- err
		if err := unix.Capset(&hdr, &saved[0]); err != nil {
			panic(fmt.Sprintf("cannot restore capabilities: %v", err))
		}
	})
	check(<-errc)
}

func TestOpenMTU(t *testing.T) {
	p := newPair(t, 1500)
	var err error
	inNetns(t, p.nsA, func() {
		_, err = Open(Config{Interface: p.ifA, MinMTU: 9000, Mode: "native-9000"})
	})
	if !errors.Is(err, link.ErrMTU) {
		t.Fatalf("Open(MinMTU 9000) on MTU 1500 = %v, want ErrMTU", err)
	}
	want := fmt.Sprintf("interface %s has MTU 1500, native-9000 needs MTU 8986 (frames of 9000 bytes)", p.ifA)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	for _, min := range []int{1500, 1514} {
		l := openIn(t, p.nsA, Config{Interface: p.ifA, MinMTU: min})
		if l.MTU() != 1514 {
			t.Errorf("MTU() = %d, want 1514", l.MTU())
		}
	}
}

func TestOpenRxMode(t *testing.T) {
	p := newPair(t, 1500)
	if l := openIn(t, p.nsA, Config{Interface: p.ifA}); l.ring == nil {
		t.Error("default receive mode is not the ring")
	}
	if l := openIn(t, p.nsA, Config{Interface: p.ifA, Endpoint: 1, Rx: RxRecv}); l.ring != nil {
		t.Error("RxRecv link has a ring")
	}
	var err error
	inNetns(t, p.nsA, func() { _, err = Open(Config{Interface: p.ifA, Endpoint: 2, Rx: 42}) })
	if err == nil {
		t.Error("Open with receive mode 42 succeeded")
	}
}

// TestLoopback runs two endpoints over lo, whose MAC is all zeros: each
// frame reaches its endpoint once, and never its sender.
func TestLoopback(t *testing.T) {
	p := newPair(t, 1500)
	ipCmd(t, "-n", p.nsA, "link", "set", "lo", "up")
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			l1 := openIn(t, p.nsA, Config{Interface: "lo", Endpoint: 1, Rx: m.rx, MinMTU: 9000})
			l2 := openIn(t, p.nsA, Config{Interface: "lo", Endpoint: 2, Rx: m.rx})
			if l1.MAC() != [6]byte{} || l1.MTU() != 65536+14 {
				t.Errorf("lo: MAC %x, MTU %d", l1.MAC(), l1.MTU())
			}
			var zero [6]byte
			for i, f := range [][]byte{
				frame(zero, zero, 37, 2, 1, 60),
				frame(zero, zero, 37, 1, 2, 60),
				frame(zero, zero, 37, 2, 3, 20000),
			} {
				if err := l1.Send(f); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			if err := l1.Send(frame(zero, zero, 37, 2, marker, 60)); err != nil {
				t.Fatal(err)
			}
			if err := l2.Send(frame(zero, zero, 37, 1, marker, 60)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]uint32{1, 3}, ids(recvUntil(t, l2, marker))); diff != "" {
				t.Errorf("endpoint 2 mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]uint32{2}, ids(recvUntil(t, l1, marker))); diff != "" {
				t.Errorf("endpoint 1 mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSelf: with Config.Self, frames sent on a veth to the interface's own
// MAC reach the endpoint they name, once, and only links that asked for
// them; frames from the other host still arrive.
func TestSelf(t *testing.T) {
	p := newPair(t, 1500)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			l1 := openIn(t, p.nsA, Config{Interface: p.ifA, Endpoint: 1, Rx: m.rx, Self: true})
			l2 := openIn(t, p.nsA, Config{Interface: p.ifA, Endpoint: 2, Rx: m.rx, Self: true})
			l3 := openIn(t, p.nsA, Config{Interface: p.ifA, Endpoint: 3, Rx: m.rx})
			b := openIn(t, p.nsB, Config{Interface: p.ifB, Endpoint: 2, Rx: m.rx})
			me, other := l1.MAC(), b.MAC()
			for i, f := range [][]byte{
				frame(me, me, 37, 2, 1, 60),
				frame(me, me, 37, 3, 2, 60), // l3 did not ask for its host's frames
				frame(other, me, 37, 2, 3, 60),
				frame(me, me, 37, 2, 4, 1514),
			} {
				if err := l1.Send(f); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			if err := b.Send(frame(me, other, 37, 2, 5, 60)); err != nil {
				t.Fatal(err)
			}
			if err := b.Send(frame(me, other, 37, 2, marker, 60)); err != nil {
				t.Fatal(err)
			}
			if err := b.Send(frame(me, other, 37, 3, marker, 60)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]uint32{1, 4, 5}, ids(recvUntil(t, l2, marker))); diff != "" {
				t.Errorf("endpoint 2 mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]uint32(nil), ids(recvUntil(t, l3, marker))); diff != "" {
				t.Errorf("endpoint 3 mismatch (-want +got):\n%s", diff)
			}
			recvUntil(t, b, 3) // the frame to the other host's MAC went there

		})
	}
}

func TestExchange(t *testing.T) {
	p := newPair(t, 9000)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			a := openIn(t, p.nsA, Config{Interface: p.ifA, Endpoint: 2, MinMTU: 9000, Rx: m.rx})
			b := openIn(t, p.nsB, Config{Interface: p.ifB, Endpoint: 5, MinMTU: 9000, Rx: m.rx})
			if a.MTU() != 9014 || b.MTU() != 9014 {
				t.Errorf("MTU() = %d, %d; want 9014", a.MTU(), b.MTU())
			}
			if a.MAC() == b.MAC() || a.MAC() == [6]byte{} {
				t.Fatalf("MACs %x and %x", a.MAC(), b.MAC())
			}
			// A to B: short (padded), medium, jumbo.
			sent := [][]byte{
				frame(b.MAC(), a.MAC(), 37, 5, 1, 40),
				frame(b.MAC(), a.MAC(), 39, 5, 2, 1500),
				frame(b.MAC(), a.MAC(), 42, 0, 3, 9014),
			}
			binary.BigEndian.PutUint32(sent[2][28:], 5^link.PullMagic)
			for _, f := range sent {
				if err := a.Send(f); err != nil {
					t.Fatalf("Send %d bytes: %v", len(f), err)
				}
			}
			if err := a.Send(frame(b.MAC(), a.MAC(), 37, 5, marker, 60)); err != nil {
				t.Fatal(err)
			}
			got := recvUntil(t, b, marker)
			want := [][]byte{append(sent[0], make([]byte, 20)...), sent[1], sent[2]}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("A to B frames mismatch (-want +got):\n%s", diff)
			}
			// B to A, and A never sees its own frames.
			if err := a.Send(frame(a.MAC(), a.MAC(), 37, 2, 10, 60)); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if err := b.Send(frame(a.MAC(), b.MAC(), 38, 2, uint32(20+i), 100)); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Send(frame(a.MAC(), b.MAC(), 37, 2, marker, 60)); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]uint32{20, 21, 22}, ids(recvUntil(t, a, marker))); diff != "" {
				t.Errorf("B to A ids mismatch (-want +got):\n%s", diff)
			}
			// A short receive buffer truncates.
			if err := a.Send(sent[1]); err != nil {
				t.Fatal(err)
			}
			small := make([]byte, 64)
			for n := 0; n == 0; {
				if err := b.Wait(5 * time.Second); err != nil {
					t.Fatal(err)
				}
				var err error
				if n, err = b.Recv(small); err != nil {
					t.Fatal(err)
				}
				if n != 0 && (n != 64 || !bytes.Equal(small, sent[1][:64])) {
					t.Errorf("Recv(64-byte buffer) = %d bytes %x", n, small[:n])
				}
			}
			// Oversize and headerless frames are refused.
			if err := a.Send(make([]byte, 9015)); err == nil {
				t.Error("Send of a 9015-byte frame succeeded")
			}
			if err := a.Send(make([]byte, 13)); err == nil {
				t.Error("Send of a 13-byte frame succeeded")
			}
			if s := a.Stats(); s.TxDropped != 0 {
				t.Errorf("Stats = %+v", s)
			}
		})
	}
}

// TestKernelFilter opens two endpoints on one interface and checks the
// kernel gives each exactly its frames.
func TestKernelFilter(t *testing.T) {
	p := newPair(t, 1500)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			a := openIn(t, p.nsA, Config{Interface: p.ifA, Endpoint: 0, Rx: m.rx})
			b1 := openIn(t, p.nsB, Config{Interface: p.ifB, Endpoint: 1, Rx: m.rx})
			b2 := openIn(t, p.nsB, Config{Interface: p.ifB, Endpoint: 2, Rx: m.rx})
			bm, am := b1.MAC(), a.MAC()
			mk := func(pt, ep uint8, id uint32, set func([]byte)) []byte {
				f := frame(bm, am, pt, ep, id, 60)
				if set != nil {
					set(f)
				}
				return f
			}
			magic := func(ep uint32) func([]byte) {
				return func(f []byte) { binary.BigEndian.PutUint32(f[28:], ep^link.PullMagic) }
			}
			frames := [][]byte{
				mk(37, 1, 101, nil),                          // TINY ep1
				mk(37, 2, 102, nil),                          // TINY ep2
				mk(35, 2, 103, nil),                          // TRUC ep2
				mk(41, 1, 104, nil),                          // PULL ep1
				mk(45, 2, 105, nil),                          // NACK_MCP ep2
				mk(44, 1, 106, func(f []byte) { f[25] = 2 }), // NACK_LIB ep2 (byte 25)
				mk(44, 2, 107, func(f []byte) { f[25] = 1 }), // NACK_LIB ep1
				mk(42, 9, 108, magic(1)),                     // PULL_REPLY ep1
				mk(42, 2, 109, magic(7)),                     // PULL_REPLY ep7: nobody
				mk(1, 1, 110, nil),                           // RAW: refused
				mk(3, 1, 111, nil),                           // HOST_QUERY: every endpoint
				mk(4, 2, 112, nil),                           // HOST_REPLY: every endpoint
				mk(37, 3, 113, nil),                          // TINY ep3: nobody
				mk(37, 1, 114, func(f []byte) { f[5] ^= 1 }), // other MAC
				mk(37, 1, 115, func(f []byte) { copy(f, bytes.Repeat([]byte{0xff}, 6)) }), // broadcast
				mk(43, 1, 116, nil), // NOTIFY ep1
			}
			for _, f := range frames {
				if err := a.Send(f); err != nil {
					t.Fatal(err)
				}
			}
			for _, ep := range []uint8{1, 2} {
				if err := a.Send(mk(37, ep, marker, nil)); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff([]uint32{101, 104, 107, 108, 111, 112, 116}, ids(recvUntil(t, b1, marker))); diff != "" {
				t.Errorf("endpoint 1 frames mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]uint32{102, 103, 105, 106, 111, 112}, ids(recvUntil(t, b2, marker))); diff != "" {
				t.Errorf("endpoint 2 frames mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWaitWake(t *testing.T) {
	p := newPair(t, 1500)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			a := openIn(t, p.nsA, Config{Interface: p.ifA, Rx: m.rx})
			b := openIn(t, p.nsB, Config{Interface: p.ifB, Rx: m.rx})
			timed := func(f func() error) time.Duration {
				t.Helper()
				start := time.Now()
				if err := f(); err != nil {
					t.Fatalf("Wait: %v", err)
				}
				return time.Since(start)
			}
			// Bounds are loose: this checks which event ended the wait.
			const soon = 500 * time.Millisecond
			if d := timed(func() error { return b.Wait(50 * time.Millisecond) }); d < 50*time.Millisecond || d > 50*time.Millisecond+soon {
				t.Errorf("Wait(50ms) on an idle link took %v", d)
			}
			if d := timed(func() error { return b.Wait(0) }); d > soon {
				t.Errorf("Wait(0) took %v", d)
			}
			b.Wake()
			if d := timed(func() error { return b.Wait(10 * time.Second) }); d > soon {
				t.Errorf("Wait after Wake took %v", d)
			}
			if d := timed(func() error { return b.Wait(30 * time.Millisecond) }); d < 30*time.Millisecond {
				t.Errorf("second Wait after one Wake took %v, want the timeout", d)
			}
			go func() {
				time.Sleep(20 * time.Millisecond)
				b.Wake()
			}()
			if d := timed(func() error { return b.Wait(-1) }); d < 20*time.Millisecond || d > 20*time.Millisecond+soon {
				t.Errorf("Wait woken after 20ms took %v", d)
			}
			go func() {
				time.Sleep(20 * time.Millisecond)
				a.Send(frame(b.MAC(), a.MAC(), 37, 0, 1, 60))
			}()
			if d := timed(func() error { return b.Wait(10 * time.Second) }); d < 20*time.Millisecond || d > 20*time.Millisecond+soon {
				t.Errorf("Wait for a frame sent after 20ms took %v", d)
			}
			// Pending frame: Wait returns at once until it is read.
			if d := timed(func() error { return b.Wait(10 * time.Second) }); d > soon {
				t.Errorf("Wait with a pending frame took %v", d)
			}
			buf := make([]byte, 100)
			if n, err := b.Recv(buf); n != 60 || err != nil {
				t.Errorf("Recv = %d, %v; want the 60-byte frame", n, err)
			}
			if n, err := b.Recv(buf); n != 0 || err != nil {
				t.Errorf("Recv on an empty link = %d, %v", n, err)
			}
			// WaitFD also returns when another descriptor becomes readable
			// (the shared-memory link's bell), and not before.
			var pfd [2]int
			if err := unix.Pipe2(pfd[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
				t.Fatal(err)
			}
			defer unix.Close(pfd[0])
			defer unix.Close(pfd[1])
			var fw link.FDWaiter = b
			if d := timed(func() error { return fw.WaitFD(pfd[0], 30*time.Millisecond) }); d < 30*time.Millisecond {
				t.Errorf("WaitFD(30ms) on idle descriptors took %v", d)
			}
			go func() {
				time.Sleep(20 * time.Millisecond)
				unix.Write(pfd[1], []byte{1})
			}()
			if d := timed(func() error { return fw.WaitFD(pfd[0], 10*time.Second) }); d < 20*time.Millisecond || d > 20*time.Millisecond+soon {
				t.Errorf("WaitFD for a descriptor written after 20ms took %v", d)
			}
			// Close wakes every waiter.
			var wg sync.WaitGroup
			errs := make([]error, 3)
			for i := range errs {
				wg.Go(func() { errs[i] = b.Wait(-1) })
			}
			time.Sleep(20 * time.Millisecond)
			if err := b.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			wg.Wait()
			for i, err := range errs {
				if !errors.Is(err, link.ErrClosed) {
					t.Errorf("waiter %d: %v, want ErrClosed", i, err)
				}
			}
			if err := b.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, err := b.Recv(buf); !errors.Is(err, link.ErrClosed) {
				t.Errorf("Recv after Close = %v", err)
			}
			if err := b.Send(frame(a.MAC(), b.MAC(), 37, 0, 1, 60)); !errors.Is(err, link.ErrClosed) {
				t.Errorf("Send after Close = %v", err)
			}
			if err := b.Wait(0); !errors.Is(err, link.ErrClosed) {
				t.Errorf("Wait after Close = %v", err)
			}
			b.Wake() // harmless
		})
	}
}

// TestCloseRace closes links while other goroutines send, receive and
// wait on them; run with -race.
func TestCloseRace(t *testing.T) {
	p := newPair(t, 1500)
	for i := range 10 {
		a := openIn(t, p.nsA, Config{Interface: p.ifA, Rx: RxMode(1 + i%2)})
		b := openIn(t, p.nsB, Config{Interface: p.ifB, Rx: RxMode(1 + i%2)})
		var wg sync.WaitGroup
		wg.Go(func() {
			f := frame(b.MAC(), a.MAC(), 37, 0, 0, 60)
			for a.Send(f) == nil {
			}
		})
		wg.Go(func() {
			buf := make([]byte, 100)
			for {
				if _, err := b.Recv(buf); err != nil {
					return
				}
			}
		})
		wg.Go(func() {
			for b.Wait(-1) == nil {
			}
		})
		time.Sleep(5 * time.Millisecond)
		b.Close()
		a.Close()
		wg.Wait()
	}
	runtime.GC()
}

// TestRingSlots: the receive ring is sized from the largest frame of the
// wire mode (Config.MinMTU), not from the interface's MTU: on lo (MTU
// 65536) a native-9000 link gets hundreds of slots, not 64 of 128 KiB.
func TestRingSlots(t *testing.T) {
	p := newPair(t, 1500)
	ipCmd(t, "-n", p.nsA, "link", "set", "lo", "up")
	l := openIn(t, p.nsA, Config{Interface: "lo", Endpoint: 1, MinMTU: 9000})
	if l.ring == nil {
		t.Fatal("no ring")
	}
	if l.ring.frameSize > 9000+256 || l.ring.frames < 768 {
		t.Errorf("native-9000 ring on lo: %d slots of %d bytes", l.ring.frames, l.ring.frameSize)
	}
	big := openIn(t, p.nsA, Config{Interface: "lo", Endpoint: 2})
	if big.ring.frameSize < 65536+14 {
		t.Errorf("a ring without MinMTU holds frames of %d bytes, lo's MTU is 65536", big.ring.frameSize)
	}
	// Slots are packed per block: every slot lies inside the mapping and
	// no two overlap.
	last := l.ring.offset(l.ring.frames-1) + l.ring.frameSize
	if last > len(l.ring.mem) || l.ring.offset(1)-l.ring.offset(0) != l.ring.frameSize {
		t.Errorf("slot layout: last slot ends at %d of %d", last, len(l.ring.mem))
	}
}

// TestRingOverflowReported: frames the kernel drops because the ring is
// full are reported (link.LossReporter, Stats().RxDropped) once the ring is
// read again.
func TestRingOverflowReported(t *testing.T) {
	p := newPair(t, 9000)
	a := openIn(t, p.nsA, Config{Interface: p.ifA, Endpoint: 1})
	b := openIn(t, p.nsB, Config{Interface: p.ifB, Endpoint: 1, RxRingSize: 64 << 10, MinMTU: 9014})
	if b.ring == nil || b.ring.frames > 16 {
		t.Fatalf("small ring: %+v", b.ring)
	}
	var lr link.LossReporter = b
	if lr.RxLosses() != 0 {
		t.Fatal("losses before any traffic")
	}
	const sent = 100
	for i := range sent {
		if err := a.Send(frame(b.MAC(), a.MAC(), 37, 1, uint32(i), 8000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Send(frame(b.MAC(), a.MAC(), 37, 1, marker, 60)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	buf := make([]byte, 10000)
	got := 0
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		n, err := b.Recv(buf)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			if lr.RxLosses() > 0 {
				break
			}
			time.Sleep(time.Millisecond)
			continue
		}
		got++
	}
	st := b.Stats()
	if lr.RxLosses() == 0 || st.RxDropped == 0 || got+int(st.RxDropped) != sent+1 {
		t.Errorf("received %d of %d frames, losses reported %d, dropped %d", got, sent+1, lr.RxLosses(), st.RxDropped)
	}
}
