package wire

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestModeConstants checks the table of spec/wire.md §2.2.
func TestModeConstants(t *testing.T) {
	tests := []struct {
		name      string
		mode      Mode
		want      Mode
		inFlight  int // bytes in flight per pull: 4 outstanding blocks
		ifaceMTU  int
		modeLabel string
	}{
		{
			name: "native-9000", mode: mustMode(t, 9000),
			want: Mode{MTU: 9000, FragMax: 8192, RingEntry: 8192, FragsMax: 32, MediumMax: 262144,
				ReplyMax: 8968, PerBlock: 32, BlockMax: 286976},
			inFlight: 1147904, ifaceMTU: 8986, modeLabel: "native-9000",
		},
		{
			name: "native-1500", mode: mustMode(t, 1500),
			want: Mode{MTU: 1500, FragMax: 1452, RingEntry: 2048, FragsMax: 32, MediumMax: 46464,
				ReplyMax: 1468, PerBlock: 32, BlockMax: 46976},
			inFlight: 187904, ifaceMTU: 1486, modeLabel: "native-1500",
		},
		{
			name: "mx-wire", mode: MXWireMode(),
			want: Mode{MXWire: true, MTU: 4144, FragMax: 4096, RingEntry: 4096, FragsMax: 8, MediumMax: 32768,
				ReplyMax: 4096, PerBlock: 8, BlockMax: 32768},
			inFlight: 131072, ifaceMTU: 4130, modeLabel: "mx-wire",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.mode); diff != "" {
				t.Errorf("mode mismatch (-want +got):\n%s", diff)
			}
			if got := 4 * tc.mode.BlockMax; got != tc.inFlight {
				t.Errorf("bytes in flight = %d, want %d", got, tc.inFlight)
			}
			if got := tc.mode.InterfaceMTU(); got != tc.ifaceMTU {
				t.Errorf("InterfaceMTU = %d, want %d", got, tc.ifaceMTU)
			}
			if got := tc.mode.String(); got != tc.modeLabel {
				t.Errorf("String = %q, want %q", got, tc.modeLabel)
			}
			parsed, err := ParseMode(tc.modeLabel)
			if err != nil {
				t.Fatalf("ParseMode(%q): %v", tc.modeLabel, err)
			}
			if parsed != tc.mode {
				t.Errorf("ParseMode(%q) = %+v, want %+v", tc.modeLabel, parsed, tc.mode)
			}
			// The largest medium fragment and pull reply fill a frame of
			// exactly MTU bytes (§1.4: frames never exceed OMX_MTU).
			if got := mediumHdr + tc.mode.FragMax; got > tc.mode.MTU {
				t.Errorf("largest medium frame %d > MTU", got)
			}
			if got := pullReplyHdr + tc.mode.ReplyMax; got > tc.mode.MTU || (!tc.mode.MXWire && got != tc.mode.MTU) {
				t.Errorf("largest pull reply frame %d, MTU %d", got, tc.mode.MTU)
			}
		})
	}
	if DefaultMode() != mustMode(t, 9000) {
		t.Errorf("DefaultMode = %v, want native-9000", DefaultMode())
	}
}

// TestNativeModeFormula checks the §2.2 FRAG_MAX rule around its edges and
// the accepted MTU range.
func TestNativeModeFormula(t *testing.T) {
	tests := []struct {
		mtu        int
		frag, ring int
	}{
		{MinNativeMTU, 1232, 2048},
		{2096, 2048, 2048}, // MTU-48 exactly a power of two
		{2097, 2049, 4096},
		{4144, 4096, 4096}, // largest MTU with FRAG_MAX = MTU-48
		{4145, 4096, 4096}, // then 4096 until 8192 fits
		{8239, 4096, 4096},
		{8240, 8192, 8192}, // 8192+48 ≤ MTU
		{65535, 8192, 8192},
		{MaxNativeMTU, 8192, 8192},
	}
	for _, tc := range tests {
		m, err := NativeMode(tc.mtu)
		if err != nil {
			t.Errorf("NativeMode(%d): %v", tc.mtu, err)
			continue
		}
		if m.FragMax != tc.frag || m.RingEntry != tc.ring {
			t.Errorf("NativeMode(%d): FragMax %d RingEntry %d, want %d %d", tc.mtu, m.FragMax, m.RingEntry, tc.frag, tc.ring)
		}
		if m.MXWire || m.FragsMax != 32 || m.PerBlock != 32 || m.MediumMax != 32*tc.frag ||
			m.ReplyMax != tc.mtu-32 || m.BlockMax != 32*(tc.mtu-32) {
			t.Errorf("NativeMode(%d) = %+v: derived constants wrong", tc.mtu, m)
		}
	}
	// The pull reply payload of the largest mode still fits the BE16 frame_length.
	if m := mustMode(t, MaxNativeMTU); m.ReplyMax != 0xFFFF {
		t.Errorf("ReplyMax at MaxNativeMTU = %d, want 65535", m.ReplyMax)
	}
	for _, mtu := range []int{-1, 0, 60, MinNativeMTU - 1, MaxNativeMTU + 1} {
		if m, err := NativeMode(mtu); err == nil {
			t.Errorf("NativeMode(%d) = %v, want an error", mtu, m)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"", "mx", "native-", "native-abc", "native-100", "Native-9000", "mx-wire-4144", "native-70000"} {
		if m, err := ParseMode(s); err == nil {
			t.Errorf("ParseMode(%q) = %v, want an error", s, m)
		}
	}
	m, err := ParseMode("native")
	if err != nil || m != DefaultMode() {
		t.Errorf("ParseMode(native) = %v, %v; want native-9000", m, err)
	}
	m, err = ParseMode("native-4000")
	if err != nil || m.MTU != 4000 || m.FragMax != 3952 {
		t.Errorf("ParseMode(native-4000) = %+v, %v", m, err)
	}
}
