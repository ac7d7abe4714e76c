package compat

// The same-host path between processes: the wire protocol over shared
// memory (engine/link/shm), without any privilege.

import (
	"fmt"
	"hash/fnv"
	"path/filepath"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine"
	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/shm"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// shmNamespace names the shared-memory files of a node state directory, so
// that separate run directories (separate "hosts") never meet.
func shmNamespace(runDir string) string {
	h := fnv.New32a()
	h.Write([]byte(runDir))
	return fmt.Sprintf("%08x", h.Sum32())
}

// openLocalLink opens an endpoint's shared-memory inbox. Failing to do so
// only loses the same-host path (said in verbose mode).
func (l *Library) openLocalLink(cfg Config, b engine.Board, ep uint32) (link.Link, wire.Mode, error) {
	mode, err := ModeFor(cfg, b)
	if err != nil {
		mode, _ = wire.NativeMode(9000)
	}
	// The inboxes live in the state directory of this process's endpoints
	// (a tmpfs under /run in production), so that a test's or a user's
	// private directory takes them away with it. The directory is 0700:
	// only processes of the same user (or root's, in root's) meet there.
	dir, err := node.MakeSubdir(cfg.StateDir(), node.ShmDir)
	if err == nil {
		var lk link.Link
		lk, err = shm.Open(shm.Config{Dir: dir, Namespace: shmNamespace(cfg.RunDir), Board: b.IfName,
			MAC: wire.MACFromNICID(b.NICID), Endpoint: uint8(ep), MTU: mode.MTU})
		if err == nil {
			return lk, mode, nil
		}
	}
	if cfg.Verbose {
		Stderr(fmt.Sprintf("%sno same-host path for endpoint %d: %v\n", expandPrefix(cfg.VerbosePrefix), ep, err))
	}
	return nil, mode, nil
}

// localEndpointOpen tells whether a process of this host holds endpoint
// index of board b: its inbox exists and its owner is alive. The check is
// read-only (no lock is taken), so it cannot disturb an endpoint being
// opened at the same moment.
func (l *Library) localEndpointOpen(cfg Config, b engine.Board, index uint32) bool {
	if index > 255 {
		return false
	}
	return shm.Alive(shm.Config{Dir: filepath.Join(cfg.StateDir(), node.ShmDir), Namespace: shmNamespace(cfg.RunDir), Board: b.IfName}, uint8(index))
}
