package engine

import "fmt"

// connectStatusLocked decides the answer to a connect request to (nic,
// index) with key, and returns the partner on success. Until the wire
// exists, only this process's endpoints can answer.
func (ep *Endpoint) connectStatusLocked(nic uint64, index, key uint32) (*Partner, Status) {
	if nic == ep.board.NICID && index == ep.index {
		return ep.selfPartner(), StatusSuccess
	}
	if index >= ep.endpointMax {
		return nil, StatusRemoteEndpointBadID
	}
	target := ep.eng.lookupLocal(nic, index)
	if target == nil {
		return nil, StatusRemoteEndpointClosed
	}
	if target.key != key {
		return nil, StatusRemoteEndpointBadKey
	}
	ep.counters.Inc(SharedConnectRequest)
	target.counters.Inc(SharedConnectReply)
	return ep.partnerLocked(nic, index, target.session), StatusSuccess
}

// sameHostLocked reports whether endpoint index of this host, not open in
// this process, can be reached through the same-host link.
func (ep *Endpoint) sameHostLocked(index uint32) bool {
	return ep.net != nil && ep.net.local && index < ep.endpointMax &&
		(ep.localOpen == nil || ep.localOpen(ep.board, index))
}

// otherProcessLocked reports whether (nic, index), a board of this host,
// is to be reached in another process through the same-host link.
func (ep *Endpoint) otherProcessLocked(nic uint64, index uint32) bool {
	if nic == ep.board.NICID && index == ep.index {
		return false
	}
	return ep.sameHostLocked(index) && ep.eng.lookupLocal(nic, index) == nil
}

// viaWireLocked reports whether a connect to (nic, index) takes the wire
// protocol: another host, another process of this host, or, when this host
// is reached over the network (DisableShared), any endpoint but this one,
// and this one too when self communication is disabled.
func (ep *Endpoint) viaWireLocked(nic uint64, index uint32) bool {
	if ep.netSelf {
		return nic != ep.board.NICID || index != ep.index || ep.disableSelf
	}
	return !ep.localNIC(nic) || ep.otherProcessLocked(nic, index)
}

// selfWireLocked connects this endpoint to itself over the network path
// (DisableSelf with DisableShared) without a CONNECT exchange: both
// directions are this endpoint's, so the state a handshake would set is
// known; the address of omx_get_endpoint_addr needs no connect. Called
// when the partner's wire state is made.
func (ep *Endpoint) selfWireLocked(p *Partner) {
	w := p.w
	w.reverse = w.peerIdx
	w.trueSess, w.backSess = ep.session, ep.session
	w.nextSend, w.nextAcked = w.nextRecv, w.nextRecv
	w.sendSeqSet, w.closed = true, false
	p.session = ep.session
}

func (ep *Endpoint) checkPeer(nic uint64) error {
	if _, ok := ep.eng.peerIndex(nic); !ok {
		return fmt.Errorf("searching/creating partner for connection to %012x: %w", nic, ErrNICIDNotFound)
	}
	return nil
}

// Connect connects to endpoint index of nic with key (omx_connect). The
// timeout (ms) bounds the wait for an answer.
func (ep *Endpoint) Connect(nic uint64, index, key, timeoutMs uint32) (Address, error) {
	if err := ep.checkPeer(nic); err != nil {
		return Address{}, err
	}
	if err := ep.lock(); err != nil {
		return Address{}, err
	}
	defer ep.unlock()
	ep.progressLocked()
	if ep.viaWireLocked(nic, index) {
		return ep.connectWireLocked(nic, index, key, timeoutMs)
	}
	p, st := ep.connectStatusLocked(nic, index, key)
	if st != StatusSuccess {
		return Address{}, fmt.Errorf("completing connection: %w", statusError(st))
	}
	return p.address(), nil
}

// connectWireLocked is the blocking connect to a remote endpoint: an
// internal iconnect waited for (spec/api.md §5.6).
func (ep *Endpoint) connectWireLocked(nic uint64, index, key, timeoutMs uint32) (Address, error) {
	r := ep.newRequestLocked(KindConnect, 0)
	r.internal = true
	ep.iconnectWireLocked(r, nic, index, key)
	ok := ep.waitLocked(timeoutMs, func() bool { return r.state == reqDone })
	if !ok {
		if r.state == reqFreed || ep.mu.closed {
			return Address{}, fmt.Errorf("waiting for connection to complete: %w", ErrTimeout)
		}
		ep.dropConnectLocked(r)
		ep.freeLocked(r)
		return Address{}, fmt.Errorf("waiting for connection to complete: %w", ErrTimeout)
	}
	st := ep.takeLocked(r)
	if st.Code != StatusSuccess {
		if st.Code == StatusRemoteEndpointUnreachable {
			return Address{}, fmt.Errorf("completing connection: %w", ErrTimeout)
		}
		return Address{}, fmt.Errorf("completing connection: %w", statusError(st.Code))
	}
	return st.Addr, nil
}

// IConnect posts a connect request (omx_iconnect); its status carries
// matchInfo and ctx, and the address on success.
func (ep *Endpoint) IConnect(nic uint64, index, key uint32, matchInfo uint64, ctx uintptr, forget bool) (*Request, error) {
	if err := ep.checkPeer(nic); err != nil {
		return nil, err
	}
	if err := ep.lock(); err != nil {
		return nil, err
	}
	defer ep.unlock()
	ep.progressLocked()
	r := ep.newRequestLocked(KindConnect, ctx)
	r.forgotten = forget
	r.status.MatchInfo = matchInfo
	if ep.viaWireLocked(nic, index) {
		ep.iconnectWireLocked(r, nic, index, key)
		return r, nil
	}
	p, st := ep.connectStatusLocked(nic, index, key)
	if p != nil {
		r.partner = p
		r.status.Addr = p.address()
	}
	ep.completeLocked(r, st)
	return r, nil
}

// Disconnect resets the partner an address designates (omx_disconnect):
// its pending sends complete with StatusRemoteEndpointUnreachable, its
// unexpected messages are dropped, and the partner (with its context) is
// forgotten.
func (ep *Endpoint) Disconnect(a Address) error {
	if err := ep.lock(); err != nil {
		return err
	}
	defer ep.unlock()
	ep.progressLocked()
	k := partnerKey{a.NICID, a.Endpoint}
	p := ep.mu.partners[k]
	if p == nil {
		return nil
	}
	if p.session != a.Session && a.Session != unknownSession && p.session != unknownSession {
		// The address names an earlier incarnation of the remote
		// endpoint, already forgotten when the newer one connected: the
		// newer connection and what it brought stay.
		return nil
	}
	if p.w != nil {
		ep.partnerUnreachableLocked(p)
		for _, pl := range ep.pullsOf(p) {
			ep.endPullLocked(pl, StatusRemoteEndpointUnreachable)
		}
		p.w = nil
	}
	for ls := range ep.mu.largeSends {
		if ls.partner == p {
			ls.abort()
			delete(ep.mu.largeSends, ls)
			ls.req.large = nil
			ep.completeLocked(ls.req, StatusRemoteEndpointUnreachable)
		}
	}
	for _, r := range ep.requestsLocked() {
		if r.partner == p && r.state == reqPending && r.kind == KindSend {
			ep.completeLocked(r, StatusRemoteEndpointUnreachable)
		}
	}
	kept := ep.mu.unexp[:0]
	for _, m := range ep.mu.unexp {
		if m.src == k {
			ep.refuseMessage(m, StatusRemoteEndpointUnreachable)
			continue
		}
		kept = append(kept, m)
	}
	clear(ep.mu.unexp[len(kept):])
	ep.mu.unexp = kept
	ep.recountUnexpLocked()
	delete(ep.mu.partners, k)
	ep.eng.partners.remove(p.handle)
	if ep.mu.self == p {
		ep.mu.self = nil
	}
	return nil
}
