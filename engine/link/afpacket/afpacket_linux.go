//go:build linux

package afpacket

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// Socket buffer sizes asked for (SO_*BUFFORCE with CAP_NET_ADMIN, else
// capped by net.core.[rw]mem_max): room for several pull blocks of jumbo
// frames in flight.
const (
	rcvBuf = 32 << 20
	sndBuf = 4 << 20
)

// maxTxRetries bounds how often Send retries a frame the kernel refused
// for lack of buffers before it drops it.
const maxTxRetries = 64

// packetLink is one endpoint's AF_PACKET socket. It implements link.Link.
type packetLink struct {
	name     string
	ifindex  int
	loopback bool
	mac      [6]byte
	mtu      int // largest frame: interface MTU + 14

	// closed is set first by Close; calls check it under mu.
	closed atomic.Bool
	// mu is held for reading by every call using the descriptors and for
	// writing by Close while it releases them.
	mu   sync.RWMutex
	fd   int     // the AF_PACKET socket
	efd  int     // eventfd written by Wake and Close
	ring *rxRing // nil: recv(MSG_DONTWAIT)

	txDropped atomic.Uint64
	txRetries atomic.Uint64
}

var (
	_ link.Link   = (*packetLink)(nil)
	_ link.Lender = (*packetLink)(nil)
)

// Open opens the link of endpoint cfg.Endpoint on interface cfg.Interface.
// Errors wrap link.ErrNoInterface (no such interface), link.ErrMTU (the
// interface MTU is below cfg.MinMTU - 14) or link.ErrPermission (no
// CAP_NET_RAW). The returned link also has a Stats() Stats method.
func Open(cfg Config) (link.Link, error) {
	name := cfg.Interface
	if name == "" {
		return nil, fmt.Errorf("afpacket: open: no interface name: %w", link.ErrNoInterface)
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("afpacket: open %s: %w (%v)", name, link.ErrNoInterface, err)
	}
	l := &packetLink{name: name, ifindex: ifi.Index, loopback: ifi.Flags&net.FlagLoopback != 0, mtu: ifi.MTU + 14, fd: -1, efd: -1}
	switch {
	case len(ifi.HardwareAddr) == 6:
		l.mac = [6]byte(ifi.HardwareAddr)
	case len(ifi.HardwareAddr) == 0 && ifi.Flags&net.FlagLoopback != 0:
		// lo: MAC 00:00:00:00:00:00.
	default:
		return nil, fmt.Errorf("afpacket: open %s: not an Ethernet interface (hardware address %q): %w",
			name, ifi.HardwareAddr, link.ErrNoInterface)
	}
	if cfg.MinMTU > 0 && l.mtu < cfg.MinMTU {
		mode := cfg.Mode
		if mode == "" {
			mode = "Open-MX"
		}
		return nil, fmt.Errorf("afpacket: interface %s has MTU %d, %s needs MTU %d (frames of %d bytes): %w",
			name, ifi.MTU, mode, cfg.MinMTU-14, cfg.MinMTU, link.ErrMTU)
	}
	if err := l.setup(cfg); err != nil {
		l.release()
		return nil, err
	}
	return l, nil
}

// setup creates the socket, the filter, the ring and the eventfd. The
// socket is created for no protocol, so it receives nothing until bind,
// after the filter is in place.
func (l *packetLink) setup(cfg Config) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return fmt.Errorf("afpacket: open %s endpoint %d: %w: run as root or give the program CAP_NET_RAW (%v)",
				l.name, cfg.Endpoint, link.ErrPermission, err)
		}
		return fmt.Errorf("afpacket: open %s: socket: %w", l.name, err)
	}
	l.fd = fd
	// The socket must not see this host's own sends. Bound to one
	// EtherType it does not get them anyway; this (Linux >= 4.20) and the
	// filter's pkt_type check make sure. With Self it wants the copies of
	// the frames sent to its own MAC: it listens to every protocol (only
	// such a socket gets them) and the filter keeps Open-MX ones.
	self := cfg.Self && !l.loopback
	proto := htons(link.EtherType)
	if self {
		proto = htons(unix.ETH_P_ALL)
	} else {
		_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	}

	prog := filterProgram(link.Filter{MAC: l.mac, Endpoint: cfg.Endpoint}, self)
	ins := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		ins[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(ins)), Filter: &ins[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fmt.Errorf("afpacket: open %s: attach filter: %w", l.name, err)
	}
	setBuf(fd, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, rcvBuf)
	setBuf(fd, unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, sndBuf)

	switch cfg.Rx {
	case RxDefault, RxRing:
		size := cfg.RxRingSize
		if size <= 0 {
			size = DefaultRxRingSize
		}
		maxFrame := l.mtu
		if cfg.MinMTU > 0 {
			maxFrame = min(maxFrame, cfg.MinMTU) // the wire mode's largest frame
		}
		if l.ring, err = newRxRing(fd, maxFrame, size); err != nil && cfg.Rx == RxRing {
			return fmt.Errorf("afpacket: open %s: %w", l.name, err)
		}
		// By default, a ring that cannot be had (memory limits) falls
		// back to recv.
	case RxRecv:
	default:
		return fmt.Errorf("afpacket: open %s: unknown receive mode %d", l.name, cfg.Rx)
	}
	sa := &unix.SockaddrLinklayer{Protocol: proto, Ifindex: l.ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("afpacket: open %s: bind: %w", l.name, err)
	}
	if l.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("afpacket: open %s: eventfd: %w", l.name, err)
	}
	return nil
}

func setBuf(fd, force, plain, size int) {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, size) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, plain, size)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// release frees whatever setup or Open acquired.
func (l *packetLink) release() error {
	var err error
	if l.ring != nil {
		err = l.ring.unmap()
		l.ring = nil
	}
	if l.fd >= 0 {
		if e := unix.Close(l.fd); err == nil {
			err = e
		}
		l.fd = -1
	}
	if l.efd >= 0 {
		unix.Close(l.efd)
		l.efd = -1
	}
	return err
}

func (l *packetLink) closedErr(op string) error {
	return fmt.Errorf("afpacket: %s on %s: %w", op, l.name, link.ErrClosed)
}

// Send implements link.Link. A frame the kernel keeps refusing for lack of
// buffers is dropped and counted (Stats.TxDropped), as a congested wire
// would; the protocol retransmits.
func (l *packetLink) Send(frame []byte) error {
	if len(frame) < 14 {
		return fmt.Errorf("afpacket: send on %s: frame of %d bytes has no Ethernet header", l.name, len(frame))
	}
	if len(frame) > l.mtu {
		return fmt.Errorf("afpacket: send on %s: frame of %d bytes exceeds the MTU (%d-byte frames)", l.name, len(frame), l.mtu)
	}
	var pad [link.MinFrame]byte
	p := frame
	if len(p) < link.MinFrame {
		copy(pad[:], frame)
		p = pad[:]
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed.Load() {
		return l.closedErr("send")
	}
	for tries := 0; ; {
		switch e := sendRaw(l.fd, p); e {
		case 0:
			return nil
		case unix.EINTR:
		case unix.ENOBUFS, unix.EAGAIN:
			if tries == maxTxRetries {
				l.txDropped.Add(1)
				return nil
			}
			tries++
			l.txRetries.Add(1)
			runtime.Gosched()
		default:
			return fmt.Errorf("afpacket: send on %s: %w", l.name, e)
		}
	}
}

// Recv implements link.Link.
func (l *packetLink) Recv(buf []byte) (int, error) {
	if len(buf) == 0 {
		return 0, fmt.Errorf("afpacket: recv on %s: empty buffer", l.name)
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed.Load() {
		return 0, l.closedErr("recv")
	}
	if l.ring != nil {
		return l.ring.recv(buf), nil
	}
	for {
		switch n, e := recvRaw(l.fd, buf); e {
		case 0:
			return n, nil
		case unix.EAGAIN:
			return 0, nil
		case unix.EINTR:
		default:
			return 0, fmt.Errorf("afpacket: recv on %s: %w", l.name, e)
		}
	}
}

// Borrow implements link.Lender when the link reads from a receive ring;
// without one it receives into a new buffer (token -1), since several
// frames may be borrowed at once.
func (l *packetLink) Borrow() ([]byte, int, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed.Load() {
		return nil, 0, l.closedErr("recv")
	}
	if l.ring != nil {
		f, slot := l.ring.borrow()
		return f, slot, nil
	}
	buf := make([]byte, l.mtu+64)
	for {
		switch n, e := recvRaw(l.fd, buf); e {
		case 0:
			return buf[:n], -1, nil
		case unix.EAGAIN:
			return nil, 0, nil
		case unix.EINTR:
		default:
			return nil, 0, fmt.Errorf("afpacket: recv on %s: %w", l.name, e)
		}
	}
}

// Return implements link.Lender.
func (l *packetLink) Return(token int) {
	if token >= 0 && l.ring != nil {
		l.ring.ret(token)
	}
}

// Wait implements link.Link with ppoll(2) on the socket and the eventfd.
func (l *packetLink) Wait(timeout time.Duration) error { return l.WaitFD(-1, timeout) }

// Pending implements link.FDWaiter: a frame waits in the receive ring (a
// link without a ring cannot tell without a system call: false).
func (l *packetLink) Pending() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.ring != nil && !l.closed.Load() && l.ring.ready()
}

// WaitFD implements link.FDWaiter: Wait that also returns when fd (if not
// negative) becomes readable.
func (l *packetLink) WaitFD(fd int, timeout time.Duration) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed.Load() {
		return l.closedErr("wait")
	}
	if l.ring != nil && l.ring.ready() {
		return nil
	}
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	fds := [3]unix.PollFd{{Fd: int32(l.fd), Events: unix.POLLIN}, {Fd: int32(l.efd), Events: unix.POLLIN}, {Fd: int32(fd), Events: unix.POLLIN}}
	nfds := 2
	if fd >= 0 {
		nfds = 3
	}
	for {
		var ts *unix.Timespec
		if timeout >= 0 {
			t := unix.NsecToTimespec(max(int64(time.Until(deadline)), 0))
			ts = &t
		}
		_, err := unix.Ppoll(fds[:nfds], ts, nil)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return fmt.Errorf("afpacket: wait on %s: %w", l.name, err)
		}
		if timeout >= 0 && !time.Now().Before(deadline) {
			return nil
		}
	}
	if fds[1].Revents != 0 {
		var b [8]byte
		_, _ = unix.Read(l.efd, b[:])
		if l.closed.Load() {
			// Close woke us; leave the event set for other waiters.
			writeEvent(l.efd)
			return l.closedErr("wait")
		}
	}
	return nil
}

// Wake implements link.Link.
func (l *packetLink) Wake() {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if !l.closed.Load() {
		writeEvent(l.efd)
	}
}

// MAC implements link.Link.
func (l *packetLink) MAC() [6]byte { return l.mac }

// MTU implements link.Link.
func (l *packetLink) MTU() int { return l.mtu }

// Close implements link.Link: it wakes the waiters, waits for the calls in
// progress, then closes the socket.
func (l *packetLink) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	writeEvent(l.efd)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.release(); err != nil {
		return fmt.Errorf("afpacket: close %s: %w", l.name, err)
	}
	return nil
}

// Stats returns the link's counters.
func (l *packetLink) Stats() Stats {
	st := Stats{TxDropped: l.txDropped.Load(), TxRetries: l.txRetries.Load()}
	if r := l.ring; r != nil {
		st.RxDropped = r.drops.Load()
	}
	return st
}

// RxLosses implements link.LossReporter: the frames the kernel dropped
// because the receive ring was full, as far as known (0 without a ring).
func (l *packetLink) RxLosses() uint64 {
	if r := l.ring; r != nil {
		return r.drops.Load()
	}
	return 0
}
