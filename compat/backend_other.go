//go:build !linux

package compat

// canRaw reports whether this process may open AF_PACKET sockets.
func canRaw() bool { return false }
