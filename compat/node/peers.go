package node

// Static peers file (spec/tools.md §5.1, spec/wire.md §6.7) and the host
// peer table (spec/wire.md §6.3). Mirrors the parsing loop of
// tools/omx_init_peers.c and the index assignment of the driver's peer
// table (driver/linux/omx_peer.c).

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Limits of the peer table.
const (
	// HostnameMax is the longest host name, in bytes
	// (OMX_HOSTNAMELEN_MAX - 1: 79 characters plus the NUL in C).
	HostnameMax = 79
	// PeerMax is the capacity of a PeerTable (the peer_max default of the
	// original driver).
	PeerMax = 1024
	// NoIndex is the peer index meaning "none": what Add returns when the
	// table is full, and the "unknown" reverse index of the wire protocol.
	NoIndex uint16 = 0xFFFF
)

// Peer is one entry of a peer table: a board address and its host name.
type Peer struct {
	NICID    uint64 // board MAC as a 48-bit integer, first byte most significant
	Hostname string // board host name ("node1:0"); "" when not known yet
}

// ErrSyntax is wrapped by the *LineError that ParsePeersFile and
// ReadPeerTable return for a line that does not parse.
var ErrSyntax = errors.New("unrecognized peer line")

// LineError reports a line of a peers file that does not parse.
type LineError struct {
	Line   int    // 1-based line number
	Text   string // the line, without its line terminator
	Reason string // what is wrong, e.g. "bad address \"00:11\""
}

// Error implements error: "line <n>: <reason>: '<text>'".
func (e *LineError) Error() string {
	return fmt.Sprintf("line %d: %s: '%s'", e.Line, e.Reason, e.Text)
}

// Unwrap returns ErrSyntax.
func (e *LineError) Unwrap() error { return ErrSyntax }

// ParsePeersFile parses the contents of a static peers file.
//
// Format (spec/tools.md §5.1): one peer per line, "<mac> <hostname>"
// separated by blanks or tabs; <mac> is six colon-separated hex bytes of one
// or two digits each, in either case; <hostname> is the next token without
// white space, at most HostnameMax bytes; anything after it on the line is
// ignored. Lines whose first character is '#' and empty lines are skipped.
// A line terminator is "\n" or "\r\n". Every other line must parse, as in
// the original: a line holding only blanks, a comment that does not start in
// the first column, a bad address, a missing or too long host name all give
// a *LineError (wrapping ErrSyntax) naming the first such line, and no
// peers.
//
// Duplicate addresses are merged the way omx_init_peers adds them to the
// table: the entry keeps the position of the first occurrence and takes the
// host name of the last one.
//
// Divergence: the original reads lines in chunks of 110 bytes, so a longer
// line is split into several; here lines have no length limit.
func ParsePeersFile(data []byte) ([]Peer, error) {
	return parsePeers(data, false)
}

// LoadPeersFile reads and parses the peers file at path (see
// ParsePeersFile). A file that cannot be read gives the *fs.PathError of
// os.ReadFile; a bad line gives a *LineError.
func LoadPeersFile(path string) ([]Peer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	peers, err := ParsePeersFile(data)
	if err != nil {
		return nil, fmt.Errorf("peers file %s: %w", path, err)
	}
	return peers, nil
}

// parsePeers implements ParsePeersFile; allowNoName also accepts lines made
// of an address alone (the published peer table lists peers whose name is
// not known yet that way).
func parsePeers(data []byte, allowNoName bool) ([]Peer, error) {
	var peers []Peer
	pos := make(map[uint64]int)
	text := string(data)
	for n := 1; text != ""; n++ {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		line = strings.TrimSuffix(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		p, reason := parsePeerLine(line, allowNoName)
		if reason != "" {
			return nil, &LineError{Line: n, Text: line, Reason: reason}
		}
		if i, dup := pos[p.NICID]; dup {
			if p.Hostname != "" {
				peers[i].Hostname = p.Hostname
			}
			continue
		}
		pos[p.NICID] = len(peers)
		peers = append(peers, p)
	}
	return peers, nil
}

// parsePeerLine parses one non-empty, non-comment line; reason is empty on
// success.
func parsePeerLine(line string, allowNoName bool) (p Peer, reason string) {
	fields := strings.FieldsFunc(line, isBlank)
	if len(fields) == 0 {
		return Peer{}, "blank line"
	}
	nic, err := ParseMAC(fields[0])
	if err != nil {
		return Peer{}, fmt.Sprintf("bad address %q", fields[0])
	}
	if len(fields) < 2 {
		if allowNoName {
			return Peer{NICID: nic}, ""
		}
		return Peer{}, "missing host name"
	}
	name := fields[1]
	if len(name) > HostnameMax {
		return Peer{}, fmt.Sprintf("host name longer than %d characters", HostnameMax)
	}
	return Peer{NICID: nic, Hostname: name}, ""
}

// isBlank reports the field separators of a peers line: the characters C
// isspace accepts.
func isBlank(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

// ParseMAC parses a board address "xx:xx:xx:xx:xx:xx" (six colon-separated
// hex bytes of one or two digits, either case) into a nic id, first byte
// most significant.
func ParseMAC(s string) (uint64, error) {
	var nic uint64
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return 0, fmt.Errorf("bad address %q: want 6 colon-separated bytes", s)
	}
	for _, part := range parts {
		if len(part) < 1 || len(part) > 2 {
			return 0, fmt.Errorf("bad address %q: bytes have 1 or 2 hex digits", s)
		}
		var b uint64
		for i := 0; i < len(part); i++ {
			d, ok := hexDigit(part[i])
			if !ok {
				return 0, fmt.Errorf("bad address %q: %q is not a hex digit", s, part[i])
			}
			b = b<<4 | d
		}
		nic = nic<<8 | b
	}
	return nic, nil
}

func hexDigit(c byte) (uint64, bool) {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0'), true
	case c >= 'a' && c <= 'f':
		return uint64(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return uint64(c-'A') + 10, true
	}
	return 0, false
}

// FormatMAC formats the low 48 bits of a nic id as "xx:xx:xx:xx:xx:xx",
// lower-case, the way every tool prints board addresses.
func FormatMAC(nic uint64) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x",
		byte(nic>>40), byte(nic>>32), byte(nic>>24), byte(nic>>16), byte(nic>>8), byte(nic))
}

// PeerTable is a host peer table: local boards first, then peers, each at a
// stable index assigned in insertion order from 0 (spec/wire.md §6.3). It
// holds at most PeerMax entries. The zero value is not usable: use
// NewPeerTable. A PeerTable is safe for concurrent use.
type PeerTable struct {
	mu    sync.RWMutex
	peers []Peer            // by index
	index map[uint64]uint16 // nic id -> index
	full  bool              // an Add failed for lack of room
}

// NewPeerTable returns a table holding local (the host's boards, in board
// order) and then peers (in file order), each added with Add: an address
// already present keeps its index and only takes the new host name, so a
// peers file listing this host's own boards does not create duplicates and
// every host loading the same file numbers the remote peers in the same
// order (spec/wire.md §6.7). The slices are not retained.
func NewPeerTable(local []Peer, peers []Peer) *PeerTable {
	t := &PeerTable{index: make(map[uint64]uint16, len(local)+len(peers))}
	for _, p := range local {
		t.Add(p)
	}
	for _, p := range peers {
		t.Add(p)
	}
	return t
}

// Add adds p at the next index and returns that index. If p.NICID is
// already present, the entry keeps its index and takes p.Hostname, unless
// that is empty (an unknown name never erases a known one). When the table
// holds PeerMax entries already, nothing is added, Full starts reporting
// true and NoIndex is returned.
func (t *PeerTable) Add(p Peer) uint16 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.index[p.NICID]; ok {
		if p.Hostname != "" {
			t.peers[i].Hostname = p.Hostname
		}
		return i
	}
	if len(t.peers) >= PeerMax {
		t.full = true
		return NoIndex
	}
	i := uint16(len(t.peers))
	t.peers = append(t.peers, p)
	t.index[p.NICID] = i
	return i
}

// Index returns the index of the peer with address nic.
func (t *PeerTable) Index(nic uint64) (uint16, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	i, ok := t.index[nic]
	return i, ok
}

// ByIndex returns the peer at index i.
func (t *PeerTable) ByIndex(i uint16) (Peer, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if int(i) >= len(t.peers) {
		return Peer{}, false
	}
	return t.peers[i], true
}

// ByName returns the peer of lowest index whose host name is name. The
// empty name matches nothing.
func (t *PeerTable) ByName(name string) (Peer, bool) {
	if name == "" {
		return Peer{}, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, p := range t.peers {
		if p.Hostname == name {
			return p, true
		}
	}
	return Peer{}, false
}

// All returns a copy of the entries in index order.
func (t *PeerTable) All() []Peer {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return append([]Peer(nil), t.peers...)
}

// Len returns the number of entries.
func (t *PeerTable) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.peers)
}

// Full reports whether an Add failed because the table was full (the
// "peer table is full" warning of omx_info).
func (t *PeerTable) Full() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.full
}
