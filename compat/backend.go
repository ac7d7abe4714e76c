package compat

// The path to the network of an application without raw-socket rights:
// endpoints served by the node service (engine/link/backend). Which path a
// process takes is decided once, at its first endpoint of a network board:
// OMX_BACKEND=1 the service, OMX_BACKEND=0 the direct AF_PACKET link,
// otherwise direct when the process may open raw sockets, else the
// service when its socket exists, else no network path.
//
// With the service, the endpoint index is claimed by the service (in the
// application's name): AcquireSlot asks the service for the endpoint, so
// that an index held elsewhere makes the engine try the next one, and
// OpenLink takes the link that came with it.

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/open-mx-go/open-mx-go/engine"
	"github.com/open-mx-go/open-mx-go/engine/link"
	"github.com/open-mx-go/open-mx-go/engine/link/backend"
	"github.com/open-mx-go/open-mx-go/engine/wire"
)

// Network paths, as NetworkPath reports them.
const (
	PathDirect  = "direct"  // this process's own AF_PACKET sockets
	PathBackend = "backend" // through the node service
	PathNone    = "none"    // no network path (no raw-socket rights, no service)
)

// backendState is the library's use of the service.
type backendState struct {
	once    sync.Once
	path    string // PathDirect, PathBackend or PathNone
	why     string // why that path
	socket  string
	mu      sync.Mutex
	pending map[[2]uint32]*backend.Link // claimed endpoints, until OpenLink takes them
}

// BackendSocket returns where the node service listens: in the host's
// node state directory.
func BackendSocket(cfg Config) string { return filepath.Join(cfg.RunDir, backend.SocketName) }

// ChooseNetworkPath says how a process with configuration cfg reaches
// other hosts: PathDirect, PathBackend (through the service at socket) or
// PathNone, and why.
func ChooseNetworkPath(cfg Config) (path, why, socket string) {
	socket = BackendSocket(cfg)
	switch {
	case cfg.Backend == BackendOn:
		return PathBackend, "OMX_BACKEND=1", socket
	case cfg.Backend == BackendOff:
		return PathDirect, "OMX_BACKEND=0", socket
	case canRaw():
		return PathDirect, "this process may open raw sockets", socket
	case backend.Available(socket):
		return PathBackend, "this process may not open raw sockets (CAP_NET_RAW)", socket
	}
	return PathNone, fmt.Sprintf("this process may not open raw sockets (CAP_NET_RAW) and no node service (omxoed) listens at %s", socket), socket
}

// noNetworkReason says why this process has no network path ("" when it
// has one).
func noNetworkReason(cfg Config) string {
	if path, why, _ := ChooseNetworkPath(cfg); path == PathNone {
		return why + " (start it with omx_init start, or run with CAP_NET_RAW)"
	}
	return ""
}

// decide picks the network path of the process, once.
func (s *backendState) decide(cfg Config) {
	s.once.Do(func() {
		s.path, s.why, s.socket = ChooseNetworkPath(cfg)
		s.pending = map[[2]uint32]*backend.Link{}
	})
}

// NetworkPath says how this process reaches other hosts (and why not).
func (l *Library) NetworkPath(cfg Config) (path, why string) {
	l.backend.decide(cfg)
	return l.backend.path, l.backend.why
}

// viaBackend reports whether board b is reached through the service.
func (l *Library) viaBackend(cfg Config, b engine.Board) bool {
	if b.Loopback {
		return false
	}
	l.backend.decide(cfg)
	return l.backend.path == PathBackend
}

// backendAcquire asks the service for endpoint index of board b.
func (l *Library) backendAcquire(cfg Config, b engine.Board, index, session uint32) (func(), error) {
	s := &l.backend
	lk, err := backend.Open(backend.Config{Socket: s.socket, Board: uint32(b.Index), IfName: b.IfName,
		Endpoint: uint8(index), Session: session, Command: backend.Command()})
	switch {
	case errors.Is(err, backend.ErrBusy):
		return nil, fmt.Errorf("%v: %w", err, engine.ErrBusy)
	case err != nil:
		return nil, err
	}
	k := [2]uint32{uint32(b.Index), index}
	s.mu.Lock()
	s.pending[k] = lk
	s.mu.Unlock()
	return func() {
		// Released before OpenLink took it (the open failed later);
		// once taken, closing the link releases the endpoint.
		s.mu.Lock()
		if s.pending[k] == lk {
			delete(s.pending, k)
			lk.Close()
		}
		s.mu.Unlock()
	}, nil
}

// backendLink returns the link claimed for (b, ep) by backendAcquire.
func (l *Library) backendLink(cfg Config, b engine.Board, ep uint32) (link.Link, wire.Mode, error) {
	mode, err := ModeFor(cfg, b)
	if err != nil {
		return nil, mode, Errorf(BoardNotFound, "Opening board %d (%s): %v", b.Index, b.IfName, err)
	}
	s := &l.backend
	k := [2]uint32{uint32(b.Index), ep}
	s.mu.Lock()
	lk := s.pending[k]
	delete(s.pending, k)
	s.mu.Unlock()
	if lk == nil {
		return nil, mode, Errorf(NoSystemResources, "Opening board %d: no endpoint %d from the node service", b.Index, ep)
	}
	if lk.MTU() < mode.MTU {
		lk.Close()
		return nil, mode, Errorf(BoardNotFound, "Opening board %d: the node service's frames (%d bytes) are smaller than the wire mode needs (%d)", b.Index, lk.MTU(), mode.MTU)
	}
	return lk, mode, nil
}

// serviceInterfaces returns the boards the node service serves that this
// process does not see itself, as interfaces, when it reaches the network
// through the service: a process in a container with a network namespace
// of its own (and the host's node state directory bind-mounted) gets the
// host's boards. They come after the process's own interfaces.
func serviceInterfaces(cfg Config, local []netInterface) []netInterface {
	if path, _, sock := ChooseNetworkPath(cfg); path != PathBackend || !backend.Available(sock) {
		return nil
	} else if bs, err := backend.Boards(sock); err == nil {
		next := 0
		for _, ni := range local {
			next = max(next, ni.Index+1)
		}
		var out []netInterface
		for _, b := range bs {
			if _, ok := findInterface(local, b.IfName); ok {
				continue
			}
			out = append(out, netInterface{Index: next, Name: b.IfName, MAC: append([]byte(nil), b.MAC[:]...), MTU: int(b.MTU),
				Up: true, Type: arphrdEther, NUMANode: -1, Driver: "omxoed"})
			next++
		}
		return out
	}
	return nil
}
