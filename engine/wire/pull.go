package wire

import "fmt"

// Frame offsets of PULL in native modes, from Open-MX, common/omx_wire.h,
// struct omx_pkt_pull_request (spec/wire.md §2.11).
const (
	pullOffDstEP            = 17
	pullOffSrcEP            = 18
	pullOffSession          = 20 // BE32
	pullOffTotalLength      = 24 // BE32
	pullOffRDMAID           = 28 // BE32 native, u8 mx-wire
	pullOffRDMASeq          = 32 // u8 native
	pullOffRDMAOffset       = 36 // BE32 native
	pullOffHandle           = 40 // BE32 src_pull_handle
	pullOffMagic            = 44 // BE32 src_magic
	pullOffFirstFrameOffset = 48 // BE32
	pullOffBlockLength      = 52 // BE32
	pullOffFrameIndex       = 56 // BE32
	pullHdr                 = 60 // exactly one minimal frame
)

// Frame offsets of PULL in mx-wire mode (MX field names in parentheses).
const (
	mxPullOffRDMAID           = 28 // u8
	mxPullOffRDMASeq          = 29 // u8
	mxPullOffRDMAOffset       = 30 // BE16
	mxPullOffHandle           = 32 // BE32 (src_send_handle)
	mxPullOffMagic            = 36 // BE32 (magic)
	mxPullOffFirstFrameOffset = 40 // BE16 (offset)
	mxPullOffBlockLength      = 42 // BE16 (pull_length)
	mxPullOffFrameIndex       = 44 // BE32 (index)
	mxPullHdr                 = 48
)

// Pull asks the large-message sender for one block of PULL_REPLY frames.
// Layouts from common/omx_wire.h (spec/wire.md §2.11, §3.5.4–§3.5.5): native
// frame exactly 60 bytes, mx-wire 48 → 60.
//
// RDMAID, RDMAOffset, FirstFrameOffset and BlockLength are uint32 because the
// native wire carries them as BE32; in mx-wire RDMAID is a u8 and the others
// BE16, and Encode fails on values that do not fit. RDMAID is not limited to
// 255 by the decoder: a larger native value names no region and deserves a
// NACK_MCP BAD_RDMAWIN from the engine, not a silent drop.
type Pull struct {
	DstEP            uint8  // large sender's endpoint
	SrcEP            uint8  // puller's endpoint
	Session          uint32 // large sender's session (puller's back session)
	TotalLength      uint32 // total bytes of the pull; not validated by the replier
	RDMAID           uint32 // pulled_rdma_id from the RNDV
	RDMASeq          uint8  // pulled_rdma_seqnum from the RNDV
	RDMAOffset       uint32 // pulled_rdma_offset from the RNDV
	Handle           uint32 // src_pull_handle, opaque, echoed
	Magic            uint32 // src_magic, opaque, echoed
	FirstFrameOffset uint32 // bytes to skip in the first frame of the block, < ReplyMax
	BlockLength      uint32 // bytes requested by this block
	FrameIndex       uint32 // index, in ReplyMax units, of the block's first frame in the pull
}

// Replies returns the number of PULL_REPLY frames that serve the block:
// ceil((FirstFrameOffset + BlockLength) / ReplyMax) (spec/wire.md §3.5.5).
func (p *Pull) Replies(m Mode) int {
	if m.ReplyMax <= 0 {
		return 0
	}
	total := uint64(p.FirstFrameOffset) + uint64(p.BlockLength)
	return int((total + uint64(m.ReplyMax) - 1) / uint64(m.ReplyMax))
}

// check validates the block geometry. The original replier drops a PULL
// needing more than PerBlock replies after its endpoint and session checks
// (§3.5.5 step 2), and never expects first_frame_offset ≥ ReplyMax (it is
// pulled_rdma_offset mod ReplyMax, §3.5.4) although it does not check it; a
// decoded Pull is always servable.
func (p *Pull) check(m Mode) error {
	if int64(p.FirstFrameOffset) >= int64(m.ReplyMax) {
		return fmt.Errorf("first_frame_offset %d ≥ %d: %w", p.FirstFrameOffset, m.ReplyMax, ErrField)
	}
	if r := p.Replies(m); r > m.PerBlock {
		return fmt.Errorf("block of %d bytes at offset %d needs %d replies > %d: %w",
			p.BlockLength, p.FirstFrameOffset, r, m.PerBlock, ErrLength)
	}
	return nil
}

// Encode writes the pull request into b and returns the frame length (60).
// It fails if the block needs more than PerBlock replies, FirstFrameOffset ≥
// ReplyMax, or, in mx-wire, RDMAID > 255 or RDMAOffset > 65535.
func (p *Pull) Encode(b []byte, h Head, m Mode) (int, error) {
	if err := p.check(m); err != nil {
		return 0, fmt.Errorf("wire: encode pull (%v): %w", m, err)
	}
	if !m.MXWire {
		n, err := start(b, h, TypePull, pullHdr, pullHdr, "pull")
		if err != nil {
			return 0, err
		}
		b[pullOffDstEP] = p.DstEP
		b[pullOffSrcEP] = p.SrcEP
		put32(b, pullOffSession, p.Session)
		put32(b, pullOffTotalLength, p.TotalLength)
		put32(b, pullOffRDMAID, p.RDMAID)
		b[pullOffRDMASeq] = p.RDMASeq
		put32(b, pullOffRDMAOffset, p.RDMAOffset)
		put32(b, pullOffHandle, p.Handle)
		put32(b, pullOffMagic, p.Magic)
		put32(b, pullOffFirstFrameOffset, p.FirstFrameOffset)
		put32(b, pullOffBlockLength, p.BlockLength)
		put32(b, pullOffFrameIndex, p.FrameIndex)
		return n, nil
	}
	if p.RDMAID > 0xFF || p.RDMAOffset > 0xFFFF {
		return 0, fmt.Errorf("wire: encode pull (mx-wire): rdma id %d / offset %d do not fit u8 / BE16: %w",
			p.RDMAID, p.RDMAOffset, ErrField)
	}
	n, err := start(b, h, TypePull, mxPullHdr, mxPullHdr, "pull")
	if err != nil {
		return 0, err
	}
	b[pullOffDstEP] = p.DstEP
	b[pullOffSrcEP] = p.SrcEP
	put32(b, pullOffSession, p.Session)
	put32(b, pullOffTotalLength, p.TotalLength)
	b[mxPullOffRDMAID] = uint8(p.RDMAID)
	b[mxPullOffRDMASeq] = p.RDMASeq
	put16(b, mxPullOffRDMAOffset, uint16(p.RDMAOffset))
	put32(b, mxPullOffHandle, p.Handle)
	put32(b, mxPullOffMagic, p.Magic)
	// Both fit BE16: first_frame_offset < ReplyMax (4096) and
	// first_frame_offset+block_length ≤ BlockMax (32768), checked above.
	put16(b, mxPullOffFirstFrameOffset, uint16(p.FirstFrameOffset))
	put16(b, mxPullOffBlockLength, uint16(p.BlockLength))
	put32(b, mxPullOffFrameIndex, p.FrameIndex)
	finish(b, mxPullHdr, n)
	return n, nil
}

// DecodePull decodes a PULL frame of the mode's layout. It rejects
// first_frame_offset ≥ ReplyMax and blocks needing more than PerBlock
// replies. Divergence: the original replier nacks a closed endpoint or a bad
// session before it drops an oversized block; here the oversized block is
// dropped first, so a malformed PULL gets no NACK_MCP.
func DecodePull(frame []byte, m Mode) (Head, Pull, error) {
	hdr := pullHdr
	if m.MXWire {
		hdr = mxPullHdr
	}
	h, _, err := open(frame, "pull", hdr, TypePull)
	if err != nil {
		return Head{}, Pull{}, err
	}
	p := Pull{
		DstEP:       frame[pullOffDstEP],
		SrcEP:       frame[pullOffSrcEP],
		Session:     get32(frame, pullOffSession),
		TotalLength: get32(frame, pullOffTotalLength),
	}
	if m.MXWire {
		p.RDMAID = uint32(frame[mxPullOffRDMAID])
		p.RDMASeq = frame[mxPullOffRDMASeq]
		p.RDMAOffset = uint32(get16(frame, mxPullOffRDMAOffset))
		p.Handle = get32(frame, mxPullOffHandle)
		p.Magic = get32(frame, mxPullOffMagic)
		p.FirstFrameOffset = uint32(get16(frame, mxPullOffFirstFrameOffset))
		p.BlockLength = uint32(get16(frame, mxPullOffBlockLength))
		p.FrameIndex = get32(frame, mxPullOffFrameIndex)
	} else {
		p.RDMAID = get32(frame, pullOffRDMAID)
		p.RDMASeq = frame[pullOffRDMASeq]
		p.RDMAOffset = get32(frame, pullOffRDMAOffset)
		p.Handle = get32(frame, pullOffHandle)
		p.Magic = get32(frame, pullOffMagic)
		p.FirstFrameOffset = get32(frame, pullOffFirstFrameOffset)
		p.BlockLength = get32(frame, pullOffBlockLength)
		p.FrameIndex = get32(frame, pullOffFrameIndex)
	}
	if err := p.check(m); err != nil {
		return Head{}, Pull{}, fmt.Errorf("wire: decode pull (%v): %w", m, err)
	}
	return h, p, nil
}

// Frame offsets of PULL_REPLY, from common/omx_wire.h, struct
// omx_pkt_pull_reply (spec/wire.md §2.12). Same in every mode.
const (
	pullReplyOffFrameSeq    = 17 // u8
	pullReplyOffFrameLength = 18 // BE16
	pullReplyOffMsgOffset   = 20 // BE32
	pullReplyOffHandle      = 24 // BE32 dst_pull_handle
	pullReplyOffMagic       = 28 // BE32 dst_magic
	pullReplyHdr            = 32
)

// PullReply carries pulled data to the puller. Layout from
// common/omx_wire.h (spec/wire.md §2.12); frame 32+FrameLength. It has no
// session and no endpoint: Handle and Magic identify the pull. The head
// PeerIndex is garbage in the original: receivers ignore it.
type PullReply struct {
	FrameSeq    uint8  // (frame_index of the block + i) mod 256
	FrameLength uint16 // payload bytes, ≤ ReplyMax; equals len(Data)
	MsgOffset   uint32 // offset of the payload in the pulled message
	Handle      uint32 // dst_pull_handle: echo of the PULL's src_pull_handle
	Magic       uint32 // dst_magic: echo of the PULL's src_magic
	Data        []byte // payload; aliases the frame after decode
}

// Encode writes the reply into b and returns the frame length. Data may
// already sit at b[32:]. It fails if FrameLength exceeds ReplyMax or differs
// from len(Data), or b is too small.
func (p *PullReply) Encode(b []byte, h Head, m Mode) (int, error) {
	if int(p.FrameLength) > m.ReplyMax {
		return 0, fmt.Errorf("wire: encode pull reply (%v): frame_length %d > %d: %w", m, p.FrameLength, m.ReplyMax, ErrLength)
	}
	if int(p.FrameLength) != len(p.Data) {
		return 0, fmt.Errorf("wire: encode pull reply: frame_length %d but %d data bytes: %w", p.FrameLength, len(p.Data), ErrLength)
	}
	content := pullReplyHdr + len(p.Data)
	n, err := start(b, h, TypePullReply, pullReplyHdr, content, "pull reply")
	if err != nil {
		return 0, err
	}
	b[pullReplyOffFrameSeq] = p.FrameSeq
	put16(b, pullReplyOffFrameLength, p.FrameLength)
	put32(b, pullReplyOffMsgOffset, p.MsgOffset)
	put32(b, pullReplyOffHandle, p.Handle)
	put32(b, pullReplyOffMagic, p.Magic)
	copy(b[pullReplyHdr:], p.Data)
	finish(b, content, n)
	return n, nil
}

// DecodePullReply decodes a PULL_REPLY frame. It rejects a frame_length
// beyond the frame (spec/wire.md §3.5.6) or above ReplyMax (a reply the
// puller's offset arithmetic cannot place).
func DecodePullReply(frame []byte, m Mode) (Head, PullReply, error) {
	h, _, err := open(frame, "pull reply", pullReplyHdr, TypePullReply)
	if err != nil {
		return Head{}, PullReply{}, err
	}
	p := PullReply{
		FrameSeq:    frame[pullReplyOffFrameSeq],
		FrameLength: get16(frame, pullReplyOffFrameLength),
		MsgOffset:   get32(frame, pullReplyOffMsgOffset),
		Handle:      get32(frame, pullReplyOffHandle),
		Magic:       get32(frame, pullReplyOffMagic),
	}
	end := pullReplyHdr + int(p.FrameLength)
	if end > len(frame) {
		return Head{}, PullReply{}, fmt.Errorf("wire: decode pull reply: frame_length %d exceeds the %d-byte frame: %w", p.FrameLength, len(frame), ErrLength)
	}
	if int(p.FrameLength) > m.ReplyMax {
		return Head{}, PullReply{}, fmt.Errorf("wire: decode pull reply (%v): frame_length %d > %d: %w", m, p.FrameLength, m.ReplyMax, ErrLength)
	}
	p.Data = frame[pullReplyHdr:end:end]
	return h, p, nil
}
