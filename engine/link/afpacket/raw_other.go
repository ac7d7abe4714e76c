//go:build !linux

package afpacket

import (
	"fmt"
	"runtime"

	"github.com/open-mx-go/open-mx-go/engine/link"
)

// OpenRaw always fails outside Linux, with an error wrapping
// ErrNotSupported.
func OpenRaw(ifname string) (link.Link, error) {
	return nil, fmt.Errorf("afpacket: open raw %s: %w (GOOS %s; AF_PACKET needs linux)", ifname, ErrNotSupported, runtime.GOOS)
}
