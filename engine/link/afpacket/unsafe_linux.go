//go:build linux

package afpacket

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// recvRaw is recv(fd, buf, MSG_DONTWAIT): it never blocks, so it skips the
// scheduler hand-off of a blocking system call (this is the busy-poll hot
// path). buf must not be empty.
func recvRaw(fd int, buf []byte) (int, unix.Errno) {
	n, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)),
		unix.MSG_DONTWAIT, 0, 0)
	return int(n), e
}

// sendRaw is send(fd, frame, 0) on the bound socket (the kernel takes the
// interface and protocol from the bind). It first tries without blocking,
// skipping the scheduler hand-off of a blocking system call; only when the
// socket's send buffer is full does it make the call that may block.
func sendRaw(fd int, frame []byte) unix.Errno {
	// The pointer conversions stay inside the call expressions, so the
	// compiler keeps the (possibly stack-allocated) frame in place.
	_, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&frame[0])), uintptr(len(frame)),
		unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN {
		_, _, e = unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&frame[0])), uintptr(len(frame)),
			0, 0, 0)
	}
	return e
}

// writeEvent adds 1 to the eventfd's counter.
func writeEvent(efd int) {
	one := uint64(1)
	unix.Write(efd, (*[8]byte)(unsafe.Pointer(&one))[:])
}

// Ring frame status bits and the TPACKET_V2 header (linux/if_packet.h).
const (
	tpStatusKernel = unix.TP_STATUS_KERNEL
	tpStatusUser   = unix.TP_STATUS_USER
	tpStatusLosing = unix.TP_STATUS_LOSING
)

// header returns the TPACKET_V2 header of the ring frame at off. The
// kernel writes the header and the frame, then sets tp_status to
// TP_STATUS_USER with release semantics; the atomic load below pairs with
// it.
func (r *rxRing) header(off int) *unix.Tpacket2Hdr {
	return (*unix.Tpacket2Hdr)(unsafe.Pointer(&r.mem[off]))
}

func loadStatus(h *unix.Tpacket2Hdr) uint32 { return atomic.LoadUint32(&h.Status) }

func releaseFrame(h *unix.Tpacket2Hdr) { atomic.StoreUint32(&h.Status, tpStatusKernel) }
