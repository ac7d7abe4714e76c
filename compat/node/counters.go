package node

// Live endpoint counters of a host (DESIGN.md §4, spec/tools.md §3, §12):
// the statistics the original driver kept per board and omx_counters read
// through an ioctl are kept here per endpoint, in a small file of the run
// directory that the endpoint's process maps and updates with atomic
// operations, so that omx_counters reads them live from another process.
//
// # Files
//
//	<run dir>/counters/<board>.<index>   counters of an open endpoint
//	<run dir>/counters/<board>.total     counters accumulated by the
//	                                     endpoints of <board> that closed
//	<run dir>/counters/.new.*            a file being set up (ignored)
//
// <board> is the interface name of the board, as in the endpoint registry.
// The totals of a board, as omx_counters shows them, are the sum of its
// .total file and of its endpoint files: counts survive the end of the
// endpoints and of their processes, as the per-board counters of the
// original driver did, until they are cleared.
//
// # Format (CounterFileSize = 688 bytes)
//
//	offset 0   4 bytes  "OMXC"
//	offset 4   uint16   format version, 1
//	offset 6   uint16   number of counters, 85
//	offset 8   85 × uint64 counters, in the order of spec/tools.md §12
//
// The two uint16 and the counters are in the host byte order (every
// process using a run directory runs on the same host); the counters are
// updated and read with atomic 64-bit operations only. A file shorter than
// CounterFileSize or with another header counts as all zero.
//
// Files are 0644 (only their creator writes them) and are sized before they
// get their name (a temporary ".new.*" file renamed, or linked for a
// .total file), and never shrink. A process maps only the files of its own
// user, who alone (with root) could truncate them; it reads another user's
// with pread, so a truncated file cannot crash a reader with SIGBUS.
//
// # Life cycle and locking
//
// The library creates a file with CreateCounters under a temporary name
// (".new.*") before opening an endpoint, keeps flock(LOCK_EX) on it for
// the endpoint's lifetime, and once the endpoint index is known renames it
// to "<board>.<index>" (Publish). At close it adds its values to the
// board's .total file, removes its file and drops the lock (Close).
//
// A file whose lock is free belongs to a process that died without
// closing: whoever next finds it (ReadCounters, or Publish of the next
// endpoint with that index) adds its values to the .total file and removes
// it, under its lock, after checking that it is still the file linked at
// its name. Publish renames over a previous file only while holding that
// file's lock, so a stale file is never removed after being replaced.
// Moving values to the .total file swaps each counter to 0 first, so
// folding one file twice adds nothing. A reader that meets a stale file
// while another party is folding it may count it twice in one reading.

// CountersDir is the directory of the counter files in the run directory.
const CountersDir = "counters"

// NumCounters is the number of counters of an endpoint (spec/tools.md §12,
// OMX_INFO_COUNTER_MAX); engine.NumCounters has the same value.
const NumCounters = 85

// SharedCountersFirst is the first counter of the "Shared" family (72..84),
// shown on the shared-communication pseudo-board.
const SharedCountersFirst = 72

// Counter file layout.
const (
	counterMagic      = "OMXC"
	counterVersion    = 1
	counterHeaderSize = 8
	// CounterFileSize is the size of a counter file.
	CounterFileSize = counterHeaderSize + 8*NumCounters
	totalSuffix     = "total"
	newPrefix       = ".new."
)

// CounterValues are the values of the 85 counters.
type CounterValues [NumCounters]uint64
