package wire

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTypeValues pins the ptype values of spec/wire.md §2.1 and their names.
func TestTypeValues(t *testing.T) {
	tests := []struct {
		t         Type
		value     uint8
		name      string
		sequenced bool
	}{
		{TypeNone, 0, "NONE", false},
		{TypeRaw, 1, "RAW", false},
		{TypeMFMNICReply, 2, "MFM_NIC_REPLY", false},
		{TypeHostQuery, 3, "HOST_QUERY", false},
		{TypeHostReply, 4, "HOST_REPLY", false},
		{TypeEtherUnicast, 32, "ETHER_UNICAST", false},
		{TypeEtherMulticast, 33, "ETHER_MULTICAST", false},
		{TypeEtherNative, 34, "ETHER_NATIVE", false},
		{TypeTruc, 35, "TRUC", false},
		{TypeConnect, 36, "CONNECT", false},
		{TypeTiny, 37, "TINY", true},
		{TypeSmall, 38, "SMALL", true},
		{TypeMedium, 39, "MEDIUM", true},
		{TypeRndv, 40, "RNDV", true},
		{TypePull, 41, "PULL", false},
		{TypePullReply, 42, "PULL_REPLY", false},
		{TypeNotify, 43, "NOTIFY", true},
		{TypeNackLib, 44, "NACK_LIB", false},
		{TypeNackMCP, 45, "NACK_MCP", false},
		{TypeMax, 255, "MAX", false},
		{Type(5), 5, "Type(0x05)", false},
		{Type(46), 46, "Type(0x2e)", false},
		{Type(200), 200, "Type(0xc8)", false},
	}
	for _, tc := range tests {
		if uint8(tc.t) != tc.value {
			t.Errorf("%s = %d, want %d", tc.name, uint8(tc.t), tc.value)
		}
		if got := tc.t.String(); got != tc.name {
			t.Errorf("Type(%d).String() = %q, want %q", tc.value, got, tc.name)
		}
		if got := tc.t.Sequenced(); got != tc.sequenced {
			t.Errorf("%s.Sequenced() = %v", tc.name, got)
		}
	}
}

func TestNackValues(t *testing.T) {
	tests := []struct {
		n     Nack
		value uint8
		name  string
	}{
		{NackNone, 0, "NONE"},
		{NackBadEndpoint, 1, "BAD_ENDPT"},
		{NackEndpointClosed, 2, "ENDPT_CLOSED"},
		{NackBadSession, 3, "BAD_SESSION"},
		{NackBadRDMAWin, 4, "BAD_RDMAWIN"},
		{Nack(9), 9, "Nack(9)"},
	}
	for _, tc := range tests {
		if uint8(tc.n) != tc.value || tc.n.String() != tc.name {
			t.Errorf("Nack %d = %q, want %d %q", uint8(tc.n), tc.n.String(), tc.value, tc.name)
		}
	}
}

func TestConstants(t *testing.T) {
	// Values of spec/wire.md §1, §2.2, §2.3, §3.5.3.
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"EtherType", EtherType, 0x86DF},
		{"HeadLen", HeadLen, 16},
		{"MinFrame", MinFrame, 60},
		{"TinyMax", TinyMax, 32},
		{"SmallMax", SmallMax, 128},
		{"PullMagic", PullMagic, 0x21071980},
		{"HostQueryMagic", HostQueryMagic, 0x13052008},
		{"UnknownPeerIndex", UnknownPeerIndex, 0xFFFF},
		{"RawMax", RawMax, 1024},
		{"HostnameMax", HostnameMax, 80},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

func TestHead(t *testing.T) {
	h := Head{Dst: macB, Src: macA, PeerIndex: 0x1234}
	b := make([]byte, HeadLen+1)
	PutHead(b, h)
	checkBytes(t, unhex(t, "00 aa bb cc dd ee 00 11 22 33 44 55 86 df 12 34 00"), b)
	if diff := cmp.Diff(h, ReadHead(b)); diff != "" {
		t.Errorf("ReadHead mismatch (-want +got):\n%s", diff)
	}

	b[offType] = byte(TypeTiny)
	if typ, ok := PeekType(b); !ok || typ != TypeTiny {
		t.Errorf("PeekType = %v, %v; want TINY, true", typ, ok)
	}
	if _, ok := PeekType(b[:HeadLen]); ok {
		t.Error("PeekType accepted a frame without a type byte")
	}
	if _, ok := PeekType(nil); ok {
		t.Error("PeekType accepted nil")
	}
	b[offEtherType+1] = 0xDD // 0x86DD, IPv6
	if _, ok := PeekType(b); ok {
		t.Error("PeekType accepted EtherType 0x86DD")
	}

	defer func() {
		if recover() == nil {
			t.Error("PutHead into a short buffer did not panic")
		}
	}()
	PutHead(make([]byte, HeadLen-1), h)
}

func TestNICID(t *testing.T) {
	for _, id := range []uint64{0, 1, 0x001122334455, 0xffffffffffff} {
		if got := NICIDFromMAC(MACFromNICID(id)); got != id {
			t.Errorf("NICIDFromMAC(MACFromNICID(%#x)) = %#x", id, got)
		}
	}
	if got := MACFromNICID(0xab_0011_2233_4455); got != macA {
		t.Errorf("MACFromNICID ignores high bits: got %x", got)
	}
}
