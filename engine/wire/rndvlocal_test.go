package wire

import "testing"

func TestRndvLocal(t *testing.T) {
	m, _ := NativeMode(9000)
	b := make([]byte, 64)
	r := Rndv{DstEP: 1, SrcEP: 2, MsgLength: 1 << 20, RDMAID: 3}
	n, err := r.Encode(b, Head{}, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := RndvLocal(b[:n]); ok {
		t.Fatal("a plain RNDV has the extension")
	}
	PutRndvLocal(b[:n], 1234, 0x7fff12345678)
	pid, addr, ok := RndvLocal(b[:n])
	if !ok || pid != 1234 || addr != 0x7fff12345678 {
		t.Fatalf("got %d %#x %v", pid, addr, ok)
	}
	if _, got, err := DecodeRndv(b[:n], m); err != nil || got.MsgLength != 1<<20 {
		t.Fatalf("the extension broke the RNDV: %v %+v", err, got)
	}
}
