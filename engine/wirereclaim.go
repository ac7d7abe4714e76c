package engine

// The partner table of a networked endpoint, kept bounded and cheap:
//
//   - Only partners with something due (a retransmission, a delayed ack, a
//     connect, a same-host liveness check) are visited by the timer pass:
//     the active set. An idle endpoint costs the same with one partner as
//     with thousands.
//   - Partners that the application never saw (no address of theirs was
//     handed out) and that are idle (nothing pending either way, nothing
//     queued from them) are reclaimed after partnerQuiet without traffic,
//     and at once when the table is full and a new partner must be made.
//     What a reclaimed partner's protocol state needs to resume (sessions,
//     sequence numbers, indexes) is kept in a compact record (a tomb), so
//     that an honest peer that comes back later continues where it left;
//     the tombs are bounded too (the oldest are forgotten first).
//
// A flood of CONNECTs (with the right key: a wrong key creates nothing)
// therefore fills at most PartnersMax partners and 2*PartnersMax tombs.

import "time"

const (
	partnerQuiet  = 10 * time.Second // idle time before a partner may be reclaimed
	reclaimPeriod = 10 * time.Second // period of the reclaim sweep
	victimRescan  = time.Second      // a full table is scanned again after this
)

// partnerTomb is what remains of a reclaimed partner.
type partnerTomb struct {
	w       wireState // scalar protocol state; its queues are empty
	session uint32
	born    uint64 // order of reclaim, for eviction of the oldest
}

// activateLocked puts a partner in the timer pass.
func (ep *Endpoint) activateLocked(p *Partner) {
	if n := ep.net; n != nil {
		if _, ok := n.active[p]; !ok {
			n.active[p] = struct{}{}
		}
	}
}

// timerWorkLocked reports whether the timer pass has anything to do for p.
func (ep *Endpoint) timerWorkLocked(p *Partner) bool {
	w := p.w
	if w == nil {
		return false
	}
	if !w.ackDue.IsZero() || len(w.nonAcked) > 0 || len(w.throttled) > 0 || len(w.connects) > 0 {
		return true
	}
	// A same-host partner is watched while it has a large send or a pull
	// in progress with us (sameHostGoneLocked).
	return w.mac == ep.net.mac && ep.largeWithLocked(p)
}

// largeWithLocked reports whether a large send to p or a pull from p is in
// progress.
func (ep *Endpoint) largeWithLocked(p *Partner) bool {
	for _, wr := range ep.net.regions {
		if wr != nil && wr.partner == p {
			return true
		}
	}
	for _, pl := range ep.net.pullsByHandle {
		if pl.src.partner == p {
			return true
		}
	}
	return false
}

// reclaimableLocked reports whether p may be reclaimed now.
func (ep *Endpoint) reclaimableLocked(p *Partner, now time.Time) bool {
	w := p.w
	if w == nil || p.appRef || p == ep.mu.self || now.Sub(w.lastActive) < partnerQuiet {
		return false
	}
	if ep.timerWorkLocked(p) || len(w.early) > 0 || w.asm != nil || ep.largeWithLocked(p) {
		return false
	}
	k := partnerKey{p.nicID, p.index}
	for _, m := range ep.mu.unexp {
		if m.src == k {
			return false
		}
	}
	return true
}

// reclaimLocked turns p into a tomb.
func (ep *Endpoint) reclaimLocked(p *Partner) {
	n := ep.net
	k := partnerKey{p.nicID, p.index}
	if len(n.tombs) >= 2*ep.partnersMax {
		// Forget the oldest tomb.
		var oldK partnerKey
		oldest := ^uint64(0)
		for tk, t := range n.tombs {
			if t.born < oldest {
				oldK, oldest = tk, t.born
			}
		}
		delete(n.tombs, oldK)
	}
	n.tombSeq++
	t := &partnerTomb{w: *p.w, session: p.session, born: n.tombSeq}
	t.w.early, t.w.nonAcked, t.w.throttled, t.w.connects, t.w.asm = nil, nil, nil, nil, nil
	n.tombs[k] = t
	delete(n.active, p)
	delete(ep.mu.partners, k)
	ep.eng.partners.remove(p.handle)
	p.w = nil
	ep.reclaimed++
}

// restoreLocked brings a reclaimed partner back from its tomb: into p, an
// application-made partner without wire state, or (p nil) into a new
// partner when there is room. Nil when there is no tomb or no room.
func (ep *Endpoint) restoreLocked(k partnerKey, p *Partner) *Partner {
	n := ep.net
	t := n.tombs[k]
	if t == nil || (p == nil && !ep.roomForPartnerLocked()) {
		return nil
	}
	delete(n.tombs, k)
	if p == nil {
		p = ep.partnerLocked(k.nicID, k.index, t.session)
	}
	w := t.w
	p.w, p.session = &w, t.session
	p.w.lastActive = n.coarseNow
	return p
}

// roomForPartnerLocked makes room for one more partner made from the wire:
// under the bound, or by reclaiming the partner idle the longest. False
// when every partner is in use (the caller counts the dropped frame).
func (ep *Endpoint) roomForPartnerLocked() bool {
	if len(ep.mu.partners) < ep.partnersMax {
		return true
	}
	n := ep.net
	now := n.coarseNow
	if now.Before(n.noVictimUntil) {
		// A scan found nothing reclaimable a moment ago: a flood of new
		// partners is refused without a scan per frame.
		return false
	}
	var victim *Partner
	for _, p := range ep.mu.partners {
		if (victim == nil || p.w != nil && p.w.lastActive.Before(victim.w.lastActive)) && ep.reclaimableLocked(p, now) {
			victim = p
		}
	}
	if victim == nil {
		n.noVictimUntil = now.Add(victimRescan)
		return false
	}
	ep.reclaimLocked(victim)
	return true
}

// reclaimSweepLocked reclaims every partner that may be, once per
// reclaimPeriod.
func (ep *Endpoint) reclaimSweepLocked(now time.Time) {
	n := ep.net
	if now.Before(n.nextReclaim) {
		return
	}
	n.nextReclaim = now.Add(reclaimPeriod)
	for _, p := range ep.mu.partners {
		if ep.reclaimableLocked(p, now) {
			ep.reclaimLocked(p)
		}
	}
}

// Reclaimed returns how many partners the endpoint reclaimed (for tests).
func (ep *Endpoint) Reclaimed() uint64 {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.reclaimed
}

// PartnerCount returns the partners and tombs the endpoint holds (for
// tests).
func (ep *Endpoint) PartnerCount() (partners, tombs int) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.net != nil {
		tombs = len(ep.net.tombs)
	}
	return len(ep.mu.partners), tombs
}
