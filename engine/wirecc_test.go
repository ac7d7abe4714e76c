package engine

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link/mem"
)

// TestWireSmallQueue: the receiver's queue holds only 24 frames (a small
// switch buffer or socket ring); the sender could put 128 pull replies in
// flight at once. Large messages complete, and the pull window keeps the
// repeated traffic small: Open-MX 1.5 re-requested the same four blocks
// after every 1 s timeout, all of which overflowed the queue again.
func TestWireSmallQueue(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{QueueLen: 24})
	defer hub.Close()
	A, B := twoHosts(t, hub, nativeMode(t, 9000), nil)
	a, b := openOn(t, A, 0), openOn(t, B, 1)
	stop := pump(b)
	addr, err := a.Connect(nicB, 1, 0x1234, 3000)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	const msgs, size = 8, 4 << 20
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range msgs {
			s, _ := a.Send([][]byte{pattern(size, byte(i))}, addr, uint64(i), 0, false, false)
			if st, ok, err := a.Wait(s.Handle(), 30000); !ok || err != nil || st.Code != StatusSuccess {
				t.Errorf("send %d: %v %v %+v\n%s", i, ok, err, st, dumpEP(a))
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]byte, size)
		for i := range msgs {
			r, _ := b.Recv([][]byte{buf}, uint64(i), ^uint64(0), 0, false)
			if st, ok, err := b.Wait(r.Handle(), 30000); !ok || err != nil || st.Code != StatusSuccess {
				t.Errorf("recv %d: %v %v %+v\n%s", i, ok, err, st, dumpEP(b))
				return
			}
			if !bytes.Equal(buf, pattern(size, byte(i))) {
				t.Errorf("message %d corrupted", i)
				return
			}
		}
	}()
	wg.Wait()
	need := uint64(msgs * ((size + nativeMode(t, 9000).ReplyMax - 1) / nativeMode(t, 9000).ReplyMax))
	sent := a.Counters().Get(SendPullReply)
	st := hub.Stats()
	rs := b.RecoveryStats()
	t.Logf("%v; %d pull replies sent for %d needed; queue overflows %d; %+v", time.Since(start).Round(time.Millisecond), sent, need, st.Overflow, rs)
	if st.Overflow == 0 {
		t.Error("the queue never overflowed: the test shows nothing")
	}
	if sent > need*3/2 {
		t.Errorf("%d pull replies sent for %d needed: losses are repaired by resending far more than what was lost", sent, need)
	}
	if rs.PullRerequests == 0 {
		t.Error("no loss was repaired by re-requesting only the missing replies")
	}
}

// TestWireWindowedSendsPending: sends beyond the window wait unsent, and
// stay pending (they are not completed early, as sends on the wire are),
// so an application that closes after its sends completed loses none of
// them; once the receiver progresses every message arrives, in order.
func TestWireWindowedSendsPending(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{})
	defer hub.Close()
	A, B := twoHosts(t, hub, nativeMode(t, 9000), nil)
	a, b := openOn(t, A, 0), openOn(t, B, 1)
	stop := pump(b)
	addr, err := a.Connect(nicB, 1, 0x1234, 3000)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	var sends []*Request
	for i := range n {
		s, err := a.Send([][]byte{{byte(i)}}, addr, uint64(i), 0, false, false)
		if err != nil {
			t.Fatal(err)
		}
		sends = append(sends, s)
	}
	done := 0
	taken := make([]bool, n)
	for i, s := range sends {
		if _, ok, _ := a.Test(s.Handle()); ok {
			done++
			taken[i] = true
		}
	}
	if done == 0 || done > seqWndMax {
		t.Fatalf("%d of %d sends completed while the receiver sleeps; the window allows %d at first", done, n, seqWndInitial)
	}
	stopA := pump(a)
	defer stopA()
	for i := range n {
		buf := make([]byte, 1)
		r, _ := b.Recv([][]byte{buf}, 0, 0, 0, false)
		st, ok, err := b.Wait(r.Handle(), 10000)
		if !ok || err != nil || st.MatchInfo != uint64(i) || buf[0] != byte(i) {
			t.Fatalf("message %d: %v %v %+v %d", i, ok, err, st, buf[0])
		}
	}
	for i, s := range sends {
		if taken[i] {
			continue
		}
		if st, ok, err := a.Wait(s.Handle(), 10000); !ok || err != nil || st.Code != StatusSuccess {
			t.Fatalf("send %d: %v %v %+v", i, ok, err, st)
		}
	}
}

// TestWirePullsNoFalseLoss: eight large messages in flight from one
// partner share its pull window over a path that loses nothing: no reply
// may be judged lost (a reply to a frame asked for twice, after a
// spurious timeout, must not count as the answer to the newer request).
func TestWirePullsNoFalseLoss(t *testing.T) {
	hub := mem.NewHub(mem.HubConfig{QueueLen: 1 << 16})
	defer hub.Close()
	A, B := twoHosts(t, hub, nativeMode(t, 9000), nil)
	a, b := openOn(t, A, 0), openOn(t, B, 1)
	stop := pump(b)
	addr, err := a.Connect(nicB, 1, 0x1234, 3000)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	const msgs, size, window = 100, 1 << 20, 8
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		var sends []*Request
		for i := range msgs {
			s, _ := a.Send([][]byte{pattern(size, byte(i))}, addr, uint64(i), 0, false, false)
			sends = append(sends, s)
			if len(sends) == window || i == msgs-1 {
				for _, s := range sends {
					if st, ok, err := a.Wait(s.Handle(), 30000); !ok || err != nil || st.Code != StatusSuccess {
						t.Errorf("send: %v %v %+v", ok, err, st)
						return
					}
				}
				sends = nil
			}
		}
	}()
	go func() {
		defer wg.Done()
		bufs := make([][]byte, window)
		var rs []*Request
		for i := range msgs {
			if bufs[i%window] == nil {
				bufs[i%window] = make([]byte, size)
			}
			r, _ := b.Recv([][]byte{bufs[i%window]}, uint64(i), ^uint64(0), 0, false)
			rs = append(rs, r)
			if len(rs) == window || i == msgs-1 {
				for j, r := range rs {
					if st, ok, err := b.Wait(r.Handle(), 30000); !ok || err != nil || st.Code != StatusSuccess {
						t.Errorf("recv: %v %v %+v", ok, err, st)
						return
					}
					k := i - len(rs) + 1 + j
					if !bytes.Equal(bufs[k%window], pattern(size, byte(k))) {
						t.Errorf("message %d corrupted", k)
						return
					}
				}
				rs = nil
			}
		}
	}()
	wg.Wait()
	if hub.Stats().Dropped+hub.Stats().Overflow != 0 {
		t.Fatalf("the hub lost frames: %+v", hub.Stats())
	}
	if rs := b.RecoveryStats(); rs.PullRerequests != 0 {
		t.Errorf("%d pull replies judged lost on a path that loses nothing (%+v)", rs.PullRerequests, rs)
	}
}
