package wire

import "testing"

func TestSeqParts(t *testing.T) {
	tests := []struct {
		s            Seq
		num, session uint16
	}{
		{0x0000, 0x0000, 0x0000},
		{0x0001, 0x0001, 0x0000},
		{0x3FFF, 0x3FFF, 0x0000},
		{0x4000, 0x0000, 0x4000},
		{0x8005, 0x0005, 0x8000},
		{0xFFFF, 0x3FFF, 0xC000},
	}
	for _, tc := range tests {
		if got := tc.s.Num(); got != tc.num {
			t.Errorf("Seq(%#04x).Num() = %#04x, want %#04x", uint16(tc.s), got, tc.num)
		}
		if got := tc.s.Session(); got != tc.session {
			t.Errorf("Seq(%#04x).Session() = %#04x, want %#04x", uint16(tc.s), got, tc.session)
		}
	}
}

func TestSeqNextAdd(t *testing.T) {
	tests := []struct {
		name string
		s    Seq
		n    uint16
		want Seq
	}{
		{"first", 0x0001, 1, 0x0002},
		{"wrap to zero keeps session 0", 0x3FFF, 1, 0x0000},
		{"wrap keeps session 1", 0x7FFF, 1, 0x4000},
		{"wrap keeps session 3", 0xFFFF, 1, 0xC000},
		{"zero is legal after a wrap", 0xC000, 1, 0xC001},
		{"add across the wrap", 0x8000 | 0x3FF0, 0x20, 0x8010},
		{"add zero", 0x4123, 0, 0x4123},
		{"add a full cycle", 0x4123, 0x4000, 0x4123},
		{"add more than 14 bits", 0x4001, 0xFFFF, 0x4000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Add(tc.n); got != tc.want {
				t.Errorf("Seq(%#04x).Add(%#x) = %#04x, want %#04x", uint16(tc.s), tc.n, uint16(got), uint16(tc.want))
			}
			if tc.n == 1 {
				if got := tc.s.Next(); got != tc.want {
					t.Errorf("Seq(%#04x).Next() = %#04x, want %#04x", uint16(tc.s), uint16(got), uint16(tc.want))
				}
			}
		})
	}
}

func TestSeqSub(t *testing.T) {
	tests := []struct {
		s, t Seq
		want uint16
	}{
		{0x0005, 0x0001, 4},
		{0x0001, 0x0005, 0x3FFC}, // behind: large distance, never negative
		{0x0002, 0x3FFE, 4},      // across the wrap
		{0x4002, 0x7FFE, 4},      // across the wrap in session 1
		{0xC000, 0xFFFF, 1},
		{0x1234, 0x1234, 0},
		{0x4005, 0x0001, 4}, // session bits ignored
	}
	for _, tc := range tests {
		if got := tc.s.Sub(tc.t); got != tc.want {
			t.Errorf("Seq(%#04x).Sub(%#04x) = %#x, want %#x", uint16(tc.s), uint16(tc.t), got, tc.want)
		}
	}
	// Sub inverts Add for every distance below 2^14.
	for _, d := range []uint16{0, 1, 255, 8191, 0x3FFF} {
		base := Seq(0x8000 | 0x3F00)
		if got := base.Add(d).Sub(base); got != d {
			t.Errorf("Add(%#x).Sub = %#x", d, got)
		}
	}
}

func TestSeqSessions(t *testing.T) {
	tests := []struct {
		session uint16
		first   Seq
	}{
		{0x0000, 0x0001},
		{0x4000, 0x4001},
		{0x8000, 0x8001},
		{0xC000, 0xC001},
		{0x4123, 0x4001}, // low bits of the argument ignored
	}
	for _, tc := range tests {
		if got := FirstSeq(tc.session); got != tc.first {
			t.Errorf("FirstSeq(%#04x) = %#04x, want %#04x", tc.session, uint16(got), uint16(tc.first))
		}
	}
	next := []struct{ s, want Seq }{
		{0x0001, 0x4001},
		{0x1234, 0x4001},
		{0x7FFF, 0x8001},
		{0x8000, 0xC001},
		{0xC123, 0x0001}, // sesnum wraps mod 4
	}
	for _, tc := range next {
		if got := tc.s.NextSession(); got != tc.want {
			t.Errorf("Seq(%#04x).NextSession() = %#04x, want %#04x", uint16(tc.s), uint16(got), uint16(tc.want))
		}
	}
	if !Seq(0x4001).SameSession(0x7FFF) || Seq(0x4001).SameSession(0x8001) {
		t.Error("SameSession compares the wrong bits")
	}
}
