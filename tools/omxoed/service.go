//go:build linux

package main

// Per-board work of omxoed: discovery on the board's raw endpoint
// (spec/wire.md §6.6) in one goroutine, the service socket (host-name
// queries and replies, NACK_LIB) in another; one more goroutine keeps the
// published peer table (aging, reloads). What the wire may make omxoed do
// is bounded (issue 9 §4): see discovery.go for the peer table, hostReply
// for names, ratelog.go for the log; every frame received makes at most
// one frame sent (a host reply, a NACK), and announcements at most one
// broadcast per second.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/afpacket"
	"github.com/open-mx-go/open-mx-go/engine/wire"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo"
)

// Timing and limits (spec/tools.md §6, spec/wire.md §6.5–6.6; the limits
// of discovery are in discovery.go).
const (
	burstCount     = 8
	burstInterval  = 1000 * time.Millisecond
	longInterval   = 180000 * time.Millisecond
	hostQueryEvery = 5 * time.Second
	// hostReplyWindow is how long a host query stays outstanding: a reply
	// is accepted only from a peer asked that recently, echoing the
	// query's random magic.
	hostReplyWindow = hostQueryEvery
	// queriesPerPass bounds the host queries a board sends per pass.
	queriesPerPass = 64
	// reverseMax bounds the reverse indexes a board remembers.
	reverseMax   = 2 * node.PeerMax
	boardsProbed = 8
	endpointMax  = 32 // endpoints per board (OMX_INFO_ENDPOINT_MAX)
	// refreshEvery is how often the held endpoint indexes are re-read to
	// update the service socket's filter.
	refreshEvery = 200 * time.Millisecond
	// maintainEvery is the period of the table upkeep: reloading the
	// published table and the static peers file, aging, log summaries.
	maintainEvery = time.Second
)

// stats counts what omxoed refused; the log reports them.
type stats struct {
	mismatch, malformed, rateLimited, full, evicted, aged atomic.Uint64
	unsolicited, badMagic, badName, groupSource           atomic.Uint64
}

func (s *stats) String() string {
	return fmt.Sprintf("announcements: %d with a nic id that is not their source, %d malformed, %d rate-limited, %d refused (table full); "+
		"peers: %d evicted, %d aged out; host frames: %d unsolicited replies, %d replies with a wrong magic, %d with a bad name, %d queries from a group address",
		s.mismatch.Load(), s.malformed.Load(), s.rateLimited.Load(), s.full.Load(), s.evicted.Load(), s.aged.Load(),
		s.unsolicited.Load(), s.badMagic.Load(), s.badName.Load(), s.groupSource.Load())
}

// daemon is the state shared by the boards.
type daemon struct {
	cfg     compat.Config
	log     *log.Logger
	rl      *rateLog
	verbose bool
	serial  uint32
	reg     *node.Registry
	stats   stats

	boards  []*board
	backend *backendServer // endpoints served to applications
	failed  chan error     // first fatal error of a board goroutine
	quit    chan struct{}
	wg      sync.WaitGroup

	// mu guards what follows, and serializes the read-modify-write of
	// the published table.
	mu        sync.Mutex
	disc      *discovery
	pub       []node.Peer    // the published table as last read or written
	pubIndex  map[uint64]int // nic id -> index in pub
	full      bool           // an admission failed for lack of room
	watcher   *node.Watcher
	staticMod time.Time // modification time of the static peers file read
}

// board is one managed board.
type board struct {
	d     *daemon
	b     compat.Board
	mac   [6]byte
	raw   link.Link
	claim *node.Claim
	sock  *serviceSock
	name  atomic.Pointer[string] // host name, re-read every maintainEvery

	mu        sync.Mutex
	reverse   map[uint64]uint16    // our index in each peer's table, when known
	queries   map[uint64]querySent // outstanding host queries
	queryNext int                  // table index from which the next pass asks
	queryNow  chan uint64          // newly admitted peers, to ask at once
}

// querySent is an outstanding host query.
type querySent struct {
	at    time.Time
	magic uint32
}

func newDaemon(cfg compat.Config, lg *log.Logger, verbose bool) *daemon {
	return &daemon{
		cfg:     cfg,
		log:     lg,
		rl:      newRateLog(lg),
		verbose: verbose,
		serial:  rand.Uint32(),
		failed:  make(chan error, 1),
		quit:    make(chan struct{}),
		watcher: node.NewWatcher(cfg.RunDir),
	}
}

// fail reports a fatal error (the first one wins).
func (d *daemon) fail(err error) {
	select {
	case d.failed <- err:
	default:
	}
}

// start opens the boards and starts their goroutines.
func (d *daemon) start() error {
	boards, err := compat.DiscoverBoards(d.cfg)
	if boards == nil {
		return fmt.Errorf("Cannot list the boards: %v", err)
	}
	if err != nil {
		d.log.Print(err)
	}
	d.reg, err = node.OpenRegistry(d.cfg.RunDir)
	if err != nil {
		return fmt.Errorf("Cannot open the endpoint registry: %v", err)
	}
	for _, cb := range boards {
		if cb.Index >= boardsProbed {
			break
		}
		if cb.Loopback {
			d.log.Printf("Skipping NIC %d (%s): the loopback board has no raw Ethernet access", cb.Index, cb.IfName)
			continue
		}
		b, err := d.openBoard(cb)
		if err != nil {
			return fmt.Errorf("Error opening raw endpoint for NIC %d, %v", cb.Index, err)
		}
		d.boards = append(d.boards, b)
	}
	if len(d.boards) == 0 {
		return errors.New("No NICs found")
	}
	d.log.Printf("Now managing %d NICs...", len(d.boards))
	var own []uint64
	for _, b := range boards {
		own = append(own, b.NICID)
	}
	now := time.Now()
	d.mu.Lock()
	d.disc = newDiscovery(own, now)
	d.loadStaticLocked()
	d.reloadLocked(now)
	d.disc.adopt(d.pub, now)
	d.mu.Unlock()
	for _, b := range d.boards {
		if err := d.publishLocal(b); err != nil {
			return fmt.Errorf("Cannot publish the peer table: %v", err)
		}
	}
	if d.backend, err = d.startBackend(); err != nil {
		return fmt.Errorf("Cannot serve applications without raw-socket rights: %v", err)
	}
	d.wg.Add(1)
	go func() { defer d.wg.Done(); d.maintain() }()
	for _, b := range d.boards {
		d.wg.Add(2)
		go func() { defer d.wg.Done(); b.discover() }()
		go func() { defer d.wg.Done(); b.serve() }()
	}
	return nil
}

// openBoard claims the board's raw endpoint and opens its sockets.
func (d *daemon) openBoard(cb compat.Board) (*board, error) {
	claim, err := d.reg.Acquire(node.Slot{Board: cb.IfName, NICID: cb.NICID, Index: node.RawIndex}, 0)
	if err != nil {
		return nil, err
	}
	raw, err := afpacket.OpenRaw(cb.IfName)
	if err != nil {
		claim.Release()
		return nil, err
	}
	b := &board{
		d: d, b: cb, mac: wire.MACFromNICID(cb.NICID), raw: raw, claim: claim,
		reverse:  map[uint64]uint16{},
		queries:  map[uint64]querySent{},
		queryNow: make(chan uint64, queriesPerPass),
	}
	b.readName()
	b.sock, err = openServiceSock(cb.IfName, b.mac, b.openIndexes())
	if err != nil {
		raw.Close()
		claim.Release()
		return nil, err
	}
	return b, nil
}

// stop ends the goroutines and releases everything.
func (d *daemon) stop() {
	close(d.quit)
	if d.backend != nil {
		d.backend.stop()
	}
	for _, b := range d.boards {
		b.raw.Close() // wakes discover
	}
	d.wg.Wait()
	for _, b := range d.boards {
		b.sock.close()
		b.claim.Release()
	}
	if d.disc != nil {
		d.log.Printf("Dropped: %v", &d.stats)
	}
}

func (d *daemon) quitting() bool {
	select {
	case <-d.quit:
		return true
	default:
		return false
	}
}

// maintain keeps the tables up to date until the daemon stops.
func (d *daemon) maintain() {
	t := time.NewTicker(maintainEvery)
	defer t.Stop()
	for {
		select {
		case <-d.quit:
			return
		case <-t.C:
		}
		now := time.Now()
		for _, b := range d.boards {
			b.readName()
		}
		d.mu.Lock()
		d.loadStaticLocked()
		if _, changed, _ := d.watcher.Poll(); changed {
			d.reloadLocked(now)
		}
		if gone := d.disc.expire(now); len(gone) > 0 {
			d.stats.aged.Add(uint64(len(gone)))
			if err := d.updateTableLocked(func(peers []node.Peer) ([]node.Peer, error) { return without(peers, gone), nil }); err != nil {
				d.rl.printf(now, "table", "Cannot update the peer table: %v", err)
			}
			for _, nic := range gone {
				d.rl.printf(now, "aged", "Peer %s removed from the table: no answer to its host queries within %v, or nothing heard from it for %v",
					node.FormatMAC(nic), unansweredTTL, silentTTL)
			}
		}
		d.mu.Unlock()
		d.rl.flush(now)
	}
}

// loadStaticLocked (re)reads the static peers file when it changed: its
// peers are never aged and never renamed from the wire.
func (d *daemon) loadStaticLocked() {
	fi, err := os.Stat(d.cfg.PeersFile)
	if err != nil {
		if !d.staticMod.IsZero() {
			d.disc.setStatic(nil)
			d.staticMod = time.Time{}
		}
		return
	}
	if fi.ModTime().Equal(d.staticMod) {
		return
	}
	d.staticMod = fi.ModTime()
	peers, err := node.LoadPeersFile(d.cfg.PeersFile)
	if err != nil {
		d.log.Printf("Ignoring the static peers file: %v", err)
		peers = nil
	}
	d.disc.setStatic(peers)
}

// reloadLocked reads the published table into d.pub.
func (d *daemon) reloadLocked(now time.Time) {
	peers, _, err := node.ReadPeerTable(d.cfg.RunDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.rl.printf(now, "table", "Cannot read the peer table: %v", err)
		return
	}
	d.setPubLocked(peers)
	d.disc.sync(peers, now)
}

func (d *daemon) setPubLocked(peers []node.Peer) {
	d.pub = peers
	d.pubIndex = make(map[uint64]int, len(peers))
	for i, p := range peers {
		d.pubIndex[p.NICID] = i
	}
}

// errTableFull is returned when the published table has no room.
var errTableFull = fmt.Errorf("peer table full (%d peers)", node.PeerMax)

// updateTableLocked applies f to the published table as it is on disk
// and publishes the result, with the table state of tools.md §6 step 4:
// configured, version 1, size = the peers known + 1, mapper id 0.
func (d *daemon) updateTableLocked(f func([]node.Peer) ([]node.Peer, error)) error {
	peers, _, err := node.ReadPeerTable(d.cfg.RunDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	peers, err = f(peers)
	if err != nil {
		return err
	}
	if err := node.WritePeerTable(d.cfg.RunDir, peers); err != nil {
		return err
	}
	d.setPubLocked(peers)
	return nodeinfo.WriteState(d.cfg.RunDir, nodeinfo.TableState{Configured: true, Full: d.full, Version: 1, Size: uint32(len(peers)) + 1})
}

// without returns peers without the nic ids of gone.
func without(peers []node.Peer, gone []uint64) []node.Peer {
	return slices.DeleteFunc(peers, func(p node.Peer) bool { return slices.Contains(gone, p.NICID) })
}

// publishLocal puts the board itself in the published peer table, with its
// host name, and marks the table configured.
func (d *daemon) publishLocal(b *board) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	name := b.hostname()
	return d.updateTableLocked(func(peers []node.Peer) ([]node.Peer, error) {
		for i := range peers {
			if peers[i].NICID == b.b.NICID {
				peers[i].Hostname = name
				return peers, nil
			}
		}
		if len(peers) >= node.PeerMax {
			return nil, errTableFull
		}
		return append(peers, node.Peer{NICID: b.b.NICID, Hostname: name}), nil
	})
}

// hostname is the board's current host name: the override recorded by
// omx_hostname -n / mx_raw_set_hostname, else the default.
func (b *board) hostname() string { return *b.name.Load() }

// readName re-reads the board's host name.
func (b *board) readName() {
	name := b.b.Hostname
	if n, err := compat.ReadBoardHostname(b.d.cfg.RunDir, b.b.IfName); err == nil {
		name = n
	}
	b.name.Store(&name)
}

func (b *board) quitting() bool { return b.d.quitting() }

// discover runs the announcement algorithm of spec/wire.md §6.6.
func (b *board) discover() {
	frame := make([]byte, 128)
	buf := make([]byte, afpacket.RawMaxFrame)
	count := burstCount
	next := time.Now()
	for !b.quitting() {
		now := time.Now()
		if count > 0 && !now.Before(next) {
			n, err := wire.EncodeDiscovery(frame, b.mac, wire.Discovery{NICID: b.b.NICID, Serial: b.d.serial})
			if err == nil {
				err = b.raw.Send(frame[:n])
			}
			if err != nil {
				if !b.quitting() {
					b.d.fail(fmt.Errorf("Error sending raw packet: %v", err))
				}
				return
			}
			count--
			if count > 0 {
				next = now.Add(burstInterval)
			} else {
				count, next = 1, now.Add(longInterval)
			}
		}
		if err := b.raw.Wait(time.Until(next)); err != nil {
			if !b.quitting() {
				b.d.fail(fmt.Errorf("Error from omx_raw_next_event: %v", err))
			}
			return
		}
		for {
			n, err := b.raw.Recv(buf)
			if err != nil {
				if !b.quitting() {
					b.d.fail(fmt.Errorf("Error from omx_raw_next_event: %v", err))
				}
				return
			}
			if n == 0 {
				break
			}
			if b.announced(buf[:n], time.Now()) {
				// At most one burst at a time, whatever the number of
				// frames: one announcement per burstInterval.
				count = burstCount
				if lim := time.Now().Add(burstInterval); next.After(lim) {
					next = lim
				}
			}
		}
	}
}

// announced handles a received announcement; it reports whether a burst of
// announcements must follow (a new or restarted peer).
func (b *board) announced(frame []byte, now time.Time) bool {
	d := b.d
	h, ann, err := wire.DecodeDiscovery(frame, wire.Mode{})
	if err != nil {
		d.stats.malformed.Add(1)
		d.rl.printf(now, "malformed", "NIC %d (%s): malformed announcement from %s dropped: %v (%d so far)",
			b.b.Index, b.b.IfName, frameSource(frame), err, d.stats.malformed.Load())
		return false
	}
	src := wire.NICIDFromMAC(h.Src)
	d.mu.Lock()
	_, published := d.pubIndex[ann.NICID]
	v := d.disc.announce(src, ann.NICID, ann.Serial, published, now)
	var pubErr error
	if v == annAdmitted {
		evicted := slices.Clone(d.disc.lastEvicts)
		d.stats.evicted.Add(uint64(len(evicted)))
		pubErr = d.updateTableLocked(func(peers []node.Peer) ([]node.Peer, error) {
			peers = without(peers, evicted)
			if len(peers) >= node.PeerMax {
				return nil, errTableFull
			}
			return append(peers, node.Peer{NICID: ann.NICID}), nil
		})
		if pubErr != nil {
			d.disc.forget(ann.NICID)
			if errors.Is(pubErr, errTableFull) {
				d.full = true
				v = annFull
			}
		}
	} else if v == annFull {
		d.full = true
	}
	d.mu.Unlock()
	nic := node.FormatMAC(ann.NICID)
	switch v {
	case annMismatch:
		d.stats.mismatch.Add(1)
		d.rl.printf(now, "mismatch", "NIC %d (%s): announcement of %s from %s dropped: the nic id is not the source address (%d so far)",
			b.b.Index, b.b.IfName, nic, node.FormatMAC(src), d.stats.mismatch.Load())
	case annRateLimited:
		d.stats.rateLimited.Add(1)
		d.rl.printf(now, "ratelimit", "NIC %d (%s): new peer %s refused: more than %d new peers, then one per %v (%d refused so far)",
			b.b.Index, b.b.IfName, nic, admitBurst, admitEvery, d.stats.rateLimited.Load())
	case annFull:
		d.stats.full.Add(1)
		d.rl.printf(now, "full", "NIC %d (%s): new peer %s refused: peer table full (%d refused so far)",
			b.b.Index, b.b.IfName, nic, d.stats.full.Load())
	case annAdmitted:
		if pubErr != nil {
			d.rl.printf(now, "table", "Cannot add peer %s: %v", nic, pubErr)
			return false
		}
		d.rl.printf(now, "found", "NIC %d (%s): found peer %s", b.b.Index, b.b.IfName, nic)
		for _, o := range d.boards {
			select {
			case o.queryNow <- ann.NICID:
			default: // asked at the next pass
			}
		}
		return true
	case annRestarted:
		d.rl.printf(now, "restarted", "NIC %d (%s): peer %s restarted", b.b.Index, b.b.IfName, nic)
		return true
	}
	return false
}

// openIndexes returns the endpoint indexes of the board held by a process,
// sorted: the slots the registry lists, and those whose file exists after
// List removed the stale ones (a claimant still writing its file).
func (b *board) openIndexes() []uint8 {
	set := map[uint8]bool{}
	if infos, err := b.d.reg.List(); err == nil {
		for _, in := range infos {
			if in.Board == b.b.IfName && in.Index < 256 {
				set[uint8(in.Index)] = true
			}
		}
	}
	if entries, err := os.ReadDir(b.d.reg.Dir()); err == nil {
		prefix := b.b.IfName + "."
		for _, e := range entries {
			rest, ok := strings.CutPrefix(e.Name(), prefix)
			if !ok {
				continue
			}
			if i, err := strconv.ParseUint(rest, 10, 8); err == nil {
				set[uint8(i)] = true
			}
		}
	}
	var out []uint8
	for i := range set {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// indexOpen reports whether endpoint index i of the board is held now.
func (b *board) indexOpen(i uint8) bool {
	return slices.Contains(b.openIndexes(), i)
}

// serve runs the service socket: host-name queries and replies, NACKs.
func (b *board) serve() {
	buf := make([]byte, 9216)
	tx := make([]byte, 256)
	open := b.openIndexes()
	nextRefresh := time.Now().Add(refreshEvery)
	nextQuery := time.Now()
	for !b.quitting() {
		now := time.Now()
		if !now.Before(nextRefresh) {
			if cur := b.openIndexes(); !slices.Equal(cur, open) {
				if err := b.sock.setOpen(cur); err != nil {
					b.d.fail(fmt.Errorf("NIC %d (%s): updating the service filter: %v", b.b.Index, b.b.IfName, err))
					return
				}
				open = cur
			}
			nextRefresh = now.Add(refreshEvery)
		}
		if !now.Before(nextQuery) {
			b.queryNameless(tx, now)
			nextQuery = now.Add(hostQueryEvery)
		}
	asap:
		for {
			select {
			case nic := <-b.queryNow:
				b.queryOne(tx, nic, now)
			default:
				break asap
			}
		}
		wait := min(time.Until(nextRefresh), time.Until(nextQuery))
		n, err := b.sock.recv(buf, max(wait, time.Millisecond))
		if err != nil {
			if !b.quitting() {
				b.d.fail(fmt.Errorf("NIC %d (%s): receiving: %v", b.b.Index, b.b.IfName, err))
			}
			return
		}
		if n > 0 {
			b.handle(buf[:n], tx, time.Now())
		}
	}
}

// send transmits a service frame; failures are logged, not fatal.
func (b *board) send(frame []byte, what string) {
	if err := b.sock.send(frame); err != nil {
		b.d.rl.printf(time.Now(), "send", "NIC %d (%s): sending %s: %v", b.b.Index, b.b.IfName, what, err)
	}
}

// queryTarget is a peer to ask for its name, with its index in our table.
type queryTarget struct {
	nic   uint64
	index uint16
}

// namelessLocked returns the peers of the published table that have no
// name and may get one from the wire (neither local boards nor peers of
// the static peers file).
func (d *daemon) namelessLocked() []queryTarget {
	var out []queryTarget
	for i, p := range d.pub {
		if p.Hostname == "" && !d.disc.isStatic(p.NICID) {
			out = append(out, queryTarget{p.NICID, uint16(i)})
		}
	}
	return out
}

// queryNameless asks the nameless peers for their host names.
func (b *board) queryNameless(tx []byte, now time.Time) {
	for _, p := range b.nextQueries(now) {
		b.ask(tx, p, now)
	}
}

// nextQueries forgets the expired queries and returns the nameless peers
// to ask in this pass: at most queriesPerPass of them, round-robin (by
// table index, so that peers named or gone meanwhile do not shift the
// turn of the others).
func (b *board) nextQueries(now time.Time) []queryTarget {
	b.d.mu.Lock()
	peers := b.d.namelessLocked()
	b.d.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	for nic, q := range b.queries {
		if now.Sub(q.at) >= hostReplyWindow {
			delete(b.queries, nic)
		}
	}
	start := 0
	for start < len(peers) && int(peers[start].index) < b.queryNext {
		start++
	}
	var ask []queryTarget
	for i := range min(len(peers), queriesPerPass) {
		p := peers[(start+i)%len(peers)]
		b.queryNext = int(p.index) + 1
		ask = append(ask, p)
	}
	return ask
}

// queryOne asks a newly admitted peer for its name at once.
func (b *board) queryOne(tx []byte, nic uint64, now time.Time) {
	b.d.mu.Lock()
	i, ok := b.d.pubIndex[nic]
	ok = ok && b.d.pub[i].Hostname == ""
	b.d.mu.Unlock()
	if ok {
		b.ask(tx, queryTarget{nic, uint16(i)}, now)
	}
}

// ask sends one host query, with a fresh random magic, and records it.
func (b *board) ask(tx []byte, p queryTarget, now time.Time) {
	q := wire.HostQuery{SrcDstPeerIndex: p.index, Magic: b.recordQuery(p.nic, now)}
	n, err := q.Encode(tx, wire.Head{Dst: wire.MACFromNICID(p.nic), Src: b.mac, PeerIndex: b.reverseOf(p.nic)}, wire.Mode{})
	if err != nil {
		return
	}
	if b.d.verbose {
		b.d.rl.printf(now, "asking", "NIC %d (%s): asking %s for its host name", b.b.Index, b.b.IfName, node.FormatMAC(p.nic))
	}
	b.send(tx[:n], "host query")
}

// recordQuery records a query to nic sent now and returns its magic.
func (b *board) recordQuery(nic uint64, now time.Time) uint32 {
	magic := rand.Uint32()
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.queries[nic]; !ok && len(b.queries) >= 2*node.PeerMax {
		clear(b.queries) // cannot happen: one per nameless peer, expiring
	}
	b.queries[nic] = querySent{at: now, magic: magic}
	return magic
}

func (b *board) reverseOf(nic uint64) uint16 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.reverse[nic]; ok {
		return r
	}
	return wire.UnknownPeerIndex
}

// learnReverse remembers our index in the table of a peer of ours.
func (b *board) learnReverse(nic uint64, idx uint16) {
	if idx == wire.UnknownPeerIndex {
		return
	}
	b.d.mu.Lock()
	_, known := b.d.pubIndex[nic]
	known = known || b.d.disc.isStatic(nic)
	b.d.mu.Unlock()
	if !known {
		return
	}
	b.mu.Lock()
	if _, ok := b.reverse[nic]; !ok && len(b.reverse) >= reverseMax {
		clear(b.reverse)
	}
	b.reverse[nic] = idx
	b.mu.Unlock()
}

// handle processes one frame of the service socket.
func (b *board) handle(frame, tx []byte, now time.Time) {
	t, ok := wire.PeekType(frame)
	if !ok || len(frame) < wire.HeadLen+1 {
		return
	}
	switch t {
	case wire.TypeHostQuery:
		b.hostQuery(frame, tx, now)
	case wire.TypeHostReply:
		b.hostReply(frame, now)
	default:
		b.nack(t, frame, tx, now)
	}
}

// hostQuery answers a host query: one reply per query, never toward a
// group address.
func (b *board) hostQuery(frame, tx []byte, now time.Time) {
	d := b.d
	h, q, err := wire.DecodeHostQuery(frame, wire.Mode{})
	if err != nil {
		return
	}
	src := wire.NICIDFromMAC(h.Src)
	if h.Src[0]&1 != 0 {
		d.stats.groupSource.Add(1)
		d.rl.printf(now, "group", "NIC %d (%s): host query from the group address %s dropped (%d so far)",
			b.b.Index, b.b.IfName, node.FormatMAC(src), d.stats.groupSource.Load())
		return
	}
	b.learnReverse(src, q.SrcDstPeerIndex)
	d.mu.Lock()
	idx := uint16(wire.UnknownPeerIndex)
	if i, ok := d.pubIndex[src]; ok {
		idx = uint16(i)
	}
	d.mu.Unlock()
	rep := wire.HostReply{SrcDstPeerIndex: idx, Magic: q.Magic, Hostname: b.hostname()}
	n, err := rep.Encode(tx, wire.Head{Dst: h.Src, Src: b.mac, PeerIndex: q.SrcDstPeerIndex}, wire.Mode{})
	if err != nil {
		return
	}
	if d.verbose {
		d.rl.printf(now, "telling", "NIC %d (%s): telling %s our host name", b.b.Index, b.b.IfName, node.FormatMAC(src))
	}
	b.send(tx[:n], "host reply")
}

// hostReply takes the name of a peer from its reply to our query: only a
// reply from a peer this board asked less than hostReplyWindow ago, that
// echoes the query's magic, naming a peer of the published table that has
// no name and is neither a local board nor in the static peers file.
func (b *board) hostReply(frame []byte, now time.Time) {
	d := b.d
	h, r, err := wire.DecodeHostReply(frame, wire.Mode{})
	if err != nil {
		return
	}
	src := wire.NICIDFromMAC(h.Src)
	b.mu.Lock()
	q, asked := b.queries[src]
	asked = asked && now.Sub(q.at) < hostReplyWindow
	good := asked && r.Magic == q.magic
	if good {
		delete(b.queries, src)
	}
	b.mu.Unlock()
	switch {
	case !asked:
		d.stats.unsolicited.Add(1)
		d.rl.printf(now, "unsolicited", "NIC %d (%s): host reply from %s (%q) dropped: we did not ask it (%d so far)",
			b.b.Index, b.b.IfName, node.FormatMAC(src), r.Hostname, d.stats.unsolicited.Load())
		return
	case !good:
		d.stats.badMagic.Add(1)
		d.rl.printf(now, "magic", "NIC %d (%s): host reply from %s (%q) dropped: not the magic of our query (%d so far)",
			b.b.Index, b.b.IfName, node.FormatMAC(src), r.Hostname, d.stats.badMagic.Load())
		return
	case !nameOK(r.Hostname):
		d.stats.badName.Add(1)
		d.rl.printf(now, "badname", "NIC %d (%s): host reply from %s dropped: unusable name %q (%d so far)",
			b.b.Index, b.b.IfName, node.FormatMAC(src), r.Hostname, d.stats.badName.Load())
		return
	}
	d.mu.Lock()
	i, ok := d.pubIndex[src]
	ok = ok && d.pub[i].Hostname == "" && !d.disc.isStatic(src)
	if !ok {
		d.mu.Unlock()
		d.stats.unsolicited.Add(1)
		d.rl.printf(now, "unsolicited", "NIC %d (%s): host reply from %s (%q) dropped: the peer has a name or is gone (%d so far)",
			b.b.Index, b.b.IfName, node.FormatMAC(src), r.Hostname, d.stats.unsolicited.Load())
		return
	}
	err = d.updateTableLocked(func(peers []node.Peer) ([]node.Peer, error) {
		for i := range peers {
			if peers[i].NICID == src && peers[i].Hostname == "" {
				peers[i].Hostname = r.Hostname
			}
		}
		return peers, nil
	})
	if err == nil {
		d.disc.answer(src, now)
	}
	d.mu.Unlock()
	if err != nil {
		d.rl.printf(now, "table", "Cannot name peer %s: %v", node.FormatMAC(src), err)
		return
	}
	b.learnReverse(src, r.SrcDstPeerIndex)
	d.rl.printf(now, "named", "NIC %d (%s): peer %s is %s", b.b.Index, b.b.IfName, node.FormatMAC(src), r.Hostname)
}

// frameSource formats the source address of a frame, if it has one.
func frameSource(frame []byte) string {
	if len(frame) < 12 {
		return "?"
	}
	return node.FormatMAC(wire.NICIDFromMAC([6]byte(frame[6:12])))
}

// nameOK reports whether a host name can be published (no blanks or
// control characters, not empty).
func nameOK(name string) bool {
	if name == "" || len(name) > node.HostnameMax {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// nackInfo extracts what a NACK_LIB needs from a nackable frame: the
// targeted endpoint, the sender's endpoint and the lib_seqnum. ok is false
// for frames that must not be nacked (CONNECT replies, short frames, other
// types).
func nackInfo(t wire.Type, frame []byte) (dstEP, srcEP uint8, seq uint16, ok bool) {
	if len(frame) < 40 {
		return 0, 0, 0, false
	}
	dstEP, srcEP = frame[17], frame[18]
	switch t {
	case wire.TypeConnect:
		if len(frame) < 48 || frame[42] != 0 {
			return 0, 0, 0, false // replies are not refused
		}
		return dstEP, srcEP, 0, true
	case wire.TypeTiny, wire.TypeSmall, wire.TypeMedium, wire.TypeRndv:
		return dstEP, srcEP, binary.BigEndian.Uint16(frame[24:]), true
	case wire.TypeNotify:
		return dstEP, srcEP, binary.BigEndian.Uint16(frame[34:]), true
	}
	return 0, 0, 0, false
}

// nack refuses a packet aimed at an endpoint that is not open
// (spec/wire.md §2.14, §4.7).
// One NACK per refused frame, never toward a group address.
func (b *board) nack(t wire.Type, frame, tx []byte, now time.Time) {
	dstEP, srcEP, seq, ok := nackInfo(t, frame)
	if !ok {
		return
	}
	h := wire.ReadHead(frame)
	src := wire.NICIDFromMAC(h.Src)
	if h.Src[0]&1 != 0 {
		b.d.stats.groupSource.Add(1)
		return
	}
	if t == wire.TypeConnect {
		b.learnReverse(src, binary.BigEndian.Uint16(frame[26:]))
	}
	why := wire.NackEndpointClosed
	if dstEP >= endpointMax {
		why = wire.NackBadEndpoint
	} else if b.indexOpen(dstEP) {
		return // opened since the filter was last updated
	}
	nk := wire.NackLib{SrcEP: dstEP, Nack: why, DstEP: srcEP, PeerIndex: h.PeerIndex, Seq: seq}
	n, err := nk.Encode(tx, wire.Head{Dst: h.Src, Src: b.mac, PeerIndex: b.reverseOf(src)}, wire.Mode{})
	if err != nil {
		return
	}
	if b.d.verbose {
		b.d.rl.printf(now, "nack", "NIC %d (%s): %v from %s endpoint %d to endpoint %d refused (%v)",
			b.b.Index, b.b.IfName, t, node.FormatMAC(src), srcEP, dstEP, why)
	}
	b.send(tx[:n], "nack")
}
