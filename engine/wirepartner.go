package engine

// Per-partner state of the Open-MX reliability protocol (spec/wire.md §4.2,
// mirrors struct omx__partner of libopen-mx/omx_types.h). Guarded by the
// endpoint lock.
//
// Divergence: the receiver matches a medium message once all its fragments
// arrived (the original matches at the first fragment and fills the
// receive buffer as fragments come). Later messages wait in the early queue
// meanwhile, so matching order, acks and the wire are unchanged; only the
// moment the unexpected handler runs differs, and multi-fragment mediums
// never offer data to it anyway.

import (
	"time"

	"github.com/open-mx-go/open-mx-go/engine/wire"
)

const (
	unknownSession = 0xffffffff
	unsetSeq       = 0xffff
	earlyWindow    = 255
	throttleWindow = 0x3fff / 2
)

// wireState is the protocol state of a remote partner.
type wireState struct {
	mac      [6]byte
	reverse  uint16 // our index in the partner host's peer table (head of every frame we send)
	peerIdx  uint16 // its index in our table (src_dst_peer_index of CONNECT)
	trueSess uint32 // remote session for forward traffic
	backSess uint32 // remote session for back traffic (TRUC, PULL, NOTIFY)

	sendSeqSet bool
	nextSend   wire.Seq
	nextAcked  wire.Seq
	nonAcked   []*wireSend // in seq order
	throttled  []*wireSend // waiting for the window (no seqnum yet)

	nextRecv      wire.Seq // next seqnum to match (== next_frag_recv_seq here)
	lastAckedRecv wire.Seq
	unackedFrames int       // frames received since the last ack we sent
	ackDue        time.Time // delayed ack deadline (zero: none pending; ackUnstamped: set at the next timer pass)
	lastSendAck   uint32
	lastRecvAck   uint32
	early         []earlyFrame
	earlyBytes    int
	asm           *mediumAsm // the partially received medium of seq nextRecv

	connectSeq uint8
	connects   []*Request // pending connect requests

	path pathState // round trip and windows (wirecc.go)

	// closed: the remote endpoint said it closed (NACK ENDPT_CLOSED);
	// sends fail at once until it connects again with a new session.
	closed bool
	// goneCheck: last time a same-host partner's process was looked for.
	goneCheck time.Time
	// lastActive: the timer pass's time when a frame last came from the
	// partner or it last had work (wirereclaim.go).
	lastActive time.Time
}

func newWireState(mac [6]byte, peerIdx uint16) *wireState {
	w := &wireState{mac: mac, peerIdx: peerIdx, reverse: wire.UnknownPeerIndex}
	w.path.init()
	w.reset(0)
	return w
}

// reset puts the partner back in its fresh state with receive sesnum ses.
func (w *wireState) reset(ses uint16) {
	w.trueSess, w.backSess = unknownSession, unknownSession
	w.sendSeqSet = false
	w.nextSend, w.nextAcked = unsetSeq, unsetSeq
	w.nonAcked = nil
	w.path.resetSeq()
	w.nextRecv = wire.FirstSeq(ses)
	w.lastAckedRecv, w.unackedFrames = w.nextRecv, 0
	w.ackDue = time.Time{}
	w.lastSendAck, w.lastRecvAck = 0, 0
	w.early = nil
	w.asm = nil
	w.closed = false
}

// earlyFrame is an out-of-order sequenced frame kept for later.
type earlyFrame struct {
	seq   wire.Seq
	frag  int
	local bool // came through the same-host link
	frame []byte
}

// mediumAsm gathers the fragments of one medium message.
type mediumAsm struct {
	length uint32
	data   []byte
	got    uint32 // bitmask of received fragments
	bytes  uint32
	head   wire.Medium // first fragment's fields (match, src, ...)
}

// wireSend is one sequenced packet (or medium message) awaiting its ack.
type wireSend struct {
	seq       wire.Seq
	typ       wire.Type
	req       *Request // the application request (nil: internal, e.g. NOTIFY)
	data      []byte   // payload copy (tiny/small/medium)
	match     uint64
	rndv      *wireRndv // RNDV: what to announce
	notify    *wire.Notify
	lastSend  time.Time // last transmission (unstamped: since the last timer pass)
	firstSend time.Time // first transmission (unstamped until the next timer pass)
	sends     uint32    // transmissions so far
	budget    uint32    // resend delays the packet may stay unacked (0xffffffff: forever)
	frames    uint16    // frames it takes on the wire
	acked     bool
	zombie    bool // the request completed early, before this ack
	small     [wire.SmallMax]byte
	buf       []byte // payload buffer kept when the packet is reused (medium)
}

// wireRndv is a large send as the sender keeps it: the region the receiver
// pulls from.
type wireRndv struct {
	region  uint8
	regSeq  uint8
	length  uint32
	segs    [][]byte
	req     *Request
	partner *Partner
	acked   bool // RNDV acked
	xfer    uint32
	done    bool // NOTIFY received
}
