package link

import "testing"

func TestFilterAccept(t *testing.T) {
	mac := [6]byte{0, 0x11, 0x22, 0x33, 0x44, 0x55}
	f := Filter{MAC: mac, Endpoint: 2}
	frame := func(pt byte, set func(b []byte)) []byte {
		b := make([]byte, 60)
		copy(b, mac[:])
		b[12], b[13], b[16] = 0x86, 0xdf, pt
		if set != nil {
			set(b)
		}
		return b
	}
	magic := uint32(2) ^ PullMagic
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"tiny for ep2", frame(37, func(b []byte) { b[17] = 2 }), true},
		{"tiny for ep3", frame(37, func(b []byte) { b[17] = 3 }), false},
		{"truc", frame(35, func(b []byte) { b[17] = 2 }), true},
		{"notify", frame(43, func(b []byte) { b[17] = 2 }), true},
		{"nack_mcp", frame(45, func(b []byte) { b[17] = 2 }), true},
		{"nack_lib at 25", frame(44, func(b []byte) { b[25] = 2 }), true},
		{"nack_lib byte 17 ignored", frame(44, func(b []byte) { b[17] = 2; b[25] = 1 }), false},
		{"pull reply magic", frame(42, func(b []byte) {
			b[28], b[29], b[30], b[31] = byte(magic>>24), byte(magic>>16), byte(magic>>8), byte(magic)
		}), true},
		{"pull reply other magic", frame(42, func(b []byte) { b[31] = 1 }), false},
		{"raw", frame(1, nil), false},
		{"host query", frame(3, nil), true},
		{"host reply", frame(4, nil), true},
		{"other mac", frame(37, func(b []byte) { b[17] = 2; b[0] = 9 }), false},
		{"other ethertype", frame(37, func(b []byte) { b[17] = 2; b[13] = 0 }), false},
		{"short", []byte{1, 2, 3}, false},
	} {
		if got := f.Accept(tc.b); got != tc.want {
			t.Errorf("%s: Accept = %v, want %v", tc.name, got, tc.want)
		}
	}
}
