//go:build linux

package backend

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/shm"
)

// Config describes the endpoint to open through the service.
type Config struct {
	Socket   string // the service's socket (<node state directory>/backend.sock)
	Board    uint32
	IfName   string
	Endpoint uint8
	Session  uint32
	Command  string
	// Timeout bounds the exchange with the service (default 5 s).
	Timeout time.Duration
}

// Link is an endpoint's link through the service.
type Link struct {
	fd     int // the socket: held open while the endpoint is
	tx, rx *shm.Channel
	mac    [6]byte
	mtu    int
	once   sync.Once
	empty  atomic.Uint32 // empty polls (Recv)
}

var (
	_ link.Link     = (*Link)(nil)
	_ link.FDWaiter = (*Link)(nil)
)

// Available reports whether a service socket exists at path (a socket, not
// a link to one).
func Available(path string) bool {
	var st unix.Stat_t
	return unix.Lstat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFSOCK
}

// Open asks the service for the endpoint and maps its channels.
func Open(cfg Config) (*Link, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("backend: socket: %w", err)
	}
	fail := func(err error) (*Link, error) {
		unix.Close(fd)
		return nil, err
	}
	tv := unix.NsecToTimeval(cfg.Timeout.Nanoseconds())
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: cfg.Socket}); err != nil {
		return fail(fmt.Errorf("backend: connecting to the node service at %s: %w", cfg.Socket, err))
	}
	req := Request{Board: cfg.Board, Endpoint: uint32(cfg.Endpoint), Session: cfg.Session, IfName: cfg.IfName, Command: cfg.Command}
	if err := unix.Send(fd, req.Marshal(), 0); err != nil {
		return fail(fmt.Errorf("backend: request to %s: %w", cfg.Socket, err))
	}
	buf := make([]byte, ReplySize+1)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return fail(fmt.Errorf("backend: reply from %s: %w", cfg.Socket, err))
	}
	fds := receivedFDs(oob[:oobn])
	closeAll := func() {
		for _, f := range fds {
			unix.Close(f)
		}
	}
	rep, err := UnmarshalReply(buf[:n])
	if err != nil {
		closeAll()
		return fail(err)
	}
	if rep.Status != StatusOK {
		closeAll()
		msg := ""
		if rep.Message != "" {
			msg = ": " + rep.Message
		}
		return fail(fmt.Errorf("backend: endpoint %d of board %d: %w%s", cfg.Endpoint, cfg.Board, rep.Status.Err(), msg))
	}
	if len(fds) != 4 || rep.MTU < 60 || rep.MTU > 1<<16 {
		closeAll()
		return fail(fmt.Errorf("backend: malformed reply (%d descriptors, MTU %d)", len(fds), rep.MTU))
	}
	l := &Link{fd: fd, mac: rep.MAC, mtu: int(rep.MTU)}
	if l.tx, err = shm.MapChannel(fds[0], fds[1]); err != nil {
		closeAll()
		return fail(err)
	}
	unix.Close(fds[0])
	if l.rx, err = shm.MapChannel(fds[2], fds[3]); err != nil {
		l.tx.Close()
		unix.Close(fds[2])
		unix.Close(fds[3])
		return fail(err)
	}
	unix.Close(fds[2])
	return l, nil
}

// receivedFDs returns the descriptors of SCM_RIGHTS messages.
func receivedFDs(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if f, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds
}

// Send implements link.Link: the frame goes to the service, which checks
// it before it goes out.
func (l *Link) Send(frame []byte) error {
	if len(frame) < link.MinFrame {
		var pad [link.MinFrame]byte
		copy(pad[:], frame)
		frame = pad[:]
	}
	if !l.tx.Push(frame) {
		return errors.New("backend: send channel full")
	}
	return nil
}

// Recv implements link.Link.
//
// An application that busy-polls would keep the node service that moves
// its frames off the CPU (on a host with as many polling processes as
// CPUs, the service ran only when the scheduler preempted one: about 2 ms
// per message). So every emptyYield-th empty poll gives the CPU away.
func (l *Link) Recv(buf []byte) (int, error) {
	n := l.rx.Pop(buf)
	if n == 0 {
		if l.empty.Add(1)%emptyYield == 0 {
			unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		}
	}
	return n, nil
}

// emptyYield is how many empty polls of the channel make one sched_yield.
const emptyYield = 4

// Wait implements link.Link.
func (l *Link) Wait(timeout time.Duration) error { return l.rx.Wait(timeout, -1) }

// WaitFD implements link.FDWaiter.
func (l *Link) WaitFD(fd int, timeout time.Duration) error { return l.rx.Wait(timeout, fd) }

// Pending implements link.FDWaiter: a frame waits in the channel from the
// node service.
func (l *Link) Pending() bool { return l.rx.Pending() }

// Wake implements link.Link.
func (l *Link) Wake() { l.rx.Wake() }

// MAC implements link.Link.
func (l *Link) MAC() [6]byte { return l.mac }

// MTU implements link.Link.
func (l *Link) MTU() int { return l.mtu }

// Close implements link.Link: the service releases the endpoint when the
// socket closes.
func (l *Link) Close() error {
	l.once.Do(func() {
		l.tx.Close()
		l.rx.Close()
		unix.Close(l.fd)
	})
	return nil
}

// SendChannel and RecvChannel return the channels (for the service's
// tests).
func (l *Link) SendChannel() *shm.Channel { return l.tx }

// Stats says what the channels dropped.
func (l *Link) Stats() (sendDropped, recvBad uint64) { return l.tx.Dropped(), l.rx.Bad() }

// Command is this process's command name, for Config.Command.
func Command() string {
	if len(os.Args) == 0 {
		return ""
	}
	a := os.Args[0]
	for i := len(a) - 1; i >= 0; i-- {
		if a[i] == '/' {
			return a[i+1:]
		}
	}
	return a
}
