package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/mem"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

const (
	nicA = 0x020000000a01
	nicB = 0x020000000b01
)

// twoHosts builds engines A and B joined by an in-memory hub.
func twoHosts(t *testing.T, hub *mem.Hub, mode wire.Mode, mod func(*Config)) (*Engine, *Engine) {
	t.Helper()
	peers := []Peer{{NICID: nicA, Hostname: "a:0"}, {NICID: nicB, Hostname: "b:0"}}
	mk := func(nic uint64, name string) *Engine {
		cfg := Config{
			Boards:      []Board{{Index: 0, NICID: nic, IfName: "eth0", Hostname: name, NUMANode: -1}},
			Peers:       peers,
			ResendDelay: 20 * time.Millisecond,
			PullTimeout: 40 * time.Millisecond,
			OpenLink: func(b Board, ep uint32) (link.Link, wire.Mode, error) {
				l, err := hub.Open(nicToMAC(b.NICID), uint8(ep))
				return l, mode, err
			},
		}
		if mod != nil {
			mod(&cfg)
		}
		e := New(cfg)
		t.Cleanup(func() {
			if s := e.Stats(); s != (Stats{}) {
				t.Errorf("engine %s still holds %+v", name, s)
			}
		})
		return e
	}
	return mk(nicA, "a:0"), mk(nicB, "b:0")
}

func openOn(t *testing.T, e *Engine, index uint32) *Endpoint {
	t.Helper()
	ep, err := e.OpenEndpoint(0, index, 0x1234, EndpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

// pump keeps both endpoints progressing (as polling applications do)
// until stop is closed.
func pump(eps ...*Endpoint) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, ep := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				ep.Progress()
				time.Sleep(20 * time.Microsecond)
			}
		}()
	}
	return func() { close(done); wg.Wait() }
}

func nativeMode(t *testing.T, mtu int) wire.Mode {
	m, err := wire.NativeMode(mtu)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWireConnect(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	A, B := twoHosts(t, hub, nativeMode(t, 9000), nil)
	a, b := openOn(t, A, 0), openOn(t, B, 2)
	stop := pump(b)
	defer stop()
	addr, err := a.Connect(nicB, 2, 0x1234, 2000)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if addr.NICID != nicB || addr.Endpoint != 2 || addr.Session != b.Session() {
		t.Fatalf("address %+v, want nic %x ep 2 session %x", addr, nicB, b.Session())
	}
	if _, err := a.Connect(nicB, 2, 0x9999, 2000); !errors.Is(err, ErrRemoteBadKey) {
		t.Fatalf("bad key: %v", err)
	}
	start := time.Now()
	if _, err := a.Connect(nicB, 5, 0x1234, 300); !errors.Is(err, ErrTimeout) {
		t.Fatalf("connect to an endpoint nobody opened: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("timed out after %v only", d)
	}
}

// wirePingPong sends every size from a to b and back, with data checks.
func wirePingPong(t *testing.T, a, b *Endpoint, sizes []int, sync bool) {
	t.Helper()
	addr, err := a.Connect(nicB, b.Index(), 0x1234, 5000)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	back, err := b.Connect(nicA, a.Index(), 0x1234, 5000)
	if err != nil {
		t.Fatalf("connect back: %v", err)
	}
	for i, n := range sizes {
		for dir := 0; dir < 2; dir++ {
			from, to, dst := a, b, addr
			if dir == 1 {
				from, to, dst = b, a, back
			}
			src := pattern(n, byte(i+dir))
			buf := make([]byte, n)
			r, _ := to.Recv([][]byte{buf}, uint64(n), ^uint64(0), 0, false)
			s, _ := from.Send([][]byte{src}, dst, uint64(n), 0, sync, false)
			rst, ok, err := to.Wait(r.Handle(), 20000)
			if !ok || err != nil || rst.Code != StatusSuccess || rst.XferLength != uint32(n) {
				t.Fatalf("size %d dir %d: recv ok=%v err=%v status %+v", n, dir, ok, err, rst)
			}
			sst, ok, err := from.Wait(s.Handle(), 20000)
			if !ok || err != nil || sst.Code != StatusSuccess {
				t.Fatalf("size %d dir %d: send ok=%v err=%v status %+v", n, dir, ok, err, sst)
			}
			if !bytes.Equal(src, buf) {
				t.Fatalf("size %d dir %d: payload differs", n, dir)
			}
		}
	}
}

var wireSizes = []int{0, 1, 32, 33, 128, 129, 1452, 1453, 8192, 8193, 20000, 32768, 32769, 100000, 1 << 20, 3<<20 + 17}

func TestWirePingPong(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode func(t *testing.T) wire.Mode
	}{
		{"native-9000", func(t *testing.T) wire.Mode { return nativeMode(t, 9000) }},
		{"native-1500", func(t *testing.T) wire.Mode { return nativeMode(t, 1500) }},
		{"mx-wire", func(t *testing.T) wire.Mode { return wire.MXWireMode() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub := mem.NewHub(mem.HubConfig{})
			defer hub.Close()
			A, B := twoHosts(t, hub, tc.mode(t), nil)
			a, b := openOn(t, A, 0), openOn(t, B, 3)
			for _, sync := range []bool{false, true} {
				wirePingPong(t, a, b, wireSizes, sync)
			}
		})
	}
}

// TestWireLossy runs a stream of mixed messages both ways through a hub
// that drops, duplicates, reorders and corrupts frames: everything must
// arrive exactly once, in order, intact.
func TestWireLossy(t *testing.T) {
	for _, drop := range []float64{0.01, 0.1, 0.3} {
		t.Run(fmt.Sprint(drop), func(t *testing.T) {
			if drop > 0.1 && testing.Short() {
				t.Skip("slow")
			}
			hub := mem.NewHub(mem.HubConfig{Seed: 7, Drop: drop, Duplicate: 0.05, Reorder: 0.05})
			defer hub.Close()
			A, B := twoHosts(t, hub, nativeMode(t, 9000), nil)
			a, b := openOn(t, A, 0), openOn(t, B, 1)
			var addr, back Address
			var err error
			for i := 0; i < 50; i++ { // connects are lossy too
				if addr, err = a.Connect(nicB, 1, 0x1234, 3000); err == nil {
					break
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 50; i++ {
				if back, err = b.Connect(nicA, 0, 0x1234, 3000); err == nil {
					break
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			const msgs = 60
			rng := rand.New(rand.NewPCG(1, 2))
			sizes := make([]int, msgs)
			for i := range sizes {
				switch rng.IntN(4) {
				case 0:
					sizes[i] = rng.IntN(33)
				case 1:
					sizes[i] = 33 + rng.IntN(96)
				case 2:
					sizes[i] = 129 + rng.IntN(32768-129)
				default:
					sizes[i] = 32769 + rng.IntN(300000)
				}
			}
			var wg sync.WaitGroup
			run := func(from, to *Endpoint, dst Address) {
				defer wg.Done()
				var sends []*Request
				for i, n := range sizes {
					s, _ := from.Send([][]byte{pattern(n, byte(i))}, dst, uint64(i), 0, i%7 == 0, false)
					sends = append(sends, s)
					if len(sends) > 8 {
						if _, ok, err := from.Wait(sends[0].Handle(), 60000); !ok || err != nil {
							t.Errorf("send: %v %v", ok, err)
							return
						}
						sends = sends[1:]
					}
				}
				for _, s := range sends {
					if _, ok, err := from.Wait(s.Handle(), 60000); !ok || err != nil {
						t.Errorf("send: %v %v", ok, err)
						return
					}
				}
			}
			recv := func(ep *Endpoint) {
				defer wg.Done()
				for i, n := range sizes {
					buf := make([]byte, n)
					r, _ := ep.Recv([][]byte{buf}, 0, 0, 0, false)
					st, ok, err := ep.Wait(r.Handle(), 60000)
					if !ok || err != nil || st.Code != StatusSuccess {
						t.Errorf("recv %d: %v %v %+v\n%s\n%s", i, ok, err, st, dumpEP(a), dumpEP(b))
						return
					}
					if st.MatchInfo != uint64(i) || !bytes.Equal(buf, pattern(n, byte(i))) {
						t.Errorf("message %d: match %d, data intact %v", i, st.MatchInfo, bytes.Equal(buf, pattern(n, byte(i))))
						return
					}
				}
			}
			wg.Add(4)
			go run(a, b, addr)
			go run(b, a, back)
			go recv(a)
			go recv(b)
			wg.Wait()
			st := hub.Stats()
			if st.Dropped == 0 || st.Duplicated == 0 {
				t.Errorf("the hub injected no faults: %+v", st)
			}
			if a.Counters().Get(SendTiny)+a.Counters().Get(SendSmall)+a.Counters().Get(SendMediumSQFrag) == 0 {
				t.Error("no send counted")
			}
			// Losses are repaired mostly as they are noticed, not by timers.
			ra, rb := a.RecoveryStats(), b.RecoveryStats()
			t.Logf("recovery: %+v %+v", ra, rb)
			if drop >= 0.1 && (ra.FastRetransmits+rb.FastRetransmits == 0 || ra.PullRerequests+rb.PullRerequests == 0) {
				t.Errorf("no fast repair: %+v %+v", ra, rb)
			}
		})
	}
}

// connectedPair opens endpoint 0 on host A and endpoint 1 on host B (which
// the caller closes), and connects A to B.
func connectedPair(t *testing.T) (hub *mem.Hub, B *Engine, a, b *Endpoint, addr Address) {
	t.Helper()
	hub = mem.NewHub(mem.HubConfig{})
	t.Cleanup(hub.Close)
	A, B := twoHosts(t, hub, nativeMode(t, 9000), nil)
	a = openOn(t, A, 0)
	b, err := B.OpenEndpoint(0, 1, 0x1234, EndpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stop := pump(b)
	addr, err = a.Connect(nicB, 1, 0x1234, 2000)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	return hub, B, a, b, addr
}

func TestWireRemoteClose(t *testing.T) {
	_, B, a, b, addr := connectedPair(t)
	b.Close() // says goodbye: A's sends to it fail at once
	a.Progress()
	for i, n := range []int{10, 100000} {
		s, _ := a.Send([][]byte{make([]byte, n)}, addr, 1, 0, false, false)
		st, ok, _ := a.Wait(s.Handle(), 1000)
		if !ok || st.Code != StatusRemoteEndpointClosed {
			t.Fatalf("send %d to a closed endpoint: %v %+v", i, ok, st)
		}
	}
	b2 := openOn(t, B, 1) // reopened: new session
	stop := pump(b2)
	defer stop()
	s, _ := a.Send([][]byte{[]byte("x")}, addr, 1, 0, true, false)
	st, ok, _ := a.Wait(s.Handle(), 3000)
	if !ok || st.Code != StatusRemoteEndpointClosed {
		t.Fatalf("send to the old incarnation: %v %+v", ok, st)
	}
	addr2, err := a.Connect(nicB, 1, 0x1234, 2000)
	if err != nil || addr2.Session != b2.Session() {
		t.Fatalf("reconnect: %v %+v", err, addr2)
	}
	s, _ = a.Send([][]byte{[]byte("x")}, addr2, 1, 0, true, false)
	r, _ := b2.Recv(nil, 1, ^uint64(0), 0, true)
	_ = r
	if st, ok, _ := a.Wait(s.Handle(), 3000); !ok || st.Code != StatusMessageTruncated {
		t.Fatalf("send after reconnecting: %v %+v", ok, st)
	}
}

// TestWireRequestTimeout: a peer that stops answering makes the request
// fail with UNREACHABLE once its retry budget is spent.
func TestWireRequestTimeout(t *testing.T) {
	hub, _, a, b, addr := connectedPair(t)
	hub.SetFaults(1, 0, 0, 0) // the peer vanishes: nothing gets through
	defer b.Close()
	a.SetRequestTimeout(3)
	start := time.Now()
	for _, n := range []int{10, 100000} {
		s, _ := a.Send([][]byte{make([]byte, n)}, addr, 1, 0, true, false)
		st, ok, _ := a.Wait(s.Handle(), 5000)
		if !ok || st.Code != StatusRemoteEndpointUnreachable {
			t.Fatalf("%d-byte send to a silent peer: %v %+v", n, ok, st)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
	// The partner was reset: a new connect is needed and times out too.
	if _, err := a.Connect(nicB, 1, 0x1234, 200); !errors.Is(err, ErrTimeout) {
		t.Fatalf("connect to a silent peer: %v", err)
	}
}

// TestWireCloseInFlight closes endpoints with traffic in flight both ways:
// nothing leaks (checked by twoHosts) and nothing blocks.
func TestWireCloseInFlight(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{Drop: 0.2, Seed: 3})
	defer hub.Close()
	A, B := twoHosts(t, hub, nativeMode(t, 9000), nil)
	a, err := A.OpenEndpoint(0, 0, 0x1234, EndpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := B.OpenEndpoint(0, 1, 0x1234, EndpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var addr Address
	for i := 0; i < 20; i++ {
		if addr, err = a.Connect(nicB, 1, 0x1234, 1000); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		a.Send([][]byte{make([]byte, 1+i*20000)}, addr, uint64(i), 0, false, i%2 == 0)
		b.Recv([][]byte{make([]byte, 500000)}, 0, 0, 0, false)
	}
	b.Progress()
	a.Progress()
	done := make(chan struct{})
	go func() {
		a.Close()
		b.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("close blocked")
	}
}

// TestWireHostQuery: a peer known without a name is asked for it, and the
// answer names it (spec/wire.md §6.5).
func TestWireHostQuery(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	A, B := twoHosts(t, hub, nativeMode(t, 9000), nil)
	B.SetPeerName(nicA, "") // B does not know A's name
	if name, _ := B.NICIDToHostname(nicA); name != "" {
		t.Fatalf("name %q before the query", name)
	}
	openOn(t, A, 0)
	openOn(t, B, 0)
	deadline := time.Now().Add(3 * time.Second)
	for {
		if name, _ := B.NICIDToHostname(nicA); name == "a:0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("B never learned A's name")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if id, err := B.HostnameToNICID("a:0"); err != nil || id != nicA {
		t.Fatalf("HostnameToNICID: %x %v", id, err)
	}
}

// TestPeerTableRefresh: a changed peer table (published by the node
// service) is picked up by the progress goroutines.
func TestPeerTableRefresh(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	var mu sync.Mutex
	var fresh []Peer
	A, _ := twoHosts(t, hub, nativeMode(t, 9000), func(c *Config) {
		c.RefreshPeers = func() ([]Peer, bool) {
			mu.Lock()
			defer mu.Unlock()
			if fresh == nil {
				return nil, false
			}
			p := fresh
			fresh = nil
			return p, true
		}
	})
	openOn(t, A, 0)
	if _, err := A.HostnameToNICID("c:0"); err == nil {
		t.Fatal("c:0 known before it was published")
	}
	mu.Lock()
	fresh = []Peer{{NICID: nicB, Hostname: "b:0"}, {NICID: 0x020000000c01, Hostname: "c:0"}}
	mu.Unlock()
	deadline := time.Now().Add(3 * time.Second)
	for {
		if id, err := A.HostnameToNICID("c:0"); err == nil && id == 0x020000000c01 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refreshed peer table was not picked up")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSameHostProcesses: two engines of one host (two processes, same
// board) talk through the local link (shared memory in the library, the
// in-memory hub here) with the wire protocol: every size, both ways.
func TestSameHostProcesses(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	mode := nativeMode(t, 9000)
	mk := func() *Engine {
		e := New(Config{
			Boards:      []Board{{Index: 0, NICID: nicA, IfName: "eth0", Hostname: "a:0", NUMANode: -1}},
			ResendDelay: 20 * time.Millisecond, PullTimeout: 40 * time.Millisecond,
			OpenLocalLink: func(b Board, ep uint32) (link.Link, wire.Mode, error) {
				l, err := hub.Open(nicToMAC(b.NICID), uint8(ep))
				return l, mode, err
			},
		})
		t.Cleanup(func() {
			if s := e.Stats(); s != (Stats{}) {
				t.Errorf("engine still holds %+v", s)
			}
		})
		return e
	}
	P1, P2 := mk(), mk()
	a, b := openOn(t, P1, 0), openOn(t, P2, 4)
	// wirePingPong connects a to nicB: use the same-host nic instead.
	addr, err := a.Connect(nicA, 4, 0x1234, 3000)
	if err != nil {
		t.Fatalf("connect to the other process: %v", err)
	}
	back, err := b.Connect(nicA, 0, 0x1234, 3000)
	if err != nil {
		t.Fatalf("connect back: %v", err)
	}
	for _, n := range wireSizes {
		for dir := 0; dir < 2; dir++ {
			from, to, dst := a, b, addr
			if dir == 1 {
				from, to, dst = b, a, back
			}
			src := pattern(n, byte(n+dir))
			buf := make([]byte, n)
			r, _ := to.Recv([][]byte{buf}, 0, 0, 0, false)
			s, _ := from.Send([][]byte{src}, dst, 1, 0, false, false)
			if st, ok, _ := to.Wait(r.Handle(), 10000); !ok || st.Code != StatusSuccess || !bytes.Equal(buf, src) {
				t.Fatalf("size %d dir %d: %v %+v", n, dir, ok, st)
			}
			if st, ok, _ := from.Wait(s.Handle(), 10000); !ok || st.Code != StatusSuccess {
				t.Fatalf("size %d dir %d send: %v %+v", n, dir, ok, st)
			}
		}
	}
	// An index nobody opened on this host: the connect times out.
	if _, err := a.Connect(nicA, 9, 0x1234, 100); !errors.Is(err, ErrTimeout) {
		t.Fatalf("connect to an unused index: %v", err)
	}
}
