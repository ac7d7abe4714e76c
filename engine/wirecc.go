package engine

// Loss recovery and congestion control toward one partner (issue "Real
// fabrics"). Open-MX 1.5 retransmits after fixed timeouts (0.5 s for
// sequenced packets, 1 s for pull blocks) and pulls up to four whole blocks
// at once whatever the path holds; a small buffer anywhere on the path then
// drops the same burst again on every retry. Here, per partner:
//
//   - the round trip is measured (one sequenced packet at a time, and the
//     first reply of every pull request) and the retransmission timeout is
//     srtt + 4·rttvar, between rtoMin and the resend delay, doubled after
//     each timeout without progress (RFC 6298's estimator);
//   - two windows, one for sequenced frames this endpoint sends (eager
//     messages, RNDV, NOTIFY) and one for pull replies it asks for, grow by
//     one frame per frame that arrives (slow start) or per window (congestion
//     avoidance), and are halved at most once per round trip when a frame is
//     lost (AIMD);
//   - losses are noticed when later frames arrive: a receiver acks at once
//     when a sequenced frame arrives ahead of a gap, and three such acks
//     retransmit the first unacked packet (fast retransmit; partial acks
//     retransmit the next one); a pull reply is lost when one requested
//     three frames later by the same PULL, or by a PULL two or more later,
//     arrived (wirelarge.go), and only that frame is asked for again;
//   - a timeout that proves spurious (what it took for lost arrives after
//     all) gives the window back.
//
// Everything stays valid Open-MX on the wire: an ack is a TRUC, a
// re-request is a PULL of fewer frames (the replier is stateless, spec/
// wire.md §3.5.5). Old peers just do not send the early acks, and recover
// our losses at their own pace.

import (
	"sync/atomic"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/wire"
)

const (
	// rtoMin is the floor of the retransmission timeout: the progress
	// goroutine's tick. A timeout that proves spurious (the host or the
	// peer was only slow) is undone, and one of a pull costs a probe of
	// dupThresh frames, so a low floor is cheap.
	rtoMin = time.Millisecond
	// rtoInitial is the timeout before the first round-trip sample.
	rtoInitial = 50 * time.Millisecond
	// dupThresh is how many later arrivals make a frame lost (reordering
	// by fewer frames is tolerated).
	dupThresh = 3

	// ackFrames received frames make an immediate ack (wirerecv.go).
	ackFrames = 4

	// Sequenced frames in flight (eager fragments, RNDV, NOTIFY).
	seqWndInitial = 64
	seqWndMin     = 8
	seqWndMax     = 256
	// Pull replies in flight, per partner. The span of a pull's
	// outstanding frames must stay below 256 (frame_seqnum is 8 bits).
	pullWndInitial = 64
	pullWndMin     = 16
	pullWndMax     = 192
	pullSpan       = 255
)

// pathState is the round-trip estimate and the windows toward a partner.
type pathState struct {
	srtt, rttvar time.Duration // srtt 0: no sample yet
	backoff      uint8         // timeouts since the last progress

	// Sequenced packets.
	swnd, sssthresh, sacc int
	sinflight             int // frames of unacked packets
	dupacks               int
	recovering            bool
	recoverSeq            wire.Seq // nextSend when recovery began
	rttOn                 bool     // a packet is being timed
	rttSeq                wire.Seq
	rttSent               time.Time
	lastCutS, lastCutP    time.Time // last reduction of each window
	minRTT                time.Duration
	sUndo, pUndo          undoState // reductions by timeouts that may prove spurious

	// Pulls.
	pwnd, pssthresh, pacc int
	pulls                 []*pull // in progress from this partner, oldest first
	po                    pullOrder
}

// undoState is a window as it was before a timeout reduced it. A timeout
// is spurious when what it took for lost arrives after all (the path or
// the peer was only slow, e.g. descheduled): the window is given back, as
// TCP's F-RTO and Eifel do.
type undoState struct {
	on            bool
	wnd, ssthresh int
	at            time.Time // when the timeout fired
	order         uint64    // pulls: the last frame number requested then
}

// pullOrder numbers the pull requests to a partner and the frames they ask
// for, across all its pulls: the partner answers them in that order, so
// replies that arrive show which earlier ones were lost (wirelarge.go).
type pullOrder struct {
	order, reqs uint64 // the last frame and PULL numbers given
	seenReq     uint64 // the highest PULL number a reply answered
	lastOrder   uint64 // the frame number of the last reply received
	gapScans    int    // arrivals still to scan for losses after a gap
}

func (ps *pathState) init() {
	ps.swnd, ps.sssthresh, ps.pwnd, ps.pssthresh = seqWndInitial, seqWndMax, pullWndInitial, pullWndMax
}

// resetSeq forgets the sequenced packets in flight (the partner was reset).
func (ps *pathState) resetSeq() {
	ps.sinflight, ps.dupacks, ps.recovering, ps.rttOn, ps.backoff = 0, 0, false, false, 0
}

// rto is the current retransmission timeout, capped by ceil (the resend
// delay: what Open-MX always waits).
func (ps *pathState) rto(ceil time.Duration) time.Duration { return ps.rtoAtLeast(ceil, rtoMin) }

// rtoAtLeast is rto with another floor.
func (ps *pathState) rtoAtLeast(ceil, floor time.Duration) time.Duration {
	r := rtoInitial
	if ps.srtt != 0 {
		r = max(ps.srtt+4*ps.rttvar, floor)
	}
	return min(ceil, r<<ps.backoff)
}

// seqRTO is the timeout of sequenced packets: never shorter than the
// receiver's delayed ack can take (the ack delay, plus a tick of ours and
// one of theirs), or a packet acked late but in time would be sent again.
func (ep *Endpoint) seqRTO(ps *pathState) time.Duration {
	return ps.rtoAtLeast(ep.resendDelay, max(rtoMin, ep.ackDelay+2*tickInterval))
}

// sample adds a round-trip measurement (RFC 6298 §2).
func (ps *pathState) sample(rtt time.Duration) {
	if rtt <= 0 {
		rtt = time.Microsecond
	}
	if ps.minRTT == 0 || rtt < ps.minRTT {
		ps.minRTT = rtt
	}
	if ps.srtt == 0 {
		ps.srtt, ps.rttvar = rtt, rtt/2
		return
	}
	d := ps.srtt - rtt
	if d < 0 {
		d = -d
	}
	ps.rttvar = (3*ps.rttvar + d) / 4
	ps.srtt = (7*ps.srtt + rtt) / 8
}

// cut halves a window (the sequenced one, or the pull one) after a loss,
// once per round trip; a timeout first keeps what it reduces, for undo.
func (ps *pathState) cut(now time.Time, seq, timeout bool, order uint64) {
	last := &ps.lastCutP
	if seq {
		last = &ps.lastCutS
	}
	if !last.IsZero() && now.Sub(*last) < max(ps.srtt, rtoMin) {
		return
	}
	*last = now
	if seq {
		ps.sUndo = undoState{on: timeout, wnd: ps.swnd, ssthresh: ps.sssthresh, at: now}
		ps.sssthresh = max(ps.swnd/2, seqWndMin)
		ps.swnd, ps.sacc = ps.sssthresh, 0
	} else {
		ps.pUndo = undoState{on: timeout, wnd: ps.pwnd, ssthresh: ps.pssthresh, at: now, order: order}
		ps.pssthresh = max(ps.pwnd/2, pullWndMin)
		ps.pwnd, ps.pacc = ps.pssthresh, 0
	}
}

// undo gives a window back after a spurious timeout.
func (ps *pathState) undo(seq bool) {
	u := &ps.pUndo
	wnd, ssthresh := &ps.pwnd, &ps.pssthresh
	if seq {
		u, wnd, ssthresh = &ps.sUndo, &ps.swnd, &ps.sssthresh
	}
	if u.on {
		*wnd, *ssthresh = max(*wnd, u.wnd), max(*ssthresh, u.ssthresh)
		ps.backoff = 0
		u.on = false
	}
}

// grow opens a window by n frames that arrived.
func grow(wnd, ssthresh, acc *int, n, maxWnd int) {
	for ; n > 0 && *wnd < maxWnd; n-- {
		if *wnd < *ssthresh {
			*wnd++
			continue
		}
		*acc++
		if *acc >= *wnd {
			*acc = 0
			*wnd++
		}
	}
}

// seqFrames is the number of frames a sequenced packet takes on the wire.
func (ep *Endpoint) seqFrames(s *wireSend) int {
	if s.typ != wire.TypeMedium || len(s.data) == 0 {
		return 1
	}
	fm := ep.net.mode.FragMax
	return (len(s.data) + fm - 1) / fm
}

// seqWindowOpen reports whether a packet of k frames may be sent now.
func (w *wireState) seqWindowOpen(k int) bool {
	ps := &w.path
	return w.nextSend.Sub(w.nextAcked) < throttleWindow && (ps.sinflight == 0 || ps.sinflight+k <= ps.swnd)
}

// sentSeqLocked accounts a first transmission of s and times it if no
// other packet is being timed.
func (ep *Endpoint) sentSeqLocked(w *wireState, s *wireSend) {
	ps := &w.path
	s.frames = uint16(ep.seqFrames(s))
	ps.sinflight += int(s.frames)
	if !ps.rttOn && !ps.recovering {
		ps.rttOn, ps.rttSeq, ps.rttSent = true, s.seq, ep.now()
	}
}

// seqAckedLocked accounts packets acknowledged: the window grows, the timed
// packet gives a sample, recovery ends or goes on with the next hole.
func (ep *Endpoint) seqAckedLocked(p *Partner, frames int, timed bool) {
	w := p.w
	ps := &w.path
	ps.sinflight = max(ps.sinflight-frames, 0)
	ps.backoff, ps.dupacks = 0, 0
	now := ep.now()
	if timed {
		ps.sample(now.Sub(ps.rttSent))
	}
	if ps.sUndo.on && now.Sub(ps.sUndo.at) < ps.minRTT*3/4 {
		// Acked sooner than any round trip after the timeout: the ack
		// was already on its way, for the first transmission.
		ps.undo(true)
	}
	ps.sUndo.on = false
	if !ps.recovering {
		grow(&ps.swnd, &ps.sssthresh, &ps.sacc, frames, seqWndMax)
		return
	}
	if left := ps.recoverSeq.Sub(w.nextAcked); left == 0 || left > w.nextSend.Sub(w.nextAcked) { // reached recoverSeq
		ps.recovering = false
		return
	}
	// A partial ack: the receiver still lacks the packet after it.
	if len(w.nonAcked) > 0 {
		ep.retransmitFirstLocked(p)
	}
}

// dupAckLocked handles an explicit ack that acknowledged nothing new while
// packets are outstanding: the receiver got a later packet (or a
// duplicate). Enough of them retransmit the first unacked packet.
func (ep *Endpoint) dupAckLocked(p *Partner) {
	w := p.w
	ps := &w.path
	if len(w.nonAcked) == 0 || ps.recovering {
		return
	}
	ps.dupacks++
	if ps.dupacks < min(dupThresh, len(w.nonAcked)-1) || len(w.nonAcked) < 2 {
		return
	}
	ps.dupacks = 0
	now := ep.now()
	ps.cut(now, true, false, 0)
	ps.recovering, ps.recoverSeq = true, w.nextSend
	ps.rttOn = false // its ack waits for the repair: no sample
	ep.recovery.fastRetransmits.Add(1)
	ep.retransmitFirstLocked(p)
}

// retransmitFirstLocked sends the first unacked packet again, unless it was
// sent less than a round trip ago.
func (ep *Endpoint) retransmitFirstLocked(p *Partner) {
	w := p.w
	s := w.nonAcked[0]
	if s.acked {
		return
	}
	now := ep.now()
	if s.lastSend != unstamped && now.Sub(s.lastSend) < w.path.srtt/2 {
		return
	}
	w.path.rttOn = false // Karn: no sample while a packet is repaired
	ep.transmitLocked(p, s, now)
}

// seqTimeoutLocked handles the retransmission timer of a partner: the first
// unacked packet goes again (the others follow as acks come), the timeout
// doubles and the window shrinks. It reports false when the partner must be
// given up (the request's budget is spent).
func (ep *Endpoint) seqTimeoutLocked(p *Partner, now time.Time) bool {
	w := p.w
	ps := &w.path
	s := w.nonAcked[0]
	if s.budget != 0xffffffff && now.Sub(s.firstSend) > ep.resendDelay*time.Duration(s.budget) {
		return false
	}
	ps.backoff = min(ps.backoff+1, 10)
	ps.cut(now, true, true, 0)
	ps.recovering, ps.recoverSeq = true, w.nextSend
	ps.rttOn = false // its ack waits for the repair: no sample
	ep.recovery.timeouts.Add(1)
	ep.transmitLocked(p, s, now)
	if last := w.nonAcked[len(w.nonAcked)-1]; last != s && !last.acked {
		// If only the acks were lost, a receiver that has everything
		// acks again when the newest packet comes twice (an Open-MX
		// receiver acks only a duplicate of the packet just before its
		// next expected one, spec/wire.md §4.4).
		ep.transmitLocked(p, last, now)
	}
	return true
}

// recoveryStats count how losses were repaired (not among the 85 counters
// of omx_counters, whose list is fixed).
type recoveryStats struct {
	fastRetransmits atomic.Uint64 // sequenced packets resent after early acks
	timeouts        atomic.Uint64 // sequenced packets resent by the timer
	pullRerequests  atomic.Uint64 // pull replies asked again after later ones came
	pullTimeouts    atomic.Uint64 // pull timeouts (every missing reply asked again)
	ringDrops       atomic.Uint64 // frames our receive ring had no room for
}

// RecoveryStats are an endpoint's loss-repair counts since it opened.
type RecoveryStats struct {
	FastRetransmits uint64 // sequenced packets resent after acks showed a gap
	Timeouts        uint64 // sequenced packets resent by the retransmission timer
	PullRerequests  uint64 // pull replies asked for again after later replies arrived
	PullTimeouts    uint64 // pulls that stalled for a retransmission timeout
	RingDrops       uint64 // frames the receive ring of the link had no room for
}

// RecoveryStats returns how the endpoint repaired losses so far.
func (ep *Endpoint) RecoveryStats() RecoveryStats {
	r := &ep.recovery
	return RecoveryStats{FastRetransmits: r.fastRetransmits.Load(), Timeouts: r.timeouts.Load(),
		PullRerequests: r.pullRerequests.Load(), PullTimeouts: r.pullTimeouts.Load(), RingDrops: r.ringDrops.Load()}
}
