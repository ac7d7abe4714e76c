package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// mutate returns a copy of frame changed by f.
func mutate(frame []byte, f func(b []byte)) []byte {
	b := bytes.Clone(frame)
	f(b)
	return b
}

func set16(off int, v uint16) func([]byte) {
	return func(b []byte) { binary.BigEndian.PutUint16(b[off:], v) }
}

func set32(off int, v uint32) func([]byte) {
	return func(b []byte) { binary.BigEndian.PutUint32(b[off:], v) }
}

func set8(off int, v byte) func([]byte) {
	return func(b []byte) { b[off] = v }
}

// encodeFrame encodes v or fails the test.
func encodeFrame(t testing.TB, v encoder, h Head, m Mode) []byte {
	t.Helper()
	buf := make([]byte, 70000)
	n, err := v.Encode(buf, h, m)
	if err != nil {
		t.Fatalf("Encode %T: %v", v, err)
	}
	return buf[:n]
}

// TestDecodeMalformed feeds each decoder frames that a receiver must drop
// and checks the error class.
func TestDecodeMalformed(t *testing.T) {
	tiny := unhex(t, vecTiny)
	medium := cat(unhex(t, vecMediumNative), pattern(8192, 1))
	medium1500 := encodeFrame(t, &Medium{Length: 3000, FragSeq: 0, FragLength: 1452, Data: make([]byte, 1452)}, headAB, native1500)
	mediumMX := cat(unhex(t, vecMediumMX), pattern(4096, 2))
	rndv := encodeFrame(t, &Rndv{MsgLength: 100000}, headAB, native9000)
	connect := unhex(t, vecConnectRequest)
	truc := unhex(t, vecTruc)
	pull := unhex(t, vecPullNative)
	pullMX := unhex(t, vecPullMX)
	reply := cat(unhex(t, vecPullReply), pattern(8968, 3))
	reply1500 := encodeFrame(t, &PullReply{FrameLength: 1468, Data: make([]byte, 1468)}, headAB, native1500)
	nackLib := unhex(t, vecNackLib)
	nackMCP := encodeFrame(t, &NackMCP{SrcEP: 2, Nack: NackBadRDMAWin, Handle: 0x23, Magic: pullMag}, headBA, native9000)
	hostQuery := unhex(t, vecHostQuery)
	hostReply := unhex(t, vecHostReply)
	discovery := unhex(t, vecDiscovery)

	tests := []struct {
		name  string
		dec   decoder
		mode  Mode
		frame []byte
		want  error
	}{
		// Common checks.
		{"empty", decMsg, native9000, nil, ErrShort},
		{"head only", decMsg, native9000, tiny[:16], ErrShort},
		{"wrong ethertype", decMsg, native9000, mutate(tiny, set16(12, 0x0800)), ErrType},
		{"wrong ethertype short", decConnect, native9000, mutate(tiny[:17], set16(12, 0x86DD)), ErrType},
		{"other type", decConnect, native9000, tiny, ErrType},
		{"reserved type", decMsg, native9000, mutate(tiny, set8(16, 0x20)), ErrType},
		{"type none", decRaw, native9000, mutate(discovery, set8(16, 0)), ErrType},

		// TINY / SMALL (§2.16).
		{"tiny header cut", decMsg, native9000, tiny[:39], ErrShort},
		{"tiny length 33", decMsg, native9000, mutate(tiny, set16(20, 33)), ErrLength},
		{"tiny length beyond frame", decMsg, native9000, mutate(tiny, set16(20, 21)), ErrLength},
		{"tiny data cut", decMsg, native9000, tiny[:44], ErrLength},
		{"small length 129", decMsg, native9000, mutate(tiny, func(b []byte) { b[16] = byte(TypeSmall); set16(20, 129)(b) }), ErrLength},
		{"small length beyond frame", decMsg, native9000, mutate(tiny, func(b []byte) { b[16] = byte(TypeSmall); set16(20, 100)(b) }), ErrLength},

		// MEDIUM (§2.16, §3.4).
		{"medium header cut", decMedium, native9000, medium[:47], ErrShort},
		{"medium frag beyond frame", decMedium, native9000, medium[:8239], ErrLength},
		{"medium frag_length above FragMax", decMedium, native9000, cat(mutate(medium, set16(40, 8193)), []byte{0}), ErrLength},
		{"medium frag_length above ring entry", decMedium, native1500, cat(mutate(medium1500, set16(40, 2049)), make([]byte, 600)), ErrLength},
		{"medium frag_length above FragMax below ring entry", decMedium, native1500, cat(mutate(medium1500, set16(40, 1453)), []byte{0}), ErrLength},
		{"medium frag_seqnum 32", decMedium, native9000, mutate(medium, set8(42, 32)), ErrField},
		{"medium length above MediumMax", decMedium, native9000, mutate(medium, set32(20, 262145)), ErrLength},
		{"medium length 4 GiB", decMedium, native9000, mutate(medium, set32(20, 0xFFFFFFFF)), ErrLength},
		{"medium fragment past the end", decMedium, native9000, mutate(medium, set32(20, 8192)), ErrLength},
		{"medium offset+frag_length > length", decMedium, native9000, mutate(medium, set32(20, 10000)), ErrLength},
		{"medium short fragment not last", decMedium, native9000, mutate(medium[:48+100], set16(40, 100)), ErrLength},
		{"medium short fragment 0", decMedium, native9000, mutate(medium[:48+100], func(b []byte) { set16(40, 100)(b); b[42] = 0 }), ErrLength},
		{"mx-wire medium frag_seqnum 8", decMedium, mxWire, mutate(mediumMX, set8(42, 8)), ErrField},
		{"mx-wire medium pipeline 13", decMedium, mxWire, mutate(mediumMX, set8(43, 13)), ErrField},
		{"mx-wire medium pipeline 0", decMedium, mxWire, mutate(mediumMX, set8(43, 0)), ErrField},
		{"mx-wire frame read as native", decMedium, native9000, mediumMX, ErrLength},
		{"native frame read as mx-wire", decMedium, mxWire, medium, ErrField},

		// RNDV.
		{"rndv header cut", decRndv, native9000, rndv[:47], ErrShort},
		{"rndv length 7", decRndv, native9000, mutate(rndv, set16(20, 7)), ErrLength},
		{"rndv length 0", decRndv, native9000, mutate(rndv, set16(20, 0)), ErrLength},

		// NOTIFY.
		{"notify header cut", decNotify, native9000, encodeFrame(t, &Notify{}, headAB, native9000)[:39], ErrShort},

		// CONNECT.
		{"connect header cut", decConnect, native9000, connect[:47], ErrShort},
		{"connect length 15", decConnect, native9000, mutate(connect, set8(20, 15)), ErrLength},
		{"connect length 0", decConnect, native9000, mutate(connect, set8(20, 0)), ErrLength},

		// TRUC.
		{"truc header cut", decTruc, native9000, truc[:43], ErrShort},
		{"truc length 15", decTruc, native9000, mutate(truc, set8(20, 15)), ErrLength},
		{"truc type 0x54", decTruc, native9000, mutate(truc, set8(28, 0x54)), ErrField},
		{"truc type 0", decTruc, native9000, mutate(truc, set8(28, 0)), ErrField},
		{"truc session_id differs", decTruc, native9000, mutate(truc, set32(32, sessA+1)), ErrField},

		// PULL (§3.5.5).
		{"pull header cut", decPull, native9000, pull[:59], ErrShort},
		{"mx-wire pull header cut", decPull, mxWire, pullMX[:47], ErrShort},
		{"pull first_frame_offset = ReplyMax", decPull, native9000, mutate(pull, func(b []byte) { set32(48, 8968)(b); set32(52, 0)(b) }), ErrField},
		{"pull block too long", decPull, native9000, mutate(pull, set32(52, 286977)), ErrLength},
		{"pull block 4 GiB", decPull, native9000, mutate(pull, set32(52, 0xFFFFFFFF)), ErrLength},
		{"pull offset pushes block to 33 replies", decPull, native9000, mutate(pull, set32(48, 1)), ErrLength},
		{"mx-wire pull block too long", decPull, mxWire, mutate(pullMX, set16(42, 32769)), ErrLength},
		{"mx-wire pull first_frame_offset 4096", decPull, mxWire, mutate(pullMX, func(b []byte) { set16(40, 4096)(b); set16(42, 0)(b) }), ErrField},
		{"native-9000 block read as native-1500", decPull, native1500, pull, ErrLength},

		// PULL_REPLY (§3.5.6).
		{"pull reply header cut", decPullReply, native9000, reply[:31], ErrShort},
		{"pull reply data cut", decPullReply, native9000, reply[:8999], ErrLength},
		{"pull reply frame_length beyond frame", decPullReply, native9000, mutate(reply[:60], set16(18, 29)), ErrLength},
		{"pull reply above ReplyMax", decPullReply, native1500, cat(mutate(reply1500, set16(18, 1469)), []byte{0}), ErrLength},
		{"native-9000 reply read as mx-wire", decPullReply, mxWire, reply, ErrLength},

		// NACK_LIB / NACK_MCP (§4.7, §4.8).
		{"nack lib header cut", decNackLib, native9000, nackLib[:31], ErrShort},
		{"nack lib type 0", decNackLib, native9000, mutate(nackLib, set8(19, 0)), ErrField},
		{"nack lib type 4", decNackLib, native9000, mutate(nackLib, set8(19, 4)), ErrField},
		{"nack lib type 255", decNackLib, native9000, mutate(nackLib, set8(19, 255)), ErrField},
		{"nack mcp header cut", decNackMCP, native9000, nackMCP[:31], ErrShort},
		{"nack mcp type 0", decNackMCP, native9000, mutate(nackMCP, set8(19, 0)), ErrField},
		{"nack mcp type 5", decNackMCP, native9000, mutate(nackMCP, set8(19, 5)), ErrField},

		// HOST_QUERY / HOST_REPLY.
		{"host query header cut", decHostQuery, native9000, hostQuery[:31], ErrShort},
		{"host reply header cut", decHostReply, native9000, hostReply[:31], ErrShort},
		{"host reply length 0", decHostReply, native9000, mutate(hostReply, set8(17, 0)), ErrLength},
		{"host reply length 81", decHostReply, native9000, cat(mutate(hostReply, set8(17, 81)), make([]byte, 100)), ErrLength},
		{"host reply name cut", decHostReply, native9000, hostReply[:39], ErrLength},

		// RAW and discovery (§2.5, §6.6).
		{"raw below 60", decRaw, native9000, discovery[:59], ErrShort},
		{"raw above 1024", decRaw, native9000, cat(discovery, make([]byte, RawMax+1-len(discovery))), ErrLength},
		{"discovery above 1024", decDiscovery, native9000, cat(discovery, make([]byte, RawMax+1-len(discovery))), ErrLength},
		{"discovery below 60", decDiscovery, native9000, discovery[:59], ErrShort},
		{"discovery nic_id above 48 bits", decDiscovery, native9000, mutate(discovery, set8(33, 1)), ErrField},
		{"discovery of a tiny", decDiscovery, native9000, tiny, ErrType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, v, err := tc.dec.decode(tc.frame, tc.mode)
			if !isErr(err, tc.want) {
				t.Fatalf("%s decode: err %v (value %+v), want %v", tc.dec.name, err, v, tc.want)
			}
			if v != nil || h != (Head{}) {
				t.Errorf("failed decode returned head %+v value %+v", h, v)
			}
			if !strings.HasPrefix(err.Error(), "wire: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

// TestDecodeLenient checks what receivers must accept although it looks
// odd: garbage in reserved fields (§1.3) and the original's loose checks.
func TestDecodeLenient(t *testing.T) {
	t.Run("garbage in reserved bytes", func(t *testing.T) {
		// Every byte not carrying a field of the layout.
		reserved := []struct {
			dec   decoder
			mode  Mode
			frame []byte
			offs  []int
		}{
			{decMsg, native9000, unhex(t, vecTiny), []int{14, 15, 19, 45, 50, 59}},
			{decConnect, native9000, unhex(t, vecConnectRequest), []int{19, 21, 22, 23, 28, 31, 44, 47, 59}},
			{decConnect, native9000, unhex(t, vecConnectReply), []int{19, 21, 28, 45, 46, 47, 59}},
			{decTruc, native9000, unhex(t, vecTruc), []int{19, 21, 29, 40, 41, 42, 43, 59}},
			{decMedium, native9000, cat(unhex(t, vecMediumNative), pattern(8192, 1)), []int{19, 43, 46, 47}},
			{decMedium, mxWire, cat(unhex(t, vecMediumMX), pattern(4096, 2)), []int{19, 22, 23, 46, 47}},
			{decPull, native9000, unhex(t, vecPullNative), []int{19, 33, 34, 35}},
			{decPull, mxWire, unhex(t, vecPullMX), []int{19, 48, 59}},
			{decPullReply, native9000, cat(unhex(t, vecPullReply), pattern(8968, 3)), []int{14, 15}},
			{decNackLib, native9000, unhex(t, vecNackLib), []int{18, 20, 23, 24, 30, 31, 59}},
			{decHostQuery, native9000, unhex(t, vecHostQuery), []int{14, 15, 17, 20, 28, 59}},
			{decHostReply, native9000, unhex(t, vecHostReply), []int{14, 15, 20, 28, 40, 67}},
			{decDiscovery, native9000, unhex(t, vecDiscovery), []int{14, 15, 17, 20, 31, 44, 63}},
		}
		for _, r := range reserved {
			_, want, err := r.dec.decode(r.frame, r.mode)
			if err != nil {
				t.Fatalf("%s: %v", r.dec.name, err)
			}
			for _, off := range r.offs {
				_, got, err := r.dec.decode(mutate(r.frame, set8(off, 0xA5)), r.mode)
				if err != nil {
					t.Errorf("%s (%v): garbage at %d: %v", r.dec.name, r.mode, off, err)
					continue
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s (%v): garbage at %d changed the value: %+v", r.dec.name, r.mode, off, got)
				}
			}
		}
	})
	t.Run("connect is_reply any non-zero", func(t *testing.T) {
		_, c, err := DecodeConnect(mutate(unhex(t, vecConnectReply), set8(42, 2)), native9000)
		if err != nil || !c.IsReply || c.TargetSession != sessB {
			t.Errorf("DecodeConnect = %+v, %v; want a reply", c, err)
		}
	})
	t.Run("longer connect, truc and rndv data", func(t *testing.T) {
		if _, _, err := DecodeConnect(mutate(unhex(t, vecConnectRequest), set8(20, 255)), native9000); err != nil {
			t.Errorf("connect length 255: %v", err)
		}
		if _, _, err := DecodeTruc(mutate(unhex(t, vecTruc), set8(20, 17)), native9000); err != nil {
			t.Errorf("truc length 17: %v", err)
		}
		rndv := encodeFrame(t, &Rndv{MsgLength: 100000}, headAB, native9000)
		if _, _, err := DecodeRndv(mutate(rndv, set16(20, 9)), native9000); err != nil {
			t.Errorf("rndv length 9: %v", err)
		}
	})
	t.Run("pull rdma id above 255 kept for a BAD_RDMAWIN nack", func(t *testing.T) {
		_, p, err := DecodePull(mutate(unhex(t, vecPullNative), set32(28, 0x107)), native9000)
		if err != nil || p.RDMAID != 0x107 {
			t.Errorf("DecodePull = %+v, %v; want RDMAID 0x107", p, err)
		}
	})
	t.Run("host reply forces the last byte to NUL", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			set  func([]byte)
			want string
		}{
			{"no NUL", set8(39, 'X'), "nodeb:0"},
			{"embedded NUL", set8(34, 0), "no"},
			{"length 1", set8(17, 1), ""},
			{"shorter length", set8(17, 4), "nod"},
		} {
			_, r, err := DecodeHostReply(mutate(unhex(t, vecHostReply), tc.set), native9000)
			if err != nil || r.Hostname != tc.want {
				t.Errorf("%s: DecodeHostReply = %q, %v; want %q", tc.name, r.Hostname, err, tc.want)
			}
		}
	})
	t.Run("host reply of minimal size", func(t *testing.T) {
		// 32 + length bytes are enough even if the original sends 60 + length.
		if _, r, err := DecodeHostReply(unhex(t, vecHostReply)[:40], native9000); err != nil || r.Hostname != "nodeb:0" {
			t.Errorf("DecodeHostReply = %+v, %v", r, err)
		}
	})
	t.Run("unpadded short frames", func(t *testing.T) {
		// Frames shorter than 60 but holding their header (e.g. from a veth
		// that does not pad) are accepted.
		if _, m, err := DecodeMsg(unhex(t, vecTiny)[:45], native9000); err != nil || string(m.Data) != "hello" {
			t.Errorf("DecodeMsg of 45 bytes = %+v, %v", m, err)
		}
		if _, _, err := DecodeTruc(unhex(t, vecTruc)[:44], native9000); err != nil {
			t.Errorf("DecodeTruc of 44 bytes: %v", err)
		}
		if _, _, err := DecodePull(unhex(t, vecPullMX)[:48], mxWire); err != nil {
			t.Errorf("DecodePull mx-wire of 48 bytes: %v", err)
		}
	})
}

// TestDecodeTruncations decodes every prefix of every golden frame with every
// decoder: no panic, and a prefix shorter than the type's header is ErrShort.
func TestDecodeTruncations(t *testing.T) {
	for _, tc := range goldenCases(t) {
		for n := 0; n <= len(tc.frame) && n <= 200; n++ {
			for _, d := range allDecoders {
				_, v, err := d.decode(tc.frame[:n], tc.mode)
				if (err == nil) == (v == nil) {
					t.Fatalf("%s on %s[:%d]: value %v with error %v", d.name, tc.name, n, v, err)
				}
				if n <= offType && !isErr(err, ErrShort) {
					t.Errorf("%s on %s[:%d]: err %v, want ErrShort", d.name, tc.name, n, err)
				}
			}
		}
	}
}

// TestEncodeErrors checks the values Encode refuses.
func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		value encoder
		mode  Mode
		want  error
	}{
		{"msg type medium", &Msg{Type: TypeMedium}, native9000, ErrType},
		{"msg type zero", &Msg{}, native9000, ErrType},
		{"tiny 33 bytes", &Msg{Type: TypeTiny, Length: 33, Data: make([]byte, 33)}, native9000, ErrLength},
		{"small 129 bytes", &Msg{Type: TypeSmall, Length: 129, Data: make([]byte, 129)}, native9000, ErrLength},
		{"msg length differs from data", &Msg{Type: TypeTiny, Length: 4, Data: make([]byte, 5)}, native9000, ErrLength},
		{"medium frag_length differs from data", &Medium{Length: 10, FragLength: 10, Data: make([]byte, 9)}, native9000, ErrLength},
		{"medium frag_seqnum 32", &Medium{Length: 262144, FragSeq: 32, FragLength: 8192, Data: make([]byte, 8192)}, native9000, ErrField},
		{"medium above MediumMax", &Medium{Length: 46465, FragLength: 1452, Data: make([]byte, 1452)}, native1500, ErrLength},
		{"medium frag above FragMax", &Medium{Length: 2000, FragLength: 1453, Data: make([]byte, 1453)}, native1500, ErrLength},
		{"medium short middle fragment", &Medium{Length: 5000, FragLength: 1000, Data: make([]byte, 1000)}, native1500, ErrLength},
		{"medium fragment past the end", &Medium{Length: 4096, FragSeq: 1, Data: []byte{}}, mxWire, ErrLength},
		{"medium mx-wire frag_seqnum 8", &Medium{Length: 32768, FragSeq: 8, FragLength: 0, Data: []byte{}}, mxWire, ErrField},
		{"connect request with target session", &Connect{TargetSession: 1}, native9000, ErrField},
		{"connect request with status", &Connect{Status: ConnectBadKey}, native9000, ErrField},
		{"connect reply with app key", &Connect{IsReply: true, AppKey: 1}, native9000, ErrField},
		{"pull too many replies", &Pull{BlockLength: 286977}, native9000, ErrLength},
		{"pull first_frame_offset", &Pull{FirstFrameOffset: 1468}, native1500, ErrField},
		{"pull mx-wire rdma id 256", &Pull{RDMAID: 256}, mxWire, ErrField},
		{"pull mx-wire rdma offset 65536", &Pull{RDMAOffset: 65536}, mxWire, ErrField},
		{"pull reply above ReplyMax", &PullReply{FrameLength: 4097, Data: make([]byte, 4097)}, mxWire, ErrLength},
		{"pull reply length differs from data", &PullReply{FrameLength: 2, Data: make([]byte, 3)}, native9000, ErrLength},
		{"nack lib none", &NackLib{}, native9000, ErrField},
		{"nack lib bad rdma window", &NackLib{Nack: NackBadRDMAWin}, native9000, ErrField},
		{"nack mcp none", &NackMCP{}, native9000, ErrField},
		{"nack mcp 5", &NackMCP{Nack: 5}, native9000, ErrField},
		{"host reply 80-byte name", &HostReply{Hostname: strings.Repeat("x", 80)}, native9000, ErrLength},
		{"host reply NUL in name", &HostReply{Hostname: "a\x00b"}, native9000, ErrField},
		{"raw above 1024", &Raw{Body: make([]byte, RawMax-16)}, native9000, ErrLength},
		{"discovery nic_id 49 bits", &Discovery{NICID: 1 << 48}, native9000, ErrField},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf := bytes.Repeat([]byte{0x5A}, 70000)
			n, err := tc.value.Encode(buf, headAB, tc.mode)
			if !isErr(err, tc.want) {
				t.Fatalf("Encode = %d, %v; want %v", n, err, tc.want)
			}
			if n != 0 {
				t.Errorf("failed Encode returned length %d", n)
			}
			if !bytes.Equal(buf, bytes.Repeat([]byte{0x5A}, 70000)) {
				t.Error("failed Encode wrote into the buffer")
			}
		})
	}
}
