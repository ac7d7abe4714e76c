package wire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecode feeds arbitrary frames to every decoder in every tested mode.
// Decoders must not panic and must fail with one of the package errors; a
// frame they accept must re-encode (within the mode's limits) to a frame
// that decodes to the same head and value, and re-encoding that value must
// reproduce the same bytes.
//
// Seeds: testdata/fuzz/FuzzDecode (the golden frames of spec/wire.md §9 and
// frames of every type in native-1500 and mx-wire), plus the golden cases.
func FuzzDecode(f *testing.F) {
	for _, tc := range goldenCases(f) {
		f.Add(tc.frame)
	}
	buf := make([]byte, 70000)
	buf2 := make([]byte, 70000)
	f.Fuzz(func(t *testing.T, frame []byte) {
		for _, m := range allModes {
			for _, d := range allDecoders {
				h, v, err := d.decode(frame, m)
				if err != nil {
					if v != nil {
						t.Fatalf("%s (%v): value with error %v", d.name, m, err)
					}
					if !errors.Is(err, ErrShort) && !errors.Is(err, ErrType) &&
						!errors.Is(err, ErrLength) && !errors.Is(err, ErrField) {
						t.Fatalf("%s (%v): error %v is not one of the package errors", d.name, m, err)
					}
					continue
				}
				n, err := v.Encode(buf, h, m)
				if err != nil {
					t.Fatalf("%s (%v): decoded %+v does not encode: %v", d.name, m, v, err)
				}
				if n < MinFrame || (n > m.MTU && d.name != "raw") {
					t.Fatalf("%s (%v): encoded frame of %d bytes", d.name, m, n)
				}
				if typ, _ := PeekType(buf[:n]); typ != Type(frame[offType]) {
					t.Fatalf("%s (%v): re-encoded type %v, decoded %v", d.name, m, typ, Type(frame[offType]))
				}
				h2, v2, err := d.decode(buf[:n], m)
				if err != nil {
					t.Fatalf("%s (%v): re-encoded frame does not decode: %v", d.name, m, err)
				}
				if h2 != h {
					t.Fatalf("%s (%v): head %+v became %+v", d.name, m, h, h2)
				}
				if diff := cmp.Diff(v, v2); diff != "" {
					t.Fatalf("%s (%v): round trip mismatch (-first +second):\n%s", d.name, m, diff)
				}
				n2, err := v2.Encode(buf2, h2, m)
				if err != nil || !bytes.Equal(buf[:n], buf2[:n2]) {
					t.Fatalf("%s (%v): second encode differs (err %v)", d.name, m, err)
				}
			}
		}
	})
}
