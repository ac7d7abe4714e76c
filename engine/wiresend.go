package engine

// Sending over the wire: message classes, sequence numbers, retransmission
// and early ("zombie") completion (spec/wire.md §3, §4.3, §4.11; mirrors
// libopen-mx/omx_send.c and omx_large.c).

import (
	"time"

	"github.com/open-mx-go/open-mx-go/engine/wire"
)

var zeroTime time.Time

// unstamped is the lastSend of a packet sent since the last timer pass:
// timersLocked stamps it with the time of that pass, so retransmission
// waits at least the resend delay (and at most one tick more) without a
// clock read on the send path.
var unstamped time.Time

// ackUnstamped is the ackDue of a partner owed a delayed ack since the last
// timer pass, which turns it into that pass's time plus the ack delay (the
// receive path reads no clock).
var ackUnstamped = time.Unix(1, 0)

// sendWireLocked posts a send to a remote partner. r is pending; it
// completes early (eager classes), on ack, or on the NOTIFY (large).
func (ep *Endpoint) sendWireLocked(p *Partner, r *Request, matchInfo uint64, sync bool) {
	w := p.w
	if ep.net == nil || !w.sendSeqSet {
		ep.completeLocked(r, StatusRemoteEndpointUnreachable)
		return
	}
	if w.closed {
		ep.completeLocked(r, StatusRemoteEndpointClosed)
		return
	}
	L := r.length
	s := ep.newSendLocked()
	s.req, s.match, s.budget = r, matchInfo, ep.requestResends.Load()
	rndvMax := min(ep.rndvThreshold, uint32(ep.net.mode.MediumMax))
	if w.mac == ep.net.mac {
		// Another process of this host: the same-host threshold
		// (OMX_SHARED_RNDV_THRESHOLD, or the remote one with
		// OMX_DISABLE_SHARED), spec/api.md §7.1.
		rndvMax = min(ep.eagerMax, uint32(ep.net.mode.MediumMax))
	}
	switch {
	case sync || L > rndvMax:
		reg, ok := ep.allocRegionLocked()
		if !ok {
			ep.completeLocked(r, StatusNoResources)
			return
		}
		wr := &wireRndv{region: reg, regSeq: ep.net.regSeq[reg], length: L, segs: r.segs, req: r, partner: p}
		ep.net.regions[reg] = wr
		r.class = classRndv
		r.wrndv = wr
		r.pinned = true
		s.typ, s.rndv = wire.TypeRndv, wr
	default:
		switch {
		case L <= uint32(len(s.small)):
			s.data = s.small[:L]
		case L <= uint32(cap(s.buf)):
			s.data = s.buf[:L] // the buffer of a reused packet
		default:
			s.data = make([]byte, L)
			if L <= keptBufMax {
				s.buf = s.data
			}
		}
		copySegments([][]byte{s.data}, r.segs, L)
		switch {
		case L <= wire.TinyMax:
			s.typ = wire.TypeTiny
		case L <= wire.SmallMax:
			s.typ = wire.TypeSmall
		default:
			s.typ = wire.TypeMedium
		}
		r.class = classEager
		r.unacked = true // s refers to r until acked
	}
	ep.postSeqLocked(p, s)
}

// earlyCompleteLocked completes an eager send once it is on the wire,
// before its ack ("zombie" send, spec/wire.md §4.11), while fewer than
// zombieMax are. A send that waits for the window is not completed: the
// application sees it pending until it leaves.
func (ep *Endpoint) earlyCompleteLocked(s *wireSend) {
	r := s.req
	if r == nil || r.class != classEager || s.zombie || r.state != reqPending || ep.net.zombies >= ep.zombieMax {
		return
	}
	ep.net.zombies++
	s.zombie = true
	ep.completeLocked(r, StatusSuccess)
}

// sendPoolMax bounds the acknowledged packets an endpoint keeps for reuse;
// keptBufMax bounds the payload buffer one keeps (medium messages).
const (
	sendPoolMax = 64
	keptBufMax  = 8192
)

// newSendLocked returns a zeroed packet, reusing an acknowledged one when
// there is one (no allocation per message in steady state).
func (ep *Endpoint) newSendLocked() *wireSend {
	s := ep.mu.freeSends.get()
	if s == nil {
		return new(wireSend)
	}
	*s = wireSend{buf: s.buf}
	return s
}

// putSendLocked keeps an acknowledged packet for reuse. Only packets that
// left every list are given back: nothing else refers to a wireSend (a
// request does not).
func (ep *Endpoint) putSendLocked(s *wireSend) {
	s.req, s.data, s.rndv, s.notify = nil, nil, nil, nil
	ep.mu.freeSends.put(s, sendPoolMax)
}

// postSeqLocked gives a packet its seqnum and transmits it, or queues it
// while the window is full: the seqnum window of §4.3, and the congestion
// window of the path (wirecc.go).
func (ep *Endpoint) postSeqLocked(p *Partner, s *wireSend) {
	w := p.w
	ep.activateLocked(p)
	if len(w.throttled) > 0 || !w.seqWindowOpen(ep.seqFrames(s)) {
		w.throttled = append(w.throttled, s)
		return
	}
	ep.firstTransmitLocked(p, s)
}

// releaseThrottledLocked posts queued packets once acks opened the window.
func (ep *Endpoint) releaseThrottledLocked(p *Partner) {
	w := p.w
	for len(w.throttled) > 0 && w.seqWindowOpen(ep.seqFrames(w.throttled[0])) {
		s := w.throttled[0]
		w.throttled[0] = nil
		w.throttled = w.throttled[1:]
		if len(w.throttled) == 0 {
			w.throttled = nil
		}
		ep.firstTransmitLocked(p, s)
	}
}

// firstTransmitLocked gives s the next seqnum and sends it.
func (ep *Endpoint) firstTransmitLocked(p *Partner, s *wireSend) {
	w := p.w
	s.seq = w.nextSend
	w.nextSend = w.nextSend.Next()
	w.nonAcked = append(w.nonAcked, s)
	ep.sentSeqLocked(w, s)
	ep.transmitLocked(p, s, unstamped)
	ep.earlyCompleteLocked(s)
}

// transmitLocked (re)sends a sequenced packet with the current piggyack.
// now is the time of a retransmission, or unstamped for a first
// transmission (the next timer pass stamps it: no clock read per message).
func (ep *Endpoint) transmitLocked(p *Partner, s *wireSend, now time.Time) {
	w := p.w
	n := ep.net
	h := ep.headTo(w)
	piggy := uint16(w.nextRecv)
	w.lastAckedRecv, w.unackedFrames = w.nextRecv, 0
	w.ackDue = zeroTime
	switch s.typ {
	case wire.TypeTiny, wire.TypeSmall:
		m := wire.Msg{Type: s.typ, DstEP: uint8(p.index), SrcEP: uint8(ep.index), Length: uint16(len(s.data)),
			Seq: uint16(s.seq), Piggyack: piggy, Match: s.match, Session: w.trueSess, Data: s.data}
		if k, err := m.Encode(n.tx, h, n.mode); err == nil {
			ep.sendFrameLocked(n.tx[:k])
		}
		if s.typ == wire.TypeTiny {
			ep.counters.Inc(SendTiny)
		} else {
			ep.counters.Inc(SendSmall)
		}
	case wire.TypeMedium:
		fm := n.mode.FragMax
		for i, off := 0, 0; off < len(s.data); i, off = i+1, off+fm {
			end := min(off+fm, len(s.data))
			md := wire.Medium{DstEP: uint8(p.index), SrcEP: uint8(ep.index), Length: uint32(len(s.data)),
				Seq: uint16(s.seq), Piggyack: piggy, Match: s.match, Session: w.trueSess,
				FragLength: uint16(end - off), FragSeq: uint8(i), Data: s.data[off:end]}
			if k, err := md.Encode(n.tx, h, n.mode); err == nil {
				ep.sendFrameLocked(n.tx[:k])
			}
			ep.counters.Inc(SendMediumSQFrag)
		}
	case wire.TypeRndv:
		wr := s.rndv
		rv := wire.Rndv{DstEP: uint8(p.index), SrcEP: uint8(ep.index), Seq: uint16(s.seq), Piggyack: piggy,
			Match: s.match, Session: w.trueSess, MsgLength: wr.length, RDMAID: wr.region, RDMASeq: wr.regSeq}
		if k, err := rv.Encode(n.tx, h, n.mode); err == nil {
			if n.local && w.mac == n.mac && ep.pid != 0 && len(wr.segs) == 1 {
				// Same host: the receiver may copy straight from us.
				wire.PutRndvLocal(n.tx[:k], ep.pid, bufferAddress(wr.segs[0]))
			}
			ep.sendFrameLocked(n.tx[:k])
		}
		ep.counters.Inc(SendRndv)
	case wire.TypeNotify:
		nt := *s.notify
		nt.Seq, nt.Piggyack = uint16(s.seq), piggy
		if k, err := nt.Encode(n.tx, h, n.mode); err == nil {
			ep.sendFrameLocked(n.tx[:k])
		}
		ep.counters.Inc(SendNotify)
	}
	if s.sends > 0 {
		ep.resends.Add(1)
	} else {
		s.firstSend = now
	}
	s.sends++
	s.lastSend = now
}

// ackedLocked is called when the peer acknowledged s.
func (ep *Endpoint) ackedLocked(s *wireSend) {
	s.acked = true
	switch {
	case s.typ == wire.TypeRndv:
		wr := s.rndv
		wr.acked = true
		if wr.done {
			ep.finishRndvLocked(wr)
		}
	case s.zombie:
		ep.net.zombies--
	case s.req != nil:
		ep.completeLocked(s.req, StatusSuccess)
	}
	s.data = nil
	if r := s.req; r != nil && r.unacked {
		r.unacked = false
		if r.state == reqFreed { // taken by the application before the ack
			ep.recycleLocked(r)
		}
	}
}

// failSendLocked ends a send the peer refused or never acknowledged.
func (ep *Endpoint) failSendLocked(s *wireSend, st Status) {
	s.acked = true
	if s.zombie {
		ep.net.zombies--
	}
	if s.typ == wire.TypeRndv {
		ep.freeRegionLocked(s.rndv)
	}
	if r := s.req; r != nil {
		r.unacked = false
		ep.failRequestLocked(r, st)
	}
}

// failRequestLocked ends r with st; a request already reported done (early
// completion) gets its stored status updated while the application has
// not taken it yet (spec/api.md §5.11).
func (ep *Endpoint) failRequestLocked(r *Request, st Status) {
	switch r.state {
	case reqPending:
		ep.completeLocked(r, st)
	case reqDone:
		ep.mu.done.remove(r)
		r.state = reqPending
		ep.completeLocked(r, st)
	}
}

// allocRegionLocked reserves a region id for a large send.
func (ep *Endpoint) allocRegionLocked() (uint8, bool) {
	n := ep.net
	for i := 0; i < len(n.regions); i++ {
		reg := (n.nextReg + i) % len(n.regions)
		if n.regions[reg] == nil {
			n.nextReg = reg + 1
			return uint8(reg), true
		}
	}
	return 0, false
}

func (ep *Endpoint) freeRegionLocked(wr *wireRndv) {
	n := ep.net
	if n.regions[wr.region] == wr {
		n.regions[wr.region] = nil
		n.regSeq[wr.region]++
	}
}

// notifyLocked handles the receiver's "large message done" (§3.5.1).
func (ep *Endpoint) notifyLocked(p *Partner, nt wire.Notify) {
	wr := ep.net.regions[nt.RDMAID]
	if wr == nil || wr.regSeq != nt.RDMASeq || wr.done {
		return // duplicate or stale
	}
	if wr.partner != p {
		// Only the receiver the RNDV went to ends the send.
		ep.counters.Inc(DropPullBadRegion)
		return
	}
	wr.done = true
	wr.xfer = min(nt.TotalLength, wr.length)
	if wr.acked {
		ep.finishRndvLocked(wr)
	}
}

func (ep *Endpoint) finishRndvLocked(wr *wireRndv) {
	ep.freeRegionLocked(wr)
	r := wr.req
	if r == nil || r.state != reqPending {
		return
	}
	r.status.XferLength = wr.xfer
	st := StatusSuccess
	if wr.xfer < wr.length {
		st = StatusMessageTruncated
	}
	ep.completeLocked(r, st)
}

// sendNotifyLocked tells a large sender that we took xfer bytes.
func (ep *Endpoint) sendNotifyLocked(src *pullSource, xfer uint32) {
	p := src.partner
	if p.w == nil || !p.w.sendSeqSet {
		return
	}
	sess := p.w.backSess
	if sess == unknownSession {
		sess = p.w.trueSess
	}
	s := ep.newSendLocked()
	s.typ, s.budget = wire.TypeNotify, ep.requestResends.Load()
	s.notify = &wire.Notify{DstEP: uint8(p.index), SrcEP: uint8(ep.index), Session: sess,
		TotalLength: xfer, RDMAID: src.rdmaID, RDMASeq: src.rdmaSeq}
	ep.postSeqLocked(p, s)
}

// partnerUnreachableLocked runs the partner cleanup of spec/wire.md §4.10:
// everything pending with the partner fails, its state is reset with a new
// receive sesnum.
func (ep *Endpoint) partnerUnreachableLocked(p *Partner) {
	w := p.w
	sends := append(w.nonAcked, w.throttled...)
	w.nonAcked, w.throttled = nil, nil
	w.path.resetSeq()
	for _, s := range sends {
		if !s.acked {
			ep.failSendLocked(s, StatusRemoteEndpointUnreachable)
		}
	}
	if ep.net != nil {
		for _, wr := range ep.net.regions {
			if wr != nil && wr.partner == p {
				ep.freeRegionLocked(wr)
				if wr.req != nil {
					ep.failRequestLocked(wr.req, StatusRemoteEndpointUnreachable)
				}
			}
		}
	}
	conns := w.connects
	w.connects = nil
	for _, r := range conns {
		ep.completeLocked(r, StatusRemoteEndpointUnreachable)
	}
	k := partnerKey{p.nicID, p.index}
	kept := ep.mu.unexp[:0]
	for _, m := range ep.mu.unexp {
		if m.src != k {
			kept = append(kept, m)
		}
	}
	clear(ep.mu.unexp[len(kept):])
	ep.mu.unexp = kept
	ep.recountUnexpLocked()
	ep.forgetEarlyLocked(w)
	ses := (w.nextRecv.Session() + 0x4000) & 0xc000
	mac, peerIdx, reverse, cs := w.mac, w.peerIdx, w.reverse, w.connectSeq
	w.reset(ses)
	w.mac, w.peerIdx, w.reverse, w.connectSeq = mac, peerIdx, reverse, cs
}
