package node

// Endpoint registry of a host (DESIGN.md §4): one file per (board, endpoint
// index) in <run dir>/endpoints, held with flock by the process that opened
// the endpoint. Replaces the endpoint array of the original driver
// (driver/linux/omx_iface.c), which omx_endpoint_info read through an
// ioctl. The locking protocol is in registry_linux.go.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EndpointsDir is the directory of the registry in the run directory.
const EndpointsDir = "endpoints"

// RawIndex is the endpoint index of a board's raw endpoint (the one of the
// discovery daemon, spec/tools.md §0.3); its file is "<board>.raw".
const RawIndex = ^uint32(0)

// ErrBusy is wrapped by the error Acquire returns when the slot is held by
// an open claim (of this or another process).
var ErrBusy = errors.New("endpoint slot busy")

// ErrNotSupported is wrapped by the errors of OpenRegistry on systems
// without the flock semantics the registry relies on.
var ErrNotSupported = errors.New("endpoint registry not supported on this system")

// Slot names one endpoint of the host.
type Slot struct {
	Board string // interface name of the board ("eth0", "lo")
	NICID uint64 // board address (recorded in the file, not part of the key)
	Index uint32 // endpoint index, or RawIndex
}

// Info describes an open endpoint, as recorded in its registry file.
type Info struct {
	Board   string    // interface name of the board
	NICID   uint64    // board address
	Index   uint32    // endpoint index, or RawIndex
	PID     int       // process holding the endpoint
	UID     int       // effective user id of that process
	Session uint32    // session id of the endpoint incarnation
	Command string    // base name of argv[0] of that process; tools show at most 15 bytes of it
	Opened  time.Time // when the endpoint was claimed
}

// Key=value lines of a registry file. The file format (read by the tools
// through List) is text, one "key=value" per line, in this order:
//
//	board=eth0
//	nic_id=00:11:22:33:44:55
//	index=3                     ("raw" for the raw endpoint)
//	pid=3150
//	uid=1000
//	session=0x5f3a29c1
//	command=omx_perf
//	opened=2024-03-05T10:00:00.123456789+01:00   (RFC 3339, nanoseconds)
//
// Readers ignore unknown keys. Values never contain a line feed: control
// characters of the command are replaced by '?'. The board and index of the
// file name are authoritative.
const (
	keyBoard   = "board"
	keyNICID   = "nic_id"
	keyIndex   = "index"
	keyPID     = "pid"
	keyUID     = "uid"
	keySession = "session"
	keyCommand = "command"
	keyOpened  = "opened"
)

// marshalInfo renders the contents of a registry file.
func marshalInfo(in Info) []byte {
	var b strings.Builder
	kv := func(k, v string) {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	kv(keyBoard, in.Board)
	kv(keyNICID, FormatMAC(in.NICID))
	kv(keyIndex, formatIndex(in.Index))
	kv(keyPID, strconv.Itoa(in.PID))
	kv(keyUID, strconv.Itoa(in.UID))
	kv(keySession, fmt.Sprintf("0x%08x", in.Session))
	kv(keyCommand, sanitize(in.Command))
	kv(keyOpened, in.Opened.Format(time.RFC3339Nano))
	return []byte(b.String())
}

// unmarshalInfo parses the contents of a registry file. It fails when the
// pid line is missing or when a known key has a bad value, as happens when
// the file is read while its new owner is still writing it.
func unmarshalInfo(data []byte) (Info, error) {
	var in Info
	havePID := false
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Info{}, fmt.Errorf("registry file: bad line %q", line)
		}
		var err error
		switch k {
		case keyBoard:
			in.Board = v
		case keyNICID:
			in.NICID, err = ParseMAC(v)
		case keyIndex:
			var ok bool
			if in.Index, ok = parseIndex(v); !ok {
				err = fmt.Errorf("bad index %q", v)
			}
		case keyPID:
			in.PID, err = strconv.Atoi(v)
			havePID = err == nil
		case keyUID:
			in.UID, err = strconv.Atoi(v)
		case keySession:
			var s uint64
			s, err = strconv.ParseUint(v, 0, 32)
			in.Session = uint32(s)
		case keyCommand:
			in.Command = v
		case keyOpened:
			in.Opened, err = time.Parse(time.RFC3339Nano, v)
		}
		if err != nil {
			return Info{}, fmt.Errorf("registry file: %s: %w", k, err)
		}
	}
	if !havePID {
		return Info{}, errors.New("registry file: no pid")
	}
	return in, nil
}

// sanitize replaces control characters, which would break the line format.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

func formatIndex(i uint32) string {
	if i == RawIndex {
		return "raw"
	}
	return strconv.FormatUint(uint64(i), 10)
}

func parseIndex(s string) (uint32, bool) {
	if s == "raw" {
		return RawIndex, true
	}
	// Canonical decimal only, so that one slot has one file name.
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == uint64(RawIndex) {
		return 0, false
	}
	return uint32(n), true
}

// slotName is the file name of a slot: "<board>.<index>" or "<board>.raw".
func slotName(s Slot) (string, error) {
	if err := checkBoardName(s.Board); err != nil {
		return "", err
	}
	return s.Board + "." + formatIndex(s.Index), nil
}

// parseSlotName is the inverse of slotName; the board is what precedes the
// last dot (interface names may contain dots, as in "eth0.100").
func parseSlotName(name string) (board string, index uint32, ok bool) {
	dot := strings.LastIndexByte(name, '.')
	if dot < 0 {
		return "", 0, false
	}
	board = name[:dot]
	if checkBoardName(board) != nil {
		return "", 0, false
	}
	index, ok = parseIndex(name[dot+1:])
	if !ok {
		return "", 0, false
	}
	return board, index, true
}

// checkBoardName accepts the names that can key a registry file: not
// empty, at most 200 bytes, not starting with a dot, without '/', white
// space or control characters (Linux interface names qualify).
func checkBoardName(b string) error {
	if b == "" || len(b) > 200 || b[0] == '.' {
		return fmt.Errorf("bad board name %q", b)
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; c == '/' || c <= ' ' || c == 0x7f {
			return fmt.Errorf("bad board name %q", b)
		}
	}
	return nil
}
