package wire

import "fmt"

// Frame offsets of NACK_LIB, from Open-MX, common/omx_wire.h, struct
// omx_pkt_nack_lib (spec/wire.md §2.14). Unlike the other types, the
// src_endpoint comes first (body 1) and dst_endpoint later (body 9).
const (
	nackLibOffSrcEP     = 17 // u8: endpoint targeted by the nacked packet
	nackLibOffType      = 19 // u8 nack_type
	nackLibOffDstEP     = 25 // u8: the nacked packet's src_endpoint
	nackLibOffPeerIndex = 26 // BE16: copy of the nacked packet's head peer index
	nackLibOffSeq       = 28 // BE16: the nacked packet's lib_seqnum
	nackLibHdr          = 32
)

// NackLib is the negative ack of a library packet (CONNECT, TINY, SMALL,
// MEDIUM, RNDV, NOTIFY). Layout from common/omx_wire.h (spec/wire.md §2.14,
// §4.7); frame 32 → 60.
type NackLib struct {
	SrcEP     uint8  // the endpoint targeted by the nacked packet (its dst_endpoint)
	Nack      Nack   // BAD_ENDPT, ENDPT_CLOSED or BAD_SESSION
	DstEP     uint8  // the nacked packet's src_endpoint
	PeerIndex uint16 // dst_src_peer_index copied from the nacked packet's head
	Seq       uint16 // the nacked packet's lib_seqnum (0 for CONNECT)
}

func (p *NackLib) check() error {
	if p.Nack < NackBadEndpoint || p.Nack > NackBadSession {
		return fmt.Errorf("nack type %d: %w", uint8(p.Nack), ErrField)
	}
	return nil
}

// Encode writes the nack into b and returns the frame length (60). It fails
// if Nack is not BAD_ENDPT, ENDPT_CLOSED or BAD_SESSION.
func (p *NackLib) Encode(b []byte, h Head, m Mode) (int, error) {
	if err := p.check(); err != nil {
		return 0, fmt.Errorf("wire: encode nack lib: %w", err)
	}
	n, err := start(b, h, TypeNackLib, nackLibHdr, nackLibHdr, "nack lib")
	if err != nil {
		return 0, err
	}
	b[nackLibOffSrcEP] = p.SrcEP
	b[nackLibOffType] = uint8(p.Nack)
	b[nackLibOffDstEP] = p.DstEP
	put16(b, nackLibOffPeerIndex, p.PeerIndex)
	put16(b, nackLibOffSeq, p.Seq)
	finish(b, nackLibHdr, n)
	return n, nil
}

// DecodeNackLib decodes a NACK_LIB frame. It rejects nack types other than
// 1..3: the original library aborts on them, spec/wire.md §4.7 asks to drop.
func DecodeNackLib(frame []byte, m Mode) (Head, NackLib, error) {
	h, _, err := open(frame, "nack lib", nackLibHdr, TypeNackLib)
	if err != nil {
		return Head{}, NackLib{}, err
	}
	p := NackLib{
		SrcEP:     frame[nackLibOffSrcEP],
		Nack:      Nack(frame[nackLibOffType]),
		DstEP:     frame[nackLibOffDstEP],
		PeerIndex: get16(frame, nackLibOffPeerIndex),
		Seq:       get16(frame, nackLibOffSeq),
	}
	if err := p.check(); err != nil {
		return Head{}, NackLib{}, fmt.Errorf("wire: decode nack lib: %w", err)
	}
	return h, p, nil
}

// Frame offsets of NACK_MCP, from common/omx_wire.h, struct omx_pkt_nack_mcp
// (spec/wire.md §2.15).
const (
	nackMCPOffSrcEP  = 17 // u8: the PULL's src_endpoint (informative)
	nackMCPOffType   = 19 // u8 nack_type
	nackMCPOffHandle = 24 // BE32: echo of src_pull_handle
	nackMCPOffMagic  = 28 // BE32: echo of src_magic
	nackMCPHdr       = 32
)

// NackMCP is the negative ack of a PULL. Layout from common/omx_wire.h
// (spec/wire.md §2.15, §4.8); frame 32 → 60.
type NackMCP struct {
	SrcEP  uint8 // the PULL's src_endpoint (the puller's own index); informative
	Nack   Nack  // BAD_ENDPT, ENDPT_CLOSED, BAD_SESSION or BAD_RDMAWIN
	Handle uint32
	Magic  uint32
}

func (p *NackMCP) check() error {
	if p.Nack < NackBadEndpoint || p.Nack > NackBadRDMAWin {
		return fmt.Errorf("nack type %d: %w", uint8(p.Nack), ErrField)
	}
	return nil
}

// Encode writes the nack into b and returns the frame length (60). It fails
// if Nack is not one of the four defined types.
func (p *NackMCP) Encode(b []byte, h Head, m Mode) (int, error) {
	if err := p.check(); err != nil {
		return 0, fmt.Errorf("wire: encode nack mcp: %w", err)
	}
	n, err := start(b, h, TypeNackMCP, nackMCPHdr, nackMCPHdr, "nack mcp")
	if err != nil {
		return 0, err
	}
	b[nackMCPOffSrcEP] = p.SrcEP
	b[nackMCPOffType] = uint8(p.Nack)
	put32(b, nackMCPOffHandle, p.Handle)
	put32(b, nackMCPOffMagic, p.Magic)
	finish(b, nackMCPHdr, n)
	return n, nil
}

// DecodeNackMCP decodes a NACK_MCP frame. It rejects nack types other than
// 1..4.
func DecodeNackMCP(frame []byte, m Mode) (Head, NackMCP, error) {
	h, _, err := open(frame, "nack mcp", nackMCPHdr, TypeNackMCP)
	if err != nil {
		return Head{}, NackMCP{}, err
	}
	p := NackMCP{
		SrcEP:  frame[nackMCPOffSrcEP],
		Nack:   Nack(frame[nackMCPOffType]),
		Handle: get32(frame, nackMCPOffHandle),
		Magic:  get32(frame, nackMCPOffMagic),
	}
	if err := p.check(); err != nil {
		return Head{}, NackMCP{}, fmt.Errorf("wire: decode nack mcp: %w", err)
	}
	return h, p, nil
}
