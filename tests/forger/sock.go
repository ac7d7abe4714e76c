package main

// The forger's raw socket and the listener that classifies what comes back.

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// rawSock is an AF_PACKET socket bound to one interface for the Open-MX
// EtherType. Frames this host sends are not received back.
type rawSock struct {
	fd      int
	ifindex int
	mac     [6]byte

	mu       sync.Mutex
	sent     int64 // frames written
	bytes    int64 // bytes written
	failures int64 // writes refused (ENOBUFS, ...)
}

func openRaw(iface string) (*rawSock, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	for _, o := range []struct{ level, opt, v int }{
		{unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1},
		{unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32 << 20},
		{unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4 << 20},
	} {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.v); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("setsockopt %d/%d: %w", o.level, o.opt, err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(wire.EtherType), Ifindex: ifi.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind %s: %w", iface, err)
	}
	s := &rawSock{fd: fd, ifindex: ifi.Index}
	copy(s.mac[:], ifi.HardwareAddr)
	return s, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// send writes one whole Ethernet frame. A full device queue (ENOBUFS,
// EAGAIN) is waited out briefly; the frame is then counted as a failure.
func (s *rawSock) send(frame []byte) {
	for try := 0; ; try++ {
		_, err := unix.Write(s.fd, frame)
		if err == nil {
			s.mu.Lock()
			s.sent++
			s.bytes += int64(len(frame))
			s.mu.Unlock()
			return
		}
		if err == unix.EINTR {
			continue
		}
		if (err == unix.ENOBUFS || err == unix.EAGAIN) && try < 100 {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		s.mu.Lock()
		s.failures++
		s.mu.Unlock()
		return
	}
}

func (s *rawSock) stats() (sent, bytes, failures int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent, s.bytes, s.failures
}

// recv reads one frame, waiting at most timeout.
func (s *rawSock) recv(buf []byte, timeout time.Duration) (int, error) {
	pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, int(timeout/time.Millisecond))
	if err == unix.EINTR || n == 0 {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	k, _, err := unix.Recvfrom(s.fd, buf, unix.MSG_DONTWAIT)
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
		return 0, nil
	}
	return k, err
}

// replyKey identifies a CONNECT reply: the MAC and endpoint it answers
// (the forged source) and the connect attempt number.
type replyKey struct {
	mac  [6]byte
	ep   uint8
	cseq uint8
}

// ackKey identifies the partner a TRUC acknowledges.
type ackKey struct {
	mac [6]byte
	ep  uint8
}

type ackState struct {
	seq wire.Seq
	num uint32
}

// listener reads every Open-MX frame arriving on the interface (whatever its
// destination MAC: frames for forged MACs come back here too) and keeps
// counts by packet type, the CONNECT replies and the latest acks.
type listener struct {
	s    *rawSock
	mode wire.Mode

	mu      sync.Mutex
	counts  map[string]int64
	bytes   map[string]int64
	replies map[replyKey]wire.Connect
	acks    map[ackKey]ackState
	from    map[[6]byte]bool // sources of CONNECT replies

	stop chan struct{}
	done chan struct{}
}

func listen(s *rawSock, mode wire.Mode) *listener {
	l := &listener{s: s, mode: mode, counts: map[string]int64{}, bytes: map[string]int64{},
		replies: map[replyKey]wire.Connect{}, acks: map[ackKey]ackState{}, from: map[[6]byte]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

func (l *listener) run() {
	defer close(l.done)
	buf := make([]byte, 65536)
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		n, err := l.s.recv(buf, 50*time.Millisecond)
		if err != nil || n == 0 {
			continue
		}
		l.handle(buf[:n])
	}
}

func (l *listener) handle(f []byte) {
	t, ok := wire.PeekType(f)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.counts[t.String()]++
	l.bytes[t.String()] += int64(len(f))
	switch t {
	case wire.TypeConnect:
		h, c, err := wire.DecodeConnect(f, l.mode)
		if err == nil && c.IsReply {
			l.replies[replyKey{h.Dst, c.DstEP, c.ConnectSeq}] = c
			l.from[h.Src] = true
		}
	case wire.TypeTruc:
		h, tr, err := wire.DecodeTruc(f, l.mode)
		if err == nil {
			k := ackKey{h.Dst, tr.DstEP}
			if old, ok := l.acks[k]; !ok || tr.AckNum > old.num {
				l.acks[k] = ackState{wire.Seq(tr.AckSeq), tr.AckNum}
			}
		}
	}
}

// close stops the listener after a grace period for late frames.
func (l *listener) close(grace time.Duration) {
	time.Sleep(grace)
	close(l.stop)
	<-l.done
}

func (l *listener) reply(k replyKey) (wire.Connect, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.replies[k]
	return c, ok
}

func (l *listener) ack(k ackKey) (ackState, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.acks[k]
	return a, ok
}

func (l *listener) count(t wire.Type) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[t.String()]
}

// snapshot copies the counts by type name.
func (l *listener) snapshot() (map[string]int64, map[string]int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, b := map[string]int64{}, map[string]int64{}
	for k, v := range l.counts {
		c[k] = v
	}
	for k, v := range l.bytes {
		b[k] = v
	}
	return c, b
}

// pacer spaces frames to a rate (frames per second; 0: as fast as possible).
type pacer struct {
	rate  float64
	start time.Time
	n     int64
}

func newPacer(rate float64) *pacer { return &pacer{rate: rate, start: time.Now()} }

func (p *pacer) wait() {
	p.n++
	if p.rate <= 0 {
		return
	}
	due := p.start.Add(time.Duration(float64(p.n) / p.rate * float64(time.Second)))
	if d := time.Until(due); d > time.Millisecond {
		time.Sleep(d)
	}
}
