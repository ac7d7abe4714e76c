package compat

// Wiring of the host: the raw Ethernet links of the boards, the peer table
// and the endpoint registry of the node state directory.

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine"
	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/afpacket"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// ModeFor returns the wire mode of a board: mx-wire when configured, else
// native with frames as large as the interface MTU allows, at most 9000
// (native-9000 on jumbo-frame links, native-1500 on standard ones).
func ModeFor(cfg Config, b engine.Board) (wire.Mode, error) {
	if cfg.WireCompat {
		return wire.MXWireMode(), nil
	}
	return wire.NativeMode(min(b.MTU, 9000))
}

// openLink opens the AF_PACKET link of an endpoint. Without raw socket
// access the endpoint works without the network path (self and same-host
// traffic only), which is said in verbose mode; an interface whose MTU is
// too small for the wire mode is refused.
func (l *Library) openLink(cfg Config, b engine.Board, ep uint32) (link.Link, wire.Mode, error) {
	if l.viaBackend(cfg, b) {
		return l.backendLink(cfg, b, ep)
	}
	mode, err := ModeFor(cfg, b)
	if err != nil {
		return nil, mode, Errorf(BoardNotFound, "Opening board %d (%s): %v", b.Index, b.IfName, err)
	}
	// OMX_DISABLE_SHARED: this host's endpoints are reached through the
	// interface too, so the link takes the host's frames to itself.
	lk, err := afpacket.Open(afpacket.Config{Interface: b.IfName, Endpoint: uint8(ep), MinMTU: mode.MTU, Mode: mode.String(), Self: cfg.DisableShared})
	switch {
	case err == nil:
		return lk, mode, nil
	case errors.Is(err, link.ErrMTU):
		return nil, mode, Errorf(BoardNotFound, "Opening board %d: %v", b.Index, err)
	case errors.Is(err, link.ErrPermission):
		if cfg.Verbose {
			also := ""
			if cfg.DisableShared {
				also = " (OMX_DISABLE_SHARED: this host's endpoints are reached through shared memory with the remote thresholds)"
			}
			Stderr(fmt.Sprintf("%sboard %d (%s): %v; no network path for endpoint %d%s\n", expandPrefix(cfg.VerbosePrefix), b.Index, b.IfName, err, ep, also))
		}
		return nil, mode, nil
	default:
		return nil, mode, Errorf(NoSystemResources, "Opening board %d: %v", b.Index, err)
	}
}

// loadPeers reads the peer table: the static peers file, then the table
// published in the node state directory (by omxoed or omx_init_peers).
func loadPeers(cfg Config) []engine.Peer {
	var peers []engine.Peer
	seen := map[uint64]int{}
	add := func(ps []node.Peer) {
		for _, p := range ps {
			if i, ok := seen[p.NICID]; ok {
				if p.Hostname != "" {
					peers[i].Hostname = p.Hostname
				}
				continue
			}
			seen[p.NICID] = len(peers)
			peers = append(peers, engine.Peer{NICID: p.NICID, Hostname: p.Hostname})
		}
	}
	if ps, err := node.LoadPeersFile(cfg.PeersFile); err == nil {
		add(ps)
	} else if cfg.Verbose && !errors.Is(err, fs.ErrNotExist) {
		Stderr(fmt.Sprintf("%s%v\n", expandPrefix(cfg.VerbosePrefix), err))
	}
	if ps, _, err := node.ReadPeerTable(cfg.RunDir); err == nil {
		add(ps)
	}
	return peers
}

// peerSource reloads the peer table when the published one changes.
type peerSource struct {
	cfg Config
	w   *node.Watcher
}

func newPeerSource(cfg Config) *peerSource {
	s := &peerSource{cfg: cfg, w: node.NewWatcher(cfg.RunDir)}
	s.w.Poll() // the table as loaded at init is the reference
	return s
}

func (s *peerSource) refresh() ([]engine.Peer, bool) {
	_, changed, err := s.w.Poll()
	if !changed || err != nil {
		return nil, false
	}
	return loadPeers(s.cfg), true
}

// registry is the endpoint registry of the state directory of this
// process's endpoints (Config.StateDir), opened on first use; nil when the
// directory cannot be used (then only this process's endpoints are known).
type registry struct {
	once sync.Once
	reg  *node.Registry
}

func (r *registry) acquire(cfg Config, b engine.Board, index, session uint32) (func(), error) {
	r.once.Do(func() {
		dir := cfg.StateDir()
		reg, err := node.OpenRegistry(dir)
		if err != nil {
			if cfg.Verbose {
				Stderr(fmt.Sprintf("%sendpoint registry in %s: %v\n", expandPrefix(cfg.VerbosePrefix), dir, err))
			}
			return
		}
		r.reg = reg
	})
	if r.reg == nil {
		return func() {}, nil
	}
	c, err := r.reg.Acquire(node.Slot{Board: b.IfName, NICID: b.NICID, Index: index}, session)
	if errors.Is(err, node.ErrBusy) {
		return nil, fmt.Errorf("%v: %w", err, engine.ErrBusy)
	}
	if err != nil {
		return nil, err
	}
	return func() { c.Release() }, nil
}
