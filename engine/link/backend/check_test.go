package backend

import (
	"strings"
	"testing"

	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

func TestCheckFrame(t *testing.T) {
	m, err := wire.NativeMode(9000)
	if err != nil {
		t.Fatal(err)
	}
	mac := [6]byte{0x02, 0, 0, 0, 0, 1}
	peer := [6]byte{0x02, 0, 0, 0, 0, 2}
	enc := func(p interface {
		Encode([]byte, wire.Head, wire.Mode) (int, error)
	}, dst, src [6]byte) []byte {
		b := make([]byte, m.MTU)
		n, err := p.Encode(b, wire.Head{Dst: dst, Src: src}, m)
		if err != nil {
			t.Fatal(err)
		}
		return b[:n]
	}
	tiny := func(src uint8) *wire.Msg {
		return &wire.Msg{Type: wire.TypeTiny, SrcEP: src, Length: 2, Data: []byte("hi")}
	}
	const ep = 3
	badLen := enc(tiny(ep), peer, mac)
	badLen[20], badLen[21] = 0xff, 0xff
	raw := enc(tiny(ep), peer, mac)
	raw[16] = byte(wire.TypeRaw)
	for _, tc := range []struct {
		name  string
		frame []byte
		why   string // "" = allowed; else a part of the reason
	}{
		{"tiny", enc(tiny(ep), peer, mac), ""},
		{"connect", enc(&wire.Connect{SrcEP: ep, DstEP: 1}, peer, mac), ""},
		{"truc", enc(&wire.Truc{SrcEP: ep}, peer, mac), ""},
		{"pull", enc(&wire.Pull{SrcEP: ep, Magic: ep ^ link.PullMagic, BlockLength: 100}, peer, mac), ""},
		{"pull reply", enc(&wire.PullReply{FrameLength: 2, Data: []byte("ab")}, peer, mac), ""},
		{"host query", enc(&wire.HostQuery{Magic: 1}, peer, mac), ""},
		{"other endpoint", enc(tiny(ep+1), peer, mac), "source endpoint 4"},
		{"connect of another endpoint", enc(&wire.Connect{SrcEP: 9}, peer, mac), "source endpoint 9"},
		{"pull magic of another endpoint", enc(&wire.Pull{SrcEP: ep, Magic: 5 ^ link.PullMagic, BlockLength: 100}, peer, mac), "magic"},
		{"spoofed source", enc(tiny(ep), peer, peer), "source MAC"},
		{"broadcast", enc(tiny(ep), [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac), "group"},
		{"not open-mx", append(append(append([]byte{}, peer[:]...), mac[:]...), 0x08, 0, 1, 2, 3), "not an Open-MX"},
		{"raw type", raw, "not sent by endpoints"},
		{"bad length", badLen, "bad"},
		{"too long", append(enc(tiny(ep), peer, mac), make([]byte, m.MTU)...), "MTU"},
		{"truncated", enc(tiny(ep), peer, mac)[:17], "bad"},
	} {
		got := CheckFrame(tc.frame, mac, ep, m.MTU, m)
		if (tc.why == "") != (got == "") || !strings.Contains(got, tc.why) {
			t.Errorf("%s: CheckFrame = %q, want %q", tc.name, got, tc.why)
		}
	}
}

func TestProtocolRoundTrip(t *testing.T) {
	req := Request{Board: 2, Endpoint: 31, Session: 0xdeadbeef, IfName: "eth0", Command: "a-very-long-command-name"}
	got, err := UnmarshalRequest(req.Marshal())
	req.Command = req.Command[:nameLen-1] // truncated to the field
	if err != nil || got != req {
		t.Fatalf("request: %+v %v, want %+v", got, err, req)
	}
	if _, err := UnmarshalRequest(make([]byte, RequestSize)); err == nil {
		t.Fatal("a zero request was accepted")
	}
	if _, err := UnmarshalRequest(req.Marshal()[:10]); err == nil {
		t.Fatal("a short request was accepted")
	}
	rep := Reply{Status: StatusDenied, MTU: 9014, MAC: [6]byte{1, 2, 3, 4, 5, 6}, Message: "no"}
	if g, err := UnmarshalReply(rep.Marshal()); err != nil || g != rep {
		t.Fatalf("reply: %+v %v", g, err)
	}
	if StatusBusy.Err() != ErrBusy || StatusOK.Err() != nil || Status(99).Err() != ErrService {
		t.Fatal("status errors")
	}
}

func TestBoardsRoundTrip(t *testing.T) {
	bs := []BoardInfo{{Index: 0, IfName: "eth0", MAC: [6]byte{2, 0, 0, 0, 0, 1}, MTU: 9000}, {Index: 3, IfName: "ib-eth1", MTU: 1500}}
	got, err := UnmarshalBoards(MarshalBoards(bs))
	if err != nil || len(got) != 2 || got[0] != bs[0] || got[1] != bs[1] {
		t.Fatalf("boards: %+v %v", got, err)
	}
	b := MarshalBoards(bs)
	b[8] = 5 // more boards than records
	if _, err := UnmarshalBoards(b); err == nil {
		t.Fatal("a list announcing more boards than it holds was accepted")
	}
	if r, err := UnmarshalRequest(Request{Boards: true}.Marshal()); err != nil || !r.Boards || r.UserDir {
		t.Fatalf("boards request: %+v %v", r, err)
	}
}
