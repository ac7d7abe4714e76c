package wire

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type roundTripCase struct {
	name    string
	head    Head
	value   encoder
	decoder decoder
	length  int // expected frame length
}

// roundTripCases returns edge values of every type for mode m.
func roundTripCases(m Mode) []roundTripCase {
	ones := Head{Dst: BroadcastMAC, Src: [6]byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff}, PeerIndex: 0xFFFF}
	zero := Head{}
	lastFrag := m.MediumMax - (m.FragsMax-1)*m.FragMax // last fragment of the largest medium
	oneFrag := 1000                                    // a one-fragment medium
	maxFFO := uint32(m.ReplyMax - 1)
	cases := []roundTripCase{
		{"tiny empty", zero, &Msg{Type: TypeTiny, Data: []byte{}}, decMsg, 60},
		{"tiny max", ones, &Msg{Type: TypeTiny, DstEP: 255, SrcEP: 255, Length: TinyMax, Checksum: 0xFFFF,
			Seq: 0xFFFF, Piggyack: 0xFFFF, Match: ^uint64(0), Session: 0xFFFFFFFF, Data: pattern(TinyMax, 9)}, decMsg, 72},
		{"small short", headAB, &Msg{Type: TypeSmall, Length: 1, Seq: 0xC000, Data: []byte{0}}, decMsg, 60},
		{"small max", headBA, &Msg{Type: TypeSmall, DstEP: 31, SrcEP: 1, Length: SmallMax, Seq: 0x3FFF,
			Piggyack: 0x4001, Match: 1 << 63, Session: 1, Data: pattern(SmallMax, 4)}, decMsg, 168},
		{"medium first of max", ones, &Medium{DstEP: 255, SrcEP: 255, Length: uint32(m.MediumMax), Seq: 0xFFFF,
			Piggyack: 0xFFFF, Match: ^uint64(0), Session: 0xFFFFFFFF, FragLength: uint16(m.FragMax), FragSeq: 0,
			Checksum: 0xFFFF, Data: pattern(m.FragMax, 5)}, decMedium, 48 + m.FragMax},
		{"medium last of max", headAB, &Medium{Length: uint32(m.MediumMax), FragLength: uint16(lastFrag),
			FragSeq: uint8(m.FragsMax - 1), Data: pattern(lastFrag, 6)}, decMedium, 48 + lastFrag},
		{"medium single short", headAB, &Medium{Length: uint32(oneFrag), FragLength: uint16(oneFrag),
			Data: pattern(oneFrag, 7)}, decMedium, 48 + oneFrag},
		{"medium one byte past a fragment", headAB, &Medium{Length: uint32(m.FragMax + 1), FragSeq: 1,
			FragLength: 1, Data: []byte{42}}, decMedium, 60},
		{"medium empty", zero, &Medium{Data: []byte{}}, decMedium, 60},
		{"rndv", ones, &Rndv{DstEP: 255, SrcEP: 255, Seq: 0xFFFF, Piggyack: 0xFFFF, Match: ^uint64(0),
			Session: 0xFFFFFFFF, Checksum: 0xFFFF, MsgLength: 0xFFFFFFFF, RDMAID: 255, RDMASeq: 255,
			RDMAOffset: 0xFFFF}, decRndv, 60},
		{"rndv zero", zero, &Rndv{}, decRndv, 60},
		{"notify", ones, &Notify{DstEP: 255, SrcEP: 255, Session: 0xFFFFFFFF, TotalLength: 0xFFFFFFFF,
			RDMAID: 255, RDMASeq: 255, Seq: 0xFFFF, Piggyack: 0xFFFF}, decNotify, 60},
		{"notify failed pull", headBA, &Notify{Session: sessA, RDMAID: 7, RDMASeq: 0x17, Seq: 0x4001}, decNotify, 60},
		{"connect request", ones, &Connect{DstEP: 255, SrcEP: 255, Seq: 0xFFFF, SrcDstPeerIndex: 0xFFFF,
			SrcSession: 0xFFFFFFFF, AppKey: 0xFFFFFFFF, TargetRecvSeqStart: 0xFFFF, ConnectSeq: 255}, decConnect, 60},
		{"connect reply", ones, &Connect{DstEP: 255, SrcEP: 255, Seq: 0xFFFF, SrcDstPeerIndex: 0xFFFF,
			IsReply: true, SrcSession: 0xFFFFFFFF, TargetSession: 0xFFFFFFFF, TargetRecvSeqStart: 0xFFFF,
			ConnectSeq: 255, Status: 255}, decConnect, 60},
		{"connect reply bad key", headBA, &Connect{IsReply: true, Status: ConnectBadKey}, decConnect, 60},
		{"truc", ones, &Truc{DstEP: 255, SrcEP: 255, Session: 0xFFFFFFFF, AckSeq: 0xFFFF, AckNum: 0xFFFFFFFF}, decTruc, 60},
		{"truc zero", zero, &Truc{}, decTruc, 60},
		{"pull full block", ones, &Pull{DstEP: 255, SrcEP: 255, Session: 0xFFFFFFFF, TotalLength: 0xFFFFFFFF,
			RDMAID: 255, RDMASeq: 255, RDMAOffset: 0xFFFF, Handle: 0xFFFFFFFF, Magic: 0xFFFFFFFF,
			BlockLength: uint32(m.BlockMax), FrameIndex: 0xFFFFFFFF}, decPull, 60},
		{"pull first block with offset", headBA, &Pull{RDMAOffset: maxFFO, FirstFrameOffset: maxFFO,
			BlockLength: uint32(m.BlockMax) - maxFFO}, decPull, 60},
		{"pull empty block", zero, &Pull{}, decPull, 60},
		{"pull reply max", ones, &PullReply{FrameSeq: 255, FrameLength: uint16(m.ReplyMax), MsgOffset: 0xFFFFFFFF,
			Handle: 0xFFFFFFFF, Magic: 0xFFFFFFFF, Data: pattern(m.ReplyMax, 8)}, decPullReply, 32 + m.ReplyMax},
		{"pull reply short", headAB, &PullReply{FrameLength: 3, Data: []byte{1, 2, 3}}, decPullReply, 60},
		{"pull reply empty", zero, &PullReply{Data: []byte{}}, decPullReply, 60},
		{"nack lib", ones, &NackLib{SrcEP: 255, Nack: NackEndpointClosed, DstEP: 255, PeerIndex: 0xFFFF, Seq: 0xFFFF}, decNackLib, 60},
		{"nack lib bad endpoint", zero, &NackLib{Nack: NackBadEndpoint}, decNackLib, 60},
		{"nack mcp", ones, &NackMCP{SrcEP: 255, Nack: NackBadRDMAWin, Handle: 0xFFFFFFFF, Magic: 0xFFFFFFFF}, decNackMCP, 60},
		{"host query", ones, &HostQuery{SrcDstPeerIndex: 0xFFFF, Magic: 0xFFFFFFFF}, decHostQuery, 60},
		{"host reply empty name", zero, &HostReply{}, decHostReply, 61},
		{"host reply longest name", ones, &HostReply{SrcDstPeerIndex: 0xFFFF, Magic: 0xFFFFFFFF,
			Hostname: strings.Repeat("h", HostnameMax-1)}, decHostReply, 60 + HostnameMax},
		{"raw min", ones, &Raw{Body: make([]byte, MinFrame-17)}, decRaw, 60},
		{"raw max", headAB, &Raw{Body: pattern(RawMax-17, 3)}, decRaw, RawMax},
		{"discovery", ones, &Discovery{NICID: 1<<48 - 1, Serial: 0xFFFFFFFF}, decDiscovery, 64},
		{"discovery zero", zero, &Discovery{}, decDiscovery, 64},
	}
	return cases
}

// TestRoundTrip encodes edge values of every type in every tested mode,
// checks the frame length and that reserved bytes do not depend on the
// buffer's previous content, then decodes back to the same value.
func TestRoundTrip(t *testing.T) {
	for _, m := range allModes {
		for _, tc := range roundTripCases(m) {
			t.Run(fmt.Sprintf("%v/%s", m, tc.name), func(t *testing.T) {
				clean := make([]byte, tc.length)
				n, err := tc.value.Encode(clean, tc.head, m)
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				if n != tc.length {
					t.Errorf("frame length %d, want %d", n, tc.length)
				}
				if n > m.MTU {
					t.Errorf("frame length %d > MTU %d", n, m.MTU)
				}
				dirty := bytes.Repeat([]byte{0xEE}, tc.length)
				if _, err := tc.value.Encode(dirty, tc.head, m); err != nil {
					t.Fatalf("Encode into a dirty buffer: %v", err)
				}
				checkBytes(t, clean, dirty)

				h, got, err := tc.decoder.decode(clean[:n], m)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				if diff := cmp.Diff(tc.head, h); diff != "" {
					t.Errorf("head mismatch (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.value, got); diff != "" {
					t.Errorf("value mismatch (-want +got):\n%s", diff)
				}

				// A frame longer than its content (trailing garbage,
				// §1.3) decodes to the same value, except RAW whose
				// body is the whole rest of the frame.
				if _, isRaw := tc.value.(*Raw); !isRaw {
					long := append(bytes.Clone(clean[:n]), bytes.Repeat([]byte{0x77}, 16)...)
					_, got, err := tc.decoder.decode(long, m)
					if err != nil {
						t.Fatalf("decode with trailing bytes: %v", err)
					}
					if diff := cmp.Diff(tc.value, got); diff != "" {
						t.Errorf("value with trailing bytes mismatch (-want +got):\n%s", diff)
					}
				}

				// One byte too few for the frame: ErrShort, nothing written.
				small := bytes.Repeat([]byte{0x11}, n-1)
				if _, err := tc.value.Encode(small, tc.head, m); !isErr(err, ErrShort) {
					t.Errorf("Encode into %d bytes: err %v, want ErrShort", n-1, err)
				}
				if !bytes.Equal(small, bytes.Repeat([]byte{0x11}, n-1)) {
					t.Error("failed Encode wrote into the buffer")
				}
			})
		}
	}
}

// TestPayloadAliasing checks that decoded payloads alias the frame with a
// capped capacity, and that Encode accepts a payload already in place.
func TestPayloadAliasing(t *testing.T) {
	buf := make([]byte, native9000.MTU)
	data := pattern(native9000.FragMax, 1)
	copy(buf[mediumHdr:], data)
	p := Medium{Length: 9000, FragLength: uint16(len(data)), Data: buf[mediumHdr : mediumHdr+len(data)]}
	n, err := p.Encode(buf, headAB, native9000)
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := DecodeMedium(buf[:n], native9000)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Data, data) {
		t.Error("in-place payload corrupted by Encode")
	}
	if &got.Data[0] != &buf[mediumHdr] || cap(got.Data) != len(got.Data) {
		t.Error("decoded Data does not alias the frame with a capped capacity")
	}

	frame := unhex(t, vecTiny)
	_, msg, err := DecodeMsg(frame, native9000)
	if err != nil {
		t.Fatal(err)
	}
	if &msg.Data[0] != &frame[msgHdr] || cap(msg.Data) != 5 {
		t.Error("TINY Data does not alias the frame with a capped capacity")
	}
}

// TestNoAllocs checks that the hot-path encoders and decoders do not
// allocate.
func TestNoAllocs(t *testing.T) {
	buf := make([]byte, native9000.MTU)
	for _, tc := range roundTripCases(native9000) {
		if _, ok := tc.value.(*HostReply); ok {
			continue // the Hostname string is allocated by design
		}
		n, err := tc.value.Encode(buf, tc.head, native9000)
		if err != nil {
			t.Fatal(err)
		}
		frame := bytes.Clone(buf[:n])
		allocs := testing.AllocsPerRun(50, func() {
			_, _ = tc.value.Encode(buf, tc.head, native9000)
		})
		if allocs != 0 {
			t.Errorf("%s: Encode allocates %.0f times", tc.name, allocs)
		}
		var decErr error
		allocs = testing.AllocsPerRun(50, func() {
			decErr = decodeNoAlloc(tc.decoder.name, frame)
		})
		if decErr != nil {
			t.Fatalf("%s: %v", tc.name, decErr)
		}
		if allocs != 0 {
			t.Errorf("%s: decode allocates %.0f times", tc.name, allocs)
		}
	}
}

// decodeNoAlloc calls the typed decoder directly (the test's type-erased
// wrapper allocates by boxing).
func decodeNoAlloc(name string, frame []byte) error {
	var err error
	switch name {
	case "msg":
		_, _, err = DecodeMsg(frame, native9000)
	case "medium":
		_, _, err = DecodeMedium(frame, native9000)
	case "rndv":
		_, _, err = DecodeRndv(frame, native9000)
	case "notify":
		_, _, err = DecodeNotify(frame, native9000)
	case "connect":
		_, _, err = DecodeConnect(frame, native9000)
	case "truc":
		_, _, err = DecodeTruc(frame, native9000)
	case "pull":
		_, _, err = DecodePull(frame, native9000)
	case "pull reply":
		_, _, err = DecodePullReply(frame, native9000)
	case "nack lib":
		_, _, err = DecodeNackLib(frame, native9000)
	case "nack mcp":
		_, _, err = DecodeNackMCP(frame, native9000)
	case "host query":
		_, _, err = DecodeHostQuery(frame, native9000)
	case "raw":
		_, _, err = DecodeRaw(frame, native9000)
	case "discovery":
		_, _, err = DecodeDiscovery(frame, native9000)
	default:
		err = fmt.Errorf("no typed decoder for %q", name)
	}
	return err
}
