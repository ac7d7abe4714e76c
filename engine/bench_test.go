package engine

import (
	"testing"

	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/mem"
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
