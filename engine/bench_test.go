package engine

import (
	"runtime"
	"testing"

	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/mem"
	"github.com/open-mx-go/open-mx-go/engine/link/shm"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

func benchEngine(b *testing.B) *Engine {
	return New(Config{Boards: []Board{{Index: 0, NICID: testNIC, Hostname: "node:0", NUMANode: -1}}})
}

// BenchmarkTestIdle measures one Test on an idle endpoint with a pending
// receive (the engine part of mx_test).
func BenchmarkTestIdle(b *testing.B) {
	e := benchEngine(b)
	ep, _ := e.OpenEndpoint(0, 0, 1, EndpointOptions{})
	defer ep.Close()
	r, _ := ep.Recv(nil, 1, ^uint64(0), 0, false)
	b.ResetTimer()
	for range b.N {
		if _, ok, _ := ep.Test(r.Handle()); ok {
			b.Fatal("completed")
		}
	}
}

func benchPingPong(b *testing.B, n int, cross bool) {
	e := benchEngine(b)
	a, _ := e.OpenEndpoint(0, 0, 1, EndpointOptions{})
	defer a.Close()
	peer := a
	if cross {
		peer, _ = e.OpenEndpoint(0, 1, 1, EndpointOptions{})
		defer peer.Close()
	}
	src, dst := [][]byte{make([]byte, n)}, [][]byte{make([]byte, n)}
	b.SetBytes(int64(n))
	b.ResetTimer()
	for range b.N {
		r, _ := peer.Recv(dst, 0, 0, 0, false)
		s, _ := a.Send(src, peer.Address(), 0, 0, false, false)
		if _, ok, _ := peer.Test(r.Handle()); !ok {
			b.Fatal("receive not done")
		}
		if _, ok, _ := a.Wait(s.Handle(), 1000); !ok {
			b.Fatal("send not done")
		}
	}
}

func BenchmarkSelf0(b *testing.B)     { benchPingPong(b, 0, false) }
func BenchmarkSelf4KiB(b *testing.B)  { benchPingPong(b, 4096, false) }
func BenchmarkSelf1MiB(b *testing.B)  { benchPingPong(b, 1<<20, false) }
func BenchmarkCross0(b *testing.B)    { benchPingPong(b, 0, true) }
func BenchmarkCross4KiB(b *testing.B) { benchPingPong(b, 4096, true) }
func BenchmarkCross1MiB(b *testing.B) { benchPingPong(b, 1<<20, true) }

// BenchmarkWirePingPong measures the engine's wire path (TINY messages,
// acks, matching) over the in-memory hub: a round trip per iteration, both
// endpoints polled by this goroutine.
func BenchmarkWirePingPong(b *testing.B) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	mode, _ := wire.NativeMode(9000)
	peers := []Peer{{NICID: nicA, Hostname: "a:0"}, {NICID: nicB, Hostname: "b:0"}}
	mk := func(nic uint64) *Engine {
		return New(Config{Boards: []Board{{Index: 0, NICID: nic, Hostname: "x", NUMANode: -1}}, Peers: peers,
			OpenLink: func(bd Board, ep uint32) (link.Link, wire.Mode, error) {
				l, err := hub.Open(nicToMAC(bd.NICID), uint8(ep))
				return l, mode, err
			}})
	}
	A, B := mk(nicA), mk(nicB)
	a, _ := A.OpenEndpoint(0, 0, 1, EndpointOptions{})
	bb, _ := B.OpenEndpoint(0, 0, 1, EndpointOptions{})
	defer a.Close()
	defer bb.Close()
	stop := pump(bb)
	addr, err := a.Connect(nicB, 0, 1, 1000)
	stop()
	if err != nil {
		b.Fatal(err)
	}
	stop = pump(a)
	back, err := bb.Connect(nicA, 0, 1, 1000)
	stop()
	if err != nil {
		b.Fatal(err)
	}
	buf := [][]byte{make([]byte, 8)}
	b.ResetTimer()
	for range b.N {
		r, _ := bb.Recv(buf, 0, 0, 0, false)
		s, _ := a.Send(buf, addr, 0, 0, false, false)
		for {
			if _, ok, _ := bb.Test(r.Handle()); ok {
				break
			}
		}
		a.Test(s.Handle())
		r, _ = a.Recv(buf, 0, 0, 0, false)
		s, _ = bb.Send(buf, back, 0, 0, false, false)
		for {
			if _, ok, _ := a.Test(r.Handle()); ok {
				break
			}
		}
		bb.Test(s.Handle())
	}
}

// shmPair opens endpoint 0 of engine A and endpoint 1 of engine B, two
// "processes" of one host joined by the shared-memory link (as omx_perf
// runs between two processes), connected both ways.
func shmPair(b testing.TB) (a, bb *Endpoint, ab, ba Address) {
	dir := b.TempDir()
	mode, _ := wire.NativeMode(9000)
	mk := func() *Engine {
		return New(Config{Boards: []Board{{Index: 0, NICID: testNIC, IfName: "lo", Hostname: "h:0", NUMANode: -1, Loopback: true}},
			Peers: []Peer{{NICID: testNIC, Hostname: "h:0"}},
			OpenLocalLink: func(bd Board, ep uint32) (link.Link, wire.Mode, error) {
				l, err := shm.Open(shm.Config{Dir: dir, Board: bd.IfName, MAC: nicToMAC(bd.NICID), Endpoint: uint8(ep), MTU: mode.MTU})
				return l, mode, err
			}})
	}
	A, B := mk(), mk()
	var err error
	if a, err = A.OpenEndpoint(0, 0, 1, EndpointOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	if bb, err = B.OpenEndpoint(0, 1, 1, EndpointOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bb.Close() })
	stop := pump(bb)
	ab, err = a.Connect(testNIC, 1, 1, 1000)
	stop()
	if err != nil {
		b.Fatal(err)
	}
	stop = pump(a)
	ba, err = bb.Connect(testNIC, 0, 1, 1000)
	stop()
	if err != nil {
		b.Fatal(err)
	}
	return a, bb, ab, ba
}

// pingOnce is one half round trip as omx_perf makes it through the C API
// (requests known by handle): the sender posts and completes its send,
// then posts its next receive; the receiver polls its posted receive until
// the message is there.
func pingOnce(b testing.TB, from, to *Endpoint, dest Address, buf [][]byte, recv uint64) uint64 {
	s, err := from.SendHandle(buf, dest, 0, 0, false, false)
	if err != nil {
		b.Fatal(err)
	}
	if _, ok, _ := from.Test(s); !ok {
		b.Fatal("send not done at once")
	}
	next, _ := from.RecvHandle(buf, 0, 0, 0, false)
	for {
		if _, ok, _ := to.Test(recv); ok {
			return next
		}
	}
}

// BenchmarkShmPingPong measures the CPU cost of a round trip of 8-byte
// messages between two endpoints of one host over the shared-memory link,
// both driven by this goroutine (the engine part of omx_perf's latency).
// Steady state allocates nothing.
func BenchmarkShmPingPong(b *testing.B) {
	a, bb, ab, ba := shmPair(b)
	buf := [][]byte{make([]byte, 8)}
	rb, _ := bb.RecvHandle(buf, 0, 0, 0, false)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		ra := pingOnce(b, a, bb, ab, buf, rb)
		rb = pingOnce(b, bb, a, ba, buf, ra)
	}
}

// BenchmarkShmPingPongThreads is the same ping-pong with each endpoint
// driven by its own goroutine (the latency, when two cores are free).
func BenchmarkShmPingPongThreads(b *testing.B) {
	a, bb, ab, ba := shmPair(b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		buf := [][]byte{make([]byte, 8)}
		for range b.N {
			r, _ := bb.RecvHandle(buf, 0, 0, 0, false)
			waitReq(bb, r)
			s, _ := bb.SendHandle(buf, ba, 0, 0, false, false)
			waitReq(bb, s)
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := [][]byte{make([]byte, 8)}
	b.ResetTimer()
	for range b.N {
		s, _ := a.SendHandle(buf, ab, 0, 0, false, false)
		waitReq(a, s)
		r, _ := a.RecvHandle(buf, 0, 0, 0, false)
		waitReq(a, r)
	}
	<-done
}

func waitReq(ep *Endpoint, h uint64) {
	for {
		if _, ok, _ := ep.Test(h); ok {
			return
		}
	}
}

// The same-host latency path allocates nothing per message once warm
// (requests, packets and medium buffers are reused), for tiny, small and
// medium messages.
func TestShmPingPongAllocs(t *testing.T) {
	a, bb, ab, ba := shmPair(t)
	for _, n := range []int{0, 8, 100, 1024, 4096} {
		buf := [][]byte{make([]byte, n)}
		rb, _ := bb.RecvHandle(buf, 0, 0, 0, false)
		round := func() {
			ra := pingOnce(t, a, bb, ab, buf, rb)
			rb = pingOnce(t, bb, a, ba, buf, ra)
		}
		for range 200 {
			round()
		}
		if got := testing.AllocsPerRun(500, round); got >= 0.5 {
			t.Errorf("%d-byte round trip: %.2f allocations", n, got)
		}
		a.Progress()
		bb.Test(rb) // not completed: cancel it for the next size
		bb.Cancel(rb, false)
	}
}
