package engine

// Bounds on what frames from the wire can make an endpoint hold. Open-MX
// has no authentication, so any host of the segment can send frames; none
// of them may grow a queue without limit (DESIGN.md §9). Each queue fed
// from the wire has a bound; frames beyond it are dropped and counted, and
// a reliable sender retransmits them later, so honest traffic only slows
// down while a queue is full.
//
//	queue                                 bound                         counter
//	frames read while the application     inboxFramesMax frames,        Expected Event Queue Full
//	  is away (the endpoint's inbox)        inboxBytesMax bytes
//	out-of-order frames                   earlyFramesMax per partner,   Expected Event Queue Full
//	                                        earlyBytesMax per endpoint
//	unexpected messages                   UnexpQueueMax bytes           Unexpected Event Queue Full
//	                                        (MX_PARAM_UNEXP_QUEUE_MAX)
//	partners                              PartnersMax per endpoint      Drop Bad Peer Addr

import (
	"time"

	"github.com/open-mx-go/open-mx-go/engine/wire"
)

const (
	inboxFramesMax = 4096
	inboxBytesMax  = 4 << 20
	earlyFramesMax = 512
	earlyBytesMax  = 4 << 20
	// earlyPartnerMax is the share of earlyBytesMax one partner may hold.
	earlyPartnerMax = earlyBytesMax / 2
	// msgOverhead is what an unexpected message costs beyond its payload
	// (the message and its queue entry), counted against the bound.
	msgOverhead = 128

	// DefaultUnexpQueueMax is the default bound of an endpoint's
	// unexpected queue, in bytes.
	DefaultUnexpQueueMax = 16 << 20
	// DefaultPartnersMax is the default number of partners an endpoint
	// keeps.
	DefaultPartnersMax = 8192
)

// unexpCost is what message m counts against the unexpected bound.
func unexpCost(m *message) int {
	if m.class == classEager {
		return msgOverhead + len(m.data)
	}
	return msgOverhead
}

// queueUnexpLocked appends m to the unexpected queue.
func (ep *Endpoint) queueUnexpLocked(m *message) {
	ep.mu.unexp = append(ep.mu.unexp, m)
	ep.mu.unexpBytes += unexpCost(m)
}

// recountUnexpLocked recomputes the unexpected bytes after the queue was
// filtered.
func (ep *Endpoint) recountUnexpLocked() {
	n := 0
	for _, m := range ep.mu.unexp {
		n += unexpCost(m)
	}
	ep.mu.unexpBytes = n
}

// roomForUnexpLocked reports whether a message from the wire of the given
// payload size may be accepted: it matches a posted receive (it will not
// be queued), or the unexpected queue has room for it. Otherwise the frame
// is dropped without being acknowledged, and counted: the sender sends it
// again later, when the application may have drained the queue.
func (ep *Endpoint) roomForUnexpLocked(match uint64, size int) bool {
	if ep.mu.unexpBytes+msgOverhead+size <= ep.unexpMax {
		return true
	}
	for r := ep.mu.posted.head; r != nil; r = ep.mu.posted.nextOf(r) {
		if matches(match, r.status.MatchInfo, r.matchMask) {
			return true
		}
	}
	ep.counters.Inc(UnexpEventQFull)
	return false
}

// SetUnexpQueueMax sets the bound of the unexpected queue in bytes
// (MX_PARAM_UNEXP_QUEUE_MAX); 0 restores the default.
func (ep *Endpoint) SetUnexpQueueMax(n uint32) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.unexpMax = int(n)
	if n == 0 {
		ep.unexpMax = ep.eng.Config().UnexpQueueMax
	}
}

// forgetEarlyLocked drops the out-of-order frames kept for a partner.
func (ep *Endpoint) forgetEarlyLocked(w *wireState) {
	if ep.net != nil {
		ep.net.earlyBytes -= w.earlyBytes
	}
	clear(w.early)
	w.early = nil
	w.earlyBytes = 0
}

// roomForEarlyLocked makes room for an out-of-order frame of size bytes
// from partner w, within the per-partner and per-endpoint bounds. When the
// endpoint's budget is used up, the partner holding the most gives up its
// furthest frames (they will be sent again), so that one partner's flood
// cannot keep the others from being reordered; when that is w itself and
// the new frame would be its furthest, the new frame is dropped instead.
func (ep *Endpoint) roomForEarlyLocked(w *wireState, d uint16, size int) bool {
	n := ep.net
	if len(w.early) >= earlyFramesMax || w.earlyBytes+size > earlyPartnerMax {
		ep.counters.Inc(ExpEventQFull)
		return false
	}
	for n.earlyBytes+size > earlyBytesMax {
		var hog *wireState
		for _, p := range ep.mu.partners {
			if p.w != nil && len(p.w.early) > 0 && (hog == nil || p.w.earlyBytes > hog.earlyBytes) {
				hog = p.w
			}
		}
		if hog == nil {
			ep.counters.Inc(ExpEventQFull)
			return false
		}
		last := hog.early[len(hog.early)-1]
		if hog == w && last.seq.Sub(w.nextRecv) <= d {
			ep.counters.Inc(ExpEventQFull)
			return false
		}
		hog.early[len(hog.early)-1] = earlyFrame{}
		hog.early = hog.early[:len(hog.early)-1]
		hog.earlyBytes -= len(last.frame)
		n.earlyBytes -= len(last.frame)
		ep.counters.Inc(ExpEventQFull)
	}
	return true
}

// keepForLaterLocked reports whether a sequenced frame read by the
// progress goroutine (the application is not in the library) may wait in
// the inbox: it must carry this endpoint's session and come from a known
// partner (else it is dropped now, as the application thread would), and
// the inbox must have room.
func (ep *Endpoint) keepForLaterLocked(t wire.Type, frame []byte, local bool) bool {
	if t != wire.TypeNackLib {
		var f seqFrame
		if err := ep.decodeSequenced(&f, t, frame, local); err != nil {
			ep.counters.Inc(DropBadDataLen)
			return false
		}
		if f.session != ep.session {
			ep.counters.Inc(DropBadSession)
			ep.sendNackLibLocked(f.head, f.srcEP, uint16(f.seq), wire.NackBadSession)
			return false
		}
		if ep.wirePartnerFrom(f.head.Src, f.srcEP) == nil {
			ep.counters.Inc(DropBadPeerAddr)
			return false
		}
	}
	if !ep.inbox.roomFor(len(frame)) {
		ep.counters.Inc(ExpEventQFull)
		return false
	}
	return true
}

// nackRate and nackBurst bound the NACKs an endpoint sends in answer to
// frames it refuses (a token bucket).
const (
	nackRate  = 1000
	nackBurst = 100
)

// tokenBucket is a rate limiter on the timer pass's clock.
type tokenBucket struct {
	tokens float64
	last   time.Time
}

// take reports whether one more event may happen at now.
func (b *tokenBucket) take(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens, b.last = nackBurst, now
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(nackBurst, b.tokens+d.Seconds()*nackRate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
