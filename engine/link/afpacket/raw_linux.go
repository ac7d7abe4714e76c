//go:build linux

package afpacket

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// rawRcvBuf is the socket receive buffer of a raw link: discovery traffic
// is a few small frames per second, 256 KiB holds hundreds of them.
const rawRcvBuf = 256 << 10

// OpenRaw opens the raw-mode link of interface ifname: it receives the RAW
// frames (ptype 1) of at most RawMaxFrame bytes addressed to the
// interface's MAC or broadcast, filtered in the kernel, and sends whole
// frames as given (padded to link.MinFrame). It reads with recv(2), no
// ring. The returned link also has PollFd() int, the socket descriptor,
// which polls readable when a frame is pending (the caller must neither
// read nor close it), and Stats() Stats.
//
// Errors wrap link.ErrNoInterface (no such interface, or not Ethernet) or
// link.ErrPermission (no CAP_NET_RAW). Several raw links may be open on one
// interface: each gets every matching frame; keeping one per board is the
// caller's business.
func OpenRaw(ifname string) (link.Link, error) {
	if ifname == "" {
		return nil, fmt.Errorf("afpacket: open raw: no interface name: %w", link.ErrNoInterface)
	}
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("afpacket: open raw %s: %w (%v)", ifname, link.ErrNoInterface, err)
	}
	l := &packetLink{name: ifname, ifindex: ifi.Index, mtu: ifi.MTU + 14, fd: -1, efd: -1}
	switch {
	case len(ifi.HardwareAddr) == 6:
		l.mac = [6]byte(ifi.HardwareAddr)
	case len(ifi.HardwareAddr) == 0 && ifi.Flags&net.FlagLoopback != 0:
		// lo: MAC 00:00:00:00:00:00.
	default:
		return nil, fmt.Errorf("afpacket: open raw %s: not an Ethernet interface (hardware address %q): %w",
			ifname, ifi.HardwareAddr, link.ErrNoInterface)
	}
	if err := l.setupRaw(); err != nil {
		l.release()
		return nil, err
	}
	return l, nil
}

// setupRaw creates the socket with the raw filter and the eventfd, like
// setup does for an endpoint link.
func (l *packetLink) setupRaw() error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return fmt.Errorf("afpacket: open raw %s: %w: run as root or give the program CAP_NET_RAW (%v)",
				l.name, link.ErrPermission, err)
		}
		return fmt.Errorf("afpacket: open raw %s: socket: %w", l.name, err)
	}
	l.fd = fd
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	prog := rawFilterProgram(l.mac)
	ins := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		ins[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(ins)), Filter: &ins[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return fmt.Errorf("afpacket: open raw %s: attach filter: %w", l.name, err)
	}
	setBuf(fd, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, rawRcvBuf)
	sa := &unix.SockaddrLinklayer{Protocol: htons(link.EtherType), Ifindex: l.ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("afpacket: open raw %s: bind: %w", l.name, err)
	}
	if l.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("afpacket: open raw %s: eventfd: %w", l.name, err)
	}
	return nil
}

// PollFd returns the link's socket descriptor (-1 once closed). It is only
// meant for poll(2): reading or closing it breaks the link.
func (l *packetLink) PollFd() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed.Load() {
		return -1
	}
	return l.fd
}
