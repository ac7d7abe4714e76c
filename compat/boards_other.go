//go:build !linux

package compat

// osInterfaces reports no interface outside Linux: AF_PACKET, and so every
// Ethernet board, is Linux-only, and DiscoverBoards falls back to the
// loopback board.
func osInterfaces() ([]netInterface, error) {
	return nil, nil
}
