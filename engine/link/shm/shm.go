package shm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// Config describes one endpoint's inbox.
type Config struct {
	// Dir holds the inbox files. Open refuses a directory that another
	// user could change (ErrUnsafeDir): it must be a directory (not a
	// symbolic link) of this user or root, not writable by group or
	// others, since whoever may create files there could take an
	// endpoint's inbox name first. The default, DefaultDir, is
	// world-writable on most systems: give a private directory.
	Dir string
	// Namespace distinguishes node state directories (e.g. a hash of
	// OMX_RUNDIR); it may be empty but must not contain '/'.
	Namespace string
	// Board is the interface name of the board.
	Board string
	// MAC is the board MAC: every frame sent must be addressed to it.
	MAC [6]byte
	// Endpoint is the endpoint index.
	Endpoint uint8
	// MTU is the largest frame, counted from the destination MAC.
	MTU int
	// RingBytes is the inbox capacity; default 4 MiB, rounded up to 8.
	RingBytes int
}

// DefaultDir is the default directory of the inbox files.
const DefaultDir = "/dev/shm"

// DefaultRingBytes is the default inbox capacity.
const DefaultRingBytes = 4 << 20

// Errors of Open and Send.
var (
	// ErrBusy is returned by Open when a live process owns the inbox.
	ErrBusy = errors.New("shm: endpoint inbox owned by a live process")
	// ErrNotLocal is wrapped by Send for a frame whose destination MAC
	// is not the board's.
	ErrNotLocal = errors.New("shm: destination MAC is not this host's board")
	// ErrUnsupported is returned by Open on systems without the link.
	ErrUnsupported = errors.New("shm: not supported on this system")
	// ErrUnsafeDir is wrapped by Open's error for a directory another
	// user could change (see Config.Dir).
	ErrUnsafeDir = errors.New("unsafe inbox directory")
)

// Stats counts what a link dropped or rejected.
type Stats struct {
	DroppedFull   uint64 // frames dropped because the destination inbox stayed full
	DroppedNoPeer uint64 // frames for an endpoint without an inbox
	DroppedBusy   uint64 // frames dropped because a producer lock could not be taken
	Unroutable    uint64 // HOST_* and unknown frames (no endpoint to deliver to)
	BadRecords    uint64 // invalid records or indices found in this link's inbox
	BadPeers      uint64 // peer inboxes with an invalid header or indices
	Resyncs       uint64 // times this link's inbox was reset after a bad record
	LocksStolen   uint64 // producer locks taken over from a dead or stuck holder
	PeersReopened uint64 // peer inboxes re-opened after a restart of their owner
	Sleeps        uint64 // times Wait slept on this link's bell
	Rings         uint64 // times a send woke a sleeping owner through its bell
}

// fileName returns the inbox file name of an endpoint.
func fileName(ns, board string, ep uint8) string {
	return fmt.Sprintf("omx-%s-%s-%d", ns, board, ep)
}

// checkConfig validates cfg and fills in the defaults.
func checkConfig(cfg Config) (Config, error) {
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir
	}
	if cfg.RingBytes == 0 {
		cfg.RingBytes = DefaultRingBytes
	}
	if cfg.Board == "" || strings.ContainsAny(cfg.Board, "/\x00") {
		return cfg, fmt.Errorf("shm: invalid board name %q", cfg.Board)
	}
	if strings.ContainsAny(cfg.Namespace, "/\x00") {
		return cfg, fmt.Errorf("shm: invalid namespace %q", cfg.Namespace)
	}
	if cfg.MTU < link.MinFrame || cfg.MTU > 1<<20 {
		return cfg, fmt.Errorf("shm: MTU %d out of range [%d, %d]", cfg.MTU, link.MinFrame, 1<<20)
	}
	if cfg.RingBytes < 0 || cfg.RingBytes > 1<<30 {
		return cfg, fmt.Errorf("shm: ring size %d out of range", cfg.RingBytes)
	}
	cfg.RingBytes = int(pad8(uint64(cfg.RingBytes)))
	if uint64(cfg.RingBytes) < 2*recordSize(cfg.MTU) {
		return cfg, fmt.Errorf("shm: ring of %d bytes cannot hold two %d-byte frames", cfg.RingBytes, cfg.MTU)
	}
	return cfg, nil
}

// destEndpoint returns the endpoint a frame is addressed to, as
// link.Filter.Accept decides it; ok is false for frames no endpoint takes
// by index (HOST_*, RAW, unknown, too short, not Open-MX).
func destEndpoint(frame []byte) (ep uint8, ok bool) {
	if len(frame) < 17 || frame[12] != link.EtherType>>8 || frame[13] != link.EtherType&0xff {
		return 0, false
	}
	switch pt := frame[16]; {
	case pt >= 35 && pt <= 41, pt == 43, pt == 45:
		if len(frame) <= 17 {
			return 0, false
		}
		return frame[17], true
	case pt == 44:
		if len(frame) <= 25 {
			return 0, false
		}
		return frame[25], true
	case pt == 42:
		if len(frame) < 32 {
			return 0, false
		}
		m := uint32(frame[28])<<24 | uint32(frame[29])<<16 | uint32(frame[30])<<8 | uint32(frame[31])
		e := m ^ link.PullMagic
		if e >= 256 {
			return 0, false
		}
		return uint8(e), true
	}
	return 0, false
}
