package wire

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Test vector actors of spec/wire.md §9.
var (
	macA = [6]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}
	macB = [6]byte{0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}
)

const (
	sessA   = 0x01234567
	sessB   = 0x89abcdef
	match   = 0x1122334455667788
	appKey  = 0x12345678
	pullMag = 2 ^ PullMagic // endpoint 2 XOR PullMagic = 0x21071982
)

// Heads of the vectors: A→B frames carry A's index in B's table (3), B→A
// frames B's index in A's table (5).
var (
	headAB = Head{Dst: macB, Src: macA, PeerIndex: 3}
	headBA = Head{Dst: macA, Src: macB, PeerIndex: 5}
)

func mustMode(t testing.TB, mtu int) Mode {
	t.Helper()
	m, err := NativeMode(mtu)
	if err != nil {
		t.Fatalf("NativeMode(%d): %v", mtu, err)
	}
	return m
}

var (
	native9000 = func() Mode { m, _ := NativeMode(9000); return m }()
	native1500 = func() Mode { m, _ := NativeMode(1500); return m }()
	mxWire     = MXWireMode()
	allModes   = []Mode{native9000, native1500, mxWire}
)

// unhex parses whitespace-separated hex bytes as printed in the spec.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex vector: %v", err)
	}
	return b
}

// dump renders a frame as the spec prints it: 16 bytes per line, prefixed by
// the frame offset, so that cmp.Diff of two dumps points at the lines that
// differ.
func dump(b []byte) []string {
	var lines []string
	for off := 0; off < len(b); off += 16 {
		end := min(off+16, len(b))
		var sb strings.Builder
		fmt.Fprintf(&sb, "%04d:", off)
		for _, c := range b[off:end] {
			fmt.Fprintf(&sb, " %02x", c)
		}
		lines = append(lines, sb.String())
	}
	return lines
}

// checkBytes fails with a line diff of the hex dumps if got differs from want.
func checkBytes(t testing.TB, want, got []byte) {
	t.Helper()
	if diff := cmp.Diff(dump(want), dump(got)); diff != "" {
		t.Errorf("frame mismatch (-want +got):\n%s", diff)
	}
}

// pattern returns n bytes of a recognisable non-zero pattern.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7) + byte(i>>8)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// encoder is what every packet value implements.
type encoder interface {
	Encode(b []byte, h Head, m Mode) (int, error)
}

// decoder is a type-erased DecodeX returning a pointer to the decoded value.
type decoder struct {
	name   string
	decode func(frame []byte, m Mode) (Head, encoder, error)
}

func dec[T any, P interface {
	*T
	encoder
}](name string, f func([]byte, Mode) (Head, T, error)) decoder {
	return decoder{name, func(frame []byte, m Mode) (Head, encoder, error) {
		h, v, err := f(frame, m)
		if err != nil {
			return h, nil, err
		}
		return h, P(&v), nil
	}}
}

var (
	decMsg       = dec("msg", DecodeMsg)
	decMedium    = dec("medium", DecodeMedium)
	decRndv      = dec("rndv", DecodeRndv)
	decNotify    = dec("notify", DecodeNotify)
	decConnect   = dec("connect", DecodeConnect)
	decTruc      = dec("truc", DecodeTruc)
	decPull      = dec("pull", DecodePull)
	decPullReply = dec("pull reply", DecodePullReply)
	decNackLib   = dec("nack lib", DecodeNackLib)
	decNackMCP   = dec("nack mcp", DecodeNackMCP)
	decHostQuery = dec("host query", DecodeHostQuery)
	decHostReply = dec("host reply", DecodeHostReply)
	decRaw       = dec("raw", DecodeRaw)
	decDiscovery = dec("discovery", DecodeDiscovery)

	allDecoders = []decoder{decMsg, decMedium, decRndv, decNotify, decConnect, decTruc, decPull,
		decPullReply, decNackLib, decNackMCP, decHostQuery, decHostReply, decRaw, decDiscovery}
)

func isErr(err, target error) bool { return err != nil && errors.Is(err, target) }
