//go:build !linux

package node

import "fmt"

// Registry is the endpoint registry of one run directory; only Linux has
// one (see registry_linux.go).
type Registry struct{}

// Claim is a slot held by this process.
type Claim struct{}

// OpenRegistry fails with ErrNotSupported outside Linux.
func OpenRegistry(runDir string) (*Registry, error) {
	return nil, fmt.Errorf("open endpoint registry %s: %w", runDir, ErrNotSupported)
}

// Dir returns the directory holding the slot files.
func (r *Registry) Dir() string { return "" }

// Acquire fails with ErrNotSupported outside Linux.
func (r *Registry) Acquire(s Slot, session uint32) (*Claim, error) {
	return nil, fmt.Errorf("acquire endpoint: %w", ErrNotSupported)
}

// List fails with ErrNotSupported outside Linux.
func (r *Registry) List() ([]Info, error) {
	return nil, fmt.Errorf("list endpoints: %w", ErrNotSupported)
}

// Info returns what Acquire recorded for the claim.
func (c *Claim) Info() Info { return Info{} }

// Release does nothing outside Linux.
func (c *Claim) Release() error { return nil }
