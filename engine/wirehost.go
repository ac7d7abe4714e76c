package engine

// Host-name queries (spec/wire.md §6.5): a peer of the table without a
// name is asked for it every 5 s; a query is answered with the board's
// host name. Every endpoint of a board sees these frames (they are not
// endpoint-addressed): each answers, and each learns the names it asked
// for.
//
// Frames are untrusted (DESIGN.md §9), so (issue 9 §4):
//   - a pass sends at most hostQueriesPerPass queries, taking the nameless
//     peers round-robin: a table flooded with fake peers does not make the
//     cost of an endpoint grow;
//   - a HOST_REPLY is accepted only from a peer this endpoint asked less
//     than hostReplyWindow ago (at most hostQueriesMax outstanding), and
//     only if it echoes that query's magic. [Decision] The magic of each
//     query is a fresh random number instead of Open-MX's 0x13052008 plus
//     the number of name clears: repliers echo it byte for byte (Open-MX
//     included), so a host that does not see the query cannot forge the
//     reply. Anything else is dropped: DropHostReplyBadMagic for a wrong
//     magic, DropBadPeerAddr for a reply nobody here asked for (also the
//     replies to the queries of another endpoint of the same board, which
//     every endpoint sees);
//   - a reply only names a peer that has no name yet: names from the peers
//     file (or already learned) are never replaced from the wire.

import (
	"math/rand/v2"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/wire"
)

const (
	hostQueryPeriod = 5 * time.Second
	// hostQueriesPerPass bounds the queries an endpoint sends per period.
	hostQueriesPerPass = 16
	// hostReplyWindow is how long a query stays outstanding.
	hostReplyWindow = hostQueryPeriod
	// hostQueriesMax bounds the outstanding queries of an endpoint.
	hostQueriesMax = 2 * hostQueriesPerPass
)

// hostQueries is the host-name query state of an endpoint (netState.hq),
// guarded by the endpoint lock.
type hostQueries struct {
	next    int                      // table index from which the next pass asks
	pending map[uint64]hostQuerySent // outstanding queries, by nic id
}

// hostQuerySent is one outstanding query.
type hostQuerySent struct {
	at    time.Time
	magic uint32
}

// expire forgets the queries sent hostReplyWindow or more before now.
func (q *hostQueries) expire(now time.Time) {
	for nic, s := range q.pending {
		if now.Sub(s.at) >= hostReplyWindow {
			delete(q.pending, nic)
		}
	}
}

// SetPeerName names a peer of the table (the raw API).
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

// learnPeerName names the peer nic if it is a remote peer of the table
// without a name; it reports whether it did.
func (e *Engine) learnPeerName(nic uint64, name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.cfg.Boards {
		if b.NICID == nic {
			return false
		}
	}
	for i := range e.cfg.Peers {
		if e.cfg.Peers[i].NICID == nic {
			if e.cfg.Peers[i].Hostname != "" {
				return false
			}
			e.cfg.Peers[i].Hostname = name
			return true
		}
	}
	return false
}

// namelessPeer is a remote peer whose name is unknown, with its index in
// the peer table.
type namelessPeer struct {
	nic   uint64
	index uint16
}

// namelessPeers returns the remote peers whose names are unknown.
func (e *Engine) namelessPeers() []namelessPeer {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ps []namelessPeer
	for i, p := range e.peersLocked() {
		if i >= len(e.cfg.Boards) && p.Hostname == "" {
			ps = append(ps, namelessPeer{nic: p.NICID, index: uint16(i)})
		}
	}
	return ps
}

// hostQueriesLocked asks the next nameless peers for their names, once
// per period.
func (ep *Endpoint) hostQueriesLocked(now time.Time) {
	n := ep.net
	if now.Before(n.nextHostQuery) {
		return
	}
	n.nextHostQuery = now.Add(hostQueryPeriod)
	q := &n.hq
	q.expire(now)
	peers := ep.eng.namelessPeers()
	if len(peers) == 0 {
		q.next = 0
		return
	}
	if q.pending == nil {
		q.pending = make(map[uint64]hostQuerySent)
	}
	// Resume after the last peer asked (by table index, so that peers
	// named or gone meanwhile do not shift the turn of the others).
	start := 0
	for start < len(peers) && int(peers[start].index) < q.next {
		start++
	}
	sent := 0
	for ; sent < min(len(peers), hostQueriesPerPass) && len(q.pending) < hostQueriesMax; sent++ {
		p := peers[(start+sent)%len(peers)]
		q.next = int(p.index) + 1
		magic := rand.Uint32()
		hq := wire.HostQuery{SrcDstPeerIndex: p.index, Magic: magic}
		k, err := hq.Encode(n.tx, wire.Head{Dst: nicToMAC(p.nic), Src: n.mac, PeerIndex: wire.UnknownPeerIndex}, n.mode)
		if err != nil {
			continue
		}
		q.pending[p.nic] = hostQuerySent{at: now, magic: magic}
		ep.sendFrameLocked(n.tx[:k])
		ep.counters.Inc(SendHostQuery)
	}
}

// hostQueryLocked answers a query with the board's host name: one reply
// per query, never toward a group address.
func (ep *Endpoint) hostQueryLocked(frame []byte) {
	n := ep.net
	h, q, err := wire.DecodeHostQuery(frame, n.mode)
	if err != nil {
		ep.counters.Inc(DropBadDataLen)
		return
	}
	ep.counters.Inc(RecvHostQuery)
	if h.Src[0]&1 != 0 {
		ep.counters.Inc(DropBadPeerAddr)
		return
	}
	// Anyone may ask (the source is not authenticated), and every endpoint
	// of the board answers: answers share the NACK rate limit, so a flood
	// of queries with a forged source is not reflected one for one.
	if !n.nacks.take(n.coarseNow) {
		return
	}
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

// hostReplyLocked learns the name of a peer this endpoint asked.
func (ep *Endpoint) hostReplyLocked(frame []byte) {
	n := ep.net
	h, r, err := wire.DecodeHostReply(frame, n.mode)
	if err != nil {
		ep.counters.Inc(DropBadDataLen)
		return
	}
	ep.counters.Inc(RecvHostReply)
	nic := macToNIC(h.Src)
	s, asked := n.hq.pending[nic]
	if !asked || ep.now().Sub(s.at) >= hostReplyWindow {
		ep.counters.Inc(DropBadPeerAddr)
		return
	}
	if r.Magic != s.magic {
		ep.counters.Inc(DropHostReplyBadMagic)
		return
	}
	if r.Hostname == "" {
		ep.counters.Inc(DropBadDataLen)
		return
	}
	delete(n.hq.pending, nic)
	if !ep.eng.learnPeerName(nic, r.Hostname) {
		ep.counters.Inc(DropBadPeerAddr) // named meanwhile, or gone
	}
}
