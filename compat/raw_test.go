package compat

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine"
	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/afpacket"
)

// rawFakeLink is a link.Link fed by the test: deliver queues a received
// frame, sent records what the endpoint sent.
type rawFakeLink struct {
	mu     sync.Mutex
	in     [][]byte
	sent   [][]byte
	closed bool
	fd     int

	wake chan struct{} // one pending wake-up
	done chan struct{} // closed by Close
}

func newRawFakeLink() *rawFakeLink {
	return &rawFakeLink{fd: 42, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (f *rawFakeLink) deliver(frame []byte) {
	f.mu.Lock()
	f.in = append(f.in, append([]byte(nil), frame...))
	f.mu.Unlock()
	f.Wake()
}

func (f *rawFakeLink) Send(frame []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return link.ErrClosed
	}
	f.sent = append(f.sent, append([]byte(nil), frame...))
	return nil
}

func (f *rawFakeLink) Recv(buf []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, link.ErrClosed
	}
	if len(f.in) == 0 {
		return 0, nil
	}
	n := copy(buf, f.in[0])
	f.in = f.in[1:]
	return n, nil
}

func (f *rawFakeLink) Wait(timeout time.Duration) error {
	f.mu.Lock()
	closed, pending := f.closed, len(f.in) > 0
	f.mu.Unlock()
	if closed {
		return link.ErrClosed
	}
	if pending {
		return nil
	}
	var tc <-chan time.Time
	if timeout >= 0 {
		tc = time.After(timeout)
	}
	select {
	case <-f.wake:
	case <-f.done:
		return link.ErrClosed
	case <-tc:
	}
	return nil
}

func (f *rawFakeLink) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *rawFakeLink) MAC() [6]byte { return [6]byte{2, 0, 0, 0, 0, 1} }
func (f *rawFakeLink) MTU() int     { return 1514 }
func (f *rawFakeLink) PollFd() int  { return f.fd }

func (f *rawFakeLink) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.done)
	}
	return nil
}

// rawReports records what went through the global handler.
type rawReports struct {
	mu    sync.Mutex
	codes []Code
	msgs  []string
}

func (r *rawReports) take() ([]Code, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, m := r.codes, r.msgs
	r.codes, r.msgs = nil, nil
	return c, m
}

var (
	rawBoardEth = engine.Board{Index: 0, NICID: 0x020000000001, IfName: "veth-raw0", Hostname: "node:0", MTU: 1500}
	rawBoardLo  = engine.Board{Index: 1, IfName: "lo", Hostname: "localhost", MTU: 65536, Loopback: true}
)

// rawTestLib returns an initialized library with the given boards, a
// private run directory, a counting global handler that returns the code,
// and a fake raw link factory handing out the links it records in *links.
func rawTestLib(t *testing.T, boards ...engine.Board) (*Library, *rawReports, *[]*rawFakeLink) {
	t.Helper()
	rep := &rawReports{}
	links := &[]*rawFakeLink{}
	var mu sync.Mutex
	oldCall, oldOpen := CallHandler, openRawLink
	CallHandler = func(fn unsafe.Pointer, msg string, code uint32) uint32 {
		rep.mu.Lock()
		rep.codes = append(rep.codes, Code(code))
		rep.msgs = append(rep.msgs, msg)
		rep.mu.Unlock()
		return code
	}
	openRawLink = func(ifname string) (link.Link, error) {
		mu.Lock()
		defer mu.Unlock()
		f := newRawFakeLink()
		*links = append(*links, f)
		return f, nil
	}
	t.Cleanup(func() { CallHandler, openRawLink = oldCall, oldOpen })

	l := newLibrary()
	l.cfg.RunDir = t.TempDir()
	l.cfg.PeersFile = ""
	var fn int
	l.SetGlobalHandler(Handler{Kind: HandlerApp, Fn: unsafe.Pointer(&fn)})
	l.eng = engine.New(engine.Config{Boards: boards})
	l.engAny.Store(l.eng)
	l.initialized = true
	return l, rep, links
}

// rawOpen opens the raw endpoint of board and closes it at the end of the
// test.
func rawOpen(t *testing.T, l *Library, board uint32) *RawEndpoint {
	t.Helper()
	r, code := l.OpenRaw(board)
	if code != Success {
		t.Fatalf("OpenRaw(%d) = %v", board, code)
	}
	t.Cleanup(func() {
		if _, ok := RawByHandle(r.Handle()); ok {
			l.CloseRaw(r)
		}
	})
	return r
}

func TestRawHandles(t *testing.T) {
	a, b := &RawEndpoint{}, &RawEndpoint{}
	rawRegister(a)
	rawRegister(b)
	if a.Handle() == 0 || b.Handle() == 0 || a.Handle() == b.Handle() {
		t.Fatalf("handles %#x and %#x", a.Handle(), b.Handle())
	}
	for _, h := range []uint64{a.Handle(), b.Handle()} {
		if h >= 1<<61 {
			t.Errorf("handle %#x leaves no room for the kind tag", h)
		}
	}
	if got, ok := RawByHandle(a.Handle()); !ok || got != a {
		t.Errorf("RawByHandle(a) = %p, %v", got, ok)
	}
	old := a.Handle()
	rawUnregister(a)
	if _, ok := RawByHandle(old); ok {
		t.Error("a closed endpoint's handle still resolves")
	}
	c := &RawEndpoint{}
	rawRegister(c)
	defer rawUnregister(c)
	defer rawUnregister(b)
	if c.Handle() == old {
		t.Errorf("a reused slot gave the stale handle %#x again", old)
	}
	if _, ok := RawByHandle(old); ok {
		t.Error("the stale handle resolves after its slot was reused")
	}
	if got, ok := RawByHandle(b.Handle()); !ok || got != b {
		t.Errorf("RawByHandle(b) = %p, %v", got, ok)
	}
	for _, h := range []uint64{0, 1, 1 << 32, 0xffffffffffffffff, b.Handle() + 1<<32, b.Handle() ^ 1<<40} {
		if _, ok := RawByHandle(h); ok {
			t.Errorf("RawByHandle(%#x) found an endpoint", h)
		}
	}
}

func TestRawOpenErrors(t *testing.T) {
	l, rep, links := rawTestLib(t, rawBoardEth, rawBoardLo)

	if _, code := l.OpenRaw(7); code != BoardNotFound {
		t.Errorf("missing board: %v, want BoardNotFound", code)
	}
	if _, code := l.OpenRaw(1); code != NoDriver {
		t.Errorf("loopback board: %v, want NoDriver", code)
	}
	r := rawOpen(t, l, 0)
	if got := r.Board(); got != rawBoardEth {
		t.Errorf("Board() = %+v", got)
	}
	if _, code := l.OpenRaw(0); code != Busy {
		t.Errorf("second open in the process: %v, want Busy", code)
	}
	// The slot file is held: another process (another registry on the
	// same run directory) is refused too.
	reg, err := node.OpenRegistry(l.Config().RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Acquire(node.Slot{Board: rawBoardEth.IfName, Index: node.RawIndex}, 0); !errors.Is(err, node.ErrBusy) {
		t.Errorf("registry Acquire of the raw slot while open = %v, want ErrBusy", err)
	}
	if code := l.CloseRaw(r); code != Success {
		t.Fatalf("CloseRaw = %v", code)
	}
	if !(*links)[0].closed {
		t.Error("CloseRaw did not close the link")
	}
	if code := l.CloseRaw(r); code != BadEndpoint {
		t.Errorf("second CloseRaw = %v, want BadEndpoint", code)
	}
	if _, code := l.Raw(r.Handle(), "Using"); code != BadEndpoint {
		t.Errorf("Raw(closed handle) = %v, want BadEndpoint", code)
	}
	r2 := rawOpen(t, l, 0)
	if r2.Handle() == r.Handle() {
		t.Error("reopening gave the closed endpoint's handle")
	}
	l.CloseRaw(r2)

	codes, msgs := rep.take()
	want := []Code{BoardNotFound, NoDriver, Busy, BadEndpoint, BadEndpoint}
	if diff := cmp.Diff(want, codes); diff != "" {
		t.Errorf("handler codes mismatch (-want +got):\n%s\nmessages: %q", diff, msgs)
	}
	for _, m := range msgs {
		if m == "" || len(m) > 255 {
			t.Errorf("bad handler message %q", m)
		}
	}

	// Link errors: code, and the slot is given back.
	for _, tc := range []struct {
		err  error
		want Code
	}{
		{fmt.Errorf("x: %w", link.ErrPermission), AccessDenied},
		{fmt.Errorf("x: %w", link.ErrNoInterface), BoardNotFound},
		{fmt.Errorf("x: %w", afpacket.ErrNotSupported), NoDriver},
		{errors.New("socket: too many open files"), NoSystemResources},
	} {
		openRawLink = func(string) (link.Link, error) { return nil, tc.err }
		if _, code := l.OpenRaw(0); code != tc.want {
			t.Errorf("link error %v: %v, want %v", tc.err, code, tc.want)
		}
	}
	openRawLink = func(string) (link.Link, error) { return newRawFakeLink(), nil }
	l.CloseRaw(rawOpen(t, l, 0))

	l.Finalize()
	if _, code := l.OpenRaw(0); code != NotInitialized {
		t.Errorf("after finalize: %v, want NotInitialized", code)
	}
}

// TestRawOpenWithoutRegistry: a run directory that cannot hold the registry
// still gives one raw endpoint per board inside the process.
func TestRawOpenWithoutRegistry(t *testing.T) {
	l, _, _ := rawTestLib(t, rawBoardEth)
	file := l.Config().RunDir + "/file"
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	l.cfg.RunDir = file // not a directory
	r := rawOpen(t, l, 0)
	if _, code := l.OpenRaw(0); code != Busy {
		t.Errorf("second open: %v, want Busy", code)
	}
	l.CloseRaw(r)
	l.CloseRaw(rawOpen(t, l, 0))
}

func TestRawSendAndEvents(t *testing.T) {
	l, rep, links := rawTestLib(t, rawBoardEth)
	r := rawOpen(t, l, 0)
	lk := (*links)[0]
	if r.PollFd() != 42 {
		t.Errorf("PollFd = %d, want the link's", r.PollFd())
	}

	frame := make([]byte, 64)
	for i := range frame {
		frame[i] = byte(i)
	}
	big := bytes.Repeat([]byte{0x5a}, RawMaxFrame)
	for i, f := range [][]byte{frame, frame[:RawMinFrame], frame, big} {
		if code := l.RawSend(r, f, uintptr(0x1000+i)); code != Success {
			t.Fatalf("RawSend of %d bytes = %v", len(f), code)
		}
	}
	for _, n := range []int{0, RawMinFrame - 1, RawMaxFrame + 1} {
		if code := l.RawSend(r, make([]byte, n), 0xbad); code != BadRequest {
			t.Errorf("RawSend of %d bytes = %v, want BadRequest", n, code)
		}
	}
	if diff := cmp.Diff([][]byte{frame, frame[:RawMinFrame], frame, big}, lk.sent); diff != "" {
		t.Errorf("sent frames mismatch (-want +got):\n%s", diff)
	}

	// A frame arrives while completions are pending: they come first, in
	// order, then the frame.
	in := bytes.Repeat([]byte{0xab}, 100)
	lk.deliver(in)
	buf := make([]byte, 200)
	var got []RawEvent
	for range 6 {
		ev, code := l.RawNextEvent(r, buf, 0)
		if code != Success {
			t.Fatalf("RawNextEvent = %v", code)
		}
		got = append(got, ev)
	}
	want := []RawEvent{
		{Status: RawSendComplete, Context: 0x1000},
		{Status: RawSendComplete, Context: 0x1001},
		{Status: RawSendComplete, Context: 0x1002},
		{Status: RawSendComplete, Context: 0x1003},
		{Status: RawRecvComplete, Length: 100},
		{Status: RawNoEvent},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	if !bytes.Equal(buf[:100], in) {
		t.Errorf("received bytes %x", buf[:100])
	}

	// Truncation to the caller's buffer, and an empty buffer.
	lk.deliver(in)
	lk.deliver(in)
	small := make([]byte, 10)
	if ev, _ := l.RawNextEvent(r, small, 0); ev != (RawEvent{Status: RawRecvComplete, Length: 10}) || !bytes.Equal(small, in[:10]) {
		t.Errorf("truncated receive: %+v, %x", ev, small)
	}
	if ev, _ := l.RawNextEvent(r, nil, 0); ev != (RawEvent{Status: RawRecvComplete, Length: 0}) {
		t.Errorf("receive into no buffer: %+v", ev)
	}

	if codes, msgs := rep.take(); !cmp.Equal(codes, []Code{BadRequest, BadRequest, BadRequest}) {
		t.Errorf("handler codes %v (%q), want 3 BadRequest", codes, msgs)
	}
}

func TestRawNextEventTimeout(t *testing.T) {
	l, _, links := rawTestLib(t, rawBoardEth)
	r := rawOpen(t, l, 0)
	lk := (*links)[0]
	buf := make([]byte, RawMaxFrame)

	start := time.Now()
	if ev, code := l.RawNextEvent(r, buf, 0); ev.Status != RawNoEvent || code != Success {
		t.Errorf("poll: %+v, %v", ev, code)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a poll took %v", d)
	}
	start = time.Now()
	if ev, code := l.RawNextEvent(r, buf, 150); ev.Status != RawNoEvent || code != Success {
		t.Errorf("timeout: %+v, %v", ev, code)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 5*time.Second {
		t.Errorf("a 150 ms timeout took %v", d)
	}

	// A waiter is woken by a send from another goroutine, then by a frame.
	type result struct {
		ev   RawEvent
		code Code
	}
	res := make(chan result, 1)
	wait := func() {
		go func() {
			ev, code := l.RawNextEvent(r, buf, 60000)
			res <- result{ev, code}
		}()
	}
	wait()
	if code := l.RawSend(r, make([]byte, 60), 77); code != Success {
		t.Fatal(code)
	}
	if got := <-res; got != (result{RawEvent{Status: RawSendComplete, Context: 77}, Success}) {
		t.Errorf("woken by a send: %+v", got)
	}
	wait()
	lk.deliver(make([]byte, 64))
	if got := <-res; got != (result{RawEvent{Status: RawRecvComplete, Length: 64}, Success}) {
		t.Errorf("woken by a frame: %+v", got)
	}
	// Closing makes a waiter fail with BadEndpoint.
	wait()
	if code := l.CloseRaw(r); code != Success {
		t.Fatal(code)
	}
	select {
	case got := <-res:
		if got.code != BadEndpoint {
			t.Errorf("waiter after close: %+v, want BadEndpoint", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter did not return after close")
	}
	if _, code := l.RawNextEvent(r, buf, 0); code != BadEndpoint {
		t.Errorf("RawNextEvent after close = %v, want BadEndpoint", code)
	}
	if code := l.RawSend(r, make([]byte, 60), 1); code != BadEndpoint {
		t.Errorf("RawSend after close = %v, want BadEndpoint", code)
	}
}

func TestRawPeers(t *testing.T) {
	l, rep, _ := rawTestLib(t, rawBoardEth)
	r := rawOpen(t, l, 0)
	dir := l.Config().RunDir
	const nicA, nicB = 0x02000000000a, 0x02000000000b

	if code := l.RawSetRoute(r, nicA); code != Success {
		t.Fatal(code)
	}
	if code := l.RawSetPeerName(r, nicB, "hostb:0"); code != Success {
		t.Fatal(code)
	}
	if code := l.RawSetRoute(r, nicB); code != Success { // keeps the name
		t.Fatal(code)
	}
	if code := l.RawSetPeerName(r, nicA, "hosta:0"); code != Success {
		t.Fatal(code)
	}
	long := strings.Repeat("x", 100)
	if code := l.RawSetPeerName(r, 0x02000000000c, long); code != Success {
		t.Fatal(code)
	}
	peers, _, err := node.ReadPeerTable(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []node.Peer{{NICID: nicA, Hostname: "hosta:0"}, {NICID: nicB, Hostname: "hostb:0"}, {NICID: 0x02000000000c, Hostname: long[:79]}}
	if diff := cmp.Diff(want, peers); diff != "" {
		t.Errorf("published table mismatch (-want +got):\n%s", diff)
	}
	// This process's table follows.
	if nic, err := l.eng.HostnameToNICID("hosta:0"); err != nil || nic != nicA {
		t.Errorf("HostnameToNICID(hosta:0) = %#x, %v", nic, err)
	}
	if name, err := l.eng.NICIDToHostname(nicB); err != nil || name != "hostb:0" {
		t.Errorf("NICIDToHostname(b) = %q, %v", name, err)
	}
	if codes, msgs := rep.take(); len(codes) != 0 {
		t.Errorf("handler called: %v %q", codes, msgs)
	}

	for _, tc := range []struct {
		name string
		call func() Code
		want Code
	}{
		{"route to a 64-bit id", func() Code { return l.RawSetRoute(r, 1<<48) }, BadRequest},
		{"name of a 64-bit id", func() Code { return l.RawSetPeerName(r, 1<<50|1, "x") }, BadRequest},
		{"name with a blank", func() Code { return l.RawSetPeerName(r, nicA, "a b") }, BadRequest},
		{"name with a newline", func() Code { return l.RawSetPeerName(r, nicA, "a\nb") }, BadRequest},
		{"remove", func() Code { return l.RawRemovePeer(r, nicA) }, NotImplemented},
	} {
		if got := tc.call(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if after, _, _ := node.ReadPeerTable(dir); !cmp.Equal(want, after) {
		t.Errorf("refused calls changed the table: %v", after)
	}
}

func TestUpdatePublishedPeerFull(t *testing.T) {
	dir := t.TempDir()
	peers := make([]node.Peer, node.PeerMax)
	for i := range peers {
		peers[i] = node.Peer{NICID: 0x020000000000 + uint64(i)}
	}
	if err := node.WritePeerTable(dir, peers); err != nil {
		t.Fatal(err)
	}
	if err := UpdatePublishedPeer(dir, 0x030000000000, "", false); !errors.Is(err, errPeerTableFull) {
		t.Errorf("adding to a full table: %v", err)
	}
	if err := UpdatePublishedPeer(dir, 0x020000000005, "five", true); err != nil {
		t.Errorf("renaming in a full table: %v", err)
	}
	got, _, _ := node.ReadPeerTable(dir)
	if len(got) != node.PeerMax || got[5].Hostname != "five" {
		t.Errorf("table after rename: %d peers, peer 5 %+v", len(got), got[5])
	}
}

func TestRawHostname(t *testing.T) {
	l, _, _ := rawTestLib(t, rawBoardEth)
	r := rawOpen(t, l, 0)
	dir := l.Config().RunDir
	if _, err := ReadBoardHostname(dir, rawBoardEth.IfName); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("before any rename: %v, want ErrNotExist", err)
	}
	if code := l.RawSetHostname(r, "renamed:0"); code != Success {
		t.Fatal(code)
	}
	b, err := os.ReadFile(BoardHostnameFile(dir, rawBoardEth.IfName))
	if err != nil || string(b) != "renamed:0\n" {
		t.Errorf("hostname file: %q, %v", b, err)
	}
	if name, err := ReadBoardHostname(dir, rawBoardEth.IfName); err != nil || name != "renamed:0" {
		t.Errorf("ReadBoardHostname = %q, %v", name, err)
	}
	if code := l.RawSetHostname(r, strings.Repeat("y", 90)); code != Success {
		t.Fatal(code)
	}
	if name, _ := ReadBoardHostname(dir, rawBoardEth.IfName); name != strings.Repeat("y", 79) {
		t.Errorf("long name stored as %q", name)
	}
	for _, bad := range []string{"", "a b", "tab\there"} {
		if code := l.RawSetHostname(r, bad); code != BadRequest {
			t.Errorf("RawSetHostname(%q) = %v, want BadRequest", bad, code)
		}
	}
	if name, _ := ReadBoardHostname(dir, rawBoardEth.IfName); name != strings.Repeat("y", 79) {
		t.Errorf("refused names changed the file: %q", name)
	}
	if err := os.WriteFile(BoardHostnameFile(dir, "eth9"), []byte("two words\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadBoardHostname(dir, "eth9"); err == nil {
		t.Error("a bad hostname file was accepted")
	}
	if err := WriteBoardHostname(dir, "../x", "n"); err == nil {
		t.Error("an interface name with a slash was accepted")
	}
}

func TestRawMapState(t *testing.T) {
	l, _, _ := rawTestLib(t, rawBoardEth)
	r := rawOpen(t, l, 0)
	if got := r.MapState(); got != (RawMapState{}) {
		t.Errorf("initial state %+v", got)
	}
	s := RawMapState{Port: 0, MapperID: 0x0200000000aa, Version: 3, Nodes: 5, Configured: true}
	r.SetMapState(s)
	if got := r.MapState(); got != s {
		t.Errorf("MapState = %+v, want %+v", got, s)
	}
}
