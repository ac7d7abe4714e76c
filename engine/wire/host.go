package wire

import (
	"bytes"
	"fmt"
	"strings"
)

// Frame offsets of HOST_QUERY and HOST_REPLY, from Open-MX, common/omx_wire.h,
// struct omx_pkt_host_query / omx_pkt_host_reply (spec/wire.md §2.3, §2.4).
const (
	hostOffLength    = 17 // u8, HOST_REPLY only: hostname length incl. NUL
	hostOffPeerIndex = 18 // BE16 src_dst_peer_index
	hostOffMagic     = 24 // BE32
	hostHdr          = 32 // HOST_REPLY hostname starts here
)

// HostQuery asks a peer for its hostname and tells it its index in the
// querier's peer table. Layout from common/omx_wire.h (spec/wire.md §2.3,
// §6.5); frame 60. The head PeerIndex is unused.
type HostQuery struct {
	SrcDstPeerIndex uint16 // the queried host's index in the querier's table
	Magic           uint32 // querier's current magic (HostQueryMagic + clears)
}

// Encode writes the query into b and returns the frame length (60).
func (p *HostQuery) Encode(b []byte, h Head, m Mode) (int, error) {
	n, err := start(b, h, TypeHostQuery, hostHdr, hostHdr, "host query")
	if err != nil {
		return 0, err
	}
	put16(b, hostOffPeerIndex, p.SrcDstPeerIndex)
	put32(b, hostOffMagic, p.Magic)
	finish(b, hostHdr, n)
	return n, nil
}

// DecodeHostQuery decodes a HOST_QUERY frame.
func DecodeHostQuery(frame []byte, m Mode) (Head, HostQuery, error) {
	h, _, err := open(frame, "host query", hostHdr, TypeHostQuery)
	if err != nil {
		return Head{}, HostQuery{}, err
	}
	return h, HostQuery{
		SrcDstPeerIndex: get16(frame, hostOffPeerIndex),
		Magic:           get32(frame, hostOffMagic),
	}, nil
}

// HostReply answers a HostQuery with the hostname of the replying board.
// Layout from common/omx_wire.h (spec/wire.md §2.4, §6.5). The head
// PeerIndex is unused.
type HostReply struct {
	SrcDstPeerIndex uint16 // the querier's index in the replier's table
	Magic           uint32 // echo of the query's magic
	Hostname        string // without NUL; at most HostnameMax-1 bytes
}

// Encode writes the reply into b and returns the frame length: 60 + the
// hostname length with its NUL, as the original sizes it (32 + that length
// would do; the extra bytes are zero). It fails if the hostname is longer
// than 79 bytes or contains a NUL.
func (p *HostReply) Encode(b []byte, h Head, m Mode) (int, error) {
	l := len(p.Hostname) + 1
	if l > HostnameMax {
		return 0, fmt.Errorf("wire: encode host reply: %d-byte hostname, max %d: %w", len(p.Hostname), HostnameMax-1, ErrLength)
	}
	if strings.IndexByte(p.Hostname, 0) >= 0 {
		return 0, fmt.Errorf("wire: encode host reply: hostname %q holds a NUL: %w", p.Hostname, ErrField)
	}
	n, err := start(b, h, TypeHostReply, hostHdr, MinFrame+l, "host reply")
	if err != nil {
		return 0, err
	}
	b[hostOffLength] = uint8(l)
	put16(b, hostOffPeerIndex, p.SrcDstPeerIndex)
	put32(b, hostOffMagic, p.Magic)
	copy(b[hostHdr:], p.Hostname)
	clear(b[hostHdr+len(p.Hostname) : n])
	return n, nil
}

// DecodeHostReply decodes a HOST_REPLY frame. It rejects a hostname length
// of 0, above HostnameMax or beyond the frame. The last hostname byte is
// taken as NUL whatever it holds (as the original forces it), and the name
// ends at its first NUL. The Hostname string is the one allocation of the
// decoders.
func DecodeHostReply(frame []byte, m Mode) (Head, HostReply, error) {
	h, _, err := open(frame, "host reply", hostHdr, TypeHostReply)
	if err != nil {
		return Head{}, HostReply{}, err
	}
	l := int(frame[hostOffLength])
	if l == 0 || l > HostnameMax {
		return Head{}, HostReply{}, fmt.Errorf("wire: decode host reply: hostname length %d not in [1, %d]: %w", l, HostnameMax, ErrLength)
	}
	if hostHdr+l > len(frame) {
		return Head{}, HostReply{}, fmt.Errorf("wire: decode host reply: hostname length %d exceeds the %d-byte frame: %w", l, len(frame), ErrLength)
	}
	name := frame[hostHdr : hostHdr+l-1]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return h, HostReply{
		SrcDstPeerIndex: get16(frame, hostOffPeerIndex),
		Magic:           get32(frame, hostOffMagic),
		Hostname:        string(name),
	}, nil
}

// rawHdr is where the tool-defined body of a RAW frame starts (after ptype).
const rawHdr = 17

// Raw is a RAW frame for user tools (omxoed discovery, FMA), spec/wire.md
// §2.5. Body is everything after the packet type, padding included.
type Raw struct {
	Body []byte // frame[17:]; aliases the frame after decode
}

// Encode writes the raw frame into b and returns the frame length,
// max(60, 17+len(Body)). It fails if that exceeds RawMax.
func (p *Raw) Encode(b []byte, h Head, m Mode) (int, error) {
	content := rawHdr + len(p.Body)
	if content > RawMax {
		return 0, fmt.Errorf("wire: encode raw: %d-byte frame > %d: %w", content, RawMax, ErrLength)
	}
	n, err := start(b, h, TypeRaw, rawHdr, content, "raw")
	if err != nil {
		return 0, err
	}
	copy(b[rawHdr:], p.Body)
	finish(b, content, n)
	return n, nil
}

// DecodeRaw decodes a RAW frame. Receivers drop RAW frames above RawMax
// (spec/wire.md §2.5). Since the body is the rest of the frame, frames below
// MinFrame are rejected too: every sender pads to 60 and a shorter frame
// would not encode back to the same body.
func DecodeRaw(frame []byte, m Mode) (Head, Raw, error) {
	h, _, err := open(frame, "raw", MinFrame, TypeRaw)
	if err != nil {
		return Head{}, Raw{}, err
	}
	if len(frame) > RawMax {
		return Head{}, Raw{}, fmt.Errorf("wire: decode raw: %d-byte frame > %d: %w", len(frame), RawMax, ErrLength)
	}
	return h, Raw{Body: frame[rawHdr:len(frame):len(frame)]}, nil
}

// Frame offsets of the omxoed discovery packet, from Open-MX, tools/omxoed.c
// (spec/wire.md §6.6).
const (
	discoveryOffNICIDHi = 32 // BE32 nic_id >> 32
	discoveryOffNICIDLo = 36 // BE32 nic_id & 0xFFFFFFFF
	discoveryOffSerial  = 40 // BE32
	discoveryLen        = 64
	nicIDLimit          = 1 << 48
)

// Discovery is the payload of the omxoed dynamic discovery broadcast: a
// 64-byte RAW frame (spec/wire.md §6.6).
type Discovery struct {
	NICID  uint64 // the sending board's nic_id (its MAC as a 48-bit number)
	Serial uint32 // random number drawn when the sender started
}

// Encode writes the discovery frame with head h into b and returns the frame
// length (64). It fails if NICID does not fit 48 bits. Use EncodeDiscovery
// for the usual broadcast head.
func (d *Discovery) Encode(b []byte, h Head, m Mode) (int, error) {
	if d.NICID >= nicIDLimit {
		return 0, fmt.Errorf("wire: encode discovery: nic_id %#x wider than 48 bits: %w", d.NICID, ErrField)
	}
	n, err := start(b, h, TypeRaw, discoveryLen, discoveryLen, "discovery")
	if err != nil {
		return 0, err
	}
	put32(b, discoveryOffNICIDHi, uint32(d.NICID>>32))
	put32(b, discoveryOffNICIDLo, uint32(d.NICID))
	put32(b, discoveryOffSerial, d.Serial)
	return n, nil
}

// EncodeDiscovery writes the omxoed broadcast of board src into b: head
// dst ff:ff:ff:ff:ff:ff, source src, peer index 0. It returns the frame
// length (64).
func EncodeDiscovery(b []byte, src [6]byte, d Discovery) (int, error) {
	return d.Encode(b, Head{Dst: BroadcastMAC, Src: src}, Mode{})
}

// DecodeDiscovery decodes an omxoed discovery frame: a RAW frame accepted by
// DecodeRaw. Like omxoed it reads only nic_id and serial (the source MAC and
// the other fields are not validated), but it rejects a nic_id wider than 48
// bits, which names no MAC.
func DecodeDiscovery(frame []byte, m Mode) (Head, Discovery, error) {
	h, _, err := DecodeRaw(frame, m)
	if err != nil {
		return Head{}, Discovery{}, fmt.Errorf("wire: decode discovery: %w", err)
	}
	d := Discovery{
		NICID:  uint64(get32(frame, discoveryOffNICIDHi))<<32 | uint64(get32(frame, discoveryOffNICIDLo)),
		Serial: get32(frame, discoveryOffSerial),
	}
	if d.NICID >= nicIDLimit {
		return Head{}, Discovery{}, fmt.Errorf("wire: decode discovery: nic_id %#x wider than 48 bits: %w", d.NICID, ErrField)
	}
	return h, d, nil
}
