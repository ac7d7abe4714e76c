package engine

import (
	"errors"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link/mem"
)

// Requests posted through the handle API are reused once freed; a stale
// handle keeps failing, and the new request gets a new handle.
func TestReuseStaleHandle(t *testing.T) {
	e := New(Config{Boards: []Board{{Index: 0, NICID: testNIC, Hostname: "node:0", NUMANode: -1}}})
	a, _ := e.OpenEndpoint(0, 0, 1, EndpointOptions{})
	b, _ := e.OpenEndpoint(0, 1, 1, EndpointOptions{})
	defer a.Close()
	defer b.Close()
	buf := [][]byte{make([]byte, 8)}
	h1, err := a.SendHandle(buf, b.Address(), 1, 0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := e.requests.get(h1)
	if st, ok, err := a.Wait(h1, 0); !ok || err != nil || st.Code != StatusSuccess {
		t.Fatalf("first send: %+v %v %v", st, ok, err)
	}
	h2, _ := a.SendHandle(buf, b.Address(), 2, 7, false, false)
	r2, _ := e.requests.get(h2)
	if r2 != r1 {
		t.Fatal("the freed request was not reused")
	}
	if h2 == h1 {
		t.Fatalf("the reused request kept handle %#x", h1)
	}
	if _, _, err := a.Test(h1); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("stale handle: %v, want ErrBadRequest", err)
	}
	st, ok, err := a.Wait(h2, 0)
	if !ok || err != nil || st.MatchInfo != 2 || st.Context != 7 {
		t.Fatalf("second send: %+v %v %v", st, ok, err)
	}
	for i := 1; i <= 2; i++ {
		rh, _ := b.RecvHandle(buf, uint64(i), ^uint64(0), 0, false)
		if st, ok, _ := b.Wait(rh, 0); !ok || st.MatchInfo != uint64(i) {
			t.Fatalf("receive %d: %+v %v", i, st, ok)
		}
	}
}

// Requests handed out as pointers (Send, Recv) are never reused: the
// caller may still look at them.
func TestReuseNotByPointer(t *testing.T) {
	e := New(Config{Boards: []Board{{Index: 0, NICID: testNIC, Hostname: "node:0", NUMANode: -1}}})
	a, _ := e.OpenEndpoint(0, 0, 1, EndpointOptions{})
	b, _ := e.OpenEndpoint(0, 1, 1, EndpointOptions{})
	defer a.Close()
	defer b.Close()
	buf := [][]byte{make([]byte, 8)}
	r, _ := a.Send(buf, b.Address(), 0, 0, false, false)
	h := r.Handle()
	if _, ok, _ := a.Wait(h, 0); !ok {
		t.Fatal("send not done")
	}
	h2, _ := a.SendHandle(buf, b.Address(), 0, 0, false, false)
	if r2, _ := e.requests.get(h2); r2 == r {
		t.Fatal("a request returned by pointer was reused")
	}
	if r.Handle() != h {
		t.Fatalf("handle changed to %#x", r.Handle())
	}
	if _, _, err := a.Test(h); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("freed handle: %v", err)
	}
}

// A wire send completed early and taken by the application is reused only
// after its ack: until then the packet, which may be retransmitted or fail,
// refers to it. The ack here is the receiver's delayed one.
func TestReuseAfterAck(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	A, B := twoHosts(t, hub, nativeMode(t, 9000), nil)
	a, b := openOn(t, A, 0), openOn(t, B, 0)
	stop := pump(b)
	addr, err := a.Connect(nicB, 0, 0x1234, 2000)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	buf := [][]byte{make([]byte, 8)}
	h, _ := a.SendHandle(buf, addr, 5, 0, false, false)
	r, _ := A.requests.get(h)
	if _, ok, _ := a.Test(h); !ok {
		t.Fatal("eager send not completed early")
	}
	pooled := func() (int, bool) {
		a.mu.Lock()
		defer a.mu.Unlock()
		return len(a.mu.freeReqs), r.unacked
	}
	if n, unacked := pooled(); n != 0 || !unacked {
		t.Fatalf("before the ack: %d pooled, unacked %v", n, unacked)
	}
	h2, _ := a.SendHandle(buf, addr, 6, 0, false, false)
	if r2, _ := A.requests.get(h2); r2 == r {
		t.Fatal("request reused before its packet was acked")
	}
	for i := 5; i <= 6; i++ {
		rh, _ := b.RecvHandle(buf, uint64(i), ^uint64(0), 0, false)
		if st, ok, err := b.Wait(rh, 2000); !ok || err != nil || st.MatchInfo != uint64(i) {
			t.Fatalf("receive %d: %+v %v %v", i, st, ok, err)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		a.Progress()
		if n, unacked := pooled(); n > 0 && !unacked {
			break
		}
		if time.Now().After(deadline) {
			n, unacked := pooled()
			t.Fatalf("no ack: %d pooled, unacked %v, %d acks received", n, unacked, a.Counters().Get(RecvLibAck))
		}
		time.Sleep(time.Millisecond)
	}
	if got := a.Counters().Get(RecvLibAck); got == 0 {
		t.Fatal("acked without an explicit (delayed) ack")
	}
	h3, _ := a.SendHandle(buf, addr, 7, 0, false, false)
	if r3, _ := A.requests.get(h3); r3 != r {
		t.Fatal("the acked request was not reused")
	}
	if _, _, err := a.Test(h); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("stale handle: %v", err)
	}
}
