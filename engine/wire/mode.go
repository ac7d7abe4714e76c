package wire

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits of NativeMode.
const (
	// MinNativeMTU is the smallest OMX_MTU NativeMode accepts. Below the IPv6
	// minimum link MTU a link is not worth using (compat attaches only
	// interfaces with an MTU of at least 1280 for the same reason); the
	// original has no floor, but fragments of a few hundred bytes would make
	// medium messages of 32 fragments pointlessly small.
	MinNativeMTU = 1280
	// MaxNativeMTU is the largest OMX_MTU NativeMode accepts: the pull reply
	// payload (MTU-32) must fit the BE16 frame_length of PULL_REPLY.
	MaxNativeMTU = 0xFFFF + pullReplyHdr
)

// mx-wire constants (spec/wire.md §1.4, §2.2): fixed, not configurable.
const (
	mxWireMTU      = 4144
	mxWireFragMax  = 4096
	mxWireFragsMax = 8
	mxWireReplyMax = 4096
	mxWirePerBlock = 8
)

// Native constants that do not depend on the MTU (spec/wire.md §2.2).
const (
	nativeFragsMax = 32 // --with-medium-frags default; receiver mask is 32 bits
	nativePerBlock = 32 // --with-pull-block-replies default
	nativeFragBig  = 8192
	nativeFragMid  = 4096
)

// Mode is a wire mode and its derived constants (spec/wire.md §2.2). Build it
// with NativeMode or MXWireMode: the zero value is not a usable mode (every
// medium and pull reply would be rejected). Two peers interoperate only if
// their modes are equal.
type Mode struct {
	MXWire    bool // mx-wire (Myricom MX compatible) instead of native framing
	MTU       int  // OMX_MTU: the largest frame, from the destination MAC, FCS excluded
	FragMax   int  // medium fragment payload (8192, 1452, 4096)
	RingEntry int  // power of two ≥ FragMax (8192, 2048, 4096): the receive ring slot size
	FragsMax  int  // fragments per medium message (32, 32, 8)
	MediumMax int  // FragMax*FragsMax: the largest medium message
	ReplyMax  int  // pull reply payload (8968, 1468, 4096)
	PerBlock  int  // pull replies per PULL block (32, 32, 8)
	BlockMax  int  // ReplyMax*PerBlock: the largest PULL block
}

// NativeMode returns the native mode of an OMX_MTU (the largest frame,
// counted from the destination MAC, without FCS): native-9000 is the default
// of Open-MX, native-1500 fits standard Ethernet. Constants follow the
// formulas of spec/wire.md §2.2 with the configure defaults (no
// --with-medium-frag-length, --with-pull-reply-length overrides):
//
//	FragMax  = MTU-48 if that is ≤ 4096, else 8192 if 8192+48 ≤ MTU, else 4096
//	ReplyMax = MTU-32; FragsMax = PerBlock = 32
//
// It fails if mtu is outside [MinNativeMTU, MaxNativeMTU].
func NativeMode(mtu int) (Mode, error) {
	if mtu < MinNativeMTU || mtu > MaxNativeMTU {
		return Mode{}, fmt.Errorf("wire: native MTU %d outside [%d, %d]", mtu, MinNativeMTU, MaxNativeMTU)
	}
	frag := mtu - mediumHdr
	switch {
	case frag <= nativeFragMid:
	case nativeFragBig+mediumHdr <= mtu:
		frag = nativeFragBig
	default:
		frag = nativeFragMid
	}
	ring := 1
	for ring < frag {
		ring <<= 1
	}
	reply := mtu - pullReplyHdr
	return Mode{
		MTU:       mtu,
		FragMax:   frag,
		RingEntry: ring,
		FragsMax:  nativeFragsMax,
		MediumMax: frag * nativeFragsMax,
		ReplyMax:  reply,
		PerBlock:  nativePerBlock,
		BlockMax:  reply * nativePerBlock,
	}, nil
}

// MXWireMode returns the mx-wire mode (--enable-mx-wire), wire compatible
// with Myricom MX ≥ 1.2.5 in Ethernet mode. Its MTU, 4144, is
// 16 + max(32+4096, 16+4096) (spec/wire.md §1.4).
func MXWireMode() Mode {
	return Mode{
		MXWire:    true,
		MTU:       mxWireMTU,
		FragMax:   mxWireFragMax,
		RingEntry: mxWireFragMax,
		FragsMax:  mxWireFragsMax,
		MediumMax: mxWireFragMax * mxWireFragsMax,
		ReplyMax:  mxWireReplyMax,
		PerBlock:  mxWirePerBlock,
		BlockMax:  mxWireReplyMax * mxWirePerBlock,
	}
}

// DefaultMode returns native-9000, what a stock Open-MX 1.5 node speaks.
func DefaultMode() Mode {
	m, _ := NativeMode(9000)
	return m
}

// ParseMode parses the name of a mode as String writes it: "mx-wire" or
// "native-N" (N the OMX_MTU); "native" alone means native-9000.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "mx-wire":
		return MXWireMode(), nil
	case "native":
		return DefaultMode(), nil
	}
	rest, ok := strings.CutPrefix(s, "native-")
	if !ok {
		return Mode{}, fmt.Errorf("wire: unknown wire mode %q (want native-N or mx-wire)", s)
	}
	mtu, err := strconv.Atoi(rest)
	if err != nil {
		return Mode{}, fmt.Errorf("wire: wire mode %q: bad MTU", s)
	}
	return NativeMode(mtu)
}

// String returns the name of the mode: "native-9000", "mx-wire".
func (m Mode) String() string {
	if m.MXWire {
		return "mx-wire"
	}
	return "native-" + strconv.Itoa(m.MTU)
}

// InterfaceMTU is the interface (IP) MTU an interface needs to carry the
// largest frame of this mode: MTU minus the 14-byte Ethernet header. The
// original only warns when the interface MTU is below OMX_MTU itself
// (spec/wire.md §1.4, §10 item 7); this is the exact requirement.
func (m Mode) InterfaceMTU() int { return m.MTU - 14 }

// mediumOffset returns the message offset of fragment seq: seq×FragMax
// native, seq<<frag_pipeline mx-wire (the same value since FragMax is 4096).
func (m Mode) mediumOffset(seq uint8) int {
	if m.MXWire {
		return int(seq) << MXFragPipeline
	}
	return int(seq) * m.FragMax
}
