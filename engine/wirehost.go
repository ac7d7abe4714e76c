package engine

// Host-name queries (spec/wire.md §6.5): a peer of the table without a
// name is asked for it every 5 s; a query is answered with the board's
// host name. Every endpoint of a board sees these frames (they are not
// endpoint-addressed): each answers, and each learns the names it is told.

import (
	"time"

	"github.com/open-mx-go/open-mx-go/engine/wire"
)

const hostQueryPeriod = 5 * time.Second

// SetPeerName names a peer of the table (a HOST_REPLY, or the raw API).
func (e *Engine) SetPeerName(nic uint64, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range e.cfg.Peers {
		if e.cfg.Peers[i].NICID == nic {
			e.cfg.Peers[i].Hostname = name
			return
		}
	}
}

// namelessPeers returns the remote peers whose names are unknown.
func (e *Engine) namelessPeers() []Peer {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ps []Peer
	for _, p := range e.peersLocked() {
		if p.Hostname == "" {
			ps = append(ps, p)
		}
	}
	return ps
}

// hostQueriesLocked asks the nameless peers for their names.
func (ep *Endpoint) hostQueriesLocked(now time.Time) {
	n := ep.net
	if now.Before(n.nextHostQuery) {
		return
	}
	n.nextHostQuery = now.Add(hostQueryPeriod)
	for _, p := range ep.eng.namelessPeers() {
		idx, _ := ep.eng.peerIndex(p.NICID)
		q := wire.HostQuery{SrcDstPeerIndex: idx, Magic: wire.HostQueryMagic}
		if k, err := q.Encode(n.tx, wire.Head{Dst: nicToMAC(p.NICID), Src: n.mac, PeerIndex: wire.UnknownPeerIndex}, n.mode); err == nil {
			ep.sendFrameLocked(n.tx[:k])
			ep.counters.Inc(SendHostQuery)
		}
	}
}

// hostQueryLocked answers a query with the board's host name.
func (ep *Endpoint) hostQueryLocked(frame []byte) {
	n := ep.net
	h, q, err := wire.DecodeHostQuery(frame, n.mode)
	if err != nil {
		ep.counters.Inc(DropBadDataLen)
		return
	}
	ep.counters.Inc(RecvHostQuery)
	idx, ok := ep.eng.peerIndex(macToNIC(h.Src))
	if !ok {
		idx = wire.UnknownPeerIndex
	}
	name, _ := ep.eng.NICIDToHostname(ep.board.NICID)
	rep := wire.HostReply{SrcDstPeerIndex: idx, Magic: q.Magic, Hostname: name}
	if k, err := rep.Encode(n.tx, wire.Head{Dst: h.Src, Src: n.mac, PeerIndex: wire.UnknownPeerIndex}, n.mode); err == nil {
		ep.sendFrameLocked(n.tx[:k])
		ep.counters.Inc(SendHostReply)
	}
}

// hostReplyLocked learns a peer's name.
func (ep *Endpoint) hostReplyLocked(frame []byte) {
	h, r, err := wire.DecodeHostReply(frame, ep.net.mode)
	if err != nil {
		ep.counters.Inc(DropBadDataLen)
		return
	}
	ep.counters.Inc(RecvHostReply)
	if r.Magic != wire.HostQueryMagic {
		ep.counters.Inc(DropHostReplyBadMagic)
		return
	}
	if r.Hostname != "" {
		ep.eng.SetPeerName(macToNIC(h.Src), r.Hostname)
	}
}
