//go:build linux

package main

// The backend: omxoed serves endpoints to applications without raw-socket
// rights (engine/link/backend has the protocol and the client). One
// listener on <run dir>/backend.sock; per served endpoint, the claim of its
// index in the registry (in the application's name), an AF_PACKET link of
// the board filtered to that endpoint, two channels, and three goroutines:
// wire -> application, application -> wire (every frame checked), and one
// that notices the application went away (its socket closed). Nothing
// polls: each goroutine sleeps until there is something to move.

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine"
	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/afpacket"
	"github.com/open-mx-go/open-mx-go/engine/link/backend"
	"github.com/open-mx-go/open-mx-go/engine/link/shm"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

const (
	// channelBytes is the capacity of each direction of a served endpoint.
	channelBytes = 4 << 20
	// backendClientsMax bounds the endpoints served at once (all boards).
	backendClientsMax = 256
	requestTimeout    = 5 * time.Second
)

// backendStats counts what the backend refused.
type backendStats struct {
	served, denied, busy, badRequests, refusedFrames, rxDropped atomic.Uint64
}

func (s *backendStats) String() string {
	return fmt.Sprintf("backend: %d endpoints served, %d requests denied, %d busy, %d bad requests; %d frames refused from applications, %d frames to applications dropped (channel full)",
		s.served.Load(), s.denied.Load(), s.busy.Load(), s.badRequests.Load(), s.refusedFrames.Load(), s.rxDropped.Load())
}

// backendServer is the listener and its clients.
type backendServer struct {
	d       *daemon
	fd      int
	path    string
	access  map[string]accessList // by interface name; missing: everyone
	stats   backendStats
	mu      sync.Mutex
	clients map[*servedEndpoint]struct{}
	wg      sync.WaitGroup
}

// accessList is who may use a board: users and groups (names or ids).
type accessList struct {
	uids, gids map[uint32]bool
}

// parseAccess reads OMX_BOARD_ACCESS: entries "<ifname>:<who>[,<who>...]"
// separated by spaces or semicolons, <who> a user name or uid, or @group
// (name or gid). Boards not named are open to every local user.
func parseAccess(spec string) (map[string]accessList, error) {
	m := map[string]accessList{}
	for _, e := range strings.FieldsFunc(spec, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' }) {
		ifname, who, ok := strings.Cut(e, ":")
		if !ok || ifname == "" {
			return nil, fmt.Errorf("OMX_BOARD_ACCESS entry %q: want <interface>:<user>,@<group>,...", e)
		}
		al := accessList{uids: map[uint32]bool{}, gids: map[uint32]bool{}}
		for _, w := range strings.Split(who, ",") {
			if w == "" {
				continue
			}
			if g, isGroup := strings.CutPrefix(w, "@"); isGroup {
				id, err := lookupID(g, true)
				if err != nil {
					return nil, fmt.Errorf("OMX_BOARD_ACCESS %s: group %q: %v", ifname, g, err)
				}
				al.gids[id] = true
				continue
			}
			id, err := lookupID(w, false)
			if err != nil {
				return nil, fmt.Errorf("OMX_BOARD_ACCESS %s: user %q: %v", ifname, w, err)
			}
			al.uids[id] = true
		}
		m[ifname] = al
	}
	return m, nil
}

func lookupID(name string, group bool) (uint32, error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(n), nil
	}
	var id string
	if group {
		g, err := user.LookupGroup(name)
		if err != nil {
			return 0, err
		}
		id = g.Gid
	} else {
		u, err := user.Lookup(name)
		if err != nil {
			return 0, err
		}
		id = u.Uid
	}
	n, err := strconv.ParseUint(id, 10, 32)
	return uint32(n), err
}

// allows reports whether uid (with primary group gid) may use ifname.
// Root always may.
func (s *backendServer) allows(ifname string, uid, gid uint32) bool {
	al, listed := s.access[ifname]
	if !listed || uid == 0 || al.uids[uid] || al.gids[gid] {
		return true
	}
	if len(al.gids) == 0 {
		return false
	}
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return false
	}
	groups, err := u.GroupIds()
	if err != nil {
		return false
	}
	for _, g := range groups {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil && al.gids[uint32(n)] {
			return true
		}
	}
	return false
}

// startBackend listens on the backend socket.
func (d *daemon) startBackend() (*backendServer, error) {
	access, err := parseAccess(d.cfg.BoardAccess)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(d.cfg.RunDir, backend.SocketName)
	var st unix.Stat_t
	if unix.Lstat(path, &st) == nil {
		if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
			return nil, fmt.Errorf("%s exists and is not a socket: not removed", path)
		}
		unix.Unlink(path) // a socket left by an earlier omxoed
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	old := unix.Umask(0o077)
	err = unix.Bind(fd, &unix.SockaddrUnix{Name: path})
	unix.Umask(old)
	if err == nil {
		// Every local user may connect (the service checks who, per
		// board): the socket itself, just created, is made 0666.
		err = unix.Chmod(path, 0o666)
	}
	if err == nil {
		err = unix.Listen(fd, 64)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("backend socket %s: %w", path, err)
	}
	s := &backendServer{d: d, fd: fd, path: path, access: access, clients: map[*servedEndpoint]struct{}{}}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.accept() }()
	d.log.Printf("Serving endpoints to applications without raw-socket rights on %s", path)
	return s, nil
}

func (s *backendServer) accept() {
	for {
		cfd, _, err := unix.Accept4(s.fd, unix.SOCK_CLOEXEC)
		if err != nil {
			if s.d.quitting() || errors.Is(err, unix.EBADF) || errors.Is(err, unix.EINVAL) {
				return
			}
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
				continue
			}
			s.d.rl.printf(time.Now(), "backend-accept", "backend: accept: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.serveClient(cfd) }()
	}
}

// sendReply answers a request; with fds on success.
func sendReply(fd int, r backend.Reply, fds []int) {
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	_ = unix.Sendmsg(fd, r.Marshal(), oob, nil, 0)
}

// serveClient handles one application connection from request to the end
// of the endpoint.
func (s *backendServer) serveClient(cfd int) {
	cred, err := unix.GetsockoptUcred(cfd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		unix.Close(cfd)
		return
	}
	tv := unix.NsecToTimeval(requestTimeout.Nanoseconds())
	unix.SetsockoptTimeval(cfd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptTimeval(cfd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	buf := make([]byte, backend.RequestSize+1)
	n, err := unix.Read(cfd, buf)
	if err != nil {
		unix.Close(cfd)
		return
	}
	req, err := backend.UnmarshalRequest(buf[:n])
	refuse := func(st backend.Status, format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		sendReply(cfd, backend.Reply{Status: st, Message: msg}, nil)
		unix.Close(cfd)
		s.d.rl.printf(time.Now(), "backend-refused", "backend: pid %d uid %d: %s", cred.Pid, cred.Uid, msg)
	}
	if err != nil {
		s.stats.badRequests.Add(1)
		refuse(backend.StatusBadRequest, "%v", err)
		return
	}
	if req.UserDir {
		s.serveUserDir(cfd, cred)
		return
	}
	if req.Boards {
		s.serveBoards(cfd)
		return
	}
	// The board is named by its interface (its index may differ for a
	// process that sees other interfaces, in a container).
	var b *board
	for _, x := range s.d.boards {
		if x.b.IfName == req.IfName {
			b = x
		}
	}
	if b == nil {
		refuse(backend.StatusNoBoard, "no board %d (%s) served here", req.Board, req.IfName)
		return
	}
	if req.Endpoint >= endpointMax {
		s.stats.badRequests.Add(1)
		refuse(backend.StatusBadRequest, "endpoint index %d (max %d)", req.Endpoint, endpointMax-1)
		return
	}
	if !s.allows(b.b.IfName, cred.Uid, cred.Gid) {
		s.stats.denied.Add(1)
		where := "the node service's environment"
		if s.d.cfg.ConfigFile != "" {
			where = s.d.cfg.ConfigFile
		}
		refuse(backend.StatusDenied, "user %d may not use board %s (OMX_BOARD_ACCESS in %s)", cred.Uid, b.b.IfName, where)
		return
	}
	s.mu.Lock()
	full := len(s.clients) >= backendClientsMax
	s.mu.Unlock()
	if full {
		refuse(backend.StatusFailed, "the service serves %d endpoints already", backendClientsMax)
		return
	}
	ep, st, err := s.open(b, req, cred)
	if err != nil {
		if st == backend.StatusBusy {
			s.stats.busy.Add(1)
		}
		refuse(st, "%v", err)
		return
	}
	fds := ep.clientFDs
	sendReply(cfd, backend.Reply{Status: backend.StatusOK, MTU: uint32(ep.lnk.MTU()), MAC: b.mac}, fds)
	for _, f := range fds {
		unix.Close(f)
	}
	ep.clientFDs = nil
	s.stats.served.Add(1)
	s.mu.Lock()
	s.clients[ep] = struct{}{}
	s.mu.Unlock()
	ep.run(cfd)
	s.mu.Lock()
	delete(s.clients, ep)
	s.mu.Unlock()
	unix.Close(cfd)
}

// servedEndpoint is one endpoint the service serves.
type servedEndpoint struct {
	s         *backendServer
	b         *board
	index     uint8
	uid       uint32
	pid       int32
	mode      wire.Mode
	claim     *node.Claim
	lnk       link.Link
	tx, rx    *shm.Channel // tx: from the application; rx: to it
	clientFDs []int
	closing   atomic.Bool // the application closed: drain what it sent, then stop
	stop      atomic.Bool
}

// open claims the endpoint for the application and makes its link and
// channels.
func (s *backendServer) open(b *board, req backend.Request, cred *unix.Ucred) (*servedEndpoint, backend.Status, error) {
	mode, err := compat.ModeFor(s.d.cfg, engine.Board{MTU: b.b.MTU})
	if err != nil {
		return nil, backend.StatusFailed, err
	}
	claim, err := s.d.reg.AcquireAs(node.Slot{Board: b.b.IfName, NICID: b.b.NICID, Index: req.Endpoint}, req.Session,
		node.Holder{PID: int(cred.Pid), UID: int(cred.Uid), Command: req.Command})
	if err != nil {
		if errors.Is(err, node.ErrBusy) {
			return nil, backend.StatusBusy, err
		}
		return nil, backend.StatusFailed, err
	}
	ep := &servedEndpoint{s: s, b: b, index: uint8(req.Endpoint), uid: cred.Uid, pid: cred.Pid, mode: mode, claim: claim}
	fail := func(err error) (*servedEndpoint, backend.Status, error) {
		ep.release()
		return nil, backend.StatusFailed, err
	}
	if ep.lnk, err = afpacket.Open(afpacket.Config{Interface: b.b.IfName, Endpoint: ep.index, MinMTU: mode.MTU, Mode: mode.String()}); err != nil {
		return fail(err)
	}
	name := fmt.Sprintf("omx-%s-%d", b.b.IfName, req.Endpoint)
	txMem, txBell, err := shm.NewChannel(name+"-tx", channelBytes, mode.MTU)
	if err != nil {
		return fail(err)
	}
	rxMem, rxBell, err := shm.NewChannel(name+"-rx", channelBytes, mode.MTU)
	if err != nil {
		unix.Close(txMem)
		unix.Close(txBell)
		return fail(err)
	}
	// The application gets the four descriptors; the service maps its
	// views with duplicates of the bells.
	ep.clientFDs = []int{txMem, txBell, rxMem, rxBell}
	dup := func(fd int) int {
		d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return -1
		}
		return d
	}
	if ep.tx, err = shm.MapChannel(txMem, dup(txBell)); err == nil {
		ep.rx, err = shm.MapChannel(rxMem, dup(rxBell))
	}
	if err != nil {
		for _, f := range ep.clientFDs {
			unix.Close(f)
		}
		return fail(err)
	}
	return ep, backend.StatusOK, nil
}

// release frees what open made.
func (ep *servedEndpoint) release() {
	if ep.lnk != nil {
		ep.lnk.Close()
	}
	if ep.tx != nil {
		ep.tx.Close()
	}
	if ep.rx != nil {
		ep.rx.Close()
	}
	if ep.claim != nil {
		ep.claim.Release()
	}
}

// run moves frames until the application closes its socket or the
// service stops.
func (ep *servedEndpoint) run(cfd int) {
	var wg sync.WaitGroup
	wireDone := make(chan struct{})
	wg.Add(1)
	go func() { defer wg.Done(); ep.toApplication() }()
	go func() { defer close(wireDone); ep.toWire() }()
	// The application's socket stays silent; it becomes readable (EOF)
	// when the application closes the endpoint or dies.
	for !ep.stop.Load() {
		fds := []unix.PollFd{{Fd: int32(cfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 500)
		if err != nil && err != unix.EINTR {
			break
		}
		if n > 0 || ep.s.d.quitting() {
			break
		}
	}
	// What the application queued before it closed (its last messages,
	// the goodbyes of its endpoint) still goes out: the send direction
	// drains its channel, for a second at most, before everything stops.
	ep.closing.Store(true)
	ep.tx.Wake()
	select {
	case <-wireDone:
	case <-time.After(time.Second):
	}
	ep.stop.Store(true)
	ep.lnk.Wake()
	ep.tx.Wake()
	wg.Wait()
	<-wireDone
	_, txSleeps := ep.tx.Counts()
	rxRings, _ := ep.rx.Counts()
	if ep.s.d.verbose {
		ep.s.d.log.Printf("backend: endpoint %d of %s (pid %d, uid %d) closed; the pump slept %d times, woke the application %d times",
			ep.index, ep.b.b.IfName, ep.pid, ep.uid, txSleeps, rxRings)
	}
	ep.release()
}

// pumpSpin is how long a direction polls after its last frame before it
// sleeps: an endpoint in use costs polling (as its application does), an
// idle one nothing. Polling yields the CPU at each empty pass, so the
// application is never kept waiting for the pump's time slice.
const pumpSpin = 50 * time.Microsecond

// idler tells a pump direction when to stop polling and sleep.
type idler struct {
	last   time.Time
	busy   bool
	passes int
}

// idle records a pass that moved moved frames, and reports whether the
// direction has been idle for pumpSpin.
func (d *idler) idle(moved int) bool {
	if moved > 0 {
		d.busy = true
		return false
	}
	unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	if d.passes++; d.passes%16 != 0 {
		return false
	}
	now := time.Now() // one clock read every 16 empty passes
	if d.busy || d.last.IsZero() {
		d.last, d.busy = now, false
	}
	return now.Sub(d.last) >= pumpSpin
}

// slept resets the idler after a sleep.
func (d *idler) slept() { d.last, d.busy = time.Now(), false }

// toApplication copies the frames of the endpoint's link (whose kernel
// filter passes only frames addressed to this endpoint) into the
// application's channel.
func (ep *servedEndpoint) toApplication() {
	buf := make([]byte, ep.mode.MTU+64)
	lender, _ := ep.lnk.(link.Lender)
	var d idler
	for !ep.stop.Load() {
		moved := 0
		for ; moved < 64; moved++ {
			if lender != nil {
				f, tok, err := lender.Borrow()
				if err != nil || f == nil {
					break
				}
				if !ep.rx.Push(f) {
					ep.s.stats.rxDropped.Add(1)
				}
				lender.Return(tok)
				continue
			}
			n, err := ep.lnk.Recv(buf)
			if err != nil || n == 0 {
				break
			}
			if !ep.rx.Push(buf[:n]) {
				ep.s.stats.rxDropped.Add(1)
			}
		}
		if d.idle(moved) {
			ep.lnk.Wait(time.Second)
			d.slept()
		}
	}
}

// toWire sends the frames the application queued, each checked first.
func (ep *servedEndpoint) toWire() {
	buf := make([]byte, ep.mode.MTU+64)
	var d idler
	for !ep.stop.Load() {
		moved := 0
		for ; moved < 64; moved++ {
			n := ep.tx.Pop(buf)
			if n == 0 {
				if ep.closing.Load() {
					return // drained after the application closed
				}
				break
			}
			if why := backend.CheckFrame(buf[:n], ep.b.mac, ep.index, ep.mode.MTU, ep.mode); why != "" {
				ep.s.stats.refusedFrames.Add(1)
				ep.s.d.rl.printf(time.Now(), "backend-frame", "backend: refused a frame of endpoint %d of %s (pid %d, uid %d): %s",
					ep.index, ep.b.b.IfName, ep.pid, ep.uid, why)
				continue
			}
			_ = ep.lnk.Send(buf[:n])
		}
		if d.idle(moved) {
			ep.tx.Wait(time.Second, -1)
			d.slept()
		}
	}
}

// stopBackend closes the listener and ends every served endpoint.
func (s *backendServer) stop() {
	unix.Shutdown(s.fd, unix.SHUT_RDWR)
	unix.Close(s.fd)
	s.mu.Lock()
	for ep := range s.clients {
		ep.stop.Store(true)
		ep.lnk.Wake()
		ep.tx.Wake()
	}
	s.mu.Unlock()
	s.wg.Wait()
	os.Remove(s.path)
	s.d.log.Print(s.stats.String())
}
