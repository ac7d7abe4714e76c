package wire

import "fmt"

// Frame offsets of CONNECT, from Open-MX, common/omx_wire.h, struct
// omx_pkt_connect and the request/reply data that follows it (spec/wire.md
// §2.7).
const (
	connectOffDstEP         = 17
	connectOffSrcEP         = 18
	connectOffLength        = 20 // u8 connect data length, 16
	connectOffSeq           = 24 // BE16 lib_seqnum, always 0
	connectOffPeerIndex     = 26 // BE16 src_dst_peer_index
	connectOffSrcSession    = 32 // BE32
	connectOffAppKey        = 36 // BE32 app_key (request) / target_session_id (reply)
	connectOffRecvSeqStart  = 40 // BE16 target_recv_seqnum_start
	connectOffIsReply       = 42 // u8
	connectOffConnectSeq    = 43 // u8
	connectOffStatus        = 44 // u8, reply only
	connectHdr              = 48
	connectDataLen          = 16
	connectOffTargetSession = connectOffAppKey
)

// Connect is a CONNECT request (IsReply false) or reply (IsReply true).
// Layout from common/omx_wire.h (spec/wire.md §2.7, §5); frame 48 → 60.
// Request-only fields (AppKey) must be zero in a reply and reply-only fields
// (TargetSession, Status) zero in a request: they share bytes on the wire.
type Connect struct {
	DstEP              uint8
	SrcEP              uint8
	Seq                uint16 // lib_seqnum, always 0 in Open-MX (echoed by NACK_LIB)
	SrcDstPeerIndex    uint16 // the destination host's index in the sender's peer table
	IsReply            bool
	SrcSession         uint32 // request: requester's session; reply: echo of it
	AppKey             uint32 // request only: the connection key
	TargetSession      uint32 // reply only: the replier's session
	TargetRecvSeqStart uint16 // sender's next expected receive seqnum for this partner
	ConnectSeq         uint8  // connect attempt number (echoed by the reply)
	Status             uint8  // reply only: 0 success, ConnectBadKey (11) bad key
}

// Encode writes the connect into b and returns the frame length (60). It
// fails if a field of the other variant is set (it would be lost).
func (p *Connect) Encode(b []byte, h Head, m Mode) (int, error) {
	if p.IsReply && p.AppKey != 0 {
		return 0, fmt.Errorf("wire: encode connect reply: app_key %#x set: %w", p.AppKey, ErrField)
	}
	if !p.IsReply && (p.TargetSession != 0 || p.Status != 0) {
		return 0, fmt.Errorf("wire: encode connect request: target_session %#x / status %d set: %w",
			p.TargetSession, p.Status, ErrField)
	}
	n, err := start(b, h, TypeConnect, connectHdr, connectHdr, "connect")
	if err != nil {
		return 0, err
	}
	b[connectOffDstEP] = p.DstEP
	b[connectOffSrcEP] = p.SrcEP
	b[connectOffLength] = connectDataLen
	put16(b, connectOffSeq, p.Seq)
	put16(b, connectOffPeerIndex, p.SrcDstPeerIndex)
	put32(b, connectOffSrcSession, p.SrcSession)
	put16(b, connectOffRecvSeqStart, p.TargetRecvSeqStart)
	b[connectOffConnectSeq] = p.ConnectSeq
	if p.IsReply {
		put32(b, connectOffTargetSession, p.TargetSession)
		b[connectOffIsReply] = 1
		b[connectOffStatus] = p.Status
	} else {
		put32(b, connectOffAppKey, p.AppKey)
	}
	finish(b, connectHdr, n)
	return n, nil
}

// DecodeConnect decodes a CONNECT frame. It rejects a connect data length
// below 16 (spec/wire.md §2.16). Any non-zero is_reply byte means a reply, as
// the original tests it as a boolean. The status is returned as is: replies
// with a status other than 0 or 11 are the engine's to ignore.
func DecodeConnect(frame []byte, m Mode) (Head, Connect, error) {
	h, _, err := open(frame, "connect", connectHdr, TypeConnect)
	if err != nil {
		return Head{}, Connect{}, err
	}
	if l := frame[connectOffLength]; l < connectDataLen {
		return Head{}, Connect{}, fmt.Errorf("wire: decode connect: length %d < %d: %w", l, connectDataLen, ErrLength)
	}
	p := Connect{
		DstEP:              frame[connectOffDstEP],
		SrcEP:              frame[connectOffSrcEP],
		Seq:                get16(frame, connectOffSeq),
		SrcDstPeerIndex:    get16(frame, connectOffPeerIndex),
		IsReply:            frame[connectOffIsReply] != 0,
		SrcSession:         get32(frame, connectOffSrcSession),
		TargetRecvSeqStart: get16(frame, connectOffRecvSeqStart),
		ConnectSeq:         frame[connectOffConnectSeq],
	}
	if p.IsReply {
		p.TargetSession = get32(frame, connectOffTargetSession)
		p.Status = frame[connectOffStatus]
	} else {
		p.AppKey = get32(frame, connectOffAppKey)
	}
	return h, p, nil
}

// Frame offsets of TRUC with liback data, from common/omx_wire.h, struct
// omx_pkt_truc and struct omx__truc_ack_data (spec/wire.md §2.6).
const (
	trucOffDstEP     = 17
	trucOffSrcEP     = 18
	trucOffLength    = 20 // u8 truc data length, 16
	trucOffSession   = 24 // BE32
	trucOffType      = 28 // u8, TrucAck
	trucOffSeq       = 30 // BE16 lib_seqnum: the cumulative ack
	trucOffSessionID = 32 // BE32, same as session
	trucOffAckNum    = 36 // BE32
	trucOffSendSeq   = 40 // BE16, same as lib_seqnum
	trucOffResent    = 42 // u8, 0
	trucHdr          = 44
	trucDataLen      = 16
)

// Truc is an explicit library ack (TRUC of type 0x55, "liback"). Layout from
// common/omx_wire.h (spec/wire.md §2.6, §4.5); frame 44 → 60. Encode writes
// send_seq equal to AckSeq and resent 0, as the original does; decode ignores
// both.
type Truc struct {
	DstEP   uint8
	SrcEP   uint8
	Session uint32 // destination endpoint's session, written at body 8 and body 16
	AckSeq  uint16 // lib_seqnum: every seqnum strictly before it is received
	AckNum  uint32 // explicit ack counter; receivers ignore non-increasing values
}

// Encode writes the ack into b and returns the frame length (60).
func (p *Truc) Encode(b []byte, h Head, m Mode) (int, error) {
	n, err := start(b, h, TypeTruc, trucHdr, trucHdr, "truc")
	if err != nil {
		return 0, err
	}
	b[trucOffDstEP] = p.DstEP
	b[trucOffSrcEP] = p.SrcEP
	b[trucOffLength] = trucDataLen
	put32(b, trucOffSession, p.Session)
	b[trucOffType] = TrucAck
	put16(b, trucOffSeq, p.AckSeq)
	put32(b, trucOffSessionID, p.Session)
	put32(b, trucOffAckNum, p.AckNum)
	put16(b, trucOffSendSeq, p.AckSeq)
	finish(b, trucHdr, n)
	return n, nil
}

// DecodeTruc decodes a TRUC frame. It rejects a truc data length below 16, a
// truc type other than 0x55 (the only one defined) and a session_id that
// differs from the session (spec/wire.md §2.16).
func DecodeTruc(frame []byte, m Mode) (Head, Truc, error) {
	h, _, err := open(frame, "truc", trucHdr, TypeTruc)
	if err != nil {
		return Head{}, Truc{}, err
	}
	if l := frame[trucOffLength]; l < trucDataLen {
		return Head{}, Truc{}, fmt.Errorf("wire: decode truc: length %d < %d: %w", l, trucDataLen, ErrLength)
	}
	if t := frame[trucOffType]; t != TrucAck {
		return Head{}, Truc{}, fmt.Errorf("wire: decode truc: data type %#02x, want %#02x: %w", t, TrucAck, ErrField)
	}
	p := Truc{
		DstEP:   frame[trucOffDstEP],
		SrcEP:   frame[trucOffSrcEP],
		Session: get32(frame, trucOffSession),
		AckSeq:  get16(frame, trucOffSeq),
		AckNum:  get32(frame, trucOffAckNum),
	}
	if id := get32(frame, trucOffSessionID); id != p.Session {
		return Head{}, Truc{}, fmt.Errorf("wire: decode truc: session_id %#x differs from session %#x: %w", id, p.Session, ErrField)
	}
	return h, p, nil
}
