package engine

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/mem"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// hostQueryRig is an endpoint of host A whose peer table holds a peer
// named by the peers file (nicB) and nameless peers, each nameless peer
// (and nicB) with a link on the hub that sees what A sends it.
type hostQueryRig struct {
	t        *testing.T
	clock    *fakeClock
	eng      *Engine
	ep       *Endpoint
	nameless []uint64
	links    map[uint64]link.Link
}

func newHostQueryRig(t *testing.T, nameless int) *hostQueryRig {
	t.Helper()
	hub := mem.NewHub(mem.HubConfig{})
	t.Cleanup(hub.Close)
	r := &hostQueryRig{t: t, clock: &fakeClock{now: time.Unix(1000, 0)}, links: map[uint64]link.Link{}}
	peers := []Peer{{NICID: nicB, Hostname: "b:0"}}
	for i := range nameless {
		nic := uint64(0x02000000f000 + i)
		r.nameless = append(r.nameless, nic)
		peers = append(peers, Peer{NICID: nic})
	}
	mode := nativeMode(t, 9000)
	r.eng = New(Config{
		Boards: []Board{{Index: 0, NICID: nicA, IfName: "eth0", Hostname: "a:0", NUMANode: -1}},
		Peers:  peers,
		Now:    r.clock.Now,
		OpenLink: func(b Board, ep uint32) (link.Link, wire.Mode, error) {
			l, err := hub.Open(nicToMAC(b.NICID), uint8(ep))
			return l, mode, err
		},
	})
	for _, p := range peers {
		l, err := hub.Open(nicToMAC(p.NICID), 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		r.links[p.NICID] = l
	}
	r.ep = openOn(t, r.eng, 0)
	return r
}

// waitCounter waits until counter c of the endpoint reaches want.
func (r *hostQueryRig) waitCounter(c Counter, want uint64) {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for r.ep.Counters().Get(c) < want {
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: %d, want %d", c.Label(), r.ep.Counters().Get(c), want)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond) // nothing more comes
	if got := r.ep.Counters().Get(c); got != want {
		r.t.Fatalf("%s: %d, want %d", c.Label(), got, want)
	}
}

// queries returns the magic of the host query each peer received since
// the last call (absent: none).
func (r *hostQueryRig) queries() map[uint64]uint32 {
	r.t.Helper()
	got := map[uint64]uint32{}
	buf := make([]byte, 9100)
	for nic, l := range r.links {
		for {
			n, err := l.Recv(buf)
			if err != nil || n == 0 {
				break
			}
			_, q, err := wire.DecodeHostQuery(buf[:n], wire.Mode{})
			if err != nil {
				r.t.Fatalf("peer %x received a frame that is not a host query: %v", nic, err)
			}
			if _, dup := got[nic]; dup {
				r.t.Fatalf("peer %x asked twice in one pass", nic)
			}
			got[nic] = q.Magic
		}
	}
	return got
}

// reply sends a HOST_REPLY from peer nic to A.
func (r *hostQueryRig) reply(nic uint64, magic uint32, name string) {
	r.t.Helper()
	buf := make([]byte, 256)
	rep := wire.HostReply{SrcDstPeerIndex: 0, Magic: magic, Hostname: name}
	n, err := rep.Encode(buf, wire.Head{Dst: nicToMAC(nicA), Src: nicToMAC(nic), PeerIndex: wire.UnknownPeerIndex}, wire.Mode{})
	if err != nil {
		r.t.Fatal(err)
	}
	received := r.ep.Counters().Get(RecvHostReply)
	if err := r.links[nic].Send(buf[:n]); err != nil {
		r.t.Fatal(err)
	}
	r.waitCounter(RecvHostReply, received+1)
}

func (r *hostQueryRig) name(nic uint64) string {
	name, _ := r.eng.NICIDToHostname(nic)
	return name
}

// TestHostQueriesBounded: a pass asks at most hostQueriesPerPass nameless
// peers, round-robin, never a named or local one.
func TestHostQueriesBounded(t *testing.T) {
	const nameless = 40
	r := newHostQueryRig(t, nameless)
	asked := map[uint64]int{}
	var sent uint64
	for pass := range 5 {
		if pass > 0 {
			r.clock.Add(hostQueryPeriod)
		}
		sent += hostQueriesPerPass
		r.waitCounter(SendHostQuery, sent)
		q := r.queries()
		if len(q) != hostQueriesPerPass {
			t.Fatalf("pass %d asked %d peers, want %d", pass, len(q), hostQueriesPerPass)
		}
		if _, ok := q[nicB]; ok {
			t.Fatalf("pass %d asked the peer named by the peers file", pass)
		}
		for nic := range q {
			asked[nic]++
		}
	}
	// 5 passes of 16 over 40 peers: every peer asked exactly twice.
	for _, nic := range r.nameless {
		if asked[nic] != 2 {
			t.Errorf("peer %x asked %d times in 5 passes, want 2", nic, asked[nic])
		}
	}
	r.clock.Add(hostQueryPeriod / 2)
	time.Sleep(10 * time.Millisecond)
	if got := r.ep.Counters().Get(SendHostQuery); got != sent {
		t.Errorf("queries sent within a period: %d, want %d", got, sent)
	}
}

// TestHostReplyAccepted: only the reply to an outstanding query, with its
// magic, names a nameless peer; nothing renames a named one.
func TestHostReplyAccepted(t *testing.T) {
	r := newHostQueryRig(t, 40)
	r.waitCounter(SendHostQuery, hostQueriesPerPass)
	first := r.queries()
	n0, n1 := r.nameless[0], r.nameless[1]
	late := r.nameless[hostQueriesPerPass] // not in the first pass
	if _, ok := first[late]; ok {
		t.Fatal("the first pass asked more peers than it may")
	}
	drops := func() (uint64, uint64) {
		c := r.ep.Counters()
		return c.Get(DropBadPeerAddr), c.Get(DropHostReplyBadMagic)
	}
	check := func(what string, wantAddr, wantMagic uint64) {
		t.Helper()
		if a, m := drops(); a != wantAddr || m != wantMagic {
			t.Errorf("%s: drops bad peer addr %d, bad magic %d; want %d, %d", what, a, m, wantAddr, wantMagic)
		}
	}

	// Unsolicited: the peer named by the peers file, a nameless peer not
	// asked yet, an address not in the table.
	r.reply(nicB, wire.HostQueryMagic, "evil:0")
	r.reply(late, first[n0], "evil:1")
	check("unsolicited", 2, 0)
	if r.name(nicB) != "b:0" || r.name(late) != "" {
		t.Fatalf("unsolicited replies renamed peers: %q %q", r.name(nicB), r.name(late))
	}
	// Asked, but the magic is not the query's.
	r.reply(n0, first[n0]+1, "evil:2")
	check("wrong magic", 2, 1)
	if r.name(n0) != "" {
		t.Fatalf("a reply with a wrong magic named the peer %q", r.name(n0))
	}
	// The real answer names the peer, once: a second reply is unsolicited.
	r.reply(n0, first[n0], "n0:0")
	if r.name(n0) != "n0:0" {
		t.Fatalf("the answer to our query did not name the peer: %q", r.name(n0))
	}
	r.reply(n0, first[n0], "evil:3")
	check("second reply", 3, 1)
	if r.name(n0) != "n0:0" {
		t.Fatalf("a second reply renamed the peer: %q", r.name(n0))
	}
	// An empty name names nothing.
	r.reply(n1, first[n1], "")
	if r.name(n1) != "" {
		t.Fatalf("empty name: %q", r.name(n1))
	}
	// A query expires after hostReplyWindow: the next pass asks other
	// peers, and the answer to the first pass comes too late.
	r.clock.Add(hostReplyWindow)
	r.waitCounter(SendHostQuery, 2*hostQueriesPerPass)
	second := r.queries()
	n2 := r.nameless[2]
	if _, ok := second[n2]; ok {
		t.Fatalf("peer %x asked in two consecutive passes", n2)
	}
	before, _ := drops()
	r.reply(n2, first[n2], "n2:0")
	if a, _ := drops(); a != before+1 || r.name(n2) != "" {
		t.Errorf("late answer: drops %d -> %d, name %q", before, a, r.name(n2))
	}
	// The peers of the second pass are named by their answers.
	for nic, m := range second {
		r.reply(nic, m, fmt.Sprintf("p%x:0", nic))
		if r.name(nic) != fmt.Sprintf("p%x:0", nic) {
			t.Errorf("peer %x: name %q", nic, r.name(nic))
		}
	}
}

// TestHostQueryGroupSource: a query whose source is a group address is not
// answered.
func TestHostQueryGroupSource(t *testing.T) {
	r := newHostQueryRig(t, 0)
	buf := make([]byte, 64)
	q := wire.HostQuery{Magic: 7}
	n, err := q.Encode(buf, wire.Head{Dst: nicToMAC(nicA), Src: wire.BroadcastMAC}, wire.Mode{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.links[nicB].Send(buf[:n]); err != nil {
		t.Fatal(err)
	}
	r.waitCounter(RecvHostQuery, 1)
	if got := r.ep.Counters().Get(SendHostReply); got != 0 {
		t.Errorf("answered a query from the broadcast address (%d replies)", got)
	}
	if got := r.ep.Counters().Get(DropBadPeerAddr); got != 1 {
		t.Errorf("DropBadPeerAddr %d, want 1", got)
	}
	// From a peer: answered with A's name and the query's magic.
	q.Magic = 0xdeadbeef
	n, _ = q.Encode(buf, wire.Head{Dst: nicToMAC(nicA), Src: nicToMAC(nicB)}, wire.Mode{})
	r.links[nicB].Send(buf[:n])
	r.waitCounter(SendHostReply, 1)
	rb := make([]byte, 256)
	k, _ := r.links[nicB].Recv(rb)
	_, rep, err := wire.DecodeHostReply(rb[:k], wire.Mode{})
	if err != nil || rep.Magic != 0xdeadbeef || rep.Hostname != "a:0" {
		t.Errorf("reply %+v %v", rep, err)
	}
}
