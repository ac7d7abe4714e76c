//go:build linux

package main

// The service socket of a board: an AF_PACKET socket that receives, through
// a kernel filter, the frames the endpoints of this host do not take: the
// host-name queries and replies addressed to the board, and the CONNECT
// requests and sequenced packets (TINY, SMALL, MEDIUM, RNDV, NOTIFY) aimed
// at endpoint indexes that no process holds. The set of held indexes is
// compiled into the filter (setOpen), so that data traffic to open
// endpoints is never copied to omxoed.

import (
	"errors"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// Classic BPF opcodes and ancillary offsets used by serviceFilter.
const (
	bpfLdH    = unix.BPF_LD | unix.BPF_H | unix.BPF_ABS
	bpfLdW    = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	bpfLdB    = unix.BPF_LD | unix.BPF_B | unix.BPF_ABS
	bpfJeq    = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	bpfRet    = unix.BPF_RET | unix.BPF_K
	adPktType = 0xfffff000 + 4 // SKF_AD_OFF + SKF_AD_PKTTYPE
	pktOutgo  = 4              // PACKET_OUTGOING
	etherOMX  = 0x86DF
	acceptLen = 0xffff
)

// nackedTypes are the packet types refused for endpoints that are not open
// (spec/wire.md §4.7); their destination endpoint is frame byte 17.
var nackedTypes = []uint8{36, 37, 38, 39, 40, 43}

// serviceFilter returns the filter program of a board of MAC mac whose held
// endpoint indexes are open: Open-MX frames addressed to mac (never
// broadcast, never our own outgoing copies) that are HOST_QUERY or
// HOST_REPLY, or one of nackedTypes for an index not in open. Indexes of
// open at or above endpointMax are ignored (always refused, BAD_ENDPT),
// which keeps every jump within the 8-bit offsets of classic BPF.
func serviceFilter(mac [6]byte, open []uint8) []unix.SockFilter {
	var p []unix.SockFilter
	add := func(code uint16, k uint32, jt, jf uint8) {
		p = append(p, unix.SockFilter{Code: code, K: k, Jt: jt, Jf: jf})
	}
	// Jump targets are patched once the program length is known: a jump
	// recorded as "to drop" or "to accept" uses the placeholders below.
	type fix struct {
		at     int
		onTrue bool
		target int // 0 drop, 1 accept, 2 check endpoint, 3 drop (open endpoint)
	}
	var fixes []fix
	jump := func(k uint32, onTrue bool, target int) {
		fixes = append(fixes, fix{len(p), onTrue, target})
		add(bpfJeq, k, 0, 0)
	}
	add(bpfLdW, adPktType, 0, 0)
	fixes = append(fixes, fix{len(p), true, 0})
	add(bpfJeq, pktOutgo, 0, 0)
	add(bpfLdH, 12, 0, 0)
	jump(etherOMX, false, 0)
	add(bpfLdH, 0, 0, 0)
	jump(uint32(mac[0])<<8|uint32(mac[1]), false, 0)
	add(bpfLdW, 2, 0, 0)
	jump(uint32(mac[2])<<24|uint32(mac[3])<<16|uint32(mac[4])<<8|uint32(mac[5]), false, 0)
	add(bpfLdB, 16, 0, 0)
	jump(3, true, 1)
	jump(4, true, 1)
	for _, t := range nackedTypes {
		jump(uint32(t), true, 2)
	}
	drop := len(p)
	add(bpfRet, 0, 0, 0)
	check := len(p)
	add(bpfLdB, 17, 0, 0)
	for _, e := range open {
		if e < endpointMax {
			jump(uint32(e), true, 3)
		}
	}
	accept := len(p)
	add(bpfRet, acceptLen, 0, 0)
	dropOpen := len(p) // BPF jumps only go forward: a second "drop"
	add(bpfRet, 0, 0, 0)
	for _, f := range fixes {
		target := [...]int{drop, accept, check, dropOpen}[f.target]
		off := uint8(target - f.at - 1)
		if f.onTrue {
			p[f.at].Jt = off
		} else {
			p[f.at].Jf = off
		}
	}
	return p
}

// serviceSock is the service socket of one board.
type serviceSock struct {
	fd  int
	mac [6]byte
}

// openServiceSock opens the service socket on interface ifname, accepting
// nothing but what serviceFilter(mac, open) lets through.
func openServiceSock(ifname string, mac [6]byte, open []uint8) (*serviceSock, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("service socket on %s: %w", ifname, err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("service socket on %s: %w (needs CAP_NET_RAW)", ifname, err)
	}
	s := &serviceSock{fd: fd, mac: mac}
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	if err := s.setOpen(open); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("service socket on %s: %w", ifname, err)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(etherOMX), Ifindex: ifi.Index}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("service socket on %s: bind: %w", ifname, err)
	}
	return s, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// setOpen replaces the filter with one for the held indexes open.
func (s *serviceSock) setOpen(open []uint8) error {
	ins := serviceFilter(s.mac, open)
	prog := unix.SockFprog{Len: uint16(len(ins)), Filter: &ins[0]}
	if err := unix.SetsockoptSockFprog(s.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		return fmt.Errorf("attach filter: %w", err)
	}
	return nil
}

// recv waits up to timeout for a frame and copies it into buf; 0 means
// nothing arrived.
func (s *serviceSock) recv(buf []byte, timeout time.Duration) (int, error) {
	n, _, err := unix.Recvfrom(s.fd, buf, unix.MSG_DONTWAIT)
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
		return 0, err
	}
	fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
	if _, err := unix.Poll(fds, int(timeout/time.Millisecond)); err != nil && !errors.Is(err, unix.EINTR) {
		return 0, err
	}
	n, _, err = unix.Recvfrom(s.fd, buf, unix.MSG_DONTWAIT)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
		return 0, nil
	}
	return n, err
}

// send transmits one frame, padded to 60 bytes.
func (s *serviceSock) send(frame []byte) error {
	if len(frame) < 60 {
		f := make([]byte, 60)
		copy(f, frame)
		frame = f
	}
	_, err := unix.Write(s.fd, frame)
	return err
}

func (s *serviceSock) close() error { return unix.Close(s.fd) }
