//go:build linux

package main

// What omxoed believes about its peers, and the rules that keep a host of
// the segment from filling the peer table with fake peers (issue 9 §4,
// DESIGN.md §9). Announcements are unauthenticated broadcasts, so:
//
//   - an announcement is taken only if the nic id it announces is its
//     Ethernet source address (Open-MX reads the nic id alone);
//   - an unknown nic id is admitted on its second announcement within
//     sightingWindow (every sender repeats its announcement: 8 times one
//     second apart when it starts or hears a new peer, then every 3
//     minutes), so a flood of random addresses, each sent once, admits
//     nothing;
//   - admissions go through a token bucket (admitBurst back to back, then
//     one per admitEvery);
//   - at most namelessMax discovered peers wait for the answer to their
//     host query (the oldest is evicted to make room), at most
//     discoveredMax discovered peers are in the table;
//   - a discovered peer that never answers its host queries leaves the
//     table unansweredTTL after its admission (announcing itself again does
//     not keep it); a peer that answered stays while it is heard from
//     (announcements, host replies) at least every silentTTL.
//
// Peers of the static peers file, local boards and entries other tools
// published are never aged, evicted or renamed from the wire. Everything
// here is a plain data structure driven by the caller's clock: the daemon
// serializes the calls.

import (
	"hash/maphash"
	"time"

	"github.com/open-mx-go/open-mx-go/compat/node"
)

// Limits of discovery. README and the -h text state them.
const (
	admitBurst     = 32
	admitEvery     = 250 * time.Millisecond
	sightingWindow = 10 * time.Minute
	sightingSlots  = 1 << 16
	namelessMax    = 128
	discoveredMax  = 768
	unansweredTTL  = 2 * time.Minute
	silentTTL      = 10 * time.Minute
)

// verdict is what to do with an announcement.
type verdict int

const (
	annOwn         verdict = iota // our own board: ignored
	annMismatch                   // nic id is not the source address: dropped
	annKnown                      // a known peer, same serial
	annRestarted                  // a known peer with a new serial
	annFirst                      // an unknown nic id seen once: remembered, not admitted
	annRateLimited                // an unknown nic id refused: no admission token
	annFull                       // an unknown nic id refused: discoveredMax reached
	annAdmitted                   // a new peer, to publish without a name
)

// peerKind says where a peer comes from.
type peerKind int

const (
	kindFixed      peerKind = iota // static file, local board, other tools: never aged
	kindDiscovered                 // admitted by discovery: ages
)

type peerState struct {
	kind     peerKind
	serial   uint32
	hasSer   bool      // serial known
	added    time.Time // admission (kindDiscovered)
	heard    time.Time // last announcement or accepted reply (answered peers)
	answered bool      // an accepted host reply came from it
}

type sighting struct {
	nic uint64
	at  int64 // unix ns
}

// discovery is the peer knowledge of the daemon. Not safe for concurrent
// use.
type discovery struct {
	own    map[uint64]bool // local boards
	static map[uint64]bool // static peers file
	peers  map[uint64]*peerState

	discovered, nameless int // kindDiscovered peers, those not answered yet

	tokens     float64
	tokensAt   time.Time
	seen       []sighting
	seed       maphash.Seed
	lastEvicts []uint64 // peers evicted by the last admission
}

func newDiscovery(own []uint64, now time.Time) *discovery {
	d := &discovery{
		own:      map[uint64]bool{},
		static:   map[uint64]bool{},
		peers:    map[uint64]*peerState{},
		tokens:   admitBurst,
		tokensAt: now,
		seen:     make([]sighting, sightingSlots),
		seed:     maphash.MakeSeed(),
	}
	for _, nic := range own {
		d.own[nic] = true
	}
	return d
}

// setStatic replaces the set of peers of the static peers file. A
// discovered peer listed there becomes fixed.
func (d *discovery) setStatic(peers []node.Peer) {
	d.static = make(map[uint64]bool, len(peers))
	for _, p := range peers {
		d.static[p.NICID] = true
		if s, ok := d.peers[p.NICID]; ok && s.kind == kindDiscovered {
			d.forget(p.NICID)
			d.peers[p.NICID] = &peerState{kind: kindFixed, serial: s.serial, hasSer: s.hasSer}
		}
	}
}

// isStatic reports whether nic is a local board or a peer of the static
// peers file: its name never comes from the wire.
func (d *discovery) isStatic(nic uint64) bool { return d.own[nic] || d.static[nic] }

// adopt takes the published table as it is when the daemon starts:
// nameless entries (left by an earlier run) are treated as discovered now
// and must answer, the others are fixed.
func (d *discovery) adopt(pub []node.Peer, now time.Time) {
	for _, p := range pub {
		if _, ok := d.peers[p.NICID]; ok || d.isStatic(p.NICID) {
			continue
		}
		if p.Hostname == "" && d.discovered < discoveredMax && d.nameless < namelessMax {
			d.peers[p.NICID] = &peerState{kind: kindDiscovered, added: now, heard: now}
			d.discovered++
			d.nameless++
		}
	}
}

// sync follows a new version of the published table: discovered peers
// that another writer removed are forgotten, those it named count as
// answered.
func (d *discovery) sync(pub []node.Peer, now time.Time) {
	names := make(map[uint64]string, len(pub))
	for _, p := range pub {
		names[p.NICID] = p.Hostname
	}
	for nic, s := range d.peers {
		name, ok := names[nic]
		if s.kind != kindDiscovered {
			if !ok && !d.static[nic] {
				d.forget(nic) // its serial is of no use any more
			}
			continue
		}
		switch {
		case !ok:
			d.forget(nic)
		case name != "" && !s.answered:
			d.answer(nic, now)
		}
	}
}

// forget removes a peer.
func (d *discovery) forget(nic uint64) {
	s, ok := d.peers[nic]
	if !ok {
		return
	}
	if s.kind == kindDiscovered {
		d.discovered--
		if !s.answered {
			d.nameless--
		}
	}
	delete(d.peers, nic)
}

// announce classifies an announcement of nic with serial, received with
// Ethernet source address src; published says whether nic is in the
// published table. For annAdmitted the caller publishes nic; the peers
// evicted to make room are in d.lastEvicts, to remove from the table.
func (d *discovery) announce(src, nic uint64, serial uint32, published bool, now time.Time) verdict {
	d.lastEvicts = d.lastEvicts[:0]
	if nic != src {
		return annMismatch
	}
	if d.own[nic] {
		return annOwn
	}
	if s, ok := d.peers[nic]; ok {
		if s.answered {
			s.heard = now
		}
		if !s.hasSer || s.serial == serial {
			s.serial, s.hasSer = serial, true
			return annKnown
		}
		s.serial = serial
		return annRestarted
	}
	if published || d.static[nic] {
		d.peers[nic] = &peerState{kind: kindFixed, serial: serial, hasSer: true}
		return annKnown
	}
	if !d.sightedBefore(nic, now) {
		return annFirst
	}
	if d.discovered >= discoveredMax && d.nameless == 0 {
		return annFull
	}
	if !d.takeToken(now) {
		return annRateLimited
	}
	for d.nameless >= namelessMax || d.discovered >= discoveredMax {
		old := d.oldestNameless()
		d.forget(old)
		d.lastEvicts = append(d.lastEvicts, old)
	}
	d.peers[nic] = &peerState{kind: kindDiscovered, serial: serial, hasSer: true, added: now, heard: now}
	d.discovered++
	d.nameless++
	return annAdmitted
}

// sightedBefore reports whether nic was announced within sightingWindow
// before now, and remembers this sighting. The memory is a direct-mapped
// cache with a random hash: a flood overwrites it, but cannot aim at one
// address.
func (d *discovery) sightedBefore(nic uint64, now time.Time) bool {
	slot := &d.seen[maphash.Comparable(d.seed, nic)&(sightingSlots-1)]
	t := now.UnixNano()
	if slot.nic == nic && slot.at != 0 && t-slot.at < int64(sightingWindow) {
		return true
	}
	*slot = sighting{nic: nic, at: t}
	return false
}

// takeToken takes an admission token if there is one.
func (d *discovery) takeToken(now time.Time) bool {
	if el := now.Sub(d.tokensAt); el > 0 {
		d.tokens = min(admitBurst, d.tokens+float64(el)/float64(admitEvery))
	}
	d.tokensAt = now
	if d.tokens < 1 {
		return false
	}
	d.tokens--
	return true
}

// oldestNameless returns the discovered peer admitted first among those
// that have not answered (there is one when called).
func (d *discovery) oldestNameless() uint64 {
	var old uint64
	var at time.Time
	found := false
	for nic, s := range d.peers {
		if s.kind == kindDiscovered && !s.answered && (!found || s.added.Before(at)) {
			old, at, found = nic, s.added, true
		}
	}
	return old
}

// answer records an accepted host reply from nic.
func (d *discovery) answer(nic uint64, now time.Time) {
	s, ok := d.peers[nic]
	if !ok || s.kind != kindDiscovered {
		return
	}
	if !s.answered {
		s.answered = true
		d.nameless--
	}
	s.heard = now
}

// expire removes the discovered peers whose time is up and returns them.
func (d *discovery) expire(now time.Time) []uint64 {
	var gone []uint64
	for nic, s := range d.peers {
		if s.kind != kindDiscovered {
			continue
		}
		if (!s.answered && now.Sub(s.added) >= unansweredTTL) || (s.answered && now.Sub(s.heard) >= silentTTL) {
			gone = append(gone, nic)
		}
	}
	for _, nic := range gone {
		d.forget(nic)
	}
	return gone
}
