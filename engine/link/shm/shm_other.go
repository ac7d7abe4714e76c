//go:build !linux

package shm

import "github.com/open-mx-go/open-mx-go/engine/link"

// Open is not supported outside Linux.
func Open(cfg Config) (link.Link, error) { return nil, ErrUnsupported }

// pidAlive cannot tell without Linux: every holder counts as alive.
func pidAlive(v uint64) bool { return v != 0 }

// Sweep does nothing outside Linux.
func Sweep(dir string) int { return 0 }

// Alive cannot tell without Linux.
func Alive(cfg Config, index uint8) bool { return false }
