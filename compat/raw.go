package compat

// The raw API of mx_raw.h (spec/api.md Appendix A): one raw endpoint per
// board and host, which sends and receives whole RAW Ethernet frames
// (ptype 1, at most 1024 bytes) for the discovery daemon and fabric
// mappers, and edits the host's published peer table. Mirrors
// libopen-mx/omx_raw.c and the raw part of omx__mx_raw.c, over an
// afpacket raw-mode link instead of /dev/open-mx-raw.
//
// Flow of mx_raw_next_event:
//
//	send completions queued by Send (FIFO) -> returned first, one per call
//	else a pending frame on the link       -> copied, RawRecvComplete
//	else wait on the link until the deadline (Send wakes the waiter)
//	timeout                                -> RawNoEvent
//
// Host-wide state lives in the run directory: the slot
// "endpoints/<board>.raw" of the endpoint registry (one raw endpoint per
// board, across processes), the published peer table "peers"
// (SetRoute, SetPeerName) and the board host-name overrides
// "hostname.<interface>" (SetHostname).

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine"
	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/afpacket"
)

// Raw frame limits: a raw send must hold at least an Ethernet header and at
// most RawMaxFrame bytes, the largest RAW frame a receiver accepts.
const (
	RawMinFrame = 14
	RawMaxFrame = afpacket.RawMaxFrame
)

// RawStatus is what mx_raw_next_event reports (mx_raw_status_t).
type RawStatus uint32

// Raw event kinds, values of mx_raw.h.
const (
	RawNoEvent      RawStatus = 0
	RawSendComplete RawStatus = 1
	RawRecvComplete RawStatus = 2
)

// RawEvent is one event of a raw endpoint.
type RawEvent struct {
	Status RawStatus
	// Context is the context given to Send (RawSendComplete only).
	Context uintptr
	// Length is the number of bytes copied into the caller's buffer
	// (RawRecvComplete only): the frame length, or the buffer size when
	// the frame was longer.
	Length int
}

// RawMapState is the peer-table state a mapper sets with
// mx_raw_set_map_version.
type RawMapState struct {
	Port       uint32
	MapperID   uint64
	Version    uint32
	Nodes      uint32
	Configured bool
}

// RawEndpoint is an open raw endpoint. It is safe for concurrent use;
// Close makes every call in progress or later fail with BadEndpoint.
type RawEndpoint struct {
	handle  uint64
	board   engine.Board
	lk      link.Link
	release func() // frees the registry slot

	mu     sync.Mutex // guards the fields below
	closed bool
	sends  []uintptr // contexts of completed sends not reported yet
	state  RawMapState

	recvMu  sync.Mutex // serializes receivers around recvBuf
	recvBuf [RawMaxFrame]byte
}

// openRawLink opens the raw-mode link of an interface (replaced by tests).
var openRawLink = afpacket.OpenRaw

// rawHandles maps the handles given to C to raw endpoints. A handle is
// (generation << 32 | slot+1), below 1<<61 so that capi can tag it; a
// closed endpoint's handle is stale forever after (until the 29-bit
// generation of its slot wraps).
var rawHandles struct {
	mu    sync.Mutex
	slots []*RawEndpoint
	gens  []uint32
}

const rawGenMask = 1<<29 - 1

func rawRegister(r *RawEndpoint) {
	rawHandles.mu.Lock()
	defer rawHandles.mu.Unlock()
	i := 0
	for i < len(rawHandles.slots) && rawHandles.slots[i] != nil {
		i++
	}
	if i == len(rawHandles.slots) {
		rawHandles.slots = append(rawHandles.slots, nil)
		rawHandles.gens = append(rawHandles.gens, 1)
	}
	rawHandles.slots[i] = r
	r.handle = uint64(rawHandles.gens[i])<<32 | uint64(i+1)
}

func rawUnregister(r *RawEndpoint) {
	rawHandles.mu.Lock()
	defer rawHandles.mu.Unlock()
	i := int(uint32(r.handle)) - 1
	if i >= 0 && i < len(rawHandles.slots) && rawHandles.slots[i] == r {
		rawHandles.slots[i] = nil
		rawHandles.gens[i] = (rawHandles.gens[i] + 1) & rawGenMask
		if rawHandles.gens[i] == 0 {
			rawHandles.gens[i] = 1
		}
	}
}

// RawByHandle returns the open raw endpoint of handle h.
func RawByHandle(h uint64) (*RawEndpoint, bool) {
	rawHandles.mu.Lock()
	defer rawHandles.mu.Unlock()
	i := int(uint32(h)) - 1
	if i < 0 || i >= len(rawHandles.slots) || h>>32 != uint64(rawHandles.gens[i]) {
		return nil, false
	}
	r := rawHandles.slots[i]
	return r, r != nil
}

// Raw returns the raw endpoint of handle h, or reports BadEndpoint ("<what>
// on an invalid raw endpoint") through the global handler.
func (l *Library) Raw(h uint64, what string) (*RawEndpoint, Code) {
	if r, ok := RawByHandle(h); ok {
		return r, Success
	}
	return nil, l.ReportGlobal(BadEndpoint, what+" on an invalid or closed raw endpoint")
}

// OpenRaw implements mx_raw_open_endpoint. Errors go through the global
// handler:
//
//   - NotInitialized before init;
//   - BoardNotFound for a missing board (or an interface that vanished);
//   - NoDriver for the loopback board, which has no raw Ethernet access,
//     and on systems without AF_PACKET;
//   - Busy when the board's raw endpoint is open, in this process or in
//     another one using the same run directory;
//   - AccessDenied (MX_NO_PERM) without CAP_NET_RAW;
//   - NoSystemResources when the socket cannot be set up.
//
// When the run directory cannot hold the registry, exclusivity is only
// enforced inside this process.
func (l *Library) OpenRaw(board uint32) (*RawEndpoint, Code) {
	eng, err := l.Engine()
	if err != nil {
		return nil, l.ReportGlobal(NotInitialized, "Opening raw endpoint")
	}
	b, ok := eng.Board(board)
	if !ok {
		return nil, l.ReportGlobal(BoardNotFound, fmt.Sprintf("Opening raw endpoint on board %d", board))
	}
	if b.Loopback || b.IfName == "" {
		return nil, l.ReportGlobal(NoDriver, fmt.Sprintf("Opening raw endpoint on board %d (%s has no raw Ethernet access)", board, b.IfName))
	}
	cfg := l.Config()
	release, err := rawClaim(cfg, b)
	if err != nil {
		if errors.Is(err, node.ErrBusy) {
			return nil, l.ReportGlobal(Busy, fmt.Sprintf("Opening raw endpoint on board %d (%v)", board, err))
		}
		if errors.Is(err, node.ErrUnsafeDir) {
			return nil, l.ReportGlobal(AccessDenied, fmt.Sprintf("Opening raw endpoint on board %d (node state directory %v)", board, err))
		}
		return nil, l.ReportGlobal(NoSystemResources, fmt.Sprintf("Opening raw endpoint on board %d (%v)", board, err))
	}
	lk, err := openRawLink(b.IfName)
	if err != nil {
		release()
		return nil, l.ReportGlobal(rawOpenCode(err), fmt.Sprintf("Opening raw endpoint on board %d (%v)", board, err))
	}
	r := &RawEndpoint{board: b, lk: lk, release: release}
	rawRegister(r)
	return r, Success
}

// rawOpenCode is the code of a raw link opening error.
func rawOpenCode(err error) Code {
	switch {
	case errors.Is(err, link.ErrPermission):
		return AccessDenied
	case errors.Is(err, link.ErrNoInterface):
		return BoardNotFound
	case errors.Is(err, afpacket.ErrNotSupported):
		return NoDriver
	}
	return NoSystemResources
}

// rawLocal holds the boards whose raw endpoint this process opened without
// a registry.
var rawLocal struct {
	mu     sync.Mutex
	boards map[string]bool
}

// rawClaim holds board b's raw slot: in the registry of cfg.RunDir, or only
// in this process when the registry cannot be used. Errors wrap
// node.ErrBusy when the slot is taken.
func rawClaim(cfg Config, b engine.Board) (func(), error) {
	reg, err := node.OpenRegistry(cfg.RunDir)
	if errors.Is(err, node.ErrUnsafeDir) {
		return nil, err
	}
	if err == nil {
		c, err := reg.Acquire(node.Slot{Board: b.IfName, NICID: b.NICID, Index: node.RawIndex}, 0)
		if err != nil {
			return nil, err
		}
		return func() { c.Release() }, nil
	}
	if cfg.Verbose {
		Stderr(fmt.Sprintf("%sraw endpoint registry in %s: %v\n", expandPrefix(cfg.VerbosePrefix), cfg.RunDir, err))
	}
	rawLocal.mu.Lock()
	defer rawLocal.mu.Unlock()
	if rawLocal.boards[b.IfName] {
		return nil, fmt.Errorf("raw endpoint of %s: %w", b.IfName, node.ErrBusy)
	}
	if rawLocal.boards == nil {
		rawLocal.boards = map[string]bool{}
	}
	rawLocal.boards[b.IfName] = true
	return func() {
		rawLocal.mu.Lock()
		delete(rawLocal.boards, b.IfName)
		rawLocal.mu.Unlock()
	}, nil
}

// Handle returns the endpoint's handle (not 0, below 1<<61).
func (r *RawEndpoint) Handle() uint64 { return r.handle }

// Board returns the endpoint's board.
func (r *RawEndpoint) Board() engine.Board { return r.board }

// PollFd returns a descriptor that polls readable while a frame is pending
// (mx_raw_handle), or -1 when the link has none or the endpoint is closed.
func (r *RawEndpoint) PollFd() int {
	if p, ok := r.lk.(interface{ PollFd() int }); ok {
		return p.PollFd()
	}
	return -1
}

// MapState returns what SetMapState stored last.
func (r *RawEndpoint) MapState() RawMapState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// SetMapState stores the peer-table state of mx_raw_set_map_version. It
// only lives as long as the endpoint.
func (r *RawEndpoint) SetMapState(s RawMapState) {
	r.mu.Lock()
	r.state = s
	r.mu.Unlock()
}

// CloseRaw implements mx_raw_close_endpoint: the handle becomes invalid,
// waiters return BadEndpoint and the board's raw slot is freed.
func (l *Library) CloseRaw(r *RawEndpoint) Code {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return l.ReportGlobal(BadEndpoint, "Closing an already closed raw endpoint")
	}
	r.closed = true
	r.sends = nil
	r.mu.Unlock()
	rawUnregister(r)
	err := r.lk.Close()
	r.release()
	if err != nil {
		return l.ReportGlobal(NoSystemResources, fmt.Sprintf("Closing raw endpoint (%v)", err))
	}
	return Success
}

// RawSend implements mx_raw_send: frame is sent as a whole Ethernet frame
// (the caller wrote the MACs, EtherType and ptype), padded to 60 bytes, and
// a send completion with ctx is queued for NextEvent. A frame shorter than
// an Ethernet header or longer than RawMaxFrame is a BadRequest.
func (l *Library) RawSend(r *RawEndpoint, frame []byte, ctx uintptr) Code {
	if len(frame) < RawMinFrame || len(frame) > RawMaxFrame {
		return l.ReportGlobal(BadRequest, fmt.Sprintf("Sending a raw frame of %d bytes (%d to %d allowed)", len(frame), RawMinFrame, RawMaxFrame))
	}
	if err := r.lk.Send(frame); err != nil {
		if errors.Is(err, link.ErrClosed) {
			return l.ReportGlobal(BadEndpoint, "Sending on a closed raw endpoint")
		}
		return l.ReportGlobal(NoSystemResources, fmt.Sprintf("Sending raw frame (%v)", err))
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return l.ReportGlobal(BadEndpoint, "Sending on a closed raw endpoint")
	}
	r.sends = append(r.sends, ctx)
	r.mu.Unlock()
	r.lk.Wake()
	return Success
}

// RawNextEvent implements mx_raw_next_event: the oldest send completion,
// else the next received frame (copied into buf, truncated to len(buf)),
// waiting up to timeoutMS milliseconds (0: poll once) before it returns
// RawNoEvent. Send completions come first: a send completes when mx_raw_send
// returns, so it is always older than the frames still waiting.
func (l *Library) RawNextEvent(r *RawEndpoint, buf []byte, timeoutMS uint32) (RawEvent, Code) {
	deadline := time.Now().Add(time.Duration(timeoutMS) * time.Millisecond)
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return RawEvent{}, l.ReportGlobal(BadEndpoint, "Waiting for an event on a closed raw endpoint")
		}
		if len(r.sends) > 0 {
			ctx := r.sends[0]
			r.sends = r.sends[1:]
			r.mu.Unlock()
			return RawEvent{Status: RawSendComplete, Context: ctx}, Success
		}
		r.mu.Unlock()

		r.recvMu.Lock()
		n, err := r.lk.Recv(r.recvBuf[:])
		if n > 0 {
			c := copy(buf, r.recvBuf[:n])
			r.recvMu.Unlock()
			return RawEvent{Status: RawRecvComplete, Length: c}, Success
		}
		r.recvMu.Unlock()
		if err == nil {
			left := deadline.Sub(time.Now())
			if left <= 0 {
				return RawEvent{Status: RawNoEvent}, Success
			}
			err = r.lk.Wait(left)
		}
		if err != nil {
			if errors.Is(err, link.ErrClosed) {
				return RawEvent{}, l.ReportGlobal(BadEndpoint, "Waiting for an event on a closed raw endpoint")
			}
			return RawEvent{}, l.ReportGlobal(NoSystemResources, fmt.Sprintf("Receiving raw frame (%v)", err))
		}
	}
}

// RawSetRoute implements mx_raw_set_route and mx_raw_set_route_mag: routes
// mean nothing on Ethernet, but the destination joins the host's peer
// table (the published one, and this process's) without a host name if it
// is not there yet.
func (l *Library) RawSetRoute(r *RawEndpoint, nic uint64) Code {
	if nic>>48 != 0 {
		return l.ReportGlobal(BadRequest, fmt.Sprintf("Setting a route to invalid nic id %#x", nic))
	}
	return l.updatePeers(nic, "", false, "Setting a route")
}

// RawSetPeerName implements mx_raw_set_peer_name: nic joins the peer table
// (published and in-process) with host name name, or is renamed. Names
// longer than 79 bytes are cut, as the original driver does; names with
// blanks or control characters cannot be published and are a BadRequest.
func (l *Library) RawSetPeerName(r *RawEndpoint, nic uint64, name string) Code {
	if nic>>48 != 0 {
		return l.ReportGlobal(BadRequest, fmt.Sprintf("Setting the name of invalid nic id %#x", nic))
	}
	name = rawCutName(name)
	if !rawNameOK(name) {
		return l.ReportGlobal(BadRequest, fmt.Sprintf("Setting peer name %q (blanks and control characters are not allowed)", name))
	}
	return l.updatePeers(nic, name, true, "Setting a peer name")
}

// RawRemovePeer implements mx_raw_remove_peer. Peer indexes are assigned
// once and for all (spec/wire.md §6.3) and the original aborts the
// process; here it fails with NotImplemented.
func (l *Library) RawRemovePeer(r *RawEndpoint, nic uint64) Code {
	return l.ReportGlobal(NotImplemented, fmt.Sprintf("Removing peer %s (peers cannot be removed)", node.FormatMAC(nic&(1<<48-1))))
}

// RawSetHostname implements mx_raw_set_hostname: the host name of the
// raw endpoint's board becomes name (cut to 79 bytes), recorded in the run
// directory as BoardHostnameFile(runDir, board interface) for the
// libraries started afterwards. An empty name, or one with blanks or
// control characters, is a BadRequest.
func (l *Library) RawSetHostname(r *RawEndpoint, name string) Code {
	name = rawCutName(name)
	if name == "" || !rawNameOK(name) {
		return l.ReportGlobal(BadRequest, fmt.Sprintf("Setting board host name %q (empty names, blanks and control characters are not allowed)", name))
	}
	if err := WriteBoardHostname(l.Config().RunDir, r.board.IfName, name); err != nil {
		return l.ReportGlobal(NoSystemResources, fmt.Sprintf("Setting board host name (%v)", err))
	}
	return Success
}

// rawCutName cuts a C host name to node.HostnameMax bytes.
func rawCutName(name string) string {
	if len(name) > node.HostnameMax {
		name = name[:node.HostnameMax]
	}
	return name
}

// rawNameOK reports whether name can be stored in the run directory's
// one-line formats.
func rawNameOK(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// peersMu serializes this process's updates of the published peer table.
// Divergence: updates by two processes at the same time may lose one (the
// original kernel table had one lock); omxoed is normally the only writer.
var peersMu sync.Mutex

// updatePeers adds nic to the published peer table of the run directory
// (renaming it when setName), then reloads this process's peer table.
func (l *Library) updatePeers(nic uint64, name string, setName bool, what string) Code {
	cfg := l.Config()
	if err := UpdatePublishedPeer(cfg.RunDir, nic, name, setName); err != nil {
		code := NoSystemResources
		if errors.Is(err, errPeerTableFull) {
			code = NoResources
		}
		return l.ReportGlobal(code, fmt.Sprintf("%s (%v)", what, err))
	}
	if eng := l.EngineAny(); eng != nil {
		eng.SetPeers(loadPeers(cfg))
	}
	return Success
}

var errPeerTableFull = fmt.Errorf("peer table full (%d peers)", node.PeerMax)

// UpdatePublishedPeer adds nic to the peer table published in runDir
// (node.WritePeerTable), without a host name, unless it is there already;
// with setName its host name becomes name. A missing table is created.
func UpdatePublishedPeer(runDir string, nic uint64, name string, setName bool) error {
	peersMu.Lock()
	defer peersMu.Unlock()
	peers, _, err := node.ReadPeerTable(runDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	found := false
	for i := range peers {
		if peers[i].NICID == nic {
			found = true
			if !setName || peers[i].Hostname == name {
				return nil
			}
			peers[i].Hostname = name
		}
	}
	if !found {
		if len(peers) >= node.PeerMax {
			return errPeerTableFull
		}
		p := node.Peer{NICID: nic}
		if setName {
			p.Hostname = name
		}
		peers = append(peers, p)
	}
	return node.WritePeerTable(runDir, peers)
}

// BoardHostnameFile is the file of the run directory holding the host name
// given to the board of interface ifname by mx_raw_set_hostname: one line,
// the name.
func BoardHostnameFile(runDir, ifname string) string {
	return filepath.Join(runDir, "hostname."+ifname)
}

// WriteBoardHostname records name as the host name of the board of
// interface ifname, replacing BoardHostnameFile atomically (mode 0644);
// runDir is made or checked by node.MakeRunDir.
func WriteBoardHostname(runDir, ifname, name string) error {
	if ifname == "" || strings.ContainsAny(ifname, "/\x00") || ifname[0] == '.' {
		return fmt.Errorf("bad interface name %q", ifname)
	}
	if err := node.MakeRunDir(runDir); err != nil {
		return err
	}
	f, err := os.CreateTemp(runDir, ".hostname.tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.WriteString(name + "\n")
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, BoardHostnameFile(runDir, ifname))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// ReadBoardHostname returns the host name recorded for the board of
// interface ifname by mx_raw_set_hostname; an error wrapping
// fs.ErrNotExist when there is none. runDir must be a safe directory
// (node.CheckRunDir).
func ReadBoardHostname(runDir, ifname string) (string, error) {
	if err := node.CheckRunDir(runDir); err != nil {
		return "", err
	}
	b, err := os.ReadFile(BoardHostnameFile(runDir, ifname))
	if err != nil {
		return "", err
	}
	name, _, _ := strings.Cut(string(b), "\n")
	name = rawCutName(name)
	if name == "" || !rawNameOK(name) {
		return "", fmt.Errorf("%s: bad host name %q", BoardHostnameFile(runDir, ifname), name)
	}
	return name, nil
}
