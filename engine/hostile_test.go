package engine

// Frames forged by a hostile host of the segment (issue: hostile peers),
// over the in-memory hub: the attacker is a raw link that sends whatever
// it likes, with any source MAC.

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/mem"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

const nicC = 0x020000000c01 // the attacker's board

// attacker is a raw link of the hub.
type attacker struct {
	t    *testing.T
	l    link.Link
	mode wire.Mode
	ep   uint8
	buf  []byte
}

func newAttacker(t *testing.T, hub *mem.Hub, mode wire.Mode, ep uint8) *attacker {
	l, err := hub.Open(nicToMAC(nicC), ep)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &attacker{t: t, l: l, mode: mode, ep: ep, buf: make([]byte, mode.MTU+64)}
}

type encoder interface {
	Encode(b []byte, h wire.Head, m wire.Mode) (int, error)
}

// send encodes p with the given source and destination MACs and sends it.
func (a *attacker) send(p encoder, src, dst uint64) {
	a.t.Helper()
	b := make([]byte, a.mode.MTU+64)
	n, err := p.Encode(b, wire.Head{Dst: nicToMAC(dst), Src: nicToMAC(src), PeerIndex: 1}, a.mode)
	if err != nil {
		a.t.Fatal(err)
	}
	if err := a.l.Send(b[:n]); err != nil {
		a.t.Fatal(err)
	}
}

// frames collects what the attacker receives for d.
func (a *attacker) frames(d time.Duration) [][]byte {
	var out [][]byte
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		n, _ := a.l.Recv(a.buf)
		if n == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		out = append(out, append([]byte(nil), a.buf[:n]...))
	}
	return out
}

// connect sends a CONNECT from (src, the attacker's endpoint) to the victim and returns the
// reply.
func (a *attacker) connect(src, dst uint64, dstEP uint8, key uint32) (wire.Connect, bool) {
	a.t.Helper()
	a.send(&wire.Connect{DstEP: dstEP, SrcEP: a.ep, SrcDstPeerIndex: 1, SrcSession: 0x5eed, AppKey: key, TargetRecvSeqStart: 0}, src, dst)
	for _, f := range a.frames(200 * time.Millisecond) {
		if t, _ := wire.PeekType(f); t == wire.TypeConnect {
			if _, c, err := wire.DecodeConnect(f, a.mode); err == nil && c.IsReply {
				return c, true
			}
		}
	}
	return wire.Connect{}, false
}

func threeHosts(t *testing.T, hub *mem.Hub, mode wire.Mode, mod func(*Config)) (*Engine, *Engine) {
	return twoHosts(t, hub, mode, func(c *Config) {
		c.Peers = append(c.Peers, Peer{NICID: nicC, Hostname: "c:0"})
		if mod != nil {
			mod(c)
		}
	})
}

// A frame from the network that claims to come from this host, and the
// same-host extension anywhere but on the same-host link, are never
// believed: the victim never reads another process's memory.
func TestForgedSameHostRendezvous(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	mode := nativeMode(t, 9000)
	var reads atomic.Int32
	A, _ := threeHosts(t, hub, mode, func(c *Config) {
		c.PID = 4242
		c.ReadProcess = func(pid uint32, addr uint64, n uint32, dst [][]byte) error {
			reads.Add(1)
			copySegments(dst, [][]byte{[]byte("SECRET")}, min(n, 6))
			return nil
		}
	})
	v := openOn(t, A, 0)
	stop := pump(v)
	defer stop()
	at := newAttacker(t, hub, mode, 0)
	rep, ok := at.connect(nicC, nicA, 0, 0x1234)
	if !ok || rep.Status != 0 {
		t.Fatalf("connect with the right key: %v %+v", ok, rep)
	}
	buf := make([]byte, 1<<16)
	r, _ := v.Recv([][]byte{buf}, 0, 0, 0, false)
	for _, src := range []uint64{nicA, nicC} {
		// A CONNECT then an RNDV with the extension, from the victim's
		// own MAC, then from the attacker's.
		at.send(&wire.Connect{DstEP: 0, SrcDstPeerIndex: 0, SrcSession: 0x5eed, AppKey: 0x1234}, src, nicA)
		b := make([]byte, mode.MTU)
		rv := wire.Rndv{DstEP: 0, SrcEP: 0, Seq: uint16(rep.TargetRecvSeqStart), Session: rep.TargetSession, MsgLength: 6, RDMAID: 3, RDMASeq: 23}
		n, err := rv.Encode(b, wire.Head{Dst: nicToMAC(nicA), Src: nicToMAC(src)}, mode)
		if err != nil {
			t.Fatal(err)
		}
		wire.PutRndvLocal(b[:n], 1, 0x1000)
		at.l.Send(b[:n])
	}
	time.Sleep(300 * time.Millisecond)
	if n := reads.Load(); n != 0 {
		t.Fatalf("the victim read process memory %d times for forged frames", n)
	}
	if bytes.Contains(buf, []byte("SECRET")) {
		t.Fatal("secret in the receive buffer")
	}
	if v.Counters().Get(DropBadPeerAddr) == 0 {
		t.Error("frames with the victim's own source MAC not counted as dropped")
	}
	// The RNDV from the attacker's own MAC matched: it is pulled over the
	// wire (from the attacker), never read from a process.
	var pulls int
	for _, f := range at.frames(200 * time.Millisecond) {
		if t, _ := wire.PeekType(f); t == wire.TypePull {
			pulls++
		}
	}
	if pulls == 0 {
		t.Error("the attacker's RNDV was not pulled over the wire")
	}
	v.Cancel(r.Handle(), false)
}

// ownerLink is a same-host link whose senders are all owned by owner.
type ownerLink struct {
	link.Link
	owner uint32
}

func (o ownerLink) OwnerPID(uint8) (uint32, bool) { return o.owner, true }

// On the same-host link the extension is honoured only when its pid owns
// the sending endpoint's inbox.
func TestSameHostExtensionOwner(t *testing.T) {
	for _, tc := range []struct {
		name        string
		owner, pid  uint32
		singleCopy  bool
		wantReadPID uint32
	}{
		{"owner", 77, 77, true, 77},
		{"not the owner", 77, 78, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hub := mem.NewHub(mem.HubConfig{})
			defer hub.Close()
			mode := nativeMode(t, 9000)
			var readPID atomic.Uint32
			mk := func(pid uint32) *Engine {
				e := New(Config{
					Boards:      []Board{{Index: 0, NICID: nicA, IfName: "eth0", Hostname: "a:0", NUMANode: -1}},
					ResendDelay: 20 * time.Millisecond, PullTimeout: 40 * time.Millisecond,
					PID: pid,
					ReadProcess: func(pid uint32, addr uint64, n uint32, dst [][]byte) error {
						readPID.Store(pid)
						return errFake
					},
					OpenLocalLink: func(b Board, ep uint32) (link.Link, wire.Mode, error) {
						l, err := hub.Open(nicToMAC(b.NICID), uint8(ep))
						return ownerLink{l, tc.owner}, mode, err
					},
				})
				t.Cleanup(func() {
					if s := e.Stats(); s != (Stats{}) {
						t.Errorf("engine still holds %+v", s)
					}
				})
				return e
			}
			P1, P2 := mk(tc.pid), mk(99)
			a, b := openOn(t, P1, 0), openOn(t, P2, 4)
			stop := pump(b)
			addr, err := a.Connect(nicA, 4, 0x1234, 3000)
			stop()
			if err != nil {
				t.Fatal(err)
			}
			src := pattern(100000, 3)
			buf := make([]byte, len(src))
			r, _ := b.Recv([][]byte{buf}, 0, 0, 0, false)
			s, _ := a.Send([][]byte{src}, addr, 1, 0, false, false)
			stop = pump(a)
			st, ok, _ := b.Wait(r.Handle(), 10000)
			stop()
			if !ok || st.Code != StatusSuccess || !bytes.Equal(buf, src) {
				t.Fatalf("receive: %v %+v", ok, st)
			}
			if _, ok, _ := a.Wait(s.Handle(), 5000); !ok {
				t.Fatal("send did not complete")
			}
			if got := readPID.Load(); got != tc.wantReadPID {
				t.Fatalf("process read of pid %d, want %d", got, tc.wantReadPID)
			}
		})
	}
}

type fakeErr struct{}

func (fakeErr) Error() string { return "refused" }

var errFake error = fakeErr{}

// A CONNECT with a wrong key creates nothing and reveals no session; the
// requester's later messages are not delivered.
func TestWrongKeyRejected(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	mode := nativeMode(t, 9000)
	A, _ := threeHosts(t, hub, mode, nil)
	v := openOn(t, A, 0)
	at := newAttacker(t, hub, mode, 0)
	rep, ok := at.connect(nicC, nicA, 0, 0x9999)
	if !ok || rep.Status != wire.ConnectBadKey {
		t.Fatalf("wrong key: reply %v %+v, want status 11", ok, rep)
	}
	if rep.TargetSession != 0 {
		t.Fatalf("the bad-key reply reveals the session %#x", rep.TargetSession)
	}
	// Even knowing the session, its messages find no partner.
	for i := 0; i < 10; i++ {
		at.send(&wire.Msg{Type: wire.TypeTiny, DstEP: 0, Seq: uint16(i), Session: v.Session(), Match: 7, Length: 3, Data: []byte("bad")}, nicC, nicA)
	}
	buf := make([]byte, 16)
	r, _ := v.Recv([][]byte{buf}, 0, 0, 0, false)
	if _, ok, _ := v.Wait(r.Handle(), 300); ok {
		t.Fatal("a message from the wrong-key requester was delivered")
	}
	if p, _ := v.PartnerCount(); p != 0 {
		t.Fatalf("%d partners made by a wrong-key connect", p)
	}
	v.Cancel(r.Handle(), false)
}

// A region answers only the partner its RNDV went to.
func TestPullByWrongPeer(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	mode := nativeMode(t, 9000)
	A, B := threeHosts(t, hub, mode, nil)
	a, b := openOn(t, A, 0), openOn(t, B, 2)
	stop := pump(b)
	addr, err := a.Connect(nicB, 2, 0x1234, 3000)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	src := pattern(1<<20, 9)
	s, _ := a.Send([][]byte{src}, addr, 5, 0, false, false)
	stopA := pump(a)
	defer stopA()
	at := newAttacker(t, hub, mode, 2)
	rep, ok := at.connect(nicC, nicA, 0, 0x1234)
	if !ok || rep.Status != 0 {
		t.Fatalf("attacker connect: %v %+v", ok, rep)
	}
	for id := uint32(0); id < 256; id++ {
		for _, seq := range []uint8{23, 24} {
			at.send(&wire.Pull{DstEP: 0, SrcEP: 2, Session: rep.TargetSession, TotalLength: 1 << 20, RDMAID: id, RDMASeq: seq,
				Handle: 1, Magic: 2 ^ link.PullMagic, BlockLength: uint32(mode.BlockMax)}, nicC, nicA)
			// Pretending to be B (its MAC): replies would go to B, never here.
			at.send(&wire.Pull{DstEP: 0, SrcEP: 2, Session: rep.TargetSession, TotalLength: 1 << 20, RDMAID: id, RDMASeq: seq,
				Handle: 1, Magic: 2 ^ link.PullMagic, BlockLength: uint32(mode.BlockMax)}, nicB, nicA)
		}
	}
	for _, f := range at.frames(300 * time.Millisecond) {
		if t2, _ := wire.PeekType(f); t2 == wire.TypePullReply {
			t.Fatal("the attacker received a PULL_REPLY")
		}
	}
	if a.Counters().Get(DropPullBadRegion) == 0 {
		t.Error("pulls by the wrong peer not counted")
	}
	buf := make([]byte, len(src))
	r, _ := b.Recv([][]byte{buf}, 5, ^uint64(0), 0, false)
	// Forged replies to B's pull (handles are easy to guess) never fill
	// its buffer: only A may.
	junk := bytes.Repeat([]byte{0xee}, mode.ReplyMax)
	for h := uint32(1); h <= 2; h++ {
		for i := 0; i < mode.PerBlock*4; i++ {
			at.send(&wire.PullReply{FrameSeq: uint8(i), FrameLength: uint16(len(junk)), MsgOffset: uint32(i * mode.ReplyMax),
				Handle: h, Magic: 2 ^ link.PullMagic, Data: junk}, nicC, nicB)
		}
	}
	stopB := pump(b)
	defer stopB()
	if st, ok, _ := b.Wait(r.Handle(), 10000); !ok || st.Code != StatusSuccess || !bytes.Equal(buf, src) {
		t.Fatalf("honest receive: %v %+v", ok, st)
	}
	if st, ok, _ := a.Wait(s.Handle(), 10000); !ok || st.Code != StatusSuccess {
		t.Fatalf("honest send: %v %+v", ok, st)
	}
}

// The unexpected queue is bounded: messages beyond it wait at their
// sender, and all arrive, once and in order, when the application
// receives them.
func TestUnexpectedQueueBound(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	mode := nativeMode(t, 9000)
	const bound = 256 << 10
	A, B := twoHosts(t, hub, mode, func(c *Config) { c.UnexpQueueMax = bound })
	a, b := openOn(t, A, 0), openOn(t, B, 2)
	stop := pump(b)
	addr, err := a.Connect(nicB, 2, 0x1234, 3000)
	if err != nil {
		t.Fatal(err)
	}
	const count, size = 64, 20000 // 1.25 MB in all
	var sends []*Request
	for i := 0; i < count; i++ {
		s, err := a.Send([][]byte{pattern(size, byte(i))}, addr, uint64(i), 0, false, false)
		if err != nil {
			t.Fatal(err)
		}
		sends = append(sends, s)
	}
	stopA := pump(a)
	defer stopA()
	time.Sleep(500 * time.Millisecond)
	b.mu.Lock()
	held, queued := b.mu.unexpBytes, len(b.mu.unexp)
	b.mu.Unlock()
	if held > bound || queued == 0 {
		t.Fatalf("unexpected queue holds %d bytes in %d messages, bound %d", held, queued, bound)
	}
	if b.Counters().Get(UnexpEventQFull) == 0 {
		t.Fatal("no refusal counted")
	}
	stop()
	stopB := pump(b)
	defer stopB()
	for i := 0; i < count; i++ {
		buf := make([]byte, size)
		r, _ := b.Recv([][]byte{buf}, 0, 0, 0, false)
		st, ok, _ := b.Wait(r.Handle(), 20000)
		if !ok || st.Code != StatusSuccess || st.MatchInfo != uint64(i) || !bytes.Equal(buf, pattern(size, byte(i))) {
			t.Fatalf("message %d: %v %+v", i, ok, st)
		}
	}
	for _, s := range sends {
		a.Wait(s.Handle(), 5000)
	}
}

// Out-of-order frames and frames read while the application is away are
// bounded.
func TestEarlyAndInboxBounds(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	mode := nativeMode(t, 9000)
	A, _ := threeHosts(t, hub, mode, nil)
	v := openOn(t, A, 0)
	at := newAttacker(t, hub, mode, 0)
	rep, ok := at.connect(nicC, nicA, 0, 0x1234)
	if !ok || rep.Status != 0 {
		t.Fatalf("connect: %v %+v", ok, rep)
	}
	start := rep.TargetRecvSeqStart
	data := make([]byte, mode.FragMax)
	// The application is away: every frame waits in the inbox, up to its
	// bound; frames without the session are not even kept.
	for i := 0; i < 2*inboxFramesMax; i++ {
		at.send(&wire.Msg{Type: wire.TypeTiny, DstEP: 0, Seq: uint16(i), Session: v.Session() + 1, Length: 1, Data: []byte{1}}, nicC, nicA)
	}
	frag := 1
	for i := 0; i < 2000; i++ {
		seq := wire.Seq(start).Add(uint16(1 + i%250))
		at.send(&wire.Medium{DstEP: 0, Seq: uint16(seq), Session: v.Session(), Length: uint32(mode.MediumMax),
			FragLength: uint16(len(data)), FragSeq: uint8(frag % mode.FragsMax), Data: data}, nicC, nicA)
		frag++
	}
	time.Sleep(300 * time.Millisecond)
	v.inbox.mu.Lock()
	frames, bytes := v.inbox.frames, v.inbox.bytes
	v.inbox.mu.Unlock()
	if frames > inboxFramesMax || bytes > inboxBytesMax {
		t.Fatalf("inbox holds %d frames, %d bytes", frames, bytes)
	}
	if v.Counters().Get(DropBadSession) == 0 {
		t.Fatal("frames without the session were not dropped at once")
	}
	v.Progress()
	v.mu.Lock()
	early := v.net.earlyBytes
	v.mu.Unlock()
	if early > earlyBytesMax || early == 0 {
		t.Fatalf("%d bytes of out-of-order frames kept (bound %d)", early, earlyBytesMax)
	}
	if v.Counters().Get(ExpEventQFull) == 0 {
		t.Fatal("no drop counted")
	}
}

// Partners beyond the bound are reclaimed when idle, and an honest peer
// whose partner was reclaimed continues where it left.
func TestPartnerReclaim(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	mode := nativeMode(t, 9000)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	var fakes []Peer
	for i := 0; i < 64; i++ {
		fakes = append(fakes, Peer{NICID: 0x020000001000 + uint64(i), Hostname: "fake"})
	}
	A, B := threeHosts(t, hub, mode, func(c *Config) {
		c.Peers = append(c.Peers, fakes...)
		if c.Boards[0].NICID == nicA {
			c.PartnersMax = 16
			c.Now = now
		}
	})
	v, b := openOn(t, A, 0), openOn(t, B, 2)
	stopV := pump(v)
	defer stopV()
	stopB := pump(b)
	defer stopB()
	addr, err := b.Connect(nicA, 0, 0x1234, 3000)
	if err != nil {
		t.Fatal(err)
	}
	at := newAttacker(t, hub, mode, 0)
	refused := 0
	for round := 0; round < 3; round++ {
		for _, f := range fakes {
			at.send(&wire.Connect{DstEP: 0, SrcSession: 1, AppKey: 0x1234}, f.NICID, nicA)
		}
		time.Sleep(100 * time.Millisecond)
		if p, _ := v.PartnerCount(); p > 16 {
			t.Fatalf("%d partners, bound 16", p)
		}
		clock.Add(int64(2 * partnerQuiet))
		time.Sleep(20 * time.Millisecond)
	}
	refused = int(v.Counters().Get(DropBadPeerAddr))
	if v.Reclaimed() == 0 || refused == 0 {
		t.Fatalf("reclaimed %d, refused %d", v.Reclaimed(), refused)
	}
	// B's partner (connected, never used) was reclaimed too; B's message
	// still arrives, and B gets the ack.
	buf := make([]byte, 8)
	r, _ := v.Recv([][]byte{buf}, 0, 0, 0, false)
	s, _ := b.Send([][]byte{[]byte("honest!!")}, addr, 1, 0, false, false)
	if st, ok, _ := v.Wait(r.Handle(), 5000); !ok || st.Code != StatusSuccess || string(buf) != "honest!!" {
		t.Fatalf("honest message after reclaim: %v %+v", ok, st)
	}
	if st, ok, _ := b.Wait(s.Handle(), 5000); !ok || st.Code != StatusSuccess {
		t.Fatalf("honest send: %v %+v", ok, st)
	}
}

// Disconnecting an earlier incarnation of a peer keeps the newer
// connection and the message it brought.
func TestDisconnectOldIncarnation(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	mode := nativeMode(t, 9000)
	A, B := twoHosts(t, hub, mode, nil)
	srv := openOn(t, B, 2)
	stop := pump(srv)
	defer stop()
	c1, err := A.OpenEndpoint(0, 0, 0x1234, EndpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	addr1, err := c1.Connect(nicB, 2, 0x1234, 3000)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	r, _ := srv.Recv([][]byte{buf}, 0, 0, 0, false)
	c1.Send([][]byte{[]byte("one!")}, addr1, 1, 0, false, true)
	st, ok, _ := srv.Wait(r.Handle(), 3000)
	if !ok {
		t.Fatal("first client's message")
	}
	old := st.Addr
	c1.Close()
	c2 := openOn(t, A, 0)
	addr2, err := c2.Connect(nicB, 2, 0x1234, 3000)
	if err != nil {
		t.Fatal(err)
	}
	c2.Send([][]byte{[]byte("two!")}, addr2, 2, 0, false, true)
	time.Sleep(100 * time.Millisecond)
	if err := srv.Disconnect(old); err != nil {
		t.Fatal(err)
	}
	r, _ = srv.Recv([][]byte{buf}, 0, 0, 0, false)
	st, ok, _ = srv.Wait(r.Handle(), 3000)
	if !ok || string(buf) != "two!" {
		t.Fatalf("the newer client's message was lost: %v %+v", ok, st)
	}
	// And the server can still answer the newer client.
	rb := make([]byte, 4)
	rr, _ := c2.Recv([][]byte{rb}, 0, 0, 0, false)
	srv.Send([][]byte{[]byte("back")}, st.Addr, 3, 0, false, true)
	stopC := pump(c2)
	defer stopC()
	if _, ok, _ := c2.Wait(rr.Handle(), 3000); !ok || string(rb) != "back" {
		t.Fatal("reply to the newer client")
	}
}
