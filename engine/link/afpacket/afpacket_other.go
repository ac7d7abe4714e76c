//go:build !linux

package afpacket

import (
	"fmt"
	"runtime"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// Open always fails outside Linux, with an error wrapping ErrNotSupported.
func Open(cfg Config) (link.Link, error) {
	return nil, fmt.Errorf("afpacket: open %s: %w (GOOS %s; AF_PACKET needs linux)", cfg.Interface, ErrNotSupported, runtime.GOOS)
}
