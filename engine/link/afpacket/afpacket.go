// Package afpacket implements link.Link over a Linux AF_PACKET socket on an
// Ethernet interface (a "board"): one SOCK_RAW socket per endpoint, bound to
// the Open-MX EtherType on one interface, with a classic BPF program
// attached in the kernel that implements link.Filter, so several processes
// share an interface without seeing each other's traffic.
//
// It is not a general packet-capture package: it only carries Open-MX
// frames of one endpoint.
//
// # I/O model
//
// No goroutine is started and the Go netpoller is not used: Send and Recv
// are direct, non-blocking system calls on the raw socket, made by whichever
// thread calls them (the engine polls from application threads, as Open-MX
// does, because a blocking wake-up costs about 30 µs on the reference
// machines against about 1.5 µs for a busy-polled round trip, see
// bench/PEERS.md). Wait blocks in ppoll(2) on the socket and an eventfd that
// Wake writes. Frames are read from a memory-mapped PACKET_RX_RING
// (TPACKET_V2) by default, or with recv(2) (Config.Rx).
//
// # Concurrency
//
// All methods are safe for concurrent use. Close waits for the calls in
// progress to return (it wakes Wait first) before it closes the descriptors.
//
// Only Linux is supported; on other systems Open returns an error wrapping
// ErrNotSupported.
package afpacket

import (
	"errors"
)

// ErrNotSupported is wrapped by Open on systems without AF_PACKET.
var ErrNotSupported = errors.New("afpacket: AF_PACKET links are not supported on this system")

// DefaultRxRingSize is the size of the receive ring when Config.RxRingSize
// is zero: 512 slots for 9000-byte frames, 4096 for 1500-byte ones.
const DefaultRxRingSize = 8 << 20

// RxMode selects how a link reads frames.
type RxMode int

const (
	// RxDefault is RxRing, measured faster (BenchmarkPingPong: about 30 %
	// lower latency when busy-polling, equal or better streaming).
	RxDefault RxMode = iota
	// RxRing reads frames from a memory-mapped PACKET_RX_RING
	// (TPACKET_V2): an empty poll is a memory load, not a system call.
	RxRing
	// RxRecv reads frames with recv(MSG_DONTWAIT), one system call per
	// poll, into the socket buffer's worth of frames (no ring memory).
	RxRecv
)

// Config says which board and endpoint a link serves.
type Config struct {
	// Interface is the name of the Ethernet interface (the board).
	Interface string
	// Endpoint is the endpoint index whose frames the link receives.
	Endpoint uint8
	// MinMTU is the largest frame, from the destination MAC without FCS,
	// the wire mode needs (9000 for native-9000, 1500 for native-1500,
	// 4144 for mx-wire). Open fails with an error wrapping link.ErrMTU if
	// the interface MTU + 14 is smaller. Zero disables the check.
	MinMTU int
	// Mode names the wire mode in the MTU error message, e.g.
	// "native-9000" (default "Open-MX").
	Mode string
	// Rx selects the receive path (default RxRing).
	Rx RxMode
	// RxRingSize is the size of the receive ring in bytes (default
	// DefaultRxRingSize); ignored with RxRecv.
	RxRingSize int
	// Self also delivers the frames this host sends on the interface to
	// its own MAC (from any process): the network path between endpoints
	// of one host when shared memory is disabled (OMX_DISABLE_SHARED). The
	// socket then listens to every protocol and takes the kernel's copies
	// of outgoing frames (pkt_type PACKET_OUTGOING) that the filter
	// accepts. On the loopback interface such frames come back as
	// incoming ones anyway and Self changes nothing.
	Self bool
}

// Stats counts the link's exceptional events.
type Stats struct {
	// TxDropped counts frames Send gave up on after the kernel kept
	// refusing them for lack of buffers (ENOBUFS/EAGAIN): they are lost
	// as on a congested wire, and Send reported success.
	TxDropped uint64
	// TxRetries counts the retries of Send after ENOBUFS/EAGAIN.
	TxRetries uint64
	// RxDropped counts frames the kernel dropped because the receive ring
	// was full (read from PACKET_STATISTICS when the ring says so).
	RxDropped uint64
}
