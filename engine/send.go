package engine

import "fmt"

// MaxSegments is the largest segment count of a vectored request.
const MaxSegments = 256

// Send posts a message to dest (omx_isendv; omx_issendv when sync). segs
// are the application's buffers: the engine reads them until the request
// completes. With forget, the request is invisible (no handle). Flow:
//
//	self (dest is this endpoint, self path on): queued in our own inbox,
//	    matched in this very call if a receive is posted; done when a
//	    receive takes it.
//	local eager (≤ threshold, not sync): payload copied into the message,
//	    the send is done at once.
//	local rendezvous: the receiver copies from segs when it matches, then
//	    notifies us; done on that notice.
func (ep *Endpoint) Send(segs [][]byte, dest Address, matchInfo uint64, ctx uintptr, sync, forget bool) (*Request, error) {
	r, _, err := ep.postSend(segs, dest, matchInfo, ctx, sync, forget, false)
	return r, err
}

// SendHandle is Send for callers that keep only the request's handle (the
// C API): the engine may reuse the request object once the request is
// freed, so that posting allocates nothing in steady state.
func (ep *Endpoint) SendHandle(segs [][]byte, dest Address, matchInfo uint64, ctx uintptr, sync, forget bool) (uint64, error) {
	_, h, err := ep.postSend(segs, dest, matchInfo, ctx, sync, forget, true)
	return h, err
}

// postSend checks and posts a send; the handle is read under the lock
// (once it is released, a reusable request may complete, be freed and be
// reused by another thread).
func (ep *Endpoint) postSend(segs [][]byte, dest Address, matchInfo uint64, ctx uintptr, sync, forget, reuse bool) (*Request, uint64, error) {
	if len(segs) > MaxSegments {
		return nil, 0, fmt.Errorf("allocating %d-vectorial send request segment array: %w", len(segs), ErrSegmentsCount)
	}
	if err := ep.lock(); err != nil {
		return nil, 0, err
	}
	defer ep.unlock()
	r := ep.sendLocked(segs, dest, matchInfo, ctx, sync, forget, reuse)
	return r, r.handle, nil
}

// sendLocked posts a send; reuse says the caller keeps only the handle.
func (ep *Endpoint) sendLocked(segs [][]byte, dest Address, matchInfo uint64, ctx uintptr, sync, forget, reuse bool) *Request {
	ep.postProgressLocked()
	p := ep.partnerForAddr(dest)
	r := ep.newRequestLocked(KindSend, ctx)
	r.byHandle = reuse
	r.forgotten = forget
	r.partner = p
	r.setSegs(segs)
	r.sync = sync
	r.status.Addr = p.address()
	r.status.MatchInfo = matchInfo
	r.status.MsgLength = r.length
	r.status.XferLength = r.length
	toSelf := dest.NICID == ep.board.NICID && dest.Endpoint == ep.index
	self := toSelf && !ep.disableSelf
	if !self && (ep.netSelf || !ep.localNIC(dest.NICID)) {
		if p.w == nil {
			p = ep.wirePartnerLocked(dest.NICID, dest.Endpoint, false)
		}
		if p == nil {
			ep.completeLocked(r, StatusRemoteEndpointUnreachable)
			return r
		}
		r.partner = p
		ep.sendWireLocked(p, r, matchInfo, sync)
		return r
	}
	if self {
		m := ep.localMessage(r, matchInfo, sync)
		r.class, m.class, m.send = classSelf, classSelf, r
		r.pinned = true
		if dest.Session != ep.session {
			ep.completeLocked(r, StatusRemoteEndpointBadSession)
			return r
		}
		ep.inbox.push(event{msg: m}, &ep.sig)
		ep.postProgressLocked()
		return r
	}
	var target *Endpoint
	if ep.eng.open.Load() > 1 || toSelf {
		// Another endpoint of this process may be the destination (with
		// this one alone open, only this one can).
		target = ep.eng.lookupLocal(dest.NICID, dest.Endpoint)
	}
	if target == nil && ep.net != nil && ep.net.local && ((p.w != nil && p.w.sendSeqSet) || ep.sameHostLocked(dest.Endpoint)) {
		// Another process of this host: the wire protocol over shared memory.
		if p.w == nil {
			p = ep.wirePartnerLocked(dest.NICID, dest.Endpoint, false)
		}
		r.partner = p
		ep.sendWireLocked(p, r, matchInfo, sync)
		return r
	}
	switch {
	case dest.Endpoint >= ep.endpointMax:
		ep.completeLocked(r, StatusRemoteEndpointBadID)
		return r
	case target == nil:
		ep.completeLocked(r, StatusRemoteEndpointClosed)
		return r
	case target.session != dest.Session:
		ep.completeLocked(r, StatusRemoteEndpointBadSession)
		return r
	}
	m := ep.localMessage(r, matchInfo, sync)
	var ls *largeSend
	if !sync && r.length <= ep.eagerMax {
		r.class, m.class = classEager, classEager
		m.data = make([]byte, r.length)
		copySegments([][]byte{m.data}, segs, r.length)
		ep.countSend(r.length)
	} else {
		r.class, m.class = classRndv, classRndv
		ls = &largeSend{segs: r.segs, length: r.length, sender: ep, req: r, partner: p}
		m.large, r.large = ls, ls
		r.pinned = true
		ep.counters.Inc(SharedRndv)
	}
	if !target.inbox.push(event{msg: m}, &target.sig) {
		ep.completeLocked(r, StatusRemoteEndpointClosed)
		return r
	}
	if ls != nil {
		ep.mu.largeSends[ls] = struct{}{}
	} else {
		ep.completeLocked(r, StatusSuccess)
	}
	if target == ep {
		ep.postProgressLocked()
	}
	return r
}

// localMessage is the message a send to this process's endpoints queues
// (allocated only on those paths: the wire path needs none).
func (ep *Endpoint) localMessage(r *Request, matchInfo uint64, sync bool) *message {
	return &message{
		src:        partnerKey{ep.board.NICID, ep.index},
		srcSession: ep.session,
		matchInfo:  matchInfo,
		length:     r.length,
		sync:       sync,
	}
}

func (ep *Endpoint) countSend(n uint32) {
	switch {
	case n <= 32:
		ep.counters.Inc(SharedTiny)
	case n <= 128:
		ep.counters.Inc(SharedSmall)
	default:
		ep.counters.Inc(SharedMediumSQFrag)
	}
}

// IBuffered tells whether a send's buffer may be reused (omx_ibuffered):
// true for self and eager sends, false for rendezvous and synchronous ones.
// ErrBadRequest for receives and connects.
func (ep *Endpoint) IBuffered(h uint64) (bool, error) {
	if err := ep.lock(); err != nil {
		return false, err
	}
	defer ep.unlock()
	ep.progressLocked()
	r, err := ep.requestLocked(h)
	if err != nil {
		return false, err
	}
	if r.kind != KindSend {
		return false, ErrBadRequest
	}
	return r.class != classRndv && r.class != classWireRndv, nil
}
