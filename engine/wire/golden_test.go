package wire

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Frames of spec/wire.md §9, copied byte for byte (16 per line from frame
// offset 0, FCS not shown). Medium and pull reply vectors show the header
// only; the tests append the payload.
const (
	vecTiny = `
00 aa bb cc dd ee 00 11 22 33 44 55 86 df 00 03
25 02 00 00 00 05 00 00 00 01 00 01 11 22 33 44
55 66 77 88 89 ab cd ef 68 65 6c 6c 6f 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00`

	vecConnectRequest = `
00 aa bb cc dd ee 00 11 22 33 44 55 86 df 00 03
24 02 00 00 10 00 00 00 00 00 00 05 00 00 00 00
01 23 45 67 12 34 56 78 00 01 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00`

	vecConnectReply = `
00 11 22 33 44 55 00 aa bb cc dd ee 86 df 00 05
24 00 02 00 10 00 00 00 00 00 00 03 00 00 00 00
01 23 45 67 89 ab cd ef 00 01 01 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00`

	vecTruc = `
00 11 22 33 44 55 00 aa bb cc dd ee 86 df 00 05
23 00 02 00 10 00 00 00 01 23 45 67 55 00 00 05
01 23 45 67 00 00 00 01 00 05 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00`

	vecMediumNative = `
00 aa bb cc dd ee 00 11 22 33 44 55 86 df 00 03
27 02 00 00 00 00 4e 20 00 02 00 01 11 22 33 44
55 66 77 88 89 ab cd ef 20 00 01 00 00 00 00 00`

	vecMediumMX = `
00 aa bb cc dd ee 00 11 22 33 44 55 86 df 00 03
27 02 00 00 4e 20 00 00 00 02 00 01 11 22 33 44
55 66 77 88 89 ab cd ef 10 00 01 0c 00 00 00 00`

	vecPullNative = `
00 11 22 33 44 55 00 aa bb cc dd ee 86 df 00 05
29 00 02 00 01 23 45 67 00 0f 42 40 00 00 00 07
17 00 00 00 00 00 00 00 00 00 00 23 21 07 19 82
00 00 00 00 00 04 61 00 00 00 00 00`

	vecPullMX = `
00 11 22 33 44 55 00 aa bb cc dd ee 86 df 00 05
29 00 02 00 01 23 45 67 00 0f 42 40 07 17 00 00
00 00 00 23 21 07 19 82 00 00 80 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00`

	vecPullReply = `
00 aa bb cc dd ee 00 11 22 33 44 55 86 df 00 03
2a 01 23 08 00 00 23 08 00 00 00 23 21 07 19 82`

	vecNackLib = `
00 11 22 33 44 55 00 aa bb cc dd ee 86 df 00 05
2c 02 00 03 00 00 00 00 00 00 00 05 00 01 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00`

	vecHostQuery = `
00 aa bb cc dd ee 00 11 22 33 44 55 86 df 00 00
03 00 00 05 00 00 00 00 13 05 20 08 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00`

	vecHostReply = `
00 11 22 33 44 55 00 aa bb cc dd ee 86 df 00 00
04 08 00 03 00 00 00 00 13 05 20 08 00 00 00 00
6e 6f 64 65 62 3a 30 00 00 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 00`

	vecDiscovery = `
ff ff ff ff ff ff 00 11 22 33 44 55 86 df 00 00
01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
00 00 00 11 22 33 44 55 12 34 56 78 00 00 00 00
00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00`
)

type goldenCase struct {
	name    string
	mode    Mode
	frame   []byte // the complete expected frame
	head    Head
	value   encoder // what encodes to frame and what frame decodes to
	decoder decoder
}

func goldenCases(t testing.TB) []goldenCase {
	// §9.5: frag #1 of a 20000-byte message carries bytes 8192..16383
	// (native-9000) or 4096..8191 (mx-wire).
	medNative := pattern(8192, 1)
	medMX := pattern(4096, 2)
	// §9.7: second reply of the first block, 8968 bytes.
	reply := pattern(8968, 3)
	return []goldenCase{
		{
			name: "9.1 TINY", mode: native9000, frame: unhex(t, vecTiny), head: headAB,
			value: &Msg{Type: TypeTiny, DstEP: 2, SrcEP: 0, Length: 5, Seq: 1, Piggyack: 1,
				Match: match, Session: sessB, Data: []byte("hello")},
			decoder: decMsg,
		},
		{
			name: "9.2 CONNECT request", mode: native9000, frame: unhex(t, vecConnectRequest), head: headAB,
			value: &Connect{DstEP: 2, SrcEP: 0, SrcDstPeerIndex: 5, SrcSession: sessA, AppKey: appKey,
				TargetRecvSeqStart: 1},
			decoder: decConnect,
		},
		{
			name: "9.3 CONNECT reply", mode: native9000, frame: unhex(t, vecConnectReply), head: headBA,
			value: &Connect{DstEP: 0, SrcEP: 2, SrcDstPeerIndex: 3, IsReply: true, SrcSession: sessA,
				TargetSession: sessB, TargetRecvSeqStart: 1},
			decoder: decConnect,
		},
		{
			name: "9.4 TRUC ack", mode: native9000, frame: unhex(t, vecTruc), head: headBA,
			value:   &Truc{DstEP: 0, SrcEP: 2, Session: sessA, AckSeq: 5, AckNum: 1},
			decoder: decTruc,
		},
		{
			name: "9.5 MEDIUM native-9000", mode: native9000, frame: cat(unhex(t, vecMediumNative), medNative), head: headAB,
			value: &Medium{DstEP: 2, SrcEP: 0, Length: 20000, Seq: 2, Piggyack: 1, Match: match, Session: sessB,
				FragLength: 8192, FragSeq: 1, Data: medNative},
			decoder: decMedium,
		},
		{
			name: "9.5 MEDIUM mx-wire", mode: mxWire, frame: cat(unhex(t, vecMediumMX), medMX), head: headAB,
			value: &Medium{DstEP: 2, SrcEP: 0, Length: 20000, Seq: 2, Piggyack: 1, Match: match, Session: sessB,
				FragLength: 4096, FragSeq: 1, Data: medMX},
			decoder: decMedium,
		},
		{
			name: "9.6 PULL native-9000", mode: native9000, frame: unhex(t, vecPullNative), head: headBA,
			value: &Pull{DstEP: 0, SrcEP: 2, Session: sessA, TotalLength: 1000000, RDMAID: 7, RDMASeq: 0x17,
				Handle: 0x23, Magic: pullMag, BlockLength: 286976},
			decoder: decPull,
		},
		{
			name: "9.6 PULL mx-wire", mode: mxWire, frame: unhex(t, vecPullMX), head: headBA,
			value: &Pull{DstEP: 0, SrcEP: 2, Session: sessA, TotalLength: 1000000, RDMAID: 7, RDMASeq: 0x17,
				Handle: 0x23, Magic: pullMag, BlockLength: 32768},
			decoder: decPull,
		},
		{
			name: "9.7 PULL_REPLY", mode: native9000, frame: cat(unhex(t, vecPullReply), reply), head: headAB,
			value: &PullReply{FrameSeq: 1, FrameLength: 8968, MsgOffset: 8968, Handle: 0x23, Magic: pullMag,
				Data: reply},
			decoder: decPullReply,
		},
		{
			name: "9.7 NACK_LIB", mode: native9000, frame: unhex(t, vecNackLib), head: headBA,
			value:   &NackLib{SrcEP: 2, Nack: NackBadSession, DstEP: 0, PeerIndex: 5, Seq: 1},
			decoder: decNackLib,
		},
		{
			name: "9.7 HOST_QUERY", mode: native9000, frame: unhex(t, vecHostQuery),
			head:    Head{Dst: macB, Src: macA},
			value:   &HostQuery{SrcDstPeerIndex: 5, Magic: HostQueryMagic},
			decoder: decHostQuery,
		},
		{
			name: "9.7 HOST_REPLY", mode: native9000, frame: unhex(t, vecHostReply),
			head:    Head{Dst: macA, Src: macB},
			value:   &HostReply{SrcDstPeerIndex: 3, Magic: HostQueryMagic, Hostname: "nodeb:0"},
			decoder: decHostReply,
		},
		{
			name: "9.7 omxoed discovery", mode: native9000, frame: unhex(t, vecDiscovery),
			head:    Head{Dst: BroadcastMAC, Src: macA},
			value:   &Discovery{NICID: 0x001122334455, Serial: 0x12345678},
			decoder: decDiscovery,
		},
	}
}

// TestGolden encodes each §9 vector's values and compares the exact bytes,
// then decodes the vector and compares the exact values.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			// Garbage in the buffer checks that padding and reserved
			// fields are written as zeros.
			buf := make([]byte, len(tc.frame)+64)
			for i := range buf {
				buf[i] = 0xA5
			}
			n, err := tc.value.Encode(buf, tc.head, tc.mode)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			checkBytes(t, tc.frame, buf[:n])
			if buf[n] != 0xA5 {
				t.Errorf("Encode wrote beyond the returned length %d", n)
			}

			h, got, err := tc.decoder.decode(tc.frame, tc.mode)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if diff := cmp.Diff(tc.head, h); diff != "" {
				t.Errorf("head mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.value, got); diff != "" {
				t.Errorf("value mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGoldenDetails checks the facts §9 states around the vectors.
func TestGoldenDetails(t *testing.T) {
	t.Run("medium offsets", func(t *testing.T) {
		p := Medium{FragSeq: 1}
		if got := p.Offset(native9000); got != 8192 {
			t.Errorf("native-9000 offset of frag 1 = %d, want 8192", got)
		}
		if got := p.Offset(mxWire); got != 4096 {
			t.Errorf("mx-wire offset of frag 1 = %d, want 4096", got)
		}
		if got := p.Offset(native1500); got != 1452 {
			t.Errorf("native-1500 offset of frag 1 = %d, want 1452", got)
		}
	})
	t.Run("medium frame lengths", func(t *testing.T) {
		// native: 20000 = 8192+8192+3616, frame #1 is 8240 bytes; mx-wire: 5 frames of ≤ 4096, frame #1 4144.
		for _, tc := range []struct {
			m    Mode
			lens []int
		}{
			{native9000, []int{8192, 8192, 3616}},
			{mxWire, []int{4096, 4096, 4096, 4096, 3616}},
		} {
			buf := make([]byte, tc.m.MTU)
			for i, l := range tc.lens {
				p := Medium{Length: 20000, FragSeq: uint8(i), FragLength: uint16(l), Data: make([]byte, l)}
				n, err := p.Encode(buf, headAB, tc.m)
				if err != nil {
					t.Fatalf("%v frag %d: %v", tc.m, i, err)
				}
				if n != 48+l {
					t.Errorf("%v frag %d: frame %d, want %d", tc.m, i, n, 48+l)
				}
			}
		}
	})
	t.Run("pull blocks", func(t *testing.T) {
		// B's four initial PULLs for 1000000 bytes: 3 full blocks, then
		// 139072 bytes (00 02 1f 40) in 16 frames at frame_index 96.
		last := Pull{Session: sessA, TotalLength: 1000000, RDMAID: 7, RDMASeq: 0x17, Handle: 0x23,
			Magic: pullMag, BlockLength: 139072, FrameIndex: 96}
		if got := last.Replies(native9000); got != 16 {
			t.Errorf("Replies of the last block = %d, want 16", got)
		}
		buf := make([]byte, 64)
		n, err := last.Encode(buf, headBA, native9000)
		if err != nil || n != 60 {
			t.Fatalf("Encode = %d, %v", n, err)
		}
		checkBytes(t, unhex(t, "00 02 1f 40 00 00 00 60"), buf[52:60])
		full := Pull{BlockLength: uint32(native9000.BlockMax)}
		if got := full.Replies(native9000); got != 32 {
			t.Errorf("Replies of a full native-9000 block = %d, want 32", got)
		}
		full = Pull{BlockLength: uint32(mxWire.BlockMax)}
		if got := full.Replies(mxWire); got != 8 {
			t.Errorf("Replies of a full mx-wire block = %d, want 8", got)
		}
	})
	t.Run("discovery helpers", func(t *testing.T) {
		want := unhex(t, vecDiscovery)
		buf := make([]byte, 100)
		n, err := EncodeDiscovery(buf, macA, Discovery{NICID: 0x001122334455, Serial: 0x12345678})
		if err != nil {
			t.Fatal(err)
		}
		checkBytes(t, want, buf[:n])
		if got := NICIDFromMAC(macA); got != 0x001122334455 {
			t.Errorf("NICIDFromMAC = %#x", got)
		}
		if got := MACFromNICID(0x00aabbccddee); got != macB {
			t.Errorf("MACFromNICID = %x", got)
		}
		// The discovery frame is a RAW frame whose body is frame[17:].
		_, raw, err := DecodeRaw(want, native9000)
		if err != nil {
			t.Fatal(err)
		}
		checkBytes(t, want[17:], raw.Body)
	})
	t.Run("connect bad key", func(t *testing.T) {
		frame := unhex(t, vecConnectReply)
		frame[44] = ConnectBadKey // "a bad key would put 0b here"
		_, c, err := DecodeConnect(frame, native9000)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != 11 {
			t.Errorf("Status = %d, want 11", c.Status)
		}
	})
	t.Run("unknown peer index", func(t *testing.T) {
		// "if unknown, bytes 14–15 would be ff ff"
		p := Connect{DstEP: 2, SrcDstPeerIndex: 5, SrcSession: sessA, AppKey: appKey, TargetRecvSeqStart: 1}
		buf := make([]byte, 60)
		if _, err := p.Encode(buf, Head{Dst: macB, Src: macA, PeerIndex: UnknownPeerIndex}, native9000); err != nil {
			t.Fatal(err)
		}
		checkBytes(t, []byte{0xff, 0xff}, buf[14:16])
	})
}
