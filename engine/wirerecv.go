package engine

// Reception of sequenced packets: ordering, duplicate suppression, early
// packets and acknowledgements (spec/wire.md §4.4–§4.6; mirrors
// libopen-mx/omx_recv.c, omx_ack.c).

import (
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// seqFrame is the common part of a decoded sequenced packet.
type seqFrame struct {
	typ     wire.Type
	head    wire.Head
	srcEP   uint8
	seq     wire.Seq
	piggy   wire.Seq
	session uint32
	msg     wire.Msg
	medium  wire.Medium
	rndv    wire.Rndv
	notify  wire.Notify

	local     bool   // came through the same-host link
	localPID  uint32 // same-host RNDV: the sender's process and buffer
	localAddr uint64
}

// decodeSequenced decodes frame into f, which must be zero (filled in
// place: the frame structure is large).
//
// The same-host rendezvous extension is read only from frames of the
// same-host link (local); its pid is checked when the message is pulled.
func (ep *Endpoint) decodeSequenced(f *seqFrame, t wire.Type, frame []byte, local bool) error {
	f.typ, f.local = t, local
	var err error
	m := ep.net.mode
	switch t {
	case wire.TypeTiny, wire.TypeSmall:
		f.head, f.msg, err = wire.DecodeMsg(frame, m)
		f.srcEP, f.seq, f.piggy, f.session = f.msg.SrcEP, wire.Seq(f.msg.Seq), wire.Seq(f.msg.Piggyack), f.msg.Session
	case wire.TypeMedium:
		f.head, f.medium, err = wire.DecodeMedium(frame, m)
		f.srcEP, f.seq, f.piggy, f.session = f.medium.SrcEP, wire.Seq(f.medium.Seq), wire.Seq(f.medium.Piggyack), f.medium.Session
	case wire.TypeRndv:
		f.head, f.rndv, err = wire.DecodeRndv(frame, m)
		f.srcEP, f.seq, f.piggy, f.session = f.rndv.SrcEP, wire.Seq(f.rndv.Seq), wire.Seq(f.rndv.Piggyack), f.rndv.Session
		if local && f.head.Src == ep.net.mac {
			f.localPID, f.localAddr, _ = wire.RndvLocal(frame)
		}
	case wire.TypeNotify:
		f.head, f.notify, err = wire.DecodeNotify(frame, m)
		f.srcEP, f.seq, f.piggy, f.session = f.notify.SrcEP, wire.Seq(f.notify.Seq), wire.Seq(f.notify.Piggyack), f.notify.Session
	}
	return err
}

// wirePartnerFrom returns the partner that sent a frame: identified by the
// source MAC (robust, spec/wire.md §6.3) and its endpoint index.
// A partner reclaimed while idle comes back from its tomb.
func (ep *Endpoint) wirePartnerFrom(src [6]byte, srcEP uint8) *Partner {
	k := partnerKey{macToNIC(src), uint32(srcEP)}
	p := ep.mu.partners[k]
	if p == nil || p.w == nil {
		if _, ok := ep.net.tombs[k]; !ok {
			return nil
		}
		if p = ep.wirePartnerLocked(k.nicID, k.index, true); p == nil {
			return nil
		}
	}
	p.w.lastActive = ep.net.coarseNow
	return p
}

func macToNIC(m [6]byte) uint64 {
	return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
}

func nicToMAC(n uint64) [6]byte {
	return [6]byte{byte(n >> 40), byte(n >> 32), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

// sequencedLocked handles a TINY, SMALL, MEDIUM, RNDV or NOTIFY frame.
func (ep *Endpoint) sequencedLocked(t wire.Type, frame []byte, local bool) {
	var f seqFrame
	if err := ep.decodeSequenced(&f, t, frame, local); err != nil {
		ep.counters.Inc(DropBadDataLen)
		return
	}
	switch t {
	case wire.TypeTiny:
		ep.counters.Inc(RecvTiny)
	case wire.TypeSmall:
		ep.counters.Inc(RecvSmall)
	case wire.TypeMedium:
		ep.counters.Inc(RecvMediumFrag)
	case wire.TypeRndv:
		ep.counters.Inc(RecvRndv)
	case wire.TypeNotify:
		ep.counters.Inc(RecvNotify)
	}
	if f.session != ep.session {
		ep.counters.Inc(DropBadSession)
		ep.sendNackLibLocked(f.head, f.srcEP, uint16(f.seq), wire.NackBadSession)
		return
	}
	p := ep.wirePartnerFrom(f.head.Src, f.srcEP)
	if p == nil {
		ep.counters.Inc(DropBadPeerAddr)
		return
	}
	w := p.w
	if f.seq.Session() != w.nextRecv.Session() {
		return // obsolete session
	}
	if w.sendSeqSet && f.piggy.Session() != w.nextSend.Session() {
		return
	}
	ep.handleAckLocked(p, f.piggy, false)
	d := f.seq.Sub(w.nextRecv)
	switch {
	case d == 0:
		if ep.acceptLocked(p, &f) {
			ep.drainEarlyLocked(p)
		}
	case d <= earlyWindow:
		if ep.keepEarlyLocked(w, &f, frame) {
			// Ahead of a gap: tell the sender at once what we still miss
			// (its fast retransmit, wirecc.go), once per packet.
			ep.sendAckLocked(p)
		}
	default:
		// Already received: our ack was probably lost (the sender
		// retransmits only its oldest unacked packet, wirecc.go), so
		// ack again, once per packet (not per medium fragment).
		if f.typ != wire.TypeMedium || f.medium.FragSeq == 0 {
			ep.sendAckLocked(p)
		}
	}
}

// keepEarlyLocked stores an out-of-order frame (sorted by seqnum, then
// fragment; exact duplicates dropped), within the bounds of bounds.go. It
// reports whether the frame is the first one kept of its packet.
func (ep *Endpoint) keepEarlyLocked(w *wireState, f *seqFrame, frame []byte) bool {
	frag := 0
	if f.typ == wire.TypeMedium {
		frag = int(f.medium.FragSeq)
	}
	d := f.seq.Sub(w.nextRecv)
	i := 0
	first := true
	for ; i < len(w.early); i++ {
		e := w.early[i]
		ed := e.seq.Sub(w.nextRecv)
		if ed == d && e.frag == frag {
			return false
		}
		if ed > d || (ed == d && e.frag > frag) {
			break
		}
		first = first && ed != d
	}
	if i < len(w.early) && w.early[i].seq.Sub(w.nextRecv) == d {
		first = false
	}
	if !ep.roomForEarlyLocked(w, d, len(frame)) {
		return false
	}
	i = min(i, len(w.early)) // room may have been made at the tail
	e := earlyFrame{seq: f.seq, frag: frag, local: f.local, frame: append([]byte(nil), frame...)}
	w.early = append(w.early, earlyFrame{})
	copy(w.early[i+1:], w.early[i:])
	w.early[i] = e
	w.earlyBytes += len(frame)
	ep.net.earlyBytes += len(frame)
	return first
}

// popEarlyLocked removes the first kept frame of w.
func (ep *Endpoint) popEarlyLocked(w *wireState) {
	k := len(w.early[0].frame)
	w.early[0] = earlyFrame{}
	w.early = w.early[1:]
	w.earlyBytes -= k
	ep.net.earlyBytes -= k
	if len(w.early) == 0 {
		w.early = nil
	}
}

// drainEarlyLocked replays queued frames that became in-order, until no
// progress is made (spec/wire.md §4.4, the recommended iterative drain).
func (ep *Endpoint) drainEarlyLocked(p *Partner) {
	w := p.w
	for len(w.early) > 0 && p.w == w && !ep.mu.closed {
		e := w.early[0]
		d := e.seq.Sub(w.nextRecv)
		if d > earlyWindow { // now behind us: stale
			ep.popEarlyLocked(w)
			continue
		}
		if d != 0 {
			return
		}
		var f seqFrame
		if err := ep.decodeSequenced(&f, wire.Type(e.frame[16]), e.frame, e.local); err != nil {
			ep.popEarlyLocked(w)
			continue
		}
		if !ep.acceptLocked(p, &f) {
			return // no room for it yet: it stays
		}
		if p.w == w && len(w.early) > 0 && &w.early[0].frame[0] == &e.frame[0] {
			ep.popEarlyLocked(w)
		}
	}
}

// acceptLocked processes the expected packet: a medium fragment is added to
// the message being assembled; a complete message is matched. It reports
// false when the frame was refused for lack of room (the unexpected queue
// is full): nothing changed, the frame is not acknowledged.
func (ep *Endpoint) acceptLocked(p *Partner, f *seqFrame) bool {
	w := p.w
	var m *message
	switch f.typ {
	case wire.TypeTiny, wire.TypeSmall:
		if !ep.roomForUnexpLocked(f.msg.Match, len(f.msg.Data)) {
			return false
		}
		ep.advanceLocked(p)
		if ep.deliverPostedLocked(p, f.msg.Match, f.msg.Data) {
			return true
		}
		m = &message{class: classEager, matchInfo: f.msg.Match, length: uint32(len(f.msg.Data)), data: append([]byte(nil), f.msg.Data...),
			src: partnerKey{p.nicID, p.index}, srcSession: w.trueSess}
		ep.arrivalLocked(m)
		return true
	case wire.TypeMedium:
		md := &f.medium
		if w.asm == nil && md.FragSeq == 0 && uint32(len(md.Data)) == md.Length {
			// A single-fragment medium: no assembly needed.
			if !ep.roomForUnexpLocked(md.Match, len(md.Data)) {
				return false
			}
			ep.advanceLocked(p)
			if ep.deliverPostedLocked(p, md.Match, md.Data) {
				return true
			}
			ep.arrivalLocked(&message{class: classEager, matchInfo: md.Match, length: md.Length,
				data: append([]byte(nil), md.Data...), src: partnerKey{p.nicID, p.index}, srcSession: w.trueSess})
			return true
		}
		if w.asm == nil {
			// The assembly buffer counts as the message it will be.
			if !ep.roomForUnexpLocked(md.Match, int(md.Length)) {
				return false
			}
			w.asm = &mediumAsm{length: md.Length, data: make([]byte, md.Length), head: *md}
		}
		a := w.asm
		bit := uint32(1) << md.FragSeq
		off := md.Offset(ep.net.mode)
		if md.Length != a.length || a.got&bit != 0 || off+len(md.Data) > len(a.data) {
			return true // duplicate or inconsistent fragment: dropped
		}
		copy(a.data[off:], md.Data)
		a.got |= bit
		a.bytes += uint32(len(md.Data))
		w.unackedFrames++
		if a.bytes < a.length {
			return true
		}
		w.asm = nil
		ep.advanceLocked(p)
		if ep.deliverPostedLocked(p, a.head.Match, a.data) {
			return true
		}
		ep.arrivalLocked(&message{class: classEager, matchInfo: a.head.Match, length: a.length, data: a.data,
			src: partnerKey{p.nicID, p.index}, srcSession: w.trueSess})
		return true
	case wire.TypeRndv:
		r := f.rndv
		if !ep.roomForUnexpLocked(r.Match, 0) {
			return false
		}
		m = &message{class: classWireRndv, matchInfo: r.Match, length: r.MsgLength,
			pullFrom: &pullSource{partner: p, rdmaID: r.RDMAID, rdmaSeq: r.RDMASeq, rdmaOffset: uint32(r.RDMAOffset), length: r.MsgLength,
				pid: f.localPID, addr: f.localAddr}}
	case wire.TypeNotify:
		ep.advanceLocked(p)
		ep.notifyLocked(p, f.notify)
		return true
	}
	m.src = partnerKey{p.nicID, p.index}
	m.srcSession = w.trueSess
	ep.advanceLocked(p)
	ep.arrivalLocked(m)
	return true
}

// deliverPostedLocked gives an eager message straight from the frame to the
// first matching posted receive (no copy into a message), if there is one.
func (ep *Endpoint) deliverPostedLocked(p *Partner, match uint64, data []byte) bool {
	for r := ep.mu.posted.head; r != nil; r = ep.mu.posted.nextOf(r) {
		if !matches(match, r.status.MatchInfo, r.matchMask) {
			continue
		}
		ep.mu.posted.remove(r)
		r.posted, r.matched, r.partner = false, true, p
		r.status.Addr = p.address()
		r.status.MatchInfo = match
		r.status.MsgLength = uint32(len(data))
		xfer := min(uint32(len(data)), r.length)
		copySegments(r.segs, [][]byte{data}, xfer)
		r.status.XferLength = xfer
		st := StatusSuccess
		if xfer < uint32(len(data)) {
			st = StatusMessageTruncated
		}
		ep.completeLocked(r, st)
		return true
	}
	return false
}

// advanceLocked moves past the expected seqnum and schedules the ack:
// at once after notAckedMax messages, or after ackFrames frames (a sender
// whose window holds fewer messages than notAckedMax, such as a few
// multi-frame mediums, must not wait for the delayed ack every time),
// else after the ack delay.
func (ep *Endpoint) advanceLocked(p *Partner) {
	w := p.w
	w.nextRecv = w.nextRecv.Next()
	w.unackedFrames++
	if uint32(w.nextRecv.Sub(w.lastAckedRecv)) >= ep.notAckedMax || w.unackedFrames >= ackFrames {
		ep.sendAckLocked(p)
	} else if w.ackDue.IsZero() {
		w.ackDue = ackUnstamped
		ep.activateLocked(p)
	}
}

// sendAckLocked sends an explicit cumulative ack (TRUC liback, §2.6).
func (ep *Endpoint) sendAckLocked(p *Partner) {
	w := p.w
	w.lastSendAck++
	sess := w.backSess
	if sess == unknownSession {
		sess = w.trueSess
	}
	t := wire.Truc{DstEP: uint8(p.index), SrcEP: uint8(ep.index), Session: sess, AckSeq: uint16(w.nextRecv), AckNum: w.lastSendAck}
	n, err := t.Encode(ep.net.tx, ep.headTo(w), ep.net.mode)
	if err != nil {
		return
	}
	ep.sendFrameLocked(ep.net.tx[:n])
	ep.counters.Inc(SendLibAck)
	w.lastAckedRecv, w.unackedFrames = w.nextRecv, 0
	w.ackDue = zeroTime
}

// trucLocked handles an explicit ack.
func (ep *Endpoint) trucLocked(frame []byte) {
	h, t, err := wire.DecodeTruc(frame, ep.net.mode)
	if err != nil {
		ep.counters.Inc(DropBadDataLen)
		return
	}
	ep.counters.Inc(RecvLibAck)
	if t.Session != ep.session {
		ep.counters.Inc(DropBadSession)
		return
	}
	p := ep.wirePartnerFrom(h.Src, t.SrcEP)
	if p == nil {
		return
	}
	w := p.w
	a := wire.Seq(t.AckSeq)
	if !w.sendSeqSet || a.Session() != w.nextSend.Session() || t.AckNum <= w.lastRecvAck {
		return
	}
	w.lastRecvAck = t.AckNum
	ep.handleAckLocked(p, a, true)
}

// handleAckLocked applies a cumulative ack: every packet before a is
// received (spec/wire.md §4.6). explicit says it came in a TRUC: one that
// acknowledges nothing new while packets are outstanding tells that the
// receiver got a later packet (wirecc.go).
func (ep *Endpoint) handleAckLocked(p *Partner, a wire.Seq, explicit bool) {
	w := p.w
	if !w.sendSeqSet {
		return
	}
	missing := w.nextSend.Sub(w.nextAcked)
	nw := a.Sub(w.nextAcked)
	if nw == 0 && explicit {
		ep.dupAckLocked(p)
	}
	if nw == 0 || nw > missing {
		return
	}
	ps := &w.path
	timed := false
	frames := 0
	i := 0
	for ; i < len(w.nonAcked); i++ {
		s := w.nonAcked[i]
		if s.seq.Sub(w.nextAcked) >= nw {
			break
		}
		if ps.rttOn && s.seq == ps.rttSeq {
			ps.rttOn, timed = false, true
		}
		frames += int(s.frames)
		ep.ackedLocked(s)
	}
	for _, s := range w.nonAcked[:i] {
		ep.putSendLocked(s)
	}
	clear(w.nonAcked[:i])
	if i == len(w.nonAcked) {
		w.nonAcked = w.nonAcked[:0] // all acked: the array is reused
	} else {
		w.nonAcked = w.nonAcked[i:]
	}
	w.nextAcked = a
	ep.seqAckedLocked(p, frames, timed)
	ep.releaseThrottledLocked(p)
}

// sendNackLibLocked refuses a packet (§4.7).
//
// NACKs answer frames from anyone (a wrong session is all they show), so
// they are rate-limited: a flood of forged frames makes at most
// nackRate NACKs a second (the rest are dropped and counted).
func (ep *Endpoint) sendNackLibLocked(h wire.Head, srcEP uint8, seq uint16, why wire.Nack) {
	if !ep.net.nacks.take(ep.net.coarseNow) {
		return
	}
	nk := wire.NackLib{SrcEP: uint8(ep.index), Nack: why, DstEP: srcEP, PeerIndex: h.PeerIndex, Seq: seq}
	n, err := nk.Encode(ep.net.tx, wire.Head{Dst: h.Src, Src: ep.net.mac, PeerIndex: wire.UnknownPeerIndex}, ep.net.mode)
	if err != nil {
		return
	}
	ep.sendFrameLocked(ep.net.tx[:n])
	ep.counters.Inc(SendNackLib)
}

// sendGoodbyeLocked tells a connected partner that this endpoint closes:
// a NACK_LIB ENDPT_CLOSED for the next seqnum it would send us.
//
// Divergence: Open-MX has no close packet; its kernel NACKs later traffic to
// the closed index. Without a host-wide service, the closing endpoint
// announces it itself, so that a peer's pending and later sends fail with
// OMX_REMOTE_ENDPOINT_CLOSED at once instead of after the retry budget.
func (ep *Endpoint) sendGoodbyeLocked(p *Partner) {
	w := p.w
	if w.backSess == unknownSession && w.trueSess == unknownSession {
		return
	}
	nk := wire.NackLib{SrcEP: uint8(ep.index), Nack: wire.NackEndpointClosed, DstEP: uint8(p.index), PeerIndex: w.reverse, Seq: uint16(w.nextRecv)}
	if n, err := nk.Encode(ep.net.tx, ep.headTo(w), ep.net.mode); err == nil {
		ep.sendFrameLocked(ep.net.tx[:n])
		ep.counters.Inc(SendNackLib)
	}
}

// remoteClosedLocked fails everything pending toward a partner whose
// endpoint closed.
func (ep *Endpoint) remoteClosedLocked(p *Partner) {
	w := p.w
	w.closed = true
	sends := append(w.nonAcked, w.throttled...)
	w.nonAcked, w.throttled = nil, nil
	w.path.resetSeq()
	for _, s := range sends {
		if !s.acked {
			ep.failSendLocked(s, StatusRemoteEndpointClosed)
		}
	}
	for _, wr := range ep.net.regions {
		if wr != nil && wr.partner == p {
			ep.freeRegionLocked(wr)
			if wr.req != nil {
				ep.failRequestLocked(wr.req, StatusRemoteEndpointClosed)
			}
		}
	}
	w.nextAcked = w.nextSend
}

// nackStatus maps a NACK type to the completion status (§2.1).
func nackStatus(n wire.Nack) (Status, bool) {
	switch n {
	case wire.NackBadEndpoint:
		return StatusRemoteEndpointBadID, true
	case wire.NackEndpointClosed:
		return StatusRemoteEndpointClosed, true
	case wire.NackBadSession:
		return StatusRemoteEndpointBadSession, true
	case wire.NackBadRDMAWin:
		return StatusRemoteRDMAWindowBadID, true
	}
	return 0, false
}

// nackLibLocked fails the request a NACK_LIB refers to.
func (ep *Endpoint) nackLibLocked(frame []byte) {
	h, nk, err := wire.DecodeNackLib(frame, ep.net.mode)
	if err != nil {
		ep.counters.Inc(DropBadDataLen)
		return
	}
	ep.counters.Inc(RecvNackLib)
	st, ok := nackStatus(nk.Nack)
	if !ok {
		return
	}
	p := ep.wirePartnerFrom(h.Src, nk.SrcEP)
	if p == nil {
		return
	}
	w := p.w
	seq := wire.Seq(nk.Seq)
	if nk.Nack == wire.NackEndpointClosed && w.sendSeqSet && seq.Session() == w.nextSend.Session() && len(w.connects) == 0 {
		ep.remoteClosedLocked(p)
		return
	}
	if w.sendSeqSet && seq.Session() == w.nextSend.Session() {
		for i, s := range w.nonAcked {
			if s.seq == seq && !s.acked {
				w.nonAcked = append(w.nonAcked[:i], w.nonAcked[i+1:]...)
				w.path.sinflight = max(w.path.sinflight-int(s.frames), 0)
				ep.failSendLocked(s, st)
				return
			}
		}
	}
	if len(w.connects) > 0 {
		r := w.connects[0]
		w.connects = w.connects[1:]
		ep.completeLocked(r, st)
	}
}
