package engine

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testNIC = 0x02fc00000001

func newTestEngine(t *testing.T, mod func(*Config)) *Engine {
	t.Helper()
	cfg := Config{Boards: []Board{{Index: 0, NICID: testNIC, IfName: "eth0", Hostname: "node:0", NUMANode: -1}}}
	if mod != nil {
		mod(&cfg)
	}
	e := New(cfg)
	t.Cleanup(func() {
		if s := e.Stats(); s != (Stats{}) {
			t.Errorf("engine still holds %+v after the test", s)
		}
	})
	return e
}

func open(t *testing.T, e *Engine, index uint32) *Endpoint {
	t.Helper()
	ep, err := e.OpenEndpoint(0, index, 0x1234, EndpointOptions{})
	if err != nil {
		t.Fatalf("OpenEndpoint(%d): %v", index, err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ seed
	}
	return b
}

// exchange sends n bytes from a to dst and receives them on b.
func exchange(t *testing.T, a, b *Endpoint, dst Address, n int, sync bool) {
	t.Helper()
	src := pattern(n, byte(n))
	dstBuf := make([]byte, n)
	s, err := a.Send([][]byte{src}, dst, 0xabc, 7, sync, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := b.Recv([][]byte{dstBuf}, 0xabc, ^uint64(0), 9, false)
	if err != nil {
		t.Fatal(err)
	}
	rst, ok, err := b.Wait(r.Handle(), 2000)
	if err != nil || !ok {
		t.Fatalf("recv wait: ok=%v err=%v", ok, err)
	}
	sst, ok, err := a.Wait(s.Handle(), 2000)
	if err != nil || !ok {
		t.Fatalf("send wait: ok=%v err=%v", ok, err)
	}
	if rst.Code != StatusSuccess || sst.Code != StatusSuccess {
		t.Fatalf("statuses recv %d send %d", rst.Code, sst.Code)
	}
	if rst.MsgLength != uint32(n) || rst.XferLength != uint32(n) || rst.MatchInfo != 0xabc || rst.Context != 9 || sst.Context != 7 {
		t.Fatalf("recv status %+v send status %+v", rst, sst)
	}
	if !bytes.Equal(src, dstBuf) {
		t.Fatalf("payload of %d bytes differs", n)
	}
}

func TestPaths(t *testing.T) {
	sizes := []int{0, 1, 32, 33, 128, 129, 4096, 4097, 32768, 32769, 1 << 20}
	for _, tc := range []struct {
		name  string
		mod   func(*Config)
		cross bool
	}{
		{"self", nil, false},
		{"self-disabled", func(c *Config) { c.DisableSelf = true }, false},
		{"cross", nil, true},
		{"cross-noshared", func(c *Config) { c.DisableShared = true }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEngine(t, tc.mod)
			a := open(t, e, 0)
			b := a
			if tc.cross {
				b = open(t, e, 1)
			}
			for _, sync := range []bool{false, true} {
				for _, n := range sizes {
					exchange(t, a, b, b.Address(), n, sync)
				}
			}
		})
	}
}

func TestOrderingAcrossClasses(t *testing.T) {
	e := newTestEngine(t, nil)
	a, b := open(t, e, 0), open(t, e, 1)
	sizes := []int{100000, 10, 5000, 0, 200, 70000}
	var sends []*Request
	for i, n := range sizes {
		s, err := a.Send([][]byte{pattern(n, byte(i))}, b.Address(), uint64(i), 0, false, false)
		if err != nil {
			t.Fatal(err)
		}
		sends = append(sends, s)
	}
	for i, n := range sizes {
		buf := make([]byte, n)
		r, _ := b.Recv([][]byte{buf}, 0, 0, 0, false)
		st, ok, _ := b.Wait(r.Handle(), 1000)
		if !ok || st.MatchInfo != uint64(i) || !bytes.Equal(buf, pattern(n, byte(i))) {
			t.Fatalf("message %d: ok=%v status %+v", i, ok, st)
		}
	}
	for _, s := range sends {
		if _, ok, _ := a.Wait(s.Handle(), 1000); !ok {
			t.Fatal("send did not complete")
		}
	}
}

func TestTruncation(t *testing.T) {
	for _, n := range []int{10, 120, 20000, 1 << 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			e := newTestEngine(t, func(c *Config) { c.DisableShared = true })
			a, b := open(t, e, 0), open(t, e, 1)
			half := n / 2
			buf := make([]byte, n)
			s, _ := a.Send([][]byte{pattern(n, 1)}, b.Address(), 1, 0, false, false)
			r, _ := b.Recv([][]byte{buf[:half]}, 1, ^uint64(0), 0, false)
			rst, _, _ := b.Wait(r.Handle(), 1000)
			sst, _, _ := a.Wait(s.Handle(), 1000)
			if rst.Code != StatusMessageTruncated || rst.MsgLength != uint32(n) || rst.XferLength != uint32(half) {
				t.Errorf("recv status %+v", rst)
			}
			if !bytes.Equal(buf[:half], pattern(n, 1)[:half]) || !bytes.Equal(buf[half:], make([]byte, n-half)) {
				t.Error("bytes beyond the buffer were written, or data wrong")
			}
			wantSend := ReqStatus{Code: StatusSuccess, XferLength: uint32(n)}
			if n > 32768 {
				wantSend = ReqStatus{Code: StatusMessageTruncated, XferLength: uint32(half)}
			}
			if sst.Code != wantSend.Code || sst.XferLength != wantSend.XferLength {
				t.Errorf("send status %+v, want code %d xfer %d", sst, wantSend.Code, wantSend.XferLength)
			}
		})
	}
}

func TestUnexpectedAndProbe(t *testing.T) {
	e := newTestEngine(t, nil)
	a := open(t, e, 0)
	if _, err := a.Send([][]byte{[]byte("hello")}, a.Address(), 0x1, 0, false, true); err != nil {
		t.Fatal(err)
	}
	st, ok, _ := a.Probe(0x1, ^uint64(0), 100)
	if !ok || st.MatchInfo != 1 || st.MsgLength != 5 {
		t.Fatalf("probe: %v %+v", ok, st)
	}
	if _, ok, _ := a.Probe(0x2, ^uint64(0), 0); ok {
		t.Fatal("probe found a message with another match info")
	}
	if _, ok, _ := a.Probe(0, ^uint64(1), 0); !ok {
		t.Fatal("masked probe found nothing")
	}
	if err := CheckMask(1, 0); !errors.Is(err, ErrBadMatchMask) {
		t.Fatalf("CheckMask(1, 0) = %v", err)
	}
	buf := make([]byte, 5)
	if _, err := a.Recv([][]byte{buf}, 0, ^uint64(1), 0, true); err != nil {
		t.Fatal(err)
	}
	if string(buf) != "hello" {
		t.Fatalf("got %q", buf)
	}
	if _, ok, _ := a.Probe(0, ^uint64(1), 0); ok {
		t.Fatal("message still queued after a receive took it")
	}
}

func TestUnexpectedHandler(t *testing.T) {
	type call struct {
		Match  uint64
		Length uint32
		Avail  bool
		Data   string
	}
	e := newTestEngine(t, nil)
	a, b := open(t, e, 0), open(t, e, 1)
	var calls []call
	var recvInHandler *Request
	b.RegisterUnexpHandler(func(ctx uintptr, src Address, match uint64, length uint32, data []byte, avail bool) int {
		if ctx != 42 || src.Endpoint != 0 {
			t.Errorf("handler ctx %d src %+v", ctx, src)
		}
		calls = append(calls, call{match, length, avail, string(data)})
		switch match {
		case 1:
			return RecvFinished
		case 2:
			var err error
			recvInHandler, err = b.Recv(nil, 2, ^uint64(0), 0, false)
			if err != nil {
				t.Error(err)
			}
		}
		return RecvContinue
	}, 42)
	big := make([]byte, 100000)
	s1, _ := a.Send([][]byte{[]byte("abc")}, b.Address(), 1, 0, false, false)
	s2, _ := a.Send([][]byte{[]byte("defg")}, b.Address(), 2, 0, false, false)
	s3, _ := a.Send([][]byte{big}, b.Address(), 3, 0, false, false)
	s4, _ := a.Send([][]byte{big}, b.Address(), 1, 0, false, false)
	if err := b.Progress(); err != nil {
		t.Fatal(err)
	}
	want := []call{{1, 3, true, "abc"}, {2, 4, true, "defg"}, {3, 100000, false, ""}, {1, 100000, false, ""}}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("handler calls (-want +got):\n%s", diff)
	}
	if st, ok, _ := b.Wait(recvInHandler.Handle(), 0); !ok || st.Code != StatusMessageTruncated || st.MsgLength != 4 {
		t.Errorf("receive posted in the handler: %v %+v", ok, st)
	}
	if _, ok, _ := b.Probe(3, ^uint64(0), 0); !ok {
		t.Error("continued message not queued")
	}
	for i, s := range []*Request{s1, s2} {
		if st, ok, _ := a.Wait(s.Handle(), 0); !ok || st.Code != StatusSuccess {
			t.Errorf("eager send %d: %v %+v", i, ok, st)
		}
	}
	if st, ok, _ := a.Wait(s4.Handle(), 1000); !ok || st.Code != StatusMessageTruncated || st.XferLength != 0 {
		t.Errorf("rendezvous send finished by the handler: %v %+v", ok, st)
	}
	b.RegisterUnexpHandler(nil, 0)
	r, _ := b.Recv([][]byte{big}, 3, ^uint64(0), 0, false)
	if st, ok, _ := b.Wait(r.Handle(), 1000); !ok || st.Code != StatusSuccess {
		t.Errorf("receive of the queued rendezvous: %v %+v", ok, st)
	}
	if _, ok, _ := a.Wait(s3.Handle(), 1000); !ok {
		t.Error("rendezvous send not completed")
	}
}

func TestCancelForgetPeek(t *testing.T) {
	e := newTestEngine(t, nil)
	a := open(t, e, 0)
	r1, _ := a.Recv(nil, 5, ^uint64(0), 0, false)
	if ok, err := a.Cancel(r1.Handle(), false); !ok || err != nil {
		t.Fatalf("cancel: %v %v", ok, err)
	}
	if _, _, err := a.Wait(r1.Handle(), 0); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("wait on a cancelled request: %v", err)
	}
	r2, _ := a.Recv(nil, 6, ^uint64(0), 0, false)
	if ok, _ := a.Cancel(r2.Handle(), true); !ok {
		t.Fatal("cancel_notest failed")
	}
	if st, ok, _ := a.TestAny(0, 0); !ok || st.Code != StatusCancelled || st.MatchInfo != 6 {
		t.Fatalf("test_any after cancel_notest: %v %+v", ok, st)
	}
	s, _ := a.Send(nil, a.Address(), 7, 0, false, false)
	if _, err := a.Cancel(s.Handle(), false); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("cancel of a send: %v", err)
	}
	r3, _ := a.Recv(nil, 7, ^uint64(0), 0, false)
	if ok, _ := a.Cancel(r3.Handle(), false); ok {
		t.Fatal("cancelled a matched receive")
	}
	h, ok, _ := a.Peek(0)
	if !ok || (h != s.Handle() && h != r3.Handle()) {
		t.Fatalf("peek: %v %x", ok, h)
	}
	if err := a.Forget(s.Handle()); err != nil {
		t.Fatal(err)
	}
	if err := a.Forget(r3.Handle()); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Peek(0); ok {
		t.Fatal("done queue not empty after forgetting everything")
	}
}

func TestWaitAnyOrderAndWakeup(t *testing.T) {
	e := newTestEngine(t, nil)
	a, b := open(t, e, 0), open(t, e, 1)
	for i := 0; i < 4; i++ {
		a.Send(nil, b.Address(), uint64(i)<<8|1, 0, false, false)
	}
	for i := 0; i < 4; i++ {
		st, ok, _ := a.WaitAny(1, 0xff, 0)
		if !ok || st.MatchInfo != uint64(i)<<8|1 {
			t.Fatalf("wait_any %d: %v %+v", i, ok, st)
		}
	}
	start := time.Now()
	if _, ok, _ := a.WaitAny(0, 0, 50); ok || time.Since(start) < 40*time.Millisecond {
		t.Fatalf("wait_any timeout returned %v after %v", ok, time.Since(start))
	}
	var wg sync.WaitGroup
	results := make(chan bool, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, _ := b.WaitAny(0x99, ^uint64(0), 0xffffffff)
			results <- ok
		}()
	}
	for {
		b.mu.Lock()
		n := len(b.mu.waiters)
		b.mu.Unlock()
		if n == 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.Wakeup()
	wg.Wait()
	close(results)
	for ok := range results {
		if ok {
			t.Error("a woken wait reported a completion")
		}
	}
	// b still holds 4 unmatched messages from a: drained by Close.
}

func TestConnectAndContexts(t *testing.T) {
	e := newTestEngine(t, nil)
	a, b := open(t, e, 0), open(t, e, 1)
	if _, err := a.Connect(testNIC, 1, 0x9999, 100); !errors.Is(err, ErrRemoteBadKey) {
		t.Errorf("bad key: %v", err)
	}
	if _, err := a.Connect(testNIC, 5, 0x1234, 100); !errors.Is(err, ErrRemoteClosed) {
		t.Errorf("closed endpoint: %v", err)
	}
	if _, err := a.Connect(testNIC, 40, 0x1234, 100); !errors.Is(err, ErrRemoteBadID) {
		t.Errorf("bad id: %v", err)
	}
	if _, err := a.Connect(0x1111, 1, 0x1234, 100); !errors.Is(err, ErrNICIDNotFound) {
		t.Errorf("unknown nic: %v", err)
	}
	addr, err := a.Connect(testNIC, 1, 0x1234, 100)
	if err != nil {
		t.Fatal(err)
	}
	if e.AddrContext(addr) != 0 {
		t.Fatal("new partner has a context")
	}
	e.SetAddrContext(addr, 77)
	addr2, _ := a.Connect(testNIC, 1, 0x1234, 100)
	if e.AddrContext(addr2) != 77 {
		t.Fatal("context not shared by the addresses of one partner")
	}
	ic, _ := a.IConnect(testNIC, 1, 0x1234, 0x55, 3, false)
	st, ok, _ := a.Wait(ic.Handle(), 0)
	if !ok || st.Code != StatusSuccess || st.MatchInfo != 0x55 || st.Context != 3 || st.Addr.Endpoint != 1 {
		t.Fatalf("iconnect status %v %+v", ok, st)
	}
	a.Send(nil, addr, 1, 0, false, true)
	r, _ := b.Recv(nil, 1, ^uint64(0), 0, false)
	rst, _, _ := b.Wait(r.Handle(), 100)
	e.SetAddrContext(rst.Addr, 88)
	back, _ := b.Connect(testNIC, 0, 0x1234, 100)
	if e.AddrContext(back) != 88 {
		t.Fatal("context set on a source address not seen by connect")
	}
	if err := a.Disconnect(addr); err != nil {
		t.Fatal(err)
	}
	if e.AddrContext(addr) != 0 {
		t.Fatal("context survived disconnect")
	}
	b.Close()
	s, _ := a.Send(nil, addr, 1, 0, false, false)
	if st, ok, _ := a.Wait(s.Handle(), 0); !ok || st.Code != StatusRemoteEndpointClosed {
		t.Fatalf("send to a closed endpoint: %v %+v", ok, st)
	}
}

func TestCloseWithRendezvousInFlight(t *testing.T) {
	e := newTestEngine(t, nil)
	a := open(t, e, 0)
	b, err := e.OpenEndpoint(0, 1, 0x1234, EndpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := a.Send([][]byte{make([]byte, 1<<20)}, b.Address(), 1, 0, false, false)
	b.Progress() // queued as unexpected
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if st, ok, _ := a.Wait(s.Handle(), 1000); !ok || st.Code != StatusRemoteEndpointClosed {
		t.Fatalf("rendezvous send to an endpoint that closed: %v %+v", ok, st)
	}
	if err := b.Close(); !errors.Is(err, ErrBadEndpoint) {
		t.Fatalf("second close: %v", err)
	}
	// The other way round: the sender closes first.
	c := open(t, e, 2)
	s2, _ := c.Send([][]byte{make([]byte, 1<<20)}, a.Address(), 2, 0, false, false)
	_ = s2
	a.Progress()
	c.Close()
	r, _ := a.Recv([][]byte{make([]byte, 1<<20)}, 2, ^uint64(0), 0, false)
	if st, ok, _ := a.Wait(r.Handle(), 1000); !ok || st.Code != StatusRemoteEndpointClosed || st.XferLength != 0 {
		t.Fatalf("receive of an aborted rendezvous: %v %+v", ok, st)
	}
}

func TestOpenEndpointErrors(t *testing.T) {
	e := newTestEngine(t, nil)
	a := open(t, e, 3)
	if _, err := e.OpenEndpoint(0, 3, 1, EndpointOptions{}); !errors.Is(err, ErrBusy) {
		t.Errorf("busy: %v", err)
	}
	if _, err := e.OpenEndpoint(0, 32, 1, EndpointOptions{}); !errors.Is(err, ErrBadEndpoint) {
		t.Errorf("index 32: %v", err)
	}
	if _, err := e.OpenEndpoint(5, 0, 1, EndpointOptions{}); !errors.Is(err, ErrBoardNotFound) {
		t.Errorf("board 5: %v", err)
	}
	if _, err := e.OpenEndpoint(0, 0, 1, EndpointOptions{CtxIDBits: 17}); !errors.Is(err, ErrParamBadValue) {
		t.Errorf("17 ctxid bits: %v", err)
	}
	any, err := e.OpenEndpoint(Any, Any, 1, EndpointOptions{})
	if err != nil || any.Index() != 0 {
		t.Fatalf("any: %v %v", any, err)
	}
	any.Close()
	a.Close()
}

func TestContextIDMask(t *testing.T) {
	e := newTestEngine(t, nil)
	ep, err := e.OpenEndpoint(0, 0, 1, EndpointOptions{CtxIDBits: 1, CtxIDShift: 41})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	if _, err := ep.Recv(nil, 0, 0xff, 0, false); !errors.Is(err, ErrCtxIDMask) {
		t.Fatalf("mask without the ctxid bit: %v", err)
	}
	if _, err := ep.Recv(nil, 1<<41, 1<<41, 0, true); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentEndpoints(t *testing.T) {
	e := newTestEngine(t, nil)
	const pairs, iters = 4, 200
	var wg sync.WaitGroup
	for p := 0; p < pairs; p++ {
		a, b := open(t, e, uint32(2*p)), open(t, e, uint32(2*p+1))
		for _, dir := range [][2]*Endpoint{{a, b}, {b, a}} {
			wg.Add(1)
			go func(from, to *Endpoint) {
				defer wg.Done()
				for i := 0; i < iters; i++ {
					n := (i * 997) % 70000
					src := pattern(n, byte(i))
					buf := make([]byte, n)
					r, _ := from.Recv([][]byte{buf}, uint64(i), ^uint64(0), 0, false)
					s, _ := from.Send([][]byte{src}, to.Address(), uint64(i), 0, false, false)
					if _, ok, err := from.Wait(r.Handle(), 5000); !ok || err != nil {
						t.Errorf("recv %d: %v %v", i, ok, err)
						return
					}
					if _, ok, err := from.Wait(s.Handle(), 5000); !ok || err != nil {
						t.Errorf("send %d: %v %v", i, ok, err)
						return
					}
					if !bytes.Equal(buf, src) {
						t.Errorf("payload %d differs", i)
						return
					}
				}
			}(dir[0], dir[1])
		}
	}
	wg.Wait()
}

func TestForgottenRequestsDoNotAccumulate(t *testing.T) {
	e := newTestEngine(t, nil)
	a := open(t, e, 0)
	for i := 0; i < 10000; i++ {
		r, _ := a.Recv(nil, 1, ^uint64(0), 0, false)
		if err := a.Forget(r.Handle()); err != nil {
			t.Fatal(err)
		}
		a.Send(nil, a.Address(), 1, 0, false, true)
	}
	a.mu.Lock()
	n := len(a.mu.forgotten)
	a.mu.Unlock()
	if n > 64 {
		t.Fatalf("%d forgotten requests still tracked after they completed", n)
	}
	if s := e.Stats(); s.Requests != 0 {
		t.Fatalf("%d requests left", s.Requests)
	}
}
