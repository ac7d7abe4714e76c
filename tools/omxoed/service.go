//go:build linux

package main

// Per-board work of omxoed: discovery on the board's raw endpoint
// (spec/wire.md §6.6) in one goroutine, the service socket (host-name
// queries and replies, NACK_LIB) in another.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/afpacket"
	"github.com/open-mx-go/open-mx-go/engine/wire"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo"
)

// Timing and limits (spec/tools.md §6, spec/wire.md §6.5–6.6).
const (
	burstCount     = 8
	burstInterval  = 1000 * time.Millisecond
	longInterval   = 180000 * time.Millisecond
	hostQueryEvery = 5 * time.Second
	boardsProbed   = 8
	endpointMax    = 32 // endpoints per board (OMX_INFO_ENDPOINT_MAX)
	// refreshEvery is how often the held endpoint indexes are re-read to
	// update the service socket's filter.
	refreshEvery = 200 * time.Millisecond
)

// daemon is the state shared by the boards.
type daemon struct {
	cfg     compat.Config
	log     *log.Logger
	verbose bool
	serial  uint32
	reg     *node.Registry

	boards []*board
	failed chan error // first fatal error of a board goroutine
	quit   chan struct{}
	wg     sync.WaitGroup

	tableMu sync.Mutex // serializes read-modify-write of the published table
}

// board is one managed board.
type board struct {
	d     *daemon
	b     compat.Board
	mac   [6]byte
	raw   link.Link
	claim *node.Claim
	sock  *serviceSock

	mu       sync.Mutex
	serials  map[uint64]uint32 // discovered peers and their serials
	reverse  map[uint64]uint16 // our index in each peer's table, when known
	queryNow chan struct{}     // ask the nameless peers at once
}

func newDaemon(cfg compat.Config, lg *log.Logger, verbose bool) *daemon {
	return &daemon{
		cfg:     cfg,
		log:     lg,
		verbose: verbose,
		serial:  rand.Uint32(),
		failed:  make(chan error, 1),
		quit:    make(chan struct{}),
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
	for _, b := range d.boards {
		if err := d.publishLocal(b); err != nil {
			return fmt.Errorf("Cannot publish the peer table: %v", err)
		}
	}
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
		serials:  map[uint64]uint32{},
		reverse:  map[uint64]uint16{},
		queryNow: make(chan struct{}, 1),
	}
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
	for _, b := range d.boards {
		b.raw.Close() // wakes discover
	}
	d.wg.Wait()
	for _, b := range d.boards {
		b.sock.close()
		b.claim.Release()
	}
}

// publishLocal puts the board itself in the published peer table, with its
// host name, and marks the table configured.
func (d *daemon) publishLocal(b *board) error {
	d.tableMu.Lock()
	defer d.tableMu.Unlock()
	if err := compat.UpdatePublishedPeer(d.cfg.RunDir, b.b.NICID, b.hostname(), true); err != nil {
		return err
	}
	return d.writeStateLocked()
}

// addPeer adds a discovered peer, without a name, to the published table.
func (d *daemon) addPeer(nic uint64) error {
	d.tableMu.Lock()
	defer d.tableMu.Unlock()
	if err := compat.UpdatePublishedPeer(d.cfg.RunDir, nic, "", false); err != nil {
		return err
	}
	return d.writeStateLocked()
}

// writeStateLocked sets the peer-table state as tools.md §6 step 4 says:
// configured, version 1, size = the peers known + 1, mapper id 0.
func (d *daemon) writeStateLocked() error {
	peers, _, _ := node.ReadPeerTable(d.cfg.RunDir)
	return nodeinfo.WriteState(d.cfg.RunDir, nodeinfo.TableState{Configured: true, Version: 1, Size: uint32(len(peers)) + 1})
}

// namePeer records a peer's host name if the peer is in the table.
func (d *daemon) namePeer(nic uint64, name string) (bool, error) {
	d.tableMu.Lock()
	defer d.tableMu.Unlock()
	peers, _, err := node.ReadPeerTable(d.cfg.RunDir)
	if err != nil {
		return false, err
	}
	for _, p := range peers {
		if p.NICID == nic {
			if p.Hostname == name {
				return false, nil
			}
			return true, compat.UpdatePublishedPeer(d.cfg.RunDir, nic, name, true)
		}
	}
	return false, nil
}

// table returns the published peer table (nil when there is none).
func (d *daemon) table() []node.Peer {
	peers, _, err := node.ReadPeerTable(d.cfg.RunDir)
	if err != nil {
		return nil
	}
	return peers
}

// peerIndex is nic's index in the published table, or the unknown index.
func peerIndex(peers []node.Peer, nic uint64) uint16 {
	for i, p := range peers {
		if p.NICID == nic {
			return uint16(i)
		}
	}
	return wire.UnknownPeerIndex
}

// hostname is the board's current host name: the override recorded by
// omx_hostname -n / mx_raw_set_hostname, else the default.
func (b *board) hostname() string {
	if name, err := compat.ReadBoardHostname(b.d.cfg.RunDir, b.b.IfName); err == nil {
		return name
	}
	return b.b.Hostname
}

func (b *board) quitting() bool {
	select {
	case <-b.d.quit:
		return true
	default:
		return false
	}
}

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
			if b.announced(buf[:n]) {
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
func (b *board) announced(frame []byte) bool {
	_, ann, err := wire.DecodeDiscovery(frame, wire.Mode{})
	if err != nil || ann.NICID == b.b.NICID {
		return false
	}
	b.mu.Lock()
	old, known := b.serials[ann.NICID]
	b.serials[ann.NICID] = ann.Serial
	b.mu.Unlock()
	switch {
	case !known:
		if err := b.d.addPeer(ann.NICID); err != nil {
			b.d.log.Printf("Cannot add peer %s: %v", node.FormatMAC(ann.NICID), err)
			return true
		}
		b.d.log.Printf("NIC %d (%s): found peer %s", b.b.Index, b.b.IfName, node.FormatMAC(ann.NICID))
		select {
		case b.queryNow <- struct{}{}:
		default:
		}
		return true
	case old != ann.Serial:
		b.d.log.Printf("NIC %d (%s): peer %s restarted", b.b.Index, b.b.IfName, node.FormatMAC(ann.NICID))
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
		select {
		case <-b.queryNow:
			nextQuery = now
		default:
		}
		if !now.Before(nextQuery) {
			b.queryNameless(tx)
			nextQuery = now.Add(hostQueryEvery)
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
			b.handle(buf[:n], tx)
		}
	}
}

// send transmits a service frame; failures are logged, not fatal.
func (b *board) send(frame []byte, what string) {
	if err := b.sock.send(frame); err != nil {
		b.d.log.Printf("NIC %d (%s): sending %s: %v", b.b.Index, b.b.IfName, what, err)
	}
}

// queryNameless sends a HOST_QUERY to every remote peer without a name.
func (b *board) queryNameless(tx []byte) {
	peers := b.d.table()
	for i, p := range peers {
		if p.Hostname != "" || b.d.isLocal(p.NICID) {
			continue
		}
		q := wire.HostQuery{SrcDstPeerIndex: uint16(i), Magic: wire.HostQueryMagic}
		n, err := q.Encode(tx, wire.Head{Dst: wire.MACFromNICID(p.NICID), Src: b.mac, PeerIndex: b.reverseOf(p.NICID)}, wire.Mode{})
		if err != nil {
			continue
		}
		if b.d.verbose {
			b.d.log.Printf("NIC %d (%s): asking %s for its host name", b.b.Index, b.b.IfName, node.FormatMAC(p.NICID))
		}
		b.send(tx[:n], "host query")
	}
}

// isLocal reports whether nic is one of this host's boards.
func (d *daemon) isLocal(nic uint64) bool {
	for _, b := range d.boards {
		if b.b.NICID == nic {
			return true
		}
	}
	return false
}

func (b *board) reverseOf(nic uint64) uint16 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r, ok := b.reverse[nic]; ok {
		return r
	}
	return wire.UnknownPeerIndex
}

func (b *board) learnReverse(nic uint64, idx uint16) {
	if idx == wire.UnknownPeerIndex {
		return
	}
	b.mu.Lock()
	b.reverse[nic] = idx
	b.mu.Unlock()
}

// handle processes one frame of the service socket.
func (b *board) handle(frame, tx []byte) {
	t, ok := wire.PeekType(frame)
	if !ok || len(frame) < wire.HeadLen+1 {
		return
	}
	src := wire.NICIDFromMAC([6]byte(frame[6:12]))
	switch t {
	case wire.TypeHostQuery:
		h, q, err := wire.DecodeHostQuery(frame, wire.Mode{})
		if err != nil {
			return
		}
		b.learnReverse(src, q.SrcDstPeerIndex)
		rep := wire.HostReply{SrcDstPeerIndex: peerIndex(b.d.table(), src), Magic: q.Magic, Hostname: b.hostname()}
		n, err := rep.Encode(tx, wire.Head{Dst: h.Src, Src: b.mac, PeerIndex: q.SrcDstPeerIndex}, wire.Mode{})
		if err != nil {
			return
		}
		if b.d.verbose {
			b.d.log.Printf("NIC %d (%s): telling %s our host name", b.b.Index, b.b.IfName, node.FormatMAC(src))
		}
		b.send(tx[:n], "host reply")
	case wire.TypeHostReply:
		_, r, err := wire.DecodeHostReply(frame, wire.Mode{})
		if err != nil || r.Magic != wire.HostQueryMagic || !nameOK(r.Hostname) {
			return
		}
		b.learnReverse(src, r.SrcDstPeerIndex)
		changed, err := b.d.namePeer(src, r.Hostname)
		if err != nil {
			b.d.log.Printf("Cannot name peer %s: %v", node.FormatMAC(src), err)
		} else if changed {
			b.d.log.Printf("NIC %d (%s): peer %s is %s", b.b.Index, b.b.IfName, node.FormatMAC(src), r.Hostname)
		}
	default:
		b.nack(t, frame, tx)
	}
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
func (b *board) nack(t wire.Type, frame, tx []byte) {
	dstEP, srcEP, seq, ok := nackInfo(t, frame)
	if !ok {
		return
	}
	h := wire.ReadHead(frame)
	src := wire.NICIDFromMAC(h.Src)
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
		b.d.log.Printf("NIC %d (%s): %v from %s endpoint %d to endpoint %d refused (%v)",
			b.b.Index, b.b.IfName, t, node.FormatMAC(src), srcEP, dstEP, why)
	}
	b.send(tx[:n], "nack")
}
