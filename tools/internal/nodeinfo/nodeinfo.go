// Package nodeinfo is the code shared by the inspection tools omx_info,
// omx_endpoint_info, omx_hostname and omx_init_peers (spec/tools.md §1-5):
// what the Open-MX kernel module told them through ioctls is read here from
// the node state directory (DESIGN.md §4) and from the host's interfaces.
//
// Data sources:
//
//	boards            compat.DiscoverBoards with the configuration of
//	                  compat.LoadConfig (OMX_IFNAMES, OMX_HOSTNAME, ...),
//	                  board host names overridden by <run dir>/hostname.<if>
//	                  (compat.ReadBoardHostname)
//	endpoints         the endpoint registry <run dir>/endpoints
//	peer table        local boards, then the static peers file, then the
//	                  table published in <run dir>/peers (the order in
//	                  which the library numbers peers)
//	peer-table state  <run dir>/peers.state (StateFile), written by
//	                  omx_init_peers -d and by the discovery daemon
//
// Privileged operations (spec/tools.md §0.3) are allowed to root and to the
// owner of the run directory (a per-user run directory is that user's own
// stack: the equivalent of the driver's userrights parameter); others get
// "Access denied".
package nodeinfo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine"
)

// Limits reported by the tools (spec/tools.md §0.3).
const (
	Version     = "1.5.4.90"
	BoardMax    = 32
	EndpointMax = 32
)

// Build is the build string of the version header of omx_info
// ("<user>@<host>:<source dir> <date>"). It can be set at link time with
// -ldflags "-X github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo.Build=...";
// when empty, BuildString derives one from the Go build information.
var Build string

// BuildString returns Build, or "unknown@unknown:<module path> <date>"
// where the date is the commit time recorded by the Go toolchain (or the
// modification time of the executable), in date(1) format.
func BuildString() string {
	if Build != "" {
		return Build
	}
	src := "github.com/open-mx-go/open-mx-go"
	var when time.Time
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			src = bi.Main.Path
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				when, _ = time.Parse(time.RFC3339, s.Value)
			}
		}
	}
	if when.IsZero() {
		if exe, err := os.Executable(); err == nil {
			if fi, err := os.Stat(exe); err == nil {
				when = fi.ModTime()
			}
		}
	}
	return fmt.Sprintf("unknown@unknown:%s %s", src, when.Local().Format("Mon Jan _2 15:04:05 MST 2006"))
}

// Node is what the tools know about this host.
type Node struct {
	Cfg    compat.Config
	Boards []compat.Board // attached boards, host names overridden
}

// Load reads the configuration from the environment (getenv, normally
// os.Getenv) and the config file, and lists the boards. An error means the
// boards cannot be listed at all, or the node state directory is not safe
// (node.ErrUnsafeDir: another user could have changed what it holds); the
// tools then say "Failed to initialize" with the error.
func Load(getenv func(string) string) (*Node, error) {
	cfg := compat.LoadConfig(getenv)
	if err := node.CheckRunDir(cfg.RunDir); errors.Is(err, node.ErrUnsafeDir) {
		return nil, fmt.Errorf("node state directory %w", err)
	}
	boards, err := compat.DiscoverBoards(cfg)
	if boards == nil && err != nil {
		return nil, err
	}
	for i := range boards {
		if name, err := compat.ReadBoardHostname(cfg.RunDir, boards[i].IfName); err == nil && name != "" {
			boards[i].Hostname = name
		}
	}
	return &Node{Cfg: cfg, Boards: boards}, nil
}

// Board returns board i.
func (n *Node) Board(i int) (compat.Board, bool) {
	for _, b := range n.Boards {
		if b.Index == i {
			return b, true
		}
	}
	return compat.Board{}, false
}

// BoardByNIC returns the local board of address nic.
func (n *Node) BoardByNIC(nic uint64) (compat.Board, bool) {
	for _, b := range n.Boards {
		if b.NICID == nic {
			return b, true
		}
	}
	return compat.Board{}, false
}

// BoardLine is "<hostname> (board #<i> name <iface> addr <mac>)".
func BoardLine(b compat.Board) string {
	return fmt.Sprintf("%s (board #%d name %s addr %s)", b.Hostname, b.Index, b.IfName, node.FormatMAC(b.NICID))
}

// BadMTU reports whether the board's MTU is too small for the wire mode
// of the configuration (what omx_info warns about), and the MTU.
func (n *Node) BadMTU(b compat.Board) bool {
	if b.Loopback {
		return false
	}
	mode, err := compat.ModeFor(n.Cfg, engine.Board{Index: b.Index, NICID: b.NICID, IfName: b.IfName, MTU: b.MTU})
	return err != nil || b.MTU < mode.MTU-14
}

// Local returns the local boards as peers, in board order.
func (n *Node) Local() []node.Peer {
	out := make([]node.Peer, len(n.Boards))
	for i, b := range n.Boards {
		out[i] = node.Peer{NICID: b.NICID, Hostname: b.Hostname}
	}
	return out
}

// PeerTable returns the host peer table as the library builds it: local
// boards first (always with their current names), then the peers of the
// static peers file, then those of the published table.
func (n *Node) PeerTable() *node.PeerTable {
	var others []node.Peer
	if ps, err := node.LoadPeersFile(n.Cfg.PeersFile); err == nil {
		others = append(others, ps...)
	}
	if ps, err := ReadPublished(n.Cfg.RunDir); err == nil {
		others = append(others, ps...)
	}
	t := node.NewPeerTable(n.Local(), others)
	for _, p := range n.Local() {
		t.Add(p)
	}
	return t
}

// StateDirs returns the directories whose endpoints and counters the
// tools show: the node state directory, then the one holding the
// endpoints of this user when that is another (a per-user directory, see
// compat.Config.StateDir) and exists.
func StateDirs(cfg compat.Config) []string {
	dirs := []string{cfg.RunDir}
	if sd := cfg.StateDir(); sd != cfg.RunDir {
		if _, err := os.Lstat(sd); err == nil {
			dirs = append(dirs, sd)
		}
	}
	return dirs
}

// ReadPublished returns the published peer table of runDir; a missing
// table is empty.
func ReadPublished(runDir string) ([]node.Peer, error) {
	ps, _, err := node.ReadPeerTable(runDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return ps, err
}

// ErrAccessDenied is returned for privileged operations by a user that is
// neither root nor the owner of the run directory.
var ErrAccessDenied = errors.New("Access denied")

// CheckPrivileged returns nil when this process may change the node state
// of runDir: root, or the owner of runDir (a missing runDir will be created
// by, hence owned by, the caller). Otherwise ErrAccessDenied.
func CheckPrivileged(runDir string) error {
	euid := os.Geteuid()
	if euid == 0 {
		return nil
	}
	fi, err := os.Stat(runDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == euid {
			return nil
		}
	}
	return ErrAccessDenied
}

// Code converts an error of this package or of the node state files into
// the Open-MX return code the original tools would have got.
func Code(err error) compat.Code {
	switch {
	case err == nil:
		return compat.Success
	case errors.Is(err, ErrAccessDenied), errors.Is(err, fs.ErrPermission), errors.Is(err, node.ErrUnsafeDir):
		return compat.AccessDenied
	case errors.Is(err, ErrTableFull):
		return compat.NoResources
	}
	return compat.NoSystemResources
}

// Strerror is the Open-MX text of the code of err ("Access denied", ...).
func Strerror(err error) string {
	s, _ := compat.Strerror(Code(err))
	return s
}

// ErrTableFull is returned when a peer cannot be added to a full table.
var ErrTableFull = fmt.Errorf("peer table full (%d peers)", node.PeerMax)

// StateFile is the file of the run directory holding the peer-table state.
const StateFile = "peers.state"

// TableState is the state of the peer table (spec/tools.md §0.3).
type TableState struct {
	Configured bool
	Full       bool // an add failed because the table was full
	Version    uint32
	Size       uint32
	MapperID   uint64 // 48-bit
}

// ReadState reads the peer-table state of runDir. A missing file is the
// zero state (not configured). Format: "key=value" lines configured=0|1,
// full=0|1, version=<n>, size=<n>, mapper_id=<mac>; unknown keys and bad
// values are ignored.
func ReadState(runDir string) (TableState, error) {
	var s TableState
	data, err := os.ReadFile(filepath.Join(runDir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		switch k {
		case "configured":
			s.Configured = v == "1"
		case "full":
			s.Full = v == "1"
		case "version":
			if n, err := strconv.ParseUint(v, 10, 32); err == nil {
				s.Version = uint32(n)
			}
		case "size":
			if n, err := strconv.ParseUint(v, 10, 32); err == nil {
				s.Size = uint32(n)
			}
		case "mapper_id":
			if n, err := node.ParseMAC(v); err == nil {
				s.MapperID = n
			}
		}
	}
	return s, nil
}

// WriteState replaces the peer-table state of runDir atomically.
func WriteState(runDir string, s TableState) error {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	data := fmt.Sprintf("configured=%d\nfull=%d\nversion=%d\nsize=%d\nmapper_id=%s\n",
		b(s.Configured), b(s.Full), s.Version, s.Size, node.FormatMAC(s.MapperID))
	return writeAtomic(runDir, StateFile, []byte(data))
}

// writeAtomic writes runDir/name through a temporary file renamed over it.
func writeAtomic(runDir, name string, data []byte) error {
	if err := node.MakeRunDir(runDir); err != nil {
		return err
	}
	f, err := os.CreateTemp(runDir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(runDir, name))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// Usage prints the usage text u to w, followed by the note on the
// user-space adaptation that every tool shares.
func Usage(w io.Writer, u string) {
	fmt.Fprint(w, u)
	fmt.Fprint(w, `Without a kernel module, the information comes from the node state directory
(OMX_RUNDIR, default /run/open-mx) and the interfaces chosen by OMX_IFNAMES;
privileged operations are allowed to root and to the owner of that directory.
`)
}
