package compat

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBindingCPUs(t *testing.T) {
	file := []byte("board 02:fc:00:00:00:01 ep 0 irq 33 mask 0x4\nboard 02:fc:00:00:00:01 ep 3 irq 34 mask 0x3\ngarbage\n")
	read := func(p string) ([]byte, error) {
		if p == DefaultBindingFile || p == "/x" {
			return file, nil
		}
		return nil, errors.New("missing")
	}
	for _, tc := range []struct {
		value string
		ep    uint32
		want  []int
		err   bool
	}{
		{"", 0, nil, false},
		{"0,,,1", 0, []int{0}, false},
		{"0,,,1", 1, []int{0}, false},
		{"0,,,1", 3, []int{1}, false},
		{"0,,,1", 4, nil, false},
		{"all:1", 7, []int{1}, false},
		{"file", 0, []int{2}, false},
		{"file:/x", 3, []int{0, 1}, false},
		{"file:/x", 5, nil, false},
		{"file:/nope", 0, nil, true},
	} {
		got, err := BindingCPUs(tc.value, 0x02fc00000001, tc.ep, read)
		if (err != nil) != tc.err {
			t.Errorf("BindingCPUs(%q, ep %d) error %v", tc.value, tc.ep, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("BindingCPUs(%q, ep %d) (-want +got):\n%s", tc.value, tc.ep, diff)
		}
	}
}
