package engine

import (
	"bytes"
	"testing"

	"github.com/open-mx-go/open-mx-go/engine/link/mem"
)

// TestNetworkPathToThisHost: with DisableShared, endpoints of one engine
// talk through the board's link (the hub delivers frames to the sender's
// own MAC), also an endpoint to itself with DisableSelf; every size class.
func TestNetworkPathToThisHost(t *testing.T) {
	for _, tc := range []struct {
		name        string
		disableSelf bool
		self        bool
	}{{"cross", false, false}, {"self", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			hub := mem.NewHub(mem.HubConfig{})
			defer hub.Close()
			A, _ := twoHosts(t, hub, nativeMode(t, 9000), func(c *Config) {
				c.DisableShared, c.DisableSelf = true, tc.disableSelf
			})
			a := openOn(t, A, 1)
			b := a
			if !tc.self {
				b = openOn(t, A, 2)
			}
			stop := pump(b)
			defer stop()
			addr, err := a.Connect(nicA, b.Index(), 0x1234, 5000)
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			if tc.self {
				// The own address needs no connect.
				a2 := openOn(t, A, 3)
				addr = a2.Address()
				a, b = a2, a2
			}
			for i, n := range wireSizes {
				src := pattern(n, byte(i))
				buf := make([]byte, n)
				r, _ := b.Recv([][]byte{buf}, uint64(n), ^uint64(0), 0, false)
				s, _ := a.Send([][]byte{src}, addr, uint64(n), 0, false, false)
				if st, ok, err := b.Wait(r.Handle(), 20000); !ok || err != nil || st.Code != StatusSuccess || st.XferLength != uint32(n) {
					t.Fatalf("size %d: recv ok=%v err=%v status %+v", n, ok, err, st)
				}
				if st, ok, err := a.Wait(s.Handle(), 20000); !ok || err != nil || st.Code != StatusSuccess {
					t.Fatalf("size %d: send ok=%v err=%v status %+v", n, ok, err, st)
				}
				if !bytes.Equal(src, buf) {
					t.Fatalf("size %d: payload differs", n)
				}
			}
			if a.counters.Get(SendTiny) == 0 || b.counters.Get(RecvTiny) == 0 {
				t.Errorf("no TINY frame went through the link")
			}
		})
	}
}
