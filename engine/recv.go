package engine

import "fmt"

// CheckMask validates a (match info, mask) pair (spec/api.md §7.2).
func CheckMask(matchInfo, mask uint64) error {
	if matchInfo&^mask != 0 {
		return fmt.Errorf("match info %#x mask %#x: %w", matchInfo, mask, ErrBadMatchMask)
	}
	return nil
}

// Recv posts a receive (omx_irecvv). The oldest matching unexpected message
// is taken at once; otherwise the receive waits in the posted list. segs
// are written until the request completes.
func (ep *Endpoint) Recv(segs [][]byte, matchInfo, mask uint64, ctx uintptr, forget bool) (*Request, error) {
	r, _, err := ep.postRecv(segs, matchInfo, mask, ctx, forget, false)
	return r, err
}

// RecvHandle is Recv for callers that keep only the request's handle (the
// C API), see SendHandle.
func (ep *Endpoint) RecvHandle(segs [][]byte, matchInfo, mask uint64, ctx uintptr, forget bool) (uint64, error) {
	_, h, err := ep.postRecv(segs, matchInfo, mask, ctx, forget, true)
	return h, err
}

// postRecv checks and posts a receive, reading the handle under the lock
// (see postSend).
func (ep *Endpoint) postRecv(segs [][]byte, matchInfo, mask uint64, ctx uintptr, forget, reuse bool) (*Request, uint64, error) {
	if err := CheckMask(matchInfo, mask); err != nil {
		return nil, 0, err
	}
	if ep.ctxMask&^mask != 0 {
		return nil, 0, fmt.Errorf("irecv with match mask %#x and ctxid mask %#x: %w", mask, ep.ctxMask, ErrCtxIDMask)
	}
	if len(segs) > MaxSegments {
		return nil, 0, fmt.Errorf("allocating %d-vectorial receive request segment array: %w", len(segs), ErrSegmentsCount)
	}
	if err := ep.lock(); err != nil {
		return nil, 0, err
	}
	defer ep.unlock()
	r := ep.recvLocked(segs, matchInfo, mask, ctx, forget, reuse)
	return r, r.handle, nil
}

// recvLocked posts a receive; reuse says the caller keeps only the handle.
func (ep *Endpoint) recvLocked(segs [][]byte, matchInfo, mask uint64, ctx uintptr, forget, reuse bool) *Request {
	ep.postProgressLocked()
	r := ep.newRequestLocked(KindRecv, ctx)
	r.byHandle = reuse
	r.forgotten = forget
	r.setSegs(segs)
	r.status.MatchInfo = matchInfo
	r.matchMask = mask
	for i, m := range ep.mu.unexp {
		if matches(m.matchInfo, matchInfo, mask) {
			ep.mu.unexp = append(ep.mu.unexp[:i], ep.mu.unexp[i+1:]...)
			ep.mu.unexpBytes -= unexpCost(m)
			ep.deliverLocked(m, r)
			return r
		}
	}
	r.posted = true
	ep.mu.posted.pushBack(r)
	return r
}

// requestLocked returns the live request h of this endpoint.
func (ep *Endpoint) requestLocked(h uint64) (*Request, error) {
	r, ok := ep.eng.requests.get(h)
	if !ok || r.ep != ep || r.state == reqFreed {
		return nil, fmt.Errorf("request %#x: %w", h, ErrBadRequest)
	}
	return r, nil
}

// takeLocked completes a done request for the application: its status is
// returned and it is freed.
func (ep *Endpoint) takeLocked(r *Request) ReqStatus {
	ep.mu.done.remove(r)
	st := r.status
	ep.freeLocked(r)
	return st
}

// Test completes request h if it is done (omx_test).
func (ep *Endpoint) Test(h uint64) (ReqStatus, bool, error) {
	return ep.Wait(h, 0)
}

// Wait blocks until request h is done, the timeout (ms; 0xffffffff
// forever) expires or Wakeup is called (omx_wait).
func (ep *Endpoint) Wait(h uint64, timeoutMs uint32) (ReqStatus, bool, error) {
	var st ReqStatus
	done, err := ep.WaitStatus(h, timeoutMs, &st)
	return st, done, err
}

// WaitStatus is Wait storing the status of the completed request into *st
// (left alone while the request is not done: a polling loop copies
// nothing).
func (ep *Endpoint) WaitStatus(h uint64, timeoutMs uint32, st *ReqStatus) (bool, error) {
	if err := ep.lock(); err != nil {
		return false, err
	}
	defer ep.unlock()
	r, err := ep.requestLocked(h)
	if err != nil {
		return false, err
	}
	// While waitLocked releases the lock, another thread may complete and
	// free the request, and the object be reused for a new one (with a new
	// handle): h tells them apart.
	if !ep.waitLocked(timeoutMs, func() bool { return r.handle == h && r.state == reqDone }) {
		if (r.state == reqFreed || r.handle != h) && !ep.mu.closed {
			return false, fmt.Errorf("request %#x: %w", h, ErrBadRequest)
		}
		return false, nil
	}
	*st = ep.takeLocked(r)
	return true, nil
}

// TestAny completes the oldest done request whose match info matches
// (omx_test_any); WaitAny blocks for one (omx_wait_any).
func (ep *Endpoint) TestAny(matchInfo, mask uint64) (ReqStatus, bool, error) {
	return ep.WaitAny(matchInfo, mask, 0)
}

// WaitAny is the blocking TestAny.
func (ep *Endpoint) WaitAny(matchInfo, mask uint64, timeoutMs uint32) (ReqStatus, bool, error) {
	if err := CheckMask(matchInfo, mask); err != nil {
		return ReqStatus{}, false, err
	}
	if err := ep.lock(); err != nil {
		return ReqStatus{}, false, err
	}
	defer ep.unlock()
	var found *Request
	ok := ep.waitLocked(timeoutMs, func() bool {
		for r := ep.mu.done.head; r != nil; r = ep.mu.done.nextOf(r) {
			if matches(r.status.MatchInfo, matchInfo, mask) {
				found = r
				return true
			}
		}
		return false
	})
	if !ok {
		return ReqStatus{}, false, nil
	}
	return ep.takeLocked(found), true, nil
}

// Peek returns the handle of the oldest done request without completing
// it (omx_ipeek with timeout 0, omx_peek otherwise).
func (ep *Endpoint) Peek(timeoutMs uint32) (uint64, bool, error) {
	if err := ep.lock(); err != nil {
		return 0, false, err
	}
	defer ep.unlock()
	if !ep.waitLocked(timeoutMs, func() bool { return ep.mu.done.head != nil }) {
		return 0, false, nil
	}
	return ep.mu.done.head.handle, true, nil
}

// Probe looks for the oldest unexpected message that matches, without
// taking it (omx_iprobe with timeout 0, omx_probe otherwise).
func (ep *Endpoint) Probe(matchInfo, mask uint64, timeoutMs uint32) (ReqStatus, bool, error) {
	if err := CheckMask(matchInfo, mask); err != nil {
		return ReqStatus{}, false, err
	}
	if err := ep.lock(); err != nil {
		return ReqStatus{}, false, err
	}
	defer ep.unlock()
	var st ReqStatus
	ok := ep.waitLocked(timeoutMs, func() bool {
		for _, m := range ep.mu.unexp {
			if matches(m.matchInfo, matchInfo, mask) {
				st = ReqStatus{
					Addr:       ep.partnerLocked(m.src.nicID, m.src.index, m.srcSession).address(),
					MatchInfo:  m.matchInfo,
					MsgLength:  m.length,
					XferLength: m.length,
				}
				return true
			}
		}
		return false
	})
	return st, ok, nil
}

// Cancel cancels a receive not matched yet or a connect not answered yet
// (omx_cancel; omx_cancel_notest when notest: the request then completes
// with StatusCancelled). It reports whether the request was cancelled;
// sends give ErrBadRequest.
func (ep *Endpoint) Cancel(h uint64, notest bool) (bool, error) {
	if err := ep.lock(); err != nil {
		return false, err
	}
	defer ep.unlock()
	ep.progressLocked()
	r, err := ep.requestLocked(h)
	if err != nil {
		return false, err
	}
	switch {
	case r.kind == KindSend:
		return false, fmt.Errorf("cancelling send request: %w", ErrBadRequest)
	case r.state != reqPending:
		return false, nil
	case r.kind == KindRecv && !r.posted:
		return false, nil
	}
	if r.posted {
		ep.mu.posted.remove(r)
		r.posted = false
	}
	if r.kind == KindConnect {
		ep.dropConnectLocked(r)
	}
	if !notest {
		ep.freeLocked(r)
		return true, nil
	}
	r.status.MsgLength, r.status.XferLength = 0, 0
	ep.completeLocked(r, StatusCancelled)
	return true, nil
}

// Forget makes a request invisible: freed now if done, else when it
// completes (omx_forget).
func (ep *Endpoint) Forget(h uint64) error {
	if err := ep.lock(); err != nil {
		return err
	}
	defer ep.unlock()
	r, err := ep.requestLocked(h)
	if err != nil {
		return err
	}
	if r.state == reqDone {
		ep.mu.done.remove(r)
		ep.freeLocked(r)
		return nil
	}
	r.forgotten = true
	// The application gave the handle up: it stops working now, the request
	// lives on until it completes.
	ep.eng.requests.remove(r.handle)
	if len(ep.mu.forgotten) >= 32 && len(ep.mu.forgotten) == cap(ep.mu.forgotten) {
		live := ep.mu.forgotten[:0]
		for _, f := range ep.mu.forgotten {
			if f.state != reqFreed {
				live = append(live, f)
			}
		}
		clear(ep.mu.forgotten[len(live):])
		ep.mu.forgotten = live
	}
	ep.mu.forgotten = append(ep.mu.forgotten, r)
	return nil
}

// OwnsRequest reports whether h is a live request of this endpoint.
func (ep *Endpoint) OwnsRequest(h uint64) bool {
	r, ok := ep.eng.requests.get(h)
	return ok && r.ep == ep
}
