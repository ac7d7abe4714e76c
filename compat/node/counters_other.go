//go:build !linux

package node

import (
	"fmt"
	"sync/atomic"
)

// CounterFile is the counter file of one endpoint; only Linux has them
// (see counters_linux.go).
type CounterFile struct{}

// CreateCounters fails with ErrNotSupported outside Linux.
func CreateCounters(runDir string) (*CounterFile, error) {
	return nil, fmt.Errorf("create counters in %s: %w", runDir, ErrNotSupported)
}

// Store returns nil outside Linux.
func (f *CounterFile) Store() *[NumCounters]atomic.Uint64 { return nil }

// Path returns "" outside Linux.
func (f *CounterFile) Path() string { return "" }

// Publish fails with ErrNotSupported outside Linux.
func (f *CounterFile) Publish(board string, index uint32) error {
	return fmt.Errorf("publish counters: %w", ErrNotSupported)
}

// Close does nothing outside Linux.
func (f *CounterFile) Close() error { return nil }

// Unmap does nothing outside Linux.
func (f *CounterFile) Unmap() {}

// CloseCountersWith does nothing outside Linux.
func CloseCountersWith[T any](f *CounterFile, owner *T) error { return nil }

// ReadCounters fails with ErrNotSupported outside Linux.
func ReadCounters(runDir, board string, reset func(i int) bool) (CounterValues, error) {
	return CounterValues{}, fmt.Errorf("read counters: %w", ErrNotSupported)
}
