package nettest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ErrTimeout is returned by RawConn.Recv when no frame came in time.
var ErrTimeout = errors.New("nettest: receive timed out")

// Broadcast is the Ethernet broadcast address.
var Broadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// Do runs fn on an OS thread that is inside h's network namespace, and
// returns its error. Sockets fn creates stay in that namespace after Do
// returns. fn must not start goroutines that expect the namespace: only its
// own thread is moved.
func (h *Host) Do(fn func() error) error { return doInNetns(h.Name, fn) }

// doInNetns runs fn in a new goroutine locked to its thread, moved into the
// named namespace. The goroutine exits without unlocking, so the runtime
// destroys the thread and the namespace change never leaks to other
// goroutines (the cilium/ebpf and mdlayher/socket netns test helpers).
func doInNetns(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open(filepath.Join(netnsDir, name))
		if err != nil {
			errc <- err
			return
		}
		err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			errc <- fmt.Errorf("setns %s: %w", name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// RawConn is an AF_PACKET socket bound to a host's interface. It is safe for
// concurrent use; Close waits for a pending Recv.
type RawConn struct {
	mu      sync.RWMutex
	fd      int // -1 once closed
	Ifindex int
	// MAC is the interface's address (the source of frames this host sends).
	MAC [6]byte
}

// OpenRaw opens a raw socket on h's interface receiving the frames of
// ethertype (0: every EtherType) that arrive on it; frames the host sends
// are not received. It fails t on error and is closed at cleanup.
func (h *Host) OpenRaw(t testing.TB, ethertype uint16) *RawConn {
	t.Helper()
	c, err := h.openRaw(ethertype)
	if err != nil {
		t.Fatalf("nettest: raw socket on %s in %s: %v", h.IfName, h.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (h *Host) openRaw(ethertype uint16) (*RawConn, error) {
	proto := ethertype
	if proto == 0 {
		proto = unix.ETH_P_ALL
	}
	c := &RawConn{fd: -1, MAC: h.MAC}
	err := h.Do(func() error {
		ifi, err := net.InterfaceByName(h.IfName)
		if err != nil {
			return err
		}
		c.Ifindex = ifi.Index
		// Protocol 0 until bind: nothing from other interfaces queues up.
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		for _, o := range []struct{ level, opt, v int }{
			{unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1},
			{unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8 << 20},
			{unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 4 << 20},
		} {
			if err := unix.SetsockoptInt(fd, o.level, o.opt, o.v); err != nil {
				unix.Close(fd)
				return fmt.Errorf("setsockopt %d/%d: %w", o.level, o.opt, err)
			}
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			return fmt.Errorf("bind: %w", err)
		}
		c.fd = fd
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Send writes one complete Ethernet frame (header included, no FCS).
func (c *RawConn) Send(frame []byte) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.fd < 0 {
		return net.ErrClosed
	}
	for {
		_, err := unix.Write(c.fd, frame)
		if err != unix.EINTR {
			return err
		}
	}
}

// Recv reads the next frame into buf and returns its length (frames longer
// than buf are truncated). It waits at most timeout (negative: forever) and
// then returns ErrTimeout.
func (c *RawConn) Recv(buf []byte, timeout time.Duration) (int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.fd < 0 {
		return 0, net.ErrClosed
	}
	deadline := time.Now().Add(timeout)
	pfd := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
	for {
		ms := -1
		if timeout >= 0 {
			left := time.Until(deadline)
			if left < 0 {
				left = 0
			}
			ms = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		n, err := unix.Poll(pfd, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			if timeout >= 0 && !time.Now().Before(deadline) {
				return 0, ErrTimeout
			}
			continue
		}
		n, _, err = unix.Recvfrom(c.fd, buf, unix.MSG_DONTWAIT)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		return n, err
	}
}

// Drain discards the frames already queued and returns how many there were.
func (c *RawConn) Drain() int {
	buf := make([]byte, 65536)
	n := 0
	for {
		if _, err := c.Recv(buf, 0); err != nil {
			return n
		}
		n++
	}
}

// Close closes the socket; later calls do nothing.
func (c *RawConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return nil
	}
	err := unix.Close(c.fd)
	c.fd = -1
	return err
}

// Frame builds an Ethernet frame: dst, src, ethertype, then payload, padded
// with zeros to the 60-byte minimum.
func Frame(dst, src [6]byte, ethertype uint16, payload []byte) []byte {
	f := make([]byte, max(14+len(payload), 60))
	copy(f, dst[:])
	copy(f[6:], src[:])
	binary.BigEndian.PutUint16(f[12:], ethertype)
	copy(f[14:], payload)
	return f
}
