//go:build linux

package afpacket

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// rawOpenIn opens a raw link in namespace ns and closes it when the test
// ends.
func rawOpenIn(t testing.TB, ns, ifname string) *packetLink {
	t.Helper()
	var l *packetLink
	var err error
	inNetns(t, ns, func() {
		var ll link.Link
		ll, err = OpenRaw(ifname)
		if err == nil {
			l = ll.(*packetLink)
		}
	})
	if err != nil {
		t.Fatalf("OpenRaw(%s): %v", ifname, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// rawReadable polls fd for input for up to timeout.
func rawReadable(t *testing.T, fd int, timeout time.Duration) bool {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(timeout/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		return n > 0 && fds[0].Revents&unix.POLLIN != 0
	}
}

func TestOpenRawNoInterface(t *testing.T) {
	for _, name := range []string{"", "omx-no-such-if"} {
		if _, err := OpenRaw(name); !errors.Is(err, link.ErrNoInterface) {
			t.Errorf("OpenRaw(%q) = %v, want an error wrapping ErrNoInterface", name, err)
		}
	}
}

// TestRawKernelFilter sends every kind of frame from A to B's raw link:
// only RAW frames of at most 1024 bytes for B's MAC or broadcast arrive, in
// order, and the sender does not see its own broadcasts.
func TestRawKernelFilter(t *testing.T) {
	p := newPair(t, 1500)
	a := rawOpenIn(t, p.nsA, p.ifA)
	b := rawOpenIn(t, p.nsB, p.ifB)
	b2 := rawOpenIn(t, p.nsB, p.ifB) // a second raw link on the board gets the same frames
	ep := openIn(t, p.nsB, Config{Interface: p.ifB, Endpoint: 0, Rx: RxRecv})
	am, bm := a.MAC(), b.MAC()
	bcast := [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	other := bm
	other[5] ^= 1

	if rawReadable(t, b.PollFd(), 0) {
		t.Fatal("B's raw socket is readable before anything was sent")
	}
	frames := [][]byte{
		frame(bcast, am, PtypeRaw, 0, 1, 64),              // discovery broadcast
		frame(bm, am, PtypeRaw, 0, 2, 64),                 // unicast
		frame(bm, am, PtypeRaw, 0, 3, 30),                 // short: padded to 60
		frame(bm, am, PtypeRaw, 0, 4, RawMaxFrame),        // largest
		frame(bm, am, PtypeRaw, 0, 5, RawMaxFrame+1),      // too large: dropped
		frame(bcast, am, PtypeRaw, 0, 6, 1500),            // too large: dropped
		frame(other, am, PtypeRaw, 0, 7, 64),              // other MAC: dropped
		frame(bm, am, 37, 0, 8, 64),                       // TINY for endpoint 0: not raw
		frame(bm, am, 3, 0, 9, 64),                        // HOST_QUERY: not raw
		frame(bcast, am, PtypeRaw, 0, 10, RawMaxFrame-1),  // broadcast, large
		frame(bm, am, PtypeRaw, 0, marker, link.MinFrame), // end marker
	}
	for i, f := range frames {
		if err := a.Send(f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if !rawReadable(t, b.PollFd(), 5*time.Second) {
		t.Fatal("B's raw socket did not become readable")
	}
	for _, l := range []*packetLink{b, b2} {
		got := recvUntil(t, l, marker)
		if diff := cmp.Diff([]uint32{1, 2, 3, 4, 10}, ids(got)); diff != "" {
			t.Errorf("raw frames mismatch (-want +got):\n%s", diff)
		}
		if len(got) == 5 {
			if diff := cmp.Diff([]int{64, 64, link.MinFrame, RawMaxFrame, RawMaxFrame - 1},
				[]int{len(got[0]), len(got[1]), len(got[2]), len(got[3]), len(got[4])}); diff != "" {
				t.Errorf("frame lengths mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(frames[1], got[1]); diff != "" {
				t.Errorf("unicast frame bytes mismatch (-want +got):\n%s", diff)
			}
		}
	}
	// The endpoint link of B got the TINY only.
	buf := make([]byte, 2000)
	if err := ep.Wait(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	n, err := ep.Recv(buf)
	if err != nil || n < 24 || ids([][]byte{buf[:n]})[0] != 8 {
		t.Errorf("endpoint link: Recv = %d bytes %x, %v; want the TINY frame 8", n, buf[:min(n, 24)], err)
	}
	// A never sees its own broadcasts; B's reply reaches it.
	if err := b.Send(frame(am, bm, PtypeRaw, 0, marker, 64)); err != nil {
		t.Fatal(err)
	}
	if got := recvUntil(t, a, marker); len(got) != 0 {
		t.Errorf("A received %d frames before B's reply, ids %v", len(got), ids(got))
	}
}

func TestRawClose(t *testing.T) {
	p := newPair(t, 1500)
	l := rawOpenIn(t, p.nsA, p.ifA)
	if l.PollFd() < 0 {
		t.Fatalf("PollFd = %d on an open link", l.PollFd())
	}
	done := make(chan error, 1)
	go func() { done <- l.Wait(-1) }()
	time.Sleep(20 * time.Millisecond)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, link.ErrClosed) {
			t.Errorf("Wait after Close = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after Close")
	}
	if fd := l.PollFd(); fd != -1 {
		t.Errorf("PollFd after Close = %d, want -1", fd)
	}
	if err := l.Send(make([]byte, 64)); !errors.Is(err, link.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
}
