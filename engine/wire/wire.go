package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Framing constants, from Open-MX, common/omx_wire.h (spec/wire.md §1, §2.2).
const (
	// EtherType is the Open-MX EtherType (DEFAULT_ETH_P_OMX).
	EtherType = 0x86DF
	// HeadLen is the size of the common head: destination MAC, source MAC,
	// EtherType and dst_src_peer_index. The packet type follows it.
	HeadLen = 16
	// MinFrame is the smallest frame a sender emits (ETH_ZLEN, FCS excluded);
	// shorter frames are zero padded up to it.
	MinFrame = 60
	// TinyMax is the largest TINY payload (OMX_TINY_MSG_LENGTH_MAX).
	TinyMax = 32
	// SmallMax is the largest SMALL payload (OMX_SMALL_MSG_LENGTH_MAX).
	SmallMax = 128
	// PullMagic is the XOR key of the original pull magic
	// (magic = endpoint index ^ PullMagic, spec/wire.md §3.5.3).
	PullMagic = 0x21071980
	// HostQueryMagic is the initial HOST_QUERY magic (spec/wire.md §2.3).
	HostQueryMagic = 0x13052008
	// UnknownPeerIndex is the peer index meaning "unknown".
	UnknownPeerIndex = 0xFFFF
	// RawMax is the largest RAW frame a receiver accepts.
	RawMax = 1024
	// HostnameMax is the largest hostname, terminating NUL included
	// (OMX_HOSTNAMELEN_MAX).
	HostnameMax = 80
	// TrucAck is the only defined TRUC data type: library ack (liback).
	TrucAck = 0x55
	// ConnectBadKey is the CONNECT reply status for a wrong application key
	// (fixed by MX compatibility); 0 is success.
	ConnectBadKey = 11
	// MXFragPipeline is the mx-wire medium frag_pipeline value: log2 of the
	// 4096-byte fragment size.
	MXFragPipeline = 12
)

// Offsets of the common head (spec/wire.md §1.1).
const (
	offDst       = 0
	offSrc       = 6
	offEtherType = 12
	offPeerIndex = 14
	offType      = 16 // ptype, the first body byte
)

// BroadcastMAC is the destination of the omxoed discovery packet.
var BroadcastMAC = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Errors returned, wrapped with context, by encoders and decoders. Test them
// with errors.Is.
var (
	// ErrShort: the frame is shorter than the header of its type, or the
	// encode buffer is too small for the frame.
	ErrShort = errors.New("frame too short")
	// ErrType: wrong EtherType, or a packet type the decoder does not handle.
	ErrType = errors.New("wrong frame type")
	// ErrLength: a declared length exceeds the frame or a limit of its type.
	ErrLength = errors.New("bad length")
	// ErrField: another field holds a value the receiver must reject (or the
	// encoder cannot represent).
	ErrField = errors.New("bad field")
)

// Type is the packet type (ptype, u8 at frame offset 16). Values from Open-MX,
// common/omx_wire.h (spec/wire.md §2.1).
type Type uint8

// Packet types. The reserved types (MFM_NIC_REPLY, ETHER_*) and the invalid
// ones (NONE, MAX) have no layout: receivers drop them.
const (
	TypeNone           Type = 0
	TypeRaw            Type = 1
	TypeMFMNICReply    Type = 2
	TypeHostQuery      Type = 3
	TypeHostReply      Type = 4
	TypeEtherUnicast   Type = 32
	TypeEtherMulticast Type = 33
	TypeEtherNative    Type = 34
	TypeTruc           Type = 35
	TypeConnect        Type = 36
	TypeTiny           Type = 37
	TypeSmall          Type = 38
	TypeMedium         Type = 39
	TypeRndv           Type = 40
	TypePull           Type = 41
	TypePullReply      Type = 42
	TypeNotify         Type = 43
	TypeNackLib        Type = 44
	TypeNackMCP        Type = 45
	TypeMax            Type = 255
)

var typeNames = [...]string{
	TypeNone:           "NONE",
	TypeRaw:            "RAW",
	TypeMFMNICReply:    "MFM_NIC_REPLY",
	TypeHostQuery:      "HOST_QUERY",
	TypeHostReply:      "HOST_REPLY",
	TypeEtherUnicast:   "ETHER_UNICAST",
	TypeEtherMulticast: "ETHER_MULTICAST",
	TypeEtherNative:    "ETHER_NATIVE",
	TypeTruc:           "TRUC",
	TypeConnect:        "CONNECT",
	TypeTiny:           "TINY",
	TypeSmall:          "SMALL",
	TypeMedium:         "MEDIUM",
	TypeRndv:           "RNDV",
	TypePull:           "PULL",
	TypePullReply:      "PULL_REPLY",
	TypeNotify:         "NOTIFY",
	TypeNackLib:        "NACK_LIB",
	TypeNackMCP:        "NACK_MCP",
}

// String returns the name of the type as in the spec ("TINY", "PULL_REPLY"),
// or "Type(0xNN)" for a value without a name.
func (t Type) String() string {
	if t == TypeMax {
		return "MAX"
	}
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%#02x)", uint8(t))
}

// Sequenced reports whether packets of this type carry a lib_seqnum subject
// to ordering, acks and retransmission: TINY, SMALL, MEDIUM, RNDV and NOTIFY
// (spec/wire.md §2.1, §4).
func (t Type) Sequenced() bool {
	switch t {
	case TypeTiny, TypeSmall, TypeMedium, TypeRndv, TypeNotify:
		return true
	}
	return false
}

// Nack is the nack_type of NACK_LIB and NACK_MCP (spec/wire.md §2.1).
type Nack uint8

// Nack types, from Open-MX, common/omx_wire.h.
const (
	NackNone           Nack = 0
	NackBadEndpoint    Nack = 1 // BAD_ENDPT: endpoint index out of range
	NackEndpointClosed Nack = 2 // ENDPT_CLOSED: no endpoint open at that index
	NackBadSession     Nack = 3 // BAD_SESSION: session differs from the endpoint's
	NackBadRDMAWin     Nack = 4 // BAD_RDMAWIN: unknown region (NACK_MCP only)
)

// String returns the spec name of the nack type ("BAD_SESSION").
func (n Nack) String() string {
	switch n {
	case NackNone:
		return "NONE"
	case NackBadEndpoint:
		return "BAD_ENDPT"
	case NackEndpointClosed:
		return "ENDPT_CLOSED"
	case NackBadSession:
		return "BAD_SESSION"
	case NackBadRDMAWin:
		return "BAD_RDMAWIN"
	}
	return fmt.Sprintf("Nack(%d)", uint8(n))
}

// Head is the 16-byte common head of every frame (spec/wire.md §1.1).
type Head struct {
	Dst, Src [6]byte
	// PeerIndex is dst_src_peer_index: the sender's index in the receiver's
	// peer table (the "reverse index" on the sending side), UnknownPeerIndex
	// if unknown. Not meaningful in HOST_QUERY, HOST_REPLY, RAW and
	// PULL_REPLY, where receivers must ignore it.
	PeerIndex uint16
}

// PutHead writes the head, EtherType included, into b[:HeadLen]. It panics if
// len(b) < HeadLen, like binary.BigEndian.PutUint16.
func PutHead(b []byte, h Head) {
	_ = b[HeadLen-1]
	copy(b[offDst:], h.Dst[:])
	copy(b[offSrc:], h.Src[:])
	binary.BigEndian.PutUint16(b[offEtherType:], EtherType)
	binary.BigEndian.PutUint16(b[offPeerIndex:], h.PeerIndex)
}

// ReadHead reads the head from b[:HeadLen] (the EtherType is not checked: see
// PeekType). It panics if len(b) < HeadLen.
func ReadHead(b []byte) Head {
	_ = b[HeadLen-1]
	var h Head
	copy(h.Dst[:], b[offDst:])
	copy(h.Src[:], b[offSrc:])
	h.PeerIndex = binary.BigEndian.Uint16(b[offPeerIndex:])
	return h
}

// PeekType returns the packet type of an Open-MX frame. It returns false if
// the frame is too short to hold a type or its EtherType is not EtherType:
// receivers drop such frames (spec/wire.md §1.5).
func PeekType(frame []byte) (Type, bool) {
	if len(frame) <= offType || binary.BigEndian.Uint16(frame[offEtherType:]) != EtherType {
		return 0, false
	}
	return Type(frame[offType]), true
}

// NICIDFromMAC returns the nic_id of a board MAC: the 48-bit MAC, first byte
// most significant (spec/wire.md §6.1).
func NICIDFromMAC(mac [6]byte) uint64 {
	var id uint64
	for _, b := range mac {
		id = id<<8 | uint64(b)
	}
	return id
}

// MACFromNICID returns the MAC of a nic_id; bits above 47 are ignored.
func MACFromNICID(id uint64) [6]byte {
	var mac [6]byte
	for i := range mac {
		mac[i] = byte(id >> (40 - 8*i))
	}
	return mac
}

// open checks the part common to all decoders: the frame holds a type, the
// EtherType is Open-MX's, the type is one of want (checked by the caller
// through ok) and the frame holds the hdr bytes of its header. It returns the
// head and the type.
func open(frame []byte, what string, hdr int, want ...Type) (Head, Type, error) {
	t, ok := PeekType(frame)
	if !ok {
		if len(frame) <= offType {
			return Head{}, 0, fmt.Errorf("wire: decode %s: %d-byte frame: %w", what, len(frame), ErrShort)
		}
		return Head{}, 0, fmt.Errorf("wire: decode %s: ethertype %#04x: %w", what,
			binary.BigEndian.Uint16(frame[offEtherType:]), ErrType)
	}
	match := false
	for _, w := range want {
		if t == w {
			match = true
			break
		}
	}
	if !match {
		return Head{}, t, fmt.Errorf("wire: decode %s: packet type %v: %w", what, t, ErrType)
	}
	if len(frame) < hdr {
		return Head{}, t, fmt.Errorf("wire: decode %s: %d-byte frame, header needs %d: %w",
			what, len(frame), hdr, ErrShort)
	}
	return ReadHead(frame), t, nil
}

// start begins an encode: it checks that b holds the frame (content bytes of
// header and payload, padded to MinFrame), writes the head and the type, and
// zeroes the rest of the header (reserved fields stay zero, spec/wire.md
// §1.3). It returns the frame length.
func start(b []byte, h Head, t Type, hdr, content int, what string) (int, error) {
	n := max(content, MinFrame)
	if len(b) < n {
		return 0, fmt.Errorf("wire: encode %s: %d-byte buffer, frame needs %d: %w", what, len(b), n, ErrShort)
	}
	PutHead(b, h)
	b[offType] = byte(t)
	clear(b[offType+1 : hdr])
	return n, nil
}

// finish zeroes the padding between the content and the frame end.
func finish(b []byte, content, n int) {
	if content < n {
		clear(b[content:n])
	}
}

// Shorthands for the big-endian accessors.
func get16(b []byte, off int) uint16 { return binary.BigEndian.Uint16(b[off:]) }
func get32(b []byte, off int) uint32 { return binary.BigEndian.Uint32(b[off:]) }
func put16(b []byte, off int, v uint16) {
	binary.BigEndian.PutUint16(b[off:], v)
}
func put32(b []byte, off int, v uint32) {
	binary.BigEndian.PutUint32(b[off:], v)
}

// getMatch reads match_a (bits 63..32) and match_b (bits 31..0), both BE32
// (OMX_HTON_MATCH_INFO, spec/wire.md §1.2).
func getMatch(b []byte, off int) uint64 {
	return uint64(get32(b, off))<<32 | uint64(get32(b, off+4))
}

func putMatch(b []byte, off int, v uint64) {
	put32(b, off, uint32(v>>32))
	put32(b, off+4, uint32(v))
}
