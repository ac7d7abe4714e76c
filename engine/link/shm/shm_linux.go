//go:build linux

package shm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// Link is an endpoint's shared-memory link. Open returns it as a link.Link;
// assert to *Link for Stats.
type Link struct {
	cfg      Config
	path     string
	dev, ino uint64 // identity of the own inbox file
	me       uint64 // pid, the producer lock value
	closed   atomic.Bool
	woken    atomic.Bool

	// The bell: a FIFO the producers write a byte to when the owner
	// sleeps (see the package documentation). bellMu is read-held while
	// the descriptor is used, write-held to close it.
	bellMu   sync.RWMutex
	bell     int
	bellPath string

	mu   sync.RWMutex // own mapping: read-held while used, write-held to unmap it
	own  ring
	rxMu sync.Mutex // serialises consumers; guards rxLock
	// rxLock tracks the producer lock across Recv calls, for resync.
	rxLock lockState

	peersMu sync.RWMutex // read-held while sending into a peer, write-held to change peers
	peers   *[256]*peer  // by endpoint index; nil once closed

	stats struct {
		droppedFull, droppedNoPeer, droppedBusy, unroutable atomic.Uint64
		badRecords, badPeers, resyncs, locksStolen          atomic.Uint64
		peersReopened, sleeps, rings                        atomic.Uint64
	}
}

// peer is a cached mapping of another endpoint's inbox.
type peer struct {
	r        ring
	dev, ino uint64
	sends    atomic.Uint32
	bell     int // write end of the owner's bell, -1 if it could not be opened
}

// statEvery is how many sends to a peer pass between checks that its file
// is still the mapped one.
const statEvery = 4096

var _ link.Link = (*Link)(nil)
var _ link.Origin = (*Link)(nil)

// Open creates this endpoint's inbox (replacing one left by a dead owner)
// and returns the link.
func Open(cfg Config) (link.Link, error) {
	cfg, err := checkConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkDir(cfg.Dir); err != nil {
		return nil, err
	}
	pid := os.Getpid()
	l := &Link{
		cfg:   cfg,
		path:  filepath.Join(cfg.Dir, fileName(cfg.Namespace, cfg.Board, cfg.Endpoint)),
		me:    uint64(pid),
		peers: new([256]*peer),
	}
	size := hdrSize + cfg.RingBytes
	tmp := fmt.Sprintf("%s.tmp-%d-%x", l.path, pid, rand.Uint64())
	fd, err := unix.Open(tmp, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("shm: create inbox: %w", &os.PathError{Op: "open", Path: tmp, Err: err})
	}
	defer unix.Close(fd)
	fail := func(op string, err error) (link.Link, error) {
		if l.own.mem != nil {
			unix.Munmap(l.own.mem)
		}
		unix.Unlink(tmp)
		return nil, fmt.Errorf("shm: create inbox: %w", &os.PathError{Op: op, Path: tmp, Err: err})
	}
	if err := unix.Fchmod(fd, 0o600); err != nil {
		return fail("chmod", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return fail("truncate", err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail("mmap", err)
	}
	l.own.mem, l.own.capacity, l.own.mtu = mem, uint64(cfg.RingBytes), cfg.MTU
	initHeader(mem, l.own.capacity, cfg.MTU, pid)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fail("stat", err)
	}
	l.dev, l.ino = st.Dev, st.Ino
	if err := retire(l.path); err != nil {
		unix.Munmap(mem)
		unix.Unlink(tmp)
		return nil, fmt.Errorf("shm: open inbox %s: %w", l.path, err)
	}
	// The bell exists before the inbox is visible, so a sender that maps
	// the inbox finds it.
	if l.bell, l.bellPath, err = makeBell(l.path, pid); err != nil {
		return fail("mkfifo", err)
	}
	if err := unix.Rename(tmp, l.path); err != nil {
		unix.Close(l.bell)
		unix.Unlink(l.bellPath)
		return fail("rename", err)
	}
	Sweep(cfg.Dir)
	return l, nil
}

// checkDir refuses an inbox directory that another user could change
// (lstat: a directory, not a symbolic link, of this user or root, not
// writable by group or others).
func checkDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("shm: inbox directory: %w", &os.PathError{Op: "lstat", Path: dir, Err: err})
	}
	uid := os.Geteuid()
	reason := ""
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		reason = "a symbolic link"
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		reason = "not a directory"
	case st.Uid != 0 && int(st.Uid) != uid:
		reason = fmt.Sprintf("owned by uid %d (neither you, uid %d, nor root)", st.Uid, uid)
	case st.Mode&0o022 != 0:
		reason = fmt.Sprintf("writable by group or others (mode %04o)", st.Mode&0o7777)
	default:
		return nil
	}
	return fmt.Errorf("shm: inbox directory %s: %s: %w", dir, reason, ErrUnsafeDir)
}

// bellName returns the bell FIFO path of an inbox owned by pid.
func bellName(inbox string, pid int) string { return fmt.Sprintf("%s.bell-%d", inbox, pid) }

// makeBell creates the bell FIFO of an inbox (owner-only) and opens it
// for reading and writing: the owner is always a reader, so senders can
// open it without blocking, and Wake can ring it.
func makeBell(inbox string, pid int) (int, string, error) {
	path := bellName(inbox, pid)
	err := unix.Mkfifo(path, 0o600)
	if errors.Is(err, unix.EEXIST) { // left by an earlier endpoint of this pid
		unix.Unlink(path)
		err = unix.Mkfifo(path, 0o600)
	}
	if err != nil {
		return -1, path, err
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		unix.Unlink(path)
		return -1, path, err
	}
	return fd, path, nil
}

// retire marks an existing inbox at path closed so its senders let go of
// it. It fails with ErrBusy if the inbox is open and its owner alive.
func retire(path string) error {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size < hdrSize || st.Uid != uint32(os.Geteuid()) {
		// Not an inbox (or not one of this user, which is never
		// mapped: its owner could shrink it under the mapping): the
		// rename replaces it.
		return nil
	}
	mem, err := unix.Mmap(fd, 0, hdrSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return err
	}
	defer unix.Munmap(mem)
	if binary.LittleEndian.Uint32(mem[offMagic:]) != magic ||
		binary.LittleEndian.Uint32(mem[offVersion:]) != version {
		return nil
	}
	r := &ring{mem: mem}
	if r.state() == stateOpen && pidAlive(uint64(ownerOf(mem))) {
		return ErrBusy
	}
	r.setState(stateClosed)
	return nil
}

// pidAlive reports whether a lock or owner word names a live process.
func pidAlive(v uint64) bool {
	if v == 0 || v > math.MaxInt32 {
		return false
	}
	err := unix.Kill(int(v), 0)
	return (err == nil || errors.Is(err, unix.EPERM)) && !zombie(int(v))
}

// zombie reports whether process pid has exited but is not reaped yet (a
// zombie still answers kill(pid, 0), but it holds nothing any more: its
// endpoints are free for the next job).
func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// pid (comm) state ...: the command may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && (b[i+2] == 'Z' || b[i+2] == 'X')
}

// Send implements link.Link.
func (l *Link) Send(frame []byte) error {
	if l.closed.Load() {
		return fmt.Errorf("shm: send: %w", link.ErrClosed)
	}
	if len(frame) < 14 {
		return fmt.Errorf("shm: send: frame of %d bytes has no Ethernet header", len(frame))
	}
	if [6]byte(frame[:6]) != l.cfg.MAC {
		return fmt.Errorf("shm: send to %x: %w", frame[:6], ErrNotLocal)
	}
	if len(frame) > l.cfg.MTU {
		return fmt.Errorf("shm: send: frame of %d bytes exceeds the MTU (%d)", len(frame), l.cfg.MTU)
	}
	ep, ok := destEndpoint(frame)
	if !ok {
		l.stats.unroutable.Add(1)
		return nil
	}
	n := max(len(frame), link.MinFrame)

	l.peersMu.RLock()
	if l.peers == nil {
		l.peersMu.RUnlock()
		return fmt.Errorf("shm: send: %w", link.ErrClosed)
	}
	if p := l.peers[ep]; p != nil && p.r.state() == stateOpen && p.sends.Add(1)%statEvery != 0 {
		l.deliver(p, frame, n)
		l.peersMu.RUnlock()
		return nil
	}
	l.peersMu.RUnlock()

	l.peersMu.Lock()
	defer l.peersMu.Unlock()
	if l.peers == nil {
		return fmt.Errorf("shm: send: %w", link.ErrClosed)
	}
	p := l.refreshLocked(ep)
	if p == nil {
		l.stats.droppedNoPeer.Add(1)
		return nil
	}
	l.deliver(p, frame, n)
	return nil
}

// refreshLocked returns the mapping of ep's current inbox, (re)opening it
// if the cached one is gone, closed or replaced; nil if there is none.
// peersMu is write-held.
func (l *Link) refreshLocked(ep uint8) *peer {
	path := filepath.Join(l.cfg.Dir, fileName(l.cfg.Namespace, l.cfg.Board, ep))
	old := l.peers[ep]
	var st unix.Stat_t
	err := unix.Stat(path, &st)
	if old != nil {
		if err == nil && old.r.state() == stateOpen && st.Dev == old.dev && st.Ino == old.ino {
			return old
		}
		old.release()
		l.peers[ep] = nil
	}
	if err != nil {
		return nil
	}
	p, err := openPeer(path)
	if err != nil {
		if errors.Is(err, errBadInbox) {
			l.stats.badPeers.Add(1)
		}
		return nil
	}
	if old != nil {
		l.stats.peersReopened.Add(1)
	}
	l.peers[ep] = p
	return p
}

var errBadInbox = errors.New("shm: invalid inbox file")

// OwnerPID implements link.Origin: the pid recorded in the header of
// endpoint ep's current inbox (0, false when there is none or it is not
// valid).
func (l *Link) OwnerPID(ep uint8) (uint32, bool) {
	l.peersMu.Lock()
	defer l.peersMu.Unlock()
	if l.peers == nil {
		return 0, false
	}
	p := l.refreshLocked(ep)
	if p == nil {
		return 0, false
	}
	pid := ownerOf(p.r.mem)
	return uint32(pid), pid > 0
}

// openPeer maps another endpoint's inbox after validating it: a regular
// file of this user (an inbox planted by another user is never written
// to nor believed), of a sane size.
func openPeer(path string) (*peer, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != uint32(os.Geteuid()) || st.Size < hdrSize || st.Size > hdrSize+1<<30 {
		return nil, errBadInbox
	}
	mem, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	capacity, mtu, ok := parseHeader(mem, st.Size)
	p := &peer{r: ring{mem: mem, capacity: capacity, mtu: mtu}, dev: st.Dev, ino: st.Ino, bell: -1}
	if !ok || p.r.state() != stateOpen {
		unix.Munmap(mem)
		if !ok {
			return nil, errBadInbox
		}
		return nil, os.ErrNotExist
	}
	// The owner's bell; without it the owner is not woken by this sender
	// and sees its frames when its bounded sleep ends.
	if fd, err := unix.Open(bellName(path, ownerOf(mem)), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0); err == nil {
		var bst unix.Stat_t
		if unix.Fstat(fd, &bst) == nil && bst.Mode&unix.S_IFMT == unix.S_IFIFO {
			p.bell = fd
		} else {
			unix.Close(fd)
		}
	}
	return p, nil
}

// release unmaps a peer's inbox and closes its bell.
func (p *peer) release() {
	unix.Munmap(p.r.mem)
	if p.bell >= 0 {
		unix.Close(p.bell)
	}
}

// deliver writes one frame into p's ring, waiting about 1 ms while it is
// full. Drops are counted.
func (l *Link) deliver(p *peer, frame []byte, n int) {
	var deadline time.Time
	for {
		ok, stolen := p.r.lock(l.me)
		if stolen {
			l.stats.locksStolen.Add(1)
		}
		if !ok {
			l.stats.droppedBusy.Add(1)
			return
		}
		res := p.r.push(frame, n)
		p.r.unlock(l.me)
		switch res {
		case pushed:
			if p.bell >= 0 && p.r.mustRing() {
				ringBell(p.bell)
				l.stats.rings.Add(1)
			}
			return
		case pushCorrupt:
			l.stats.badPeers.Add(1)
			return
		}
		now := time.Now()
		if deadline.IsZero() {
			deadline = now.Add(time.Millisecond)
		} else if now.After(deadline) {
			l.stats.droppedFull.Add(1)
			return
		}
		runtime.Gosched()
	}
}

// Recv implements link.Link.
func (l *Link) Recv(buf []byte) (int, error) {
	l.rxMu.Lock()
	defer l.rxMu.Unlock()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed.Load() {
		return 0, fmt.Errorf("shm: recv: %w", link.ErrClosed)
	}
	n, bad := l.own.pop(buf)
	if bad {
		l.stats.badRecords.Add(1)
		l.resync()
		return 0, nil
	}
	return n, nil
}

// resync resets the own inbox after a bad record: everything pending is
// dropped and the header rewritten. It does not wait for the producer
// lock; if it cannot be taken, the next Recv tries again. rxMu and mu
// (read) are held.
func (l *Link) resync() {
	ok, stolen := l.own.tryLock(l.me, &l.rxLock, time.Now())
	if !ok {
		return
	}
	if stolen {
		l.stats.locksStolen.Add(1)
	}
	l.rxLock = lockState{}
	initHeaderFields(l.own.mem, l.own.capacity, l.cfg.MTU, int(l.me))
	l.own.reset()
	l.own.unlock(l.me)
	l.stats.resyncs.Add(1)
}

// Wait implements link.Link: it spins briefly, then sleeps on the bell.
func (l *Link) Wait(timeout time.Duration) error { return l.WaitWith(timeout, nil, pollBell) }

// WaitWith implements link.Doorbell. The owner announces itself in the
// header's sleeper count before its last look at the ring; a producer
// stores the tail before it reads the count, so either the owner sees the
// frame or the producer rings (both sides use sequentially consistent
// atomics): no frame is slept on.
func (l *Link) WaitWith(timeout time.Duration, other func() bool, sleep func(fd int, timeout time.Duration) error) error {
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	ready := func() bool { return l.woken.Swap(false) || l.pending() || (other != nil && other()) }
	for i := 0; i < 64; i++ {
		if l.closed.Load() {
			return fmt.Errorf("shm: wait: %w", link.ErrClosed)
		}
		if ready() || (timeout >= 0 && !time.Now().Before(deadline)) {
			return nil
		}
		yieldThread()
	}
	l.bellMu.RLock()
	defer l.bellMu.RUnlock()
	l.mu.RLock()
	if l.closed.Load() {
		l.mu.RUnlock()
		return fmt.Errorf("shm: wait: %w", link.ErrClosed)
	}
	sl := u32At(l.own.mem, offSleepers)
	sl.Add(1)
	l.drainLocked()
	l.mu.RUnlock()
	defer func() {
		l.mu.RLock()
		if !l.closed.Load() {
			sl.Add(^uint32(0))
		}
		l.mu.RUnlock()
	}()
	if ready() {
		return nil
	}
	d := time.Duration(-1)
	if timeout >= 0 {
		if d = time.Until(deadline); d <= 0 {
			return nil
		}
	}
	l.stats.sleeps.Add(1)
	if err := sleep(l.bell, d); err != nil {
		return err
	}
	if l.closed.Load() {
		return fmt.Errorf("shm: wait: %w", link.ErrClosed)
	}
	return nil
}

// drainLocked empties the bell if it was rung, so the next sleep blocks
// until the next ring. mu is read-held and the link open.
func (l *Link) drainLocked() {
	if u32At(l.own.mem, offRung).Load() == 0 {
		return
	}
	u32At(l.own.mem, offRung).Store(0)
	var b [64]byte
	for {
		if n, err := unix.Read(l.bell, b[:]); err != nil || n < len(b) {
			return
		}
	}
}

// ringBell writes one byte to a bell (a full FIFO has rung already).
func ringBell(fd int) { _, _ = unix.Write(fd, []byte{1}) }

// pollBell sleeps until fd is readable or the timeout (negative: none)
// elapses.
func pollBell(fd int, timeout time.Duration) error { return pollFDs(fd, -1, timeout) }

// pollFDs sleeps until a or b (when b >= 0) is readable or the timeout
// (negative: none) elapses; a signal does not end it early.
func pollFDs(a, b int, timeout time.Duration) error {
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	fds := [2]unix.PollFd{{Fd: int32(a), Events: unix.POLLIN}, {Fd: int32(b), Events: unix.POLLIN}}
	n := 1
	if b >= 0 {
		n = 2
	}
	for {
		var ts *unix.Timespec
		if timeout >= 0 {
			t := unix.NsecToTimespec(max(int64(time.Until(deadline)), 0))
			ts = &t
		}
		_, err := unix.Ppoll(fds[:n], ts, nil)
		if err == nil {
			return nil
		}
		if err != unix.EINTR {
			return fmt.Errorf("shm: wait: %w", err)
		}
		if timeout >= 0 && !time.Now().Before(deadline) {
			return nil
		}
	}
}

// pending reports whether the own inbox is not empty.
func (l *Link) pending() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return !l.closed.Load() && l.own.pending()
}

// Wake implements link.Link.
func (l *Link) Wake() {
	l.woken.Store(true)
	l.bellMu.RLock()
	l.mu.RLock()
	if !l.closed.Load() {
		u32At(l.own.mem, offRung).Store(1)
		ringBell(l.bell)
	}
	l.mu.RUnlock()
	l.bellMu.RUnlock()
}

// MAC implements link.Link.
func (l *Link) MAC() [6]byte { return l.cfg.MAC }

// MTU implements link.Link.
func (l *Link) MTU() int { return l.cfg.MTU }

// Path returns the inbox file of the link.
func (l *Link) Path() string { return l.path }

// Stats returns the link's counters.
func (l *Link) Stats() Stats {
	s := &l.stats
	return Stats{
		DroppedFull:   s.droppedFull.Load(),
		DroppedNoPeer: s.droppedNoPeer.Load(),
		DroppedBusy:   s.droppedBusy.Load(),
		Unroutable:    s.unroutable.Load(),
		BadRecords:    s.badRecords.Load(),
		BadPeers:      s.badPeers.Load(),
		Resyncs:       s.resyncs.Load(),
		LocksStolen:   s.locksStolen.Load(),
		PeersReopened: s.peersReopened.Load(),
		Sleeps:        s.sleeps.Load(),
		Rings:         s.rings.Load(),
	}
}

// Close implements link.Link: it marks the inbox closed, unmaps it and the
// peers' and removes the inbox file if it is still this link's.
func (l *Link) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	ringBell(l.bell) // wakes the sleepers, which then see closed
	l.bellMu.Lock()
	unix.Close(l.bell)
	l.bell = -1
	unix.Unlink(l.bellPath)
	l.bellMu.Unlock()
	l.mu.Lock()
	l.own.setState(stateClosed)
	err := unix.Munmap(l.own.mem)
	l.own.mem = nil
	l.mu.Unlock()

	var st unix.Stat_t
	if unix.Stat(l.path, &st) == nil && st.Dev == l.dev && st.Ino == l.ino {
		if e := unix.Unlink(l.path); e != nil && err == nil {
			err = e
		}
	}

	l.peersMu.Lock()
	for _, p := range l.peers {
		if p != nil {
			p.release()
		}
	}
	l.peers = nil
	l.peersMu.Unlock()
	Sweep(l.cfg.Dir)
	if err != nil {
		return fmt.Errorf("shm: close: %w", err)
	}
	return nil
}
