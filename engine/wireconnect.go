package engine

// Connection setup over the wire (spec/wire.md §5; mirrors
// libopen-mx/omx_connect.c).

import (
	"fmt"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// Peer is an entry of the host's peer table: local boards first, then the
// remote hosts, in a stable order (spec/wire.md §6.3).
type Peer struct {
	NICID    uint64
	Hostname string
}

// wirePartnerLocked returns the partner for a remote (nic, index), with its
// protocol state; nil when the nic is not in the peer table.
//
// A partner made for a frame from the wire (fromWire) needs room in the
// partner table (wirereclaim.go); the application's own connects and sends
// always get one.
func (ep *Endpoint) wirePartnerLocked(nic uint64, index uint32, fromWire bool) *Partner {
	k := partnerKey{nic, index}
	p := ep.mu.partners[k]
	if p != nil && p.w != nil {
		return p
	}
	n := ep.net
	if n == nil {
		return nil // no network path: no wire partner
	}
	if _, ok := n.tombs[k]; ok {
		if q := ep.restoreLocked(k, p); q != nil || fromWire {
			return q
		}
	}
	idx, ok := ep.eng.peerIndex(nic)
	if !ok {
		return nil
	}
	if p == nil {
		if fromWire && !ep.roomForPartnerLocked() {
			return nil
		}
		p = ep.partnerLocked(nic, index, unknownSession)
	}
	p.w = newWireState(nicToMAC(nic), idx)
	p.w.lastActive = n.coarseNow
	if ep.netSelf && nic == ep.board.NICID && index == ep.index {
		ep.selfWireLocked(p) // this endpoint itself, over the network path
	}
	return p
}

// iconnectWireLocked starts a connect request toward a remote endpoint.
func (ep *Endpoint) iconnectWireLocked(r *Request, nic uint64, index, key uint32) {
	if ep.net == nil || (ep.net.lnkLocal && !ep.localNIC(nic)) {
		// No network path (no raw-socket rights, no node service): fail
		// at once, and say why once, instead of retrying for minutes.
		if ep.eng.noPathWarned.CompareAndSwap(false, true) && ep.warn != nil {
			why := ep.noPathReason
			if why == "" {
				why = "the endpoint has no network link"
			}
			ep.warn(fmt.Sprintf("no network path to %012x: %s", nic, why))
		}
		ep.completeLocked(r, StatusRemoteEndpointUnreachable)
		return
	}
	p := ep.wirePartnerLocked(nic, index, false)
	if p == nil {
		ep.completeLocked(r, StatusRemoteEndpointUnreachable)
		return
	}
	w := p.w
	r.partner = p
	r.connKey = key
	r.connSeq = w.connectSeq
	w.connectSeq++
	r.connBudget = ep.requestResends.Load()
	w.connects = append(w.connects, r)
	ep.activateLocked(p)
	ep.sendConnectLocked(p, r, ep.now())
}

// sendConnectLocked (re)sends a connect request.
func (ep *Endpoint) sendConnectLocked(p *Partner, r *Request, now time.Time) {
	w := p.w
	c := wire.Connect{DstEP: uint8(p.index), SrcEP: uint8(ep.index), SrcDstPeerIndex: w.peerIdx,
		SrcSession: ep.session, AppKey: r.connKey, TargetRecvSeqStart: uint16(w.nextRecv), ConnectSeq: r.connSeq}
	if k, err := c.Encode(ep.net.tx, ep.headTo(w), ep.net.mode); err == nil {
		ep.sendFrameLocked(ep.net.tx[:k])
		ep.counters.Inc(SendConnectRequest)
	}
	r.connRecvStart = c.TargetRecvSeqStart
	if r.connSends > 0 {
		ep.resends.Add(1)
	}
	r.connSends++
	r.connLast = now
}

// dropConnectLocked forgets a pending connect request (timeout, cancel).
func (ep *Endpoint) dropConnectLocked(r *Request) {
	p := r.partner
	if p == nil || p.w == nil {
		return
	}
	for i, c := range p.w.connects {
		if c == r {
			p.w.connects = append(p.w.connects[:i], p.w.connects[i+1:]...)
			return
		}
	}
}

// refuseConnectLocked answers a connect request with a wrong key: the
// bad-key status (11) and nothing else. Divergence (spec/wire.md §5.2):
// the original updates the partner and answers with its session even then,
// which lets anyone on the segment learn the session and be accepted; here
// a wrong key changes no state and reveals no session, so later messages
// of the requester find no partner and are dropped.
func (ep *Endpoint) refuseConnectLocked(h wire.Head, c wire.Connect) {
	n := ep.net
	idx, ok := ep.eng.peerIndex(macToNIC(h.Src))
	if !ok {
		ep.counters.Inc(DropBadPeerAddr)
		return
	}
	if !n.nacks.take(n.coarseNow) {
		return // refusals are rate-limited like NACKs
	}
	rep := wire.Connect{DstEP: c.SrcEP, SrcEP: uint8(ep.index), SrcDstPeerIndex: idx, IsReply: true,
		SrcSession: c.SrcSession, ConnectSeq: c.ConnectSeq, Status: 11}
	if k, err := rep.Encode(n.tx, wire.Head{Dst: h.Src, Src: n.mac, PeerIndex: c.SrcDstPeerIndex}, n.mode); err == nil {
		ep.sendFrameLocked(n.tx[:k])
		ep.counters.Inc(SendConnectReply)
	}
}

// connectFrameLocked handles a CONNECT request or reply (§5.2–§5.4).
func (ep *Endpoint) connectFrameLocked(frame []byte) {
	n := ep.net
	h, c, err := wire.DecodeConnect(frame, n.mode)
	if err != nil {
		ep.counters.Inc(DropBadDataLen)
		return
	}
	nic := macToNIC(h.Src)
	if !c.IsReply {
		ep.counters.Inc(RecvConnectRequest)
		if c.AppKey != ep.key {
			ep.refuseConnectLocked(h, c)
			return
		}
		p := ep.wirePartnerLocked(nic, uint32(c.SrcEP), true)
		if p == nil {
			ep.counters.Inc(DropBadPeerAddr)
			return // unknown host (or too many partners): dropped silently, the requester times out
		}
		w := p.w
		w.reverse = c.SrcDstPeerIndex
		S := c.SrcSession
		if w.backSess != S {
			if w.backSess != unknownSession {
				ep.partnerUnreachableLocked(p) // the peer restarted
			}
			w.nextRecv = wire.FirstSeq(w.nextRecv.Session())
			w.lastAckedRecv = w.nextRecv
			ep.forgetEarlyLocked(w)
			w.asm = nil
		}
		if w.trueSess != S || !w.sendSeqSet {
			w.nextSend, w.nextAcked = wire.Seq(c.TargetRecvSeqStart), wire.Seq(c.TargetRecvSeqStart)
			w.sendSeqSet = true
		}
		w.trueSess, w.backSess = S, S
		w.closed = false
		p.session = S
		rep := wire.Connect{DstEP: c.SrcEP, SrcEP: uint8(ep.index), SrcDstPeerIndex: w.peerIdx, IsReply: true,
			SrcSession: S, TargetSession: ep.session, TargetRecvSeqStart: uint16(w.nextRecv),
			ConnectSeq: c.ConnectSeq}
		if k, err := rep.Encode(n.tx, ep.headTo(w), n.mode); err == nil {
			ep.sendFrameLocked(n.tx[:k])
			ep.counters.Inc(SendConnectReply)
		}
		return
	}
	ep.counters.Inc(RecvConnectReply)
	p := ep.wirePartnerFrom(h.Src, c.SrcEP)
	if p == nil || c.SrcSession != ep.session || (c.Status != 0 && c.Status != 11) {
		return
	}
	w := p.w
	var r *Request
	for i, q := range w.connects {
		if q.connSeq == c.ConnectSeq {
			r = q
			w.connects = append(w.connects[:i], w.connects[i+1:]...)
			break
		}
	}
	if r == nil {
		return // duplicate or abandoned attempt
	}
	w.reverse = c.SrcDstPeerIndex
	if c.Status != 0 {
		ep.completeLocked(r, StatusRemoteEndpointBadKey)
		return
	}
	S := c.TargetSession
	if w.backSess != S && w.backSess != unknownSession {
		ep.partnerUnreachableLocked(p)
		// The peer starts sending at the seqnum our request announced:
		// receive from there (spec/wire.md §10 item 2, the reconnect
		// stall, avoided).
		w.nextRecv = wire.Seq(r.connRecvStart)
		w.lastAckedRecv = w.nextRecv
	}
	if w.trueSess != S || !w.sendSeqSet {
		w.nextSend, w.nextAcked = wire.Seq(c.TargetRecvSeqStart), wire.Seq(c.TargetRecvSeqStart)
		w.sendSeqSet = true
	}
	w.trueSess = S
	w.closed = false
	if w.backSess == unknownSession {
		// spec/wire.md §10 item 1: the original only learns the back
		// session from requests, so TRUC, PULL and NOTIFY toward a peer
		// that never connected back would carry an unknown session.
		w.backSess = S
	}
	p.session = S
	r.status.Addr = p.address()
	ep.completeLocked(r, StatusSuccess)
}
