// Package link defines how the engine exchanges Ethernet frames with the
// outside world. Implementations live in sub-packages: afpacket (AF_PACKET
// sockets on a real or veth interface) and mem (an in-memory hub with fault
// injection, for tests). The engine only ever sees this interface.
package link

import (
	"errors"
	"time"
)

// Link carries the frames of one endpoint on one board: it receives only
// the frames addressed to that endpoint (see Filter) and sends frames whose
// bytes 0..5 name the destination MAC.
//
// Send, Recv, Wait and Wake may be called concurrently with each other
// (typically an application thread polls with Recv while the endpoint's
// progress goroutine sends); Close stops everything and makes Wait return.
type Link interface {
	// Send transmits one whole Ethernet frame (destination MAC first, no
	// FCS). Frames shorter than MinFrame are padded with zeros. The frame
	// is not retained after Send returns.
	Send(frame []byte) error
	// Recv copies the next pending frame into buf and returns its length;
	// it never blocks: (0, nil) means nothing is pending. A frame longer
	// than buf is truncated to len(buf).
	Recv(buf []byte) (int, error)
	// Wait blocks until a frame is pending, Wake is called, the timeout
	// elapses (a negative timeout waits forever) or the link is closed.
	// It reports nothing: callers poll Recv afterwards.
	Wait(timeout time.Duration) error
	// Wake makes a concurrent Wait return now, or the next Wait return at
	// once if none is waiting.
	Wake()
	// MAC returns the board's MAC address.
	MAC() [6]byte
	// MTU returns the largest frame the link can carry, counted from the
	// destination MAC without FCS (interface MTU + 14).
	MTU() int
	// Close releases the link. It is idempotent.
	Close() error
}

// Lender is implemented by links that can lend a received frame in place,
// without copying it (afpacket with its receive ring). Borrow returns the
// next pending frame (nil when none) and a token; the frame stays valid
// until Return(token), which must come soon: the slot is not reused before.
// Several frames may be borrowed at once; Close must not run while a frame
// is borrowed.
type Lender interface {
	Borrow() (frame []byte, token int, err error)
	Return(token int)
}

// LossReporter is implemented by links that know when their receive queue
// overflowed: RxLosses counts the frames dropped for lack of room, and only
// grows. A receiver that sees it grow asks at once for what it is missing
// instead of waiting for a timeout.
type LossReporter interface {
	RxLosses() uint64
}

// Doorbell is implemented by links whose arrivals can wake a thread that
// sleeps in another link's Wait (shm: producers write to a FIFO when the
// owner sleeps). WaitWith waits as Wait does, but also returns when other
// (if not nil) reports a frame of the other link while it spins, and
// sleeps by calling sleep with a descriptor that becomes readable when a
// frame arrives, Wake is called or the link closes.
type Doorbell interface {
	WaitWith(timeout time.Duration, other func() bool, sleep func(fd int, timeout time.Duration) error) error
}

// FDWaiter is implemented by links whose Wait can watch one more descriptor
// (afpacket): WaitFD returns when the link would return from Wait or fd
// becomes readable. It does not read fd.
type FDWaiter interface {
	WaitFD(fd int, timeout time.Duration) error
	// Pending reports, without a system call, whether a frame is known to
	// wait (false when the link cannot tell cheaply).
	Pending() bool
}

// Origin is implemented by same-host links (shm), whose frames come from
// processes of this host: OwnerPID returns the process that owns endpoint
// index's inbox on this board (the inbox file is checked like every inbox:
// a regular file of this user, not a link). The engine honours the
// same-host rendezvous extension (a pid and an address to read a message
// from) only for frames of such a link, and only when the announced pid is
// the owner of the sending endpoint's inbox: a record can make a receiver
// read the memory of its own sender, never of another process.
type Origin interface {
	OwnerPID(endpoint uint8) (pid uint32, ok bool)
}

// WaitBoth waits on two links of one endpoint at once when they allow it
// (a FDWaiter and a Doorbell), else on the first alone for at most poll.
func WaitBoth(a, b Link, timeout, poll time.Duration) error {
	fw, ok1 := a.(FDWaiter)
	db, ok2 := b.(Doorbell)
	if ok1 && ok2 {
		return db.WaitWith(timeout, fw.Pending, fw.WaitFD)
	}
	if timeout < 0 || timeout > poll {
		timeout = poll
	}
	return a.Wait(timeout)
}

// MinFrame is the smallest Ethernet frame without FCS (ETH_ZLEN).
const MinFrame = 60

// EtherType is the Open-MX EtherType.
const EtherType = 0x86DF

// Filter says which frames belong to an endpoint (spec/wire.md §2): the
// Open-MX EtherType, addressed to the board's MAC, and
//
//   - for TRUC, CONNECT, TINY, SMALL, MEDIUM, RNDV, PULL, NOTIFY and
//     NACK_MCP (ptype 35..41, 43, 45): byte 17 == endpoint index;
//   - for NACK_LIB (44): byte 25 == endpoint index;
//   - for PULL_REPLY (42): the BE32 at bytes 28..31 == endpoint index XOR
//     PullMagic (the puller encodes its magic that way);
//   - HOST_QUERY and HOST_REPLY (3, 4) are accepted by every endpoint of
//     the board (host-name queries are not endpoint-addressed; each
//     endpoint answers and learns names);
//   - every other type (RAW, unknown) is refused.
//
// Implementations apply it in the kernel (afpacket: a classic BPF program)
// or in memory (mem); Accept is the reference.
type Filter struct {
	MAC      [6]byte
	Endpoint uint8
}

// PullMagic is XORed with the puller's endpoint index to form the magic of
// its pull requests (spec/wire.md §3.5.3).
const PullMagic = 0x21071980

// Accept reports whether frame belongs to the endpoint.
func (f Filter) Accept(frame []byte) bool {
	if len(frame) < 17 || frame[12] != EtherType>>8 || frame[13] != EtherType&0xff {
		return false
	}
	if [6]byte(frame[0:6]) != f.MAC {
		return false
	}
	switch pt := frame[16]; {
	case pt == 3 || pt == 4:
		return true
	case pt >= 35 && pt <= 41, pt == 43, pt == 45:
		return len(frame) > 17 && frame[17] == f.Endpoint
	case pt == 44:
		return len(frame) > 25 && frame[25] == f.Endpoint
	case pt == 42:
		if len(frame) < 32 {
			return false
		}
		m := uint32(frame[28])<<24 | uint32(frame[29])<<16 | uint32(frame[30])<<8 | uint32(frame[31])
		return m == uint32(f.Endpoint)^PullMagic
	}
	return false
}

// Errors of link implementations.
var (
	// ErrClosed is returned by operations on a closed link.
	ErrClosed = errors.New("link closed")
	// ErrMTU is wrapped when an interface's MTU is too small for the wire
	// mode.
	ErrMTU = errors.New("interface MTU too small")
	// ErrPermission is wrapped when the process may not open raw sockets.
	ErrPermission = errors.New("permission denied for raw sockets (needs CAP_NET_RAW)")
	// ErrNoInterface is wrapped when the interface does not exist.
	ErrNoInterface = errors.New("no such interface")
)
