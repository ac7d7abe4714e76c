package engine

// The network path of an endpoint: frame dispatch, the progress goroutine
// and the protocol timers. Flow of a received frame (spec/wire.md §1.5):
//
//	link.Recv ─► dispatchLocked ─┬─ TRUC ............ ackLocked
//	                             ├─ CONNECT ......... connectFrameLocked
//	                             ├─ PULL ............ servePullLocked (stateless replier)
//	                             ├─ PULL_REPLY ...... pullReplyLocked
//	                             ├─ NACK_LIB/NACK_MCP nack*Locked
//	                             └─ TINY/SMALL/MEDIUM/RNDV/NOTIFY
//	                                   sequencedLocked (ordering, acks) ─► arrivalLocked (matching)
//
// The progress goroutine handles everything that needs no application
// callback (acks, connects, pulls, timers); sequenced frames it reads wait
// in the inbox for the next API call, so that matching and the unexpected
// handler stay in application threads (spec/api.md §2.5).

import (
	"time"

	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

const (
	tickInterval = time.Millisecond // period of the progress goroutine
	framesPerRun = 128              // frames handled per progression pass
)

// netState is the network part of an endpoint. Guarded by the endpoint
// lock, except lnk which is safe for concurrent use.
type netState struct {
	lnk           link.Link // the board's link (or the local link alone)
	shm           link.Link // other processes of this host (nil: none, or it is lnk)
	local         bool      // other processes of this host are reachable
	lnkLocal      bool      // lnk is the same-host link (no network link)
	origin        link.Origin
	mode          wire.Mode
	mac           [6]byte
	rx            []byte
	tx            []byte
	regions       [256]*wireRndv
	regSeq        [256]uint8
	nextReg       int
	nextHostQuery time.Time
	hq            hostQueries // host-name queries (wirehost.go)
	pullSeq       uint32
	pullsByHandle map[uint32]*pull
	earlyBytes    int                         // bytes of out-of-order frames kept, all partners
	active        map[*Partner]struct{}       // partners with timer work (wirereclaim.go)
	tombs         map[partnerKey]*partnerTomb // reclaimed partners
	tombSeq       uint64
	coarseNow     time.Time // the time of the last timer pass
	nextReclaim   time.Time
	noVictimUntil time.Time   // roomForPartnerLocked found nothing to reclaim
	nacks         tokenBucket // NACKs to refused frames (bounds.go)
	scratch       []byte
	lossRep       link.LossReporter // lnk, if it reports receive overflows
	rxLosses      uint64            // its last count
	drained       bool              // the last poll of lnk emptied it
	zombies       int
	stop          chan struct{}
	done          chan struct{}
}

// openNet attaches the endpoint to its board's link, if the engine has one.
func (ep *Endpoint) openNet(cfg Config) error {
	var l, local link.Link
	var mode wire.Mode
	// The loopback board has a network link only for DisableShared: then
	// frames to this host loop through the kernel.
	if cfg.OpenLink != nil && (!ep.board.Loopback || cfg.DisableShared) {
		var err error
		if l, mode, err = cfg.OpenLink(ep.board, ep.index); err != nil {
			return err
		}
	}
	if cfg.DisableShared && l != nil {
		// The network path to this host's endpoints: no shared memory,
		// no same-host shortcuts.
		ep.netSelf = true
		ep.localOpen, ep.readProcess = nil, nil
	} else if cfg.OpenLocalLink != nil {
		var lmode wire.Mode
		var err error
		if local, lmode, err = cfg.OpenLocalLink(ep.board, ep.index); err != nil {
			if l != nil {
				l.Close()
			}
			return err
		}
		if l == nil {
			mode = lmode
		}
	}
	hasLocal := local != nil
	switch {
	case l == nil && local == nil:
		return nil
	case l == nil:
		l, local = local, nil // same host only: the local link is the link
	}
	n := &netState{lnk: l, shm: local, mode: mode, mac: nicToMAC(ep.board.NICID), rx: make([]byte, mode.MTU+64), tx: make([]byte, mode.MTU+64),
		scratch: make([]byte, mode.ReplyMax)}
	for i := range n.regSeq {
		n.regSeq[i] = 23 // first use 0x17 (spec/wire.md §2.10)
	}
	n.stop, n.done = make(chan struct{}), make(chan struct{})
	n.active = make(map[*Partner]struct{})
	n.tombs = make(map[partnerKey]*partnerTomb)
	n.coarseNow = ep.now()
	n.local = hasLocal
	n.lnkLocal = hasLocal && n.shm == nil
	if o, ok := n.shm.(link.Origin); ok {
		n.origin = o
	} else if o, ok := n.lnk.(link.Origin); ok && n.lnkLocal {
		n.origin = o
	}
	n.lossRep, _ = l.(link.LossReporter)
	ep.net = n
	ep.sig.wake = l.Wake
	ep.eng.goroutines.Add(1)
	go ep.runTimers(n)
	return nil
}

// closeNet stops the progress goroutine and releases the link. Called
// without the endpoint lock.
func (ep *Endpoint) closeNet() {
	n := ep.net
	if n == nil {
		return
	}
	close(n.stop)
	n.lnk.Wake()
	<-n.done
	n.lnk.Close()
	if n.shm != nil {
		n.shm.Close()
	}
}

// runTimers is the endpoint's progress goroutine: every tick it drains the
// link (driver-level frames only) and runs the protocol timers.
func (ep *Endpoint) runTimers(n *netState) {
	defer func() {
		ep.eng.goroutines.Add(-1)
		close(n.done)
	}()
	t := time.NewTicker(tickInterval)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		ep.mu.Lock()
		if ep.mu.closed {
			ep.mu.Unlock()
			return
		}
		ep.pollLinkLocked(false)
		now := ep.now()
		if now.Sub(n.coarseNow) > 4*tickInterval {
			// We were not running for a while (descheduled, stopped):
			// what the link holds may answer what the timers would
			// resend, so read it all first.
			for i := 0; i < 16 && !n.drained && !ep.mu.closed && ep.net == n; i++ {
				ep.pollLinkLocked(false)
			}
		}
		n.coarseNow = now
		ep.timersLocked(now)
		ep.reclaimSweepLocked(now)
		ep.hostQueriesLocked(now)
		ep.mu.Unlock()
		ep.eng.refreshPeers(now)
	}
}

func (ep *Endpoint) now() time.Time { return ep.clock() }

// pollLinkLocked handles pending frames. In an API call (api) everything is
// processed; in the progress goroutine sequenced frames are queued for the
// next API call.
func (ep *Endpoint) pollLinkLocked(api bool) {
	n := ep.net
	if n == nil {
		return
	}
	drained := ep.pollOneLocked(n.lnk, n.lnkLocal, api)
	n.drained = drained
	if n.shm != nil {
		ep.pollOneLocked(n.shm, true, api)
	}
	if n.lossRep != nil && drained && !ep.mu.closed && ep.net == n {
		if v := n.lossRep.RxLosses(); v != n.rxLosses {
			ep.recovery.ringDrops.Add(v - n.rxLosses)
			n.rxLosses = v
			ep.rxOverflowLocked()
		}
	}
}

// rxOverflowLocked handles frames our receive ring dropped (we were not
// reading fast enough, e.g. descheduled): whatever they were, every pull
// asks again for its oldest missing replies, and partners we hold
// out-of-order packets of get an ack that shows the gap, now rather than
// after timeouts.
func (ep *Endpoint) rxOverflowLocked() {
	now := ep.now()
	for _, pl := range ep.net.pullsByHandle {
		if pl.missing > 0 {
			ep.pullStalledLocked(pl, now, false)
		}
	}
	for p := range ep.net.active {
		if p.w != nil && len(p.w.early) > 0 {
			ep.sendAckLocked(p)
		}
	}
}

// pollOneLocked handles the pending frames of one link; local says it is
// the same-host link (frames written by processes of this host). It
// reports whether the link had no more frames.
func (ep *Endpoint) pollOneLocked(l link.Link, local, api bool) bool {
	n := ep.net
	if lender, ok := l.(link.Lender); ok {
		// Frames handled in place in the receive ring: one copy less.
		for i := 0; i < framesPerRun; i++ {
			f, tok, err := lender.Borrow()
			if err != nil || f == nil {
				return true
			}
			ep.dispatchLocked(f, local, api)
			lender.Return(tok)
		}
		return false
	}
	for i := 0; i < framesPerRun; i++ {
		k, err := l.Recv(n.rx)
		if err != nil || k == 0 {
			return true
		}
		ep.dispatchLocked(n.rx[:k], local, api)
	}
	return false
}

// dispatchLocked routes one received frame; local says it came through
// the same-host link.
//
// Every frame is untrusted (spec/wire.md has no authentication): a frame
// from the network whose source MAC is one of this host's boards is forged
// (this host's own frames reach it through shared memory) and dropped,
// unless this host's traffic deliberately takes the network
// (OMX_DISABLE_SHARED); a same-host frame must name this board as its
// source.
func (ep *Endpoint) dispatchLocked(frame []byte, local, api bool) {
	t, ok := wire.PeekType(frame)
	if !ok {
		ep.counters.Inc(DropBadHeaderDataLen)
		return
	}
	src := macToNIC([6]byte(frame[6:12]))
	if local {
		if src != ep.board.NICID {
			ep.counters.Inc(DropBadPeerAddr)
			return
		}
	} else if !ep.netSelf && ep.localNIC(src) {
		ep.counters.Inc(DropBadPeerAddr)
		return
	}
	switch t {
	case wire.TypeTiny, wire.TypeSmall, wire.TypeMedium, wire.TypeRndv, wire.TypeNotify, wire.TypeNackLib:
		// A NACK_LIB waits with the sequenced frames read before it: it may
		// concern the request a queued NOTIFY completes.
		if !api {
			if ep.keepForLaterLocked(t, frame, local) {
				ep.inbox.push(event{frame: append([]byte(nil), frame...), local: local}, &ep.sig)
			}
			return
		}
		if t == wire.TypeNackLib {
			ep.nackLibLocked(frame)
			return
		}
		ep.sequencedLocked(t, frame, local)
	case wire.TypeTruc:
		ep.trucLocked(frame)
	case wire.TypeConnect:
		ep.connectFrameLocked(frame)
	case wire.TypePull:
		ep.servePullLocked(frame)
	case wire.TypePullReply:
		ep.pullReplyLocked(frame)
	case wire.TypeNackMCP:
		ep.nackMCPLocked(frame)
	case wire.TypeHostQuery:
		ep.hostQueryLocked(frame)
	case wire.TypeHostReply:
		ep.hostReplyLocked(frame)
	default:
		ep.counters.Inc(DropUnknownPacketType)
	}
}

// sendFrameLocked transmits the first n bytes of the tx buffer.
func (ep *Endpoint) sendFrameLocked(frame []byte) {
	n := ep.net
	l := n.lnk
	if n.shm != nil && [6]byte(frame[0:6]) == n.mac {
		l = n.shm // another endpoint of this host
	}
	if err := l.Send(frame); err != nil {
		ep.counters.Inc(SendSkbAllocFailed)
	}
}

// head returns the frame head toward a partner.
func (ep *Endpoint) headTo(w *wireState) wire.Head {
	return wire.Head{Dst: w.mac, Src: ep.net.mac, PeerIndex: w.reverse}
}

// sameHostGoneLocked handles a partner of this host whose process died (its
// endpoint is no longer held in the registry) while we wait for it: what is
// pending with it ends at once with REMOTE_ENDPOINT_CLOSED instead of after
// the retry budget. Checked when a retransmission falls due.
func (ep *Endpoint) sameHostGoneLocked(p *Partner, now time.Time) bool {
	w := p.w
	if w.mac != ep.net.mac || ep.localOpen == nil || w.closed || now.Sub(w.goneCheck) < ep.resendDelay {
		return false
	}
	due := false
	for _, s := range w.nonAcked {
		due = due || (!s.acked && s.lastSend != unstamped && now.Sub(s.lastSend) >= ep.resendDelay)
	}
	for _, pl := range ep.net.pullsByHandle {
		due = due || (pl.src.partner == p && !now.Before(pl.deadline))
	}
	for _, wr := range ep.net.regions {
		due = due || (wr != nil && wr.partner == p) // a large send waiting for its NOTIFY
	}
	if !due {
		return false
	}
	w.goneCheck = now
	if ep.localOpen(ep.board, p.index) {
		return false
	}
	ep.remoteClosedLocked(p)
	for _, pl := range ep.pullsOf(p) {
		ep.endPullLocked(pl, StatusRemoteEndpointClosed)
	}
	return true
}

// timersLocked runs every expired protocol timer: delayed acks,
// retransmissions, connect retries, pull retransmissions.
func (ep *Endpoint) timersLocked(now time.Time) {
	for p := range ep.net.active {
		w := p.w
		if w == nil || ep.mu.partners[partnerKey{p.nicID, p.index}] != p {
			delete(ep.net.active, p)
			continue
		}
		w.lastActive = now
		if w.ackDue == ackUnstamped {
			w.ackDue = now.Add(ep.ackDelay)
		} else if !w.ackDue.IsZero() && !now.Before(w.ackDue) {
			ep.sendAckLocked(p)
		}
		if ep.sameHostGoneLocked(p, now) {
			continue
		}
		for _, s := range w.nonAcked {
			if s.lastSend == unstamped {
				s.lastSend = now // sent since the last pass
			}
			if s.firstSend == unstamped {
				s.firstSend = now
			}
		}
		// One retransmission timer per partner, on the oldest unacked
		// packet; the others follow as acks come (wirecc.go).
		if len(w.nonAcked) > 0 && !w.nonAcked[0].acked && now.Sub(w.nonAcked[0].lastSend) >= ep.seqRTO(&w.path) {
			if !ep.seqTimeoutLocked(p, now) {
				ep.partnerUnreachableLocked(p)
			}
		}
		for _, r := range w.connects {
			// Resent after the partner's timeout (50 ms before any round
			// trip is known), doubled per resend up to the resend delay.
			if now.Sub(r.connLast) < min(ep.resendDelay, w.path.rto(ep.resendDelay)<<min(r.connSends, 10)) {
				continue
			}
			if r.connBudget != 0xffffffff && r.connSends > r.connBudget {
				ep.partnerUnreachableLocked(p)
				break
			}
			ep.sendConnectLocked(p, r, now)
		}
		if !ep.timerWorkLocked(p) {
			delete(ep.net.active, p)
		}
	}
	ep.pullTimersLocked(now)
}
