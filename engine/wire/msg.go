package wire

import "fmt"

// Frame offsets of the "msg" layout shared by TINY, SMALL and RNDV, from
// Open-MX, common/omx_wire.h, struct omx_pkt_msg (spec/wire.md §2.8).
const (
	msgOffDstEP    = 17
	msgOffSrcEP    = 18
	msgOffLength   = 20 // BE16
	msgOffChecksum = 22 // BE16, debug CRC only
	msgOffSeq      = 24 // BE16 lib_seqnum
	msgOffPiggyack = 26 // BE16 lib_piggyack
	msgOffMatch    = 28 // match_a, match_b
	msgOffSession  = 36 // BE32
	msgHdr         = 40 // TINY/SMALL data starts here
)

// Msg is a TINY (Type TypeTiny) or SMALL (TypeSmall) message: one sequenced
// packet carrying the whole payload inline. Layout from common/omx_wire.h,
// struct omx_pkt_msg (spec/wire.md §2.8, §3.3); frame length
// max(60, 40+Length).
type Msg struct {
	Type     Type // TypeTiny or TypeSmall
	DstEP    uint8
	SrcEP    uint8
	Length   uint16 // payload length: ≤ TinyMax (TINY), ≤ SmallMax (SMALL); equals len(Data)
	Checksum uint16 // debug CRC (spec/wire.md §3.6); receivers ignore it
	Seq      uint16 // lib_seqnum
	Piggyack uint16 // lib_piggyack: cumulative ack toward the receiver
	Match    uint64 // match_a<<32 | match_b
	Session  uint32 // destination endpoint's session
	Data     []byte // payload; aliases the frame after decode
}

func (p *Msg) check() error {
	limit := 0
	switch p.Type {
	case TypeTiny:
		limit = TinyMax
	case TypeSmall:
		limit = SmallMax
	default:
		return fmt.Errorf("packet type %v is not TINY or SMALL: %w", p.Type, ErrType)
	}
	if int(p.Length) > limit {
		return fmt.Errorf("%v length %d > %d: %w", p.Type, p.Length, limit, ErrLength)
	}
	return nil
}

// Encode writes the message into b and returns the frame length. It fails if
// Type is not TINY or SMALL, Length exceeds the limit of the type or differs
// from len(Data), or b is too small.
func (p *Msg) Encode(b []byte, h Head, m Mode) (int, error) {
	if err := p.check(); err != nil {
		return 0, fmt.Errorf("wire: encode msg: %w", err)
	}
	if int(p.Length) != len(p.Data) {
		return 0, fmt.Errorf("wire: encode %v: length %d but %d data bytes: %w", p.Type, p.Length, len(p.Data), ErrLength)
	}
	content := msgHdr + len(p.Data)
	n, err := start(b, h, p.Type, msgHdr, content, "msg")
	if err != nil {
		return 0, err
	}
	b[msgOffDstEP] = p.DstEP
	b[msgOffSrcEP] = p.SrcEP
	put16(b, msgOffLength, p.Length)
	put16(b, msgOffChecksum, p.Checksum)
	put16(b, msgOffSeq, p.Seq)
	put16(b, msgOffPiggyack, p.Piggyack)
	putMatch(b, msgOffMatch, p.Match)
	put32(b, msgOffSession, p.Session)
	copy(b[msgHdr:], p.Data)
	finish(b, content, n)
	return n, nil
}

// DecodeMsg decodes a TINY or SMALL frame. It rejects a length above the
// limit of the type (32, 128) or beyond the frame (spec/wire.md §2.16).
func DecodeMsg(frame []byte, m Mode) (Head, Msg, error) {
	h, t, err := open(frame, "msg", msgHdr, TypeTiny, TypeSmall)
	if err != nil {
		return Head{}, Msg{}, err
	}
	p := Msg{
		Type:     t,
		DstEP:    frame[msgOffDstEP],
		SrcEP:    frame[msgOffSrcEP],
		Length:   get16(frame, msgOffLength),
		Checksum: get16(frame, msgOffChecksum),
		Seq:      get16(frame, msgOffSeq),
		Piggyack: get16(frame, msgOffPiggyack),
		Match:    getMatch(frame, msgOffMatch),
		Session:  get32(frame, msgOffSession),
	}
	if err := p.check(); err != nil {
		return Head{}, Msg{}, fmt.Errorf("wire: decode msg: %w", err)
	}
	end := msgHdr + int(p.Length)
	if end > len(frame) {
		return Head{}, Msg{}, fmt.Errorf("wire: decode %v: length %d exceeds the %d-byte frame: %w", t, p.Length, len(frame), ErrLength)
	}
	p.Data = frame[msgHdr:end:end]
	return h, p, nil
}

// Frame offsets of MEDIUM, from common/omx_wire.h, struct omx_pkt_medium_frag
// (spec/wire.md §2.9). Bytes 17..39 are the msg layout, except length.
const (
	mediumOffLength     = 20 // BE32 native, BE16 mx-wire (then 2 pad bytes)
	mediumOffFragLength = 40 // BE16
	mediumOffFragSeq    = 42 // u8
	mediumOffPipeline   = 43 // u8: mx-wire frag_pipeline, native pad (garbage in the original)
	mediumOffChecksum   = 44 // BE16
	mediumHdr           = 48
)

// Medium is one fragment of a MEDIUM message. Layout from common/omx_wire.h,
// struct omx_pkt_medium_frag (spec/wire.md §2.9, §3.4); frame length
// 48+FragLength. All fragments of a message share Length, Seq, Piggyack,
// Match, Session and Checksum.
type Medium struct {
	DstEP      uint8
	SrcEP      uint8
	Length     uint32 // total message length (BE32 native, BE16 mx-wire), ≤ MediumMax
	Seq        uint16 // lib_seqnum of the message
	Piggyack   uint16
	Match      uint64
	Session    uint32
	FragLength uint16 // payload bytes in this frame; equals len(Data)
	FragSeq    uint8  // fragment number, < FragsMax
	Checksum   uint16 // debug CRC of the whole message; receivers ignore it
	Data       []byte // this fragment's payload; aliases the frame after decode
}

// Offset returns the message offset of the fragment's payload:
// FragSeq×FragMax native, FragSeq<<frag_pipeline (12) mx-wire.
func (p *Medium) Offset(m Mode) int { return m.mediumOffset(p.FragSeq) }

// check validates the fragment geometry. Fragment i of a message of length L
// carries exactly [i×FragMax, min(L, (i+1)×FragMax)) (spec/wire.md §3.4).
//
// Divergence: the original receiver only bounds frag_length by its ring entry
// size (§2.16) and checks the rest in debug builds; §3.4 asks to drop
// frag_length > FragMax, frag_seqnum ≥ FragsMax and offset+frag_length >
// length. We also require the exact fragment length (only the last fragment
// may be short) and length ≤ MediumMax: a fragment that breaks these can
// never complete a message (the receiver completes when the received lengths
// sum to length, and frag_seqnum is < FragsMax), and an unbounded BE32 length
// would make the receiver allocate up to 4 GiB.
func (p *Medium) check(m Mode) error {
	if int(p.FragSeq) >= m.FragsMax {
		return fmt.Errorf("frag_seqnum %d ≥ %d: %w", p.FragSeq, m.FragsMax, ErrField)
	}
	if int64(p.Length) > int64(m.MediumMax) {
		return fmt.Errorf("length %d > %d: %w", p.Length, m.MediumMax, ErrLength)
	}
	if int(p.FragLength) > m.FragMax {
		return fmt.Errorf("frag_length %d > %d: %w", p.FragLength, m.FragMax, ErrLength)
	}
	off := p.Offset(m)
	if off > int(p.Length) || (off == int(p.Length) && p.Length != 0) {
		return fmt.Errorf("fragment %d starts at %d, beyond length %d: %w", p.FragSeq, off, p.Length, ErrLength)
	}
	if want := min(m.FragMax, int(p.Length)-off); int(p.FragLength) != want {
		return fmt.Errorf("fragment %d of a %d-byte message has frag_length %d, want %d: %w",
			p.FragSeq, p.Length, p.FragLength, want, ErrLength)
	}
	return nil
}

// Encode writes the fragment into b and returns the frame length. Data may
// already sit at b[48:] (the copy is then a no-op). It fails if the fragment
// geometry is invalid for the mode (see DecodeMedium), FragLength differs
// from len(Data), or b is too small.
func (p *Medium) Encode(b []byte, h Head, m Mode) (int, error) {
	if err := p.check(m); err != nil {
		return 0, fmt.Errorf("wire: encode medium (%v): %w", m, err)
	}
	if int(p.FragLength) != len(p.Data) {
		return 0, fmt.Errorf("wire: encode medium: frag_length %d but %d data bytes: %w", p.FragLength, len(p.Data), ErrLength)
	}
	content := mediumHdr + len(p.Data)
	n, err := start(b, h, TypeMedium, mediumHdr, content, "medium")
	if err != nil {
		return 0, err
	}
	b[msgOffDstEP] = p.DstEP
	b[msgOffSrcEP] = p.SrcEP
	if m.MXWire {
		put16(b, mediumOffLength, uint16(p.Length)) // ≤ MediumMax (32768): fits
		b[mediumOffPipeline] = MXFragPipeline
	} else {
		put32(b, mediumOffLength, p.Length)
	}
	put16(b, msgOffSeq, p.Seq)
	put16(b, msgOffPiggyack, p.Piggyack)
	putMatch(b, msgOffMatch, p.Match)
	put32(b, msgOffSession, p.Session)
	put16(b, mediumOffFragLength, p.FragLength)
	b[mediumOffFragSeq] = p.FragSeq
	put16(b, mediumOffChecksum, p.Checksum)
	copy(b[mediumHdr:], p.Data)
	finish(b, content, n)
	return n, nil
}

// DecodeMedium decodes a MEDIUM fragment. Besides the frame bounds it rejects
// frag_length above FragMax (hence above the ring entry size of §2.16),
// frag_seqnum ≥ FragsMax, length above MediumMax, a fragment that is not
// exactly bytes [Offset, min(Length, Offset+FragMax)) of the message, and in
// mx-wire a frag_pipeline other than 12 (the offsets would not be ours).
func DecodeMedium(frame []byte, m Mode) (Head, Medium, error) {
	h, _, err := open(frame, "medium", mediumHdr, TypeMedium)
	if err != nil {
		return Head{}, Medium{}, err
	}
	p := Medium{
		DstEP:      frame[msgOffDstEP],
		SrcEP:      frame[msgOffSrcEP],
		Seq:        get16(frame, msgOffSeq),
		Piggyack:   get16(frame, msgOffPiggyack),
		Match:      getMatch(frame, msgOffMatch),
		Session:    get32(frame, msgOffSession),
		FragLength: get16(frame, mediumOffFragLength),
		FragSeq:    frame[mediumOffFragSeq],
		Checksum:   get16(frame, mediumOffChecksum),
	}
	if m.MXWire {
		p.Length = uint32(get16(frame, mediumOffLength))
		if pl := frame[mediumOffPipeline]; pl != MXFragPipeline {
			return Head{}, Medium{}, fmt.Errorf("wire: decode medium: frag_pipeline %d, want %d: %w", pl, MXFragPipeline, ErrField)
		}
	} else {
		p.Length = get32(frame, mediumOffLength)
	}
	end := mediumHdr + int(p.FragLength)
	if end > len(frame) {
		return Head{}, Medium{}, fmt.Errorf("wire: decode medium: frag_length %d exceeds the %d-byte frame: %w", p.FragLength, len(frame), ErrLength)
	}
	if err := p.check(m); err != nil {
		return Head{}, Medium{}, fmt.Errorf("wire: decode medium (%v): %w", m, err)
	}
	p.Data = frame[mediumHdr:end:end]
	return h, p, nil
}

// Frame offsets of the RNDV data following the msg layout, from
// common/omx_wire.h, struct omx_pkt_rndv_data (spec/wire.md §2.10).
const (
	rndvOffMsgLength  = 40 // BE32
	rndvOffRDMAID     = 44 // u8
	rndvOffRDMASeq    = 45 // u8
	rndvOffRDMAOffset = 46 // BE16
	rndvHdr           = 48
	rndvDataLen       = 8 // msg length field of a RNDV
)

// Rndv is the rendezvous of a large message: a sequenced msg packet (length
// field 8) followed by the region description. Layout from common/omx_wire.h
// (spec/wire.md §2.10, §3.5); frame 48 → 60.
type Rndv struct {
	DstEP      uint8
	SrcEP      uint8
	Seq        uint16
	Piggyack   uint16
	Match      uint64
	Session    uint32
	Checksum   uint16 // debug CRC of the whole large message
	MsgLength  uint32 // total length of the large message
	RDMAID     uint8  // pulled_rdma_id: the sender's region
	RDMASeq    uint8  // pulled_rdma_seqnum: the region's use counter
	RDMAOffset uint16 // pulled_rdma_offset: 0 from Open-MX; receivers honour it
}

// Encode writes the rendezvous into b and returns the frame length (60).
func (p *Rndv) Encode(b []byte, h Head, m Mode) (int, error) {
	n, err := start(b, h, TypeRndv, rndvHdr, rndvHdr, "rndv")
	if err != nil {
		return 0, err
	}
	b[msgOffDstEP] = p.DstEP
	b[msgOffSrcEP] = p.SrcEP
	put16(b, msgOffLength, rndvDataLen)
	put16(b, msgOffChecksum, p.Checksum)
	put16(b, msgOffSeq, p.Seq)
	put16(b, msgOffPiggyack, p.Piggyack)
	putMatch(b, msgOffMatch, p.Match)
	put32(b, msgOffSession, p.Session)
	put32(b, rndvOffMsgLength, p.MsgLength)
	b[rndvOffRDMAID] = p.RDMAID
	b[rndvOffRDMASeq] = p.RDMASeq
	put16(b, rndvOffRDMAOffset, p.RDMAOffset)
	finish(b, rndvHdr, n)
	return n, nil
}

// DecodeRndv decodes a RNDV frame. It rejects a msg length field below 8
// (spec/wire.md §2.16); a larger value is accepted, as by the original.
func DecodeRndv(frame []byte, m Mode) (Head, Rndv, error) {
	h, _, err := open(frame, "rndv", rndvHdr, TypeRndv)
	if err != nil {
		return Head{}, Rndv{}, err
	}
	if l := get16(frame, msgOffLength); l < rndvDataLen {
		return Head{}, Rndv{}, fmt.Errorf("wire: decode rndv: length %d < %d: %w", l, rndvDataLen, ErrLength)
	}
	return h, Rndv{
		DstEP:      frame[msgOffDstEP],
		SrcEP:      frame[msgOffSrcEP],
		Seq:        get16(frame, msgOffSeq),
		Piggyack:   get16(frame, msgOffPiggyack),
		Match:      getMatch(frame, msgOffMatch),
		Session:    get32(frame, msgOffSession),
		Checksum:   get16(frame, msgOffChecksum),
		MsgLength:  get32(frame, rndvOffMsgLength),
		RDMAID:     frame[rndvOffRDMAID],
		RDMASeq:    frame[rndvOffRDMASeq],
		RDMAOffset: get16(frame, rndvOffRDMAOffset),
	}, nil
}

// Frame offsets of NOTIFY, from common/omx_wire.h, struct omx_pkt_notify
// (spec/wire.md §2.13).
const (
	notifyOffDstEP       = 17
	notifyOffSrcEP       = 18
	notifyOffSession     = 20 // BE32
	notifyOffTotalLength = 24 // BE32
	notifyOffRDMAID      = 28 // u8
	notifyOffRDMASeq     = 29 // u8
	notifyOffSeq         = 34 // BE16
	notifyOffPiggyack    = 36 // BE16
	notifyHdr            = 40
)

// Notify tells the large-message sender that the pull is over: sequenced,
// sent by the receiver. Layout from common/omx_wire.h, struct omx_pkt_notify
// (spec/wire.md §2.13); frame 40 → 60.
type Notify struct {
	DstEP       uint8  // large sender's endpoint
	SrcEP       uint8  // large receiver's endpoint
	Session     uint32 // large sender's session (notifier's back session)
	TotalLength uint32 // bytes transferred; 0 on pull failure or discard
	RDMAID      uint8  // from the RNDV
	RDMASeq     uint8  // from the RNDV
	Seq         uint16
	Piggyack    uint16
}

// Encode writes the notify into b and returns the frame length (60).
func (p *Notify) Encode(b []byte, h Head, m Mode) (int, error) {
	n, err := start(b, h, TypeNotify, notifyHdr, notifyHdr, "notify")
	if err != nil {
		return 0, err
	}
	b[notifyOffDstEP] = p.DstEP
	b[notifyOffSrcEP] = p.SrcEP
	put32(b, notifyOffSession, p.Session)
	put32(b, notifyOffTotalLength, p.TotalLength)
	b[notifyOffRDMAID] = p.RDMAID
	b[notifyOffRDMASeq] = p.RDMASeq
	put16(b, notifyOffSeq, p.Seq)
	put16(b, notifyOffPiggyack, p.Piggyack)
	finish(b, notifyHdr, n)
	return n, nil
}

// DecodeNotify decodes a NOTIFY frame.
func DecodeNotify(frame []byte, m Mode) (Head, Notify, error) {
	h, _, err := open(frame, "notify", notifyHdr, TypeNotify)
	if err != nil {
		return Head{}, Notify{}, err
	}
	return h, Notify{
		DstEP:       frame[notifyOffDstEP],
		SrcEP:       frame[notifyOffSrcEP],
		Session:     get32(frame, notifyOffSession),
		TotalLength: get32(frame, notifyOffTotalLength),
		RDMAID:      frame[notifyOffRDMAID],
		RDMASeq:     frame[notifyOffRDMASeq],
		Seq:         get16(frame, notifyOffSeq),
		Piggyack:    get16(frame, notifyOffPiggyack),
	}, nil
}
