//go:build linux

package compat

import "golang.org/x/sys/unix"

// canRaw reports whether this process may open AF_PACKET sockets.
func canRaw() bool {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}
