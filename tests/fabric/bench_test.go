package fabric

// The loss table of "make bench": goodput of the library and of TCP
// through the fault bridge, for the same message sequences, and the
// programs that measure it (tests/c/stream.c and tests/tcpstream).

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/tests/nettest"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

const (
	// lossSeconds is how long each stream is measured (after a warm-up of
	// min(0.5 s, lossSeconds/4)); OMX_BENCH_LOSS_T overrides it.
	lossSeconds = 2.0
	// lossSlack is how long past its warm-up and measure time a receiver
	// waits for the end of a stream before it reports a cut result: a TCP
	// connection at 30 % loss moves some kB/s and would take minutes to
	// deliver what it was given.
	lossSlack = 6.0
	// streamPort is the TCP port of tcpstream's receiver.
	streamPort = 5201
	// streamMixedSeed seeds the mixed sequence of every run.
	streamMixedSeed = 7
)

// lossPath is one row of the table.
type lossPath struct {
	name   string
	bridge nettest.BridgeConfig
}

func lossPaths() []lossPath {
	return []lossPath{
		{"no-loss", nettest.BridgeConfig{Seed: 21}},
		{"drop-1%", nettest.BridgeConfig{Drop: 0.01, Seed: 22}},
		{"drop-10%", nettest.BridgeConfig{Drop: 0.10, Seed: 23}},
		{"drop-30%", nettest.BridgeConfig{Drop: 0.30, Seed: 24}},
		{"bottleneck-1G", nettest.BridgeConfig{Rate: 1e9, QueueFrames: 24, Seed: 25}},
	}
}

// streamKind is one message sequence: its stream options (both programs)
// and the outstanding sends of ours.
type streamKind struct {
	name        string
	args        []string
	outstanding int
}

var streamKinds = []streamKind{
	{"mixed", []string{"-m", "mixed", "-s", strconv.Itoa(streamMixedSeed)}, 8},
	{"4 MiB", []string{"-m", strconv.Itoa(4 << 20)}, 4},
}

// streamResult is a receiver's result line.
type streamResult struct {
	Messages, Bytes uint64
	Seconds, MBs    float64
	Cut             bool
}

// streamSent is a sender's line.
type streamSent struct {
	Messages, Bytes uint64
}

var (
	streamLine = regexp.MustCompile(`(?m)^stream: (\d+) messages (\d+) bytes ([0-9.]+) s ([0-9.]+) MB/s( \(cut after [0-9.e+-]+ s\))?$`)
	streamSend = regexp.MustCompile(`(?m)^stream: sent (\d+) messages (\d+) bytes$`)
)

func parseStreamResult(out string) (streamResult, error) {
	m := streamLine.FindAllStringSubmatch(out, -1)
	if len(m) != 1 {
		return streamResult{}, fmt.Errorf("want one result line, got %d in:\n%s", len(m), out)
	}
	var r streamResult
	r.Messages, _ = strconv.ParseUint(m[0][1], 10, 64)
	r.Bytes, _ = strconv.ParseUint(m[0][2], 10, 64)
	r.Seconds, _ = strconv.ParseFloat(m[0][3], 64)
	r.MBs, _ = strconv.ParseFloat(m[0][4], 64)
	r.Cut = m[0][5] != ""
	return r, nil
}

func parseStreamSent(out string) (streamSent, error) {
	m := streamSend.FindStringSubmatch(out)
	if m == nil {
		return streamSent{}, fmt.Errorf("no sender line in:\n%s", out)
	}
	var s streamSent
	for i, p := range []*uint64{&s.Messages, &s.Bytes} {
		*p, _ = strconv.ParseUint(m[i+1], 10, 64)
	}
	return s, nil
}

var (
	tcpstreamOnce sync.Once
	tcpstreamBin  string
	tcpstreamErr  error
)

// tcpstreamBinary builds tests/tcpstream once per test binary, into a
// directory named after the pid (nettest.CleanStale removes it once this
// process is gone).
func tcpstreamBinary(tb testing.TB) string {
	tb.Helper()
	tcpstreamOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			tcpstreamErr = fmt.Errorf("go command not found: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-tcpstream-", nettest.Prefix, os.Getpid()))
		if err != nil {
			tcpstreamErr = err
			return
		}
		bin := filepath.Join(dir, "tcpstream")
		cmd := exec.Command(goBin, "build", "-o", bin, "./tests/tcpstream")
		cmd.Dir = testlib.Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			tcpstreamErr = fmt.Errorf("go build ./tests/tcpstream: %v\n%s", err, out)
			return
		}
		tcpstreamBin = bin
	})
	if tcpstreamErr != nil {
		tb.Fatal(tcpstreamErr)
	}
	return tcpstreamBin
}

// streamIP is host i's address, given to its veth inside its namespace
// only (nettest assigns none).
func streamIP(i int) string { return fmt.Sprintf("10.213.9.%d", i+1) }

// streamAddresses prepares the hosts' veths for TCP: an address each, a
// permanent neighbour entry for the others (so that ARP requests lost by
// the bridge never stall TCP), and checksums computed by the sender (see
// noTxChecksum). Only the hosts' own veths, inside their namespaces, are
// changed.
func streamAddresses(tb testing.TB, n *nettest.Net) {
	tb.Helper()
	for _, h := range n.Hosts {
		if err := h.Do(func() error { return noTxChecksum(h.IfName) }); err != nil {
			tb.Fatalf("%s: %v", h.Name, err)
		}
	}
	ipBin := "ip"
	for _, p := range []string{"ip", "/usr/sbin/ip", "/sbin/ip"} {
		if q, err := exec.LookPath(p); err == nil {
			ipBin = q
			break
		}
	}
	run := func(args ...string) {
		if out, err := exec.Command(ipBin, args...).CombinedOutput(); err != nil {
			tb.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	for i, h := range n.Hosts {
		run("-n", h.Name, "addr", "add", streamIP(i)+"/24", "dev", h.IfName)
		for j, o := range n.Hosts {
			if j != i {
				run("-n", h.Name, "neigh", "replace", streamIP(j), "lladdr", nettest.FormatMAC(o.MAC), "dev", h.IfName, "nud", "permanent")
			}
		}
	}
}

// noTxChecksum turns off transmit checksum offload on ifname (ethtool -K
// ifname tx off, through the ioctl: ethtool may not be installed), in the
// calling thread's namespace. A veth leaves the TCP checksum of the frames
// it sends to be filled in later; the fault bridge reads them from a
// packet socket and writes them out again as they are, so the receiving
// host would drop every segment (InCsumErrors). Without the offload the
// kernel also segments TCP before the veth (no TSO), so the bridge sees
// frames of at most the MTU.
func noTxChecksum(ifname string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	val := &struct{ cmd, data uint32 }{unix.ETHTOOL_STXCSUM, 0}
	var ifr struct { // struct ifreq with ifr_data
		name [unix.IFNAMSIZ]byte
		data unsafe.Pointer
		_    [16]byte
	}
	copy(ifr.name[:], ifname)
	ifr.data = unsafe.Pointer(val)
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr))); errno != 0 {
		return fmt.Errorf("turning off the transmit checksum offload of %s: %w", ifname, errno)
	}
	return nil
}

// streamPrograms are the two programs of a measurement.
type streamPrograms struct {
	stream, tcpstream string
}

func buildStreamPrograms(tb testing.TB) streamPrograms {
	tb.Helper()
	return streamPrograms{stream: testlib.CompileTestC(tb, "stream"), tcpstream: tcpstreamBinary(tb)}
}

// streamRun is the outcome of one stream: the receiver's result and what
// the sender said (zero after a cut, when the sender is killed).
type streamRun struct {
	res  streamResult
	sent streamSent
	// resends is the retransmission count of ours (sender and receiver);
	// -1 for TCP or after a cut.
	resends int
	elapsed time.Duration
}

// runStream runs one stream from host 1 (sender) to host 0 (receiver):
// ours (stream.c) or TCP (tcpstream), with the sender options args and
// the receiver limit (0: none). Unless the stream was cut, the sender must
// succeed, and the receiver (which checked the totals against the end
// message) must have measured part of what it sent.
func runStream(tb testing.TB, n *nettest.Net, progs streamPrograms, tcp bool, args []string, limit float64) (streamRun, error) {
	tb.Helper()
	start := time.Now()
	env := []string{"OMX_DEBUG_COUNTERS=1"}
	lim := strconv.FormatFloat(limit, 'g', -1, 64)
	var recv, send *nettest.Proc
	if tcp {
		addr := fmt.Sprintf("%s:%d", streamIP(0), streamPort)
		recv = n.Hosts[0].Start(tb, nil, progs.tcpstream, "-listen", addr, "-l", lim)
		send = n.Hosts[1].Start(tb, nil, progs.tcpstream, append([]string{"-connect", addr}, args...)...)
	} else {
		recv = n.Hosts[0].Start(tb, env, progs.stream, "-l", lim)
		send = n.Hosts[1].Start(tb, env, progs.stream, append([]string{"-d", n.Hosts[0].Hostname + ":0"}, args...)...)
	}
	timeout := 120 * time.Second
	if limit > 0 {
		timeout = time.Duration(limit*float64(time.Second)) + 90*time.Second
	}
	rres := recv.Wait(timeout)
	var run streamRun
	run.resends = -1
	res, err := parseStreamResult(rres.Stdout)
	if rres.ExitCode != 0 || err != nil {
		send.Kill()
		sres := send.Wait(30 * time.Second)
		return run, fmt.Errorf("receiver: exit %d (%v)\nstdout:\n%s\nstderr:\n%s\nsender: exit %d\nstdout:\n%s\nstderr:\n%s",
			rres.ExitCode, err, rres.Stdout, rres.Stderr, sres.ExitCode, sres.Stdout, sres.Stderr)
	}
	run.res = res
	if res.Cut {
		// the sender is still trying to deliver what it was given
		send.Kill()
		send.Wait(30 * time.Second)
		run.elapsed = time.Since(start)
		return run, nil
	}
	sres := send.Wait(60 * time.Second)
	sent, err := parseStreamSent(sres.Stdout)
	if sres.ExitCode != 0 || err != nil {
		return run, fmt.Errorf("sender: exit %d (%v)\nstdout:\n%s\nstderr:\n%s", sres.ExitCode, err, sres.Stdout, sres.Stderr)
	}
	run.sent = sent
	if res.Messages > sent.Messages || res.Bytes > sent.Bytes {
		return run, fmt.Errorf("the receiver measured %d messages, %d bytes; the sender sent %d, %d bytes",
			res.Messages, res.Bytes, sent.Messages, sent.Bytes)
	}
	if !tcp {
		run.resends = testlib.Counter(rres.Stderr+sres.Stderr, "Resends")
	}
	run.elapsed = time.Since(start)
	return run, nil
}

// streamArgs are the sender options of a measurement.
func streamArgs(k streamKind, tcp bool, timing []string) []string {
	args := append(append([]string(nil), k.args...), timing...)
	if !tcp {
		args = append(args, "-o", strconv.Itoa(k.outstanding))
	}
	return args
}

// lossCell is one entry of the table: its runs (one per repetition) and
// the first error.
type lossCell struct {
	runs []streamRun
	err  error
}

func (c lossCell) ok() bool { return len(c.runs) > 0 && c.err == nil }

// mbs is the median goodput of the runs.
func (c lossCell) mbs() float64 {
	v := make([]float64, len(c.runs))
	for i, r := range c.runs {
		v[i] = r.res.MBs
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// cut reports whether a run was cut.
func (c lossCell) cut() bool {
	for _, r := range c.runs {
		if r.res.Cut {
			return true
		}
	}
	return false
}

func (c lossCell) String() string {
	if !c.ok() {
		return "error"
	}
	v := fmt.Sprintf("%.1f", c.mbs())
	if c.mbs() < 10 {
		v = fmt.Sprintf("%.2f", c.mbs())
	}
	if c.cut() {
		v += " (cut)"
	}
	return v
}

// lossRow is a path's measurements: ours and TCP for each stream kind
// (streamKinds order).
type lossRow struct {
	path   string
	ours   [2]lossCell
	tcp    [2]lossCell
	bridge string // the bridge's counters towards the receiver
}

var (
	lossMu      sync.Mutex
	lossResults = map[string]*lossRow{}
)

// BenchmarkFabricLoss measures, for each path of lossPaths, the goodput of
// the library (stream.c) and of TCP (tcpstream) through the fault bridge
// at MTU 9000, from host 1 to host 0: a mixed sequence of sizes up to
// 1 MiB (8 sends outstanding for ours) and 4 MiB messages (4 outstanding).
// The four streams of a path run one after the other in the same network,
// so that a change of the machine's load hits both programs; with
// OMX_BENCH_LOSS_REPS=n the four run n times in turn and the table shows
// medians. It prints the table and the project's goals and writes them to
// build/bench/losstable.md. It is a measurement: the goals are reported,
// not enforced; the body runs once whatever b.N is (a second call reports
// the first measurement again).
func BenchmarkFabricLoss(b *testing.B) {
	if os.Geteuid() != 0 {
		testlib.Skip(b, "BenchmarkFabricLoss builds network namespaces, veths and the fault bridge: run it as root")
	}
	secs := lossSeconds
	if v := os.Getenv("OMX_BENCH_LOSS_T"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			b.Fatalf("OMX_BENCH_LOSS_T=%q: want a positive number of seconds", v)
		}
		secs = f
	}
	reps := 1
	if v := os.Getenv("OMX_BENCH_LOSS_REPS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("OMX_BENCH_LOSS_REPS=%q: want a positive count", v)
		}
		reps = n
	}
	warm := math.Min(secs/4, 0.5)
	limit := warm + secs + lossSlack
	progs := buildStreamPrograms(b)
	timing := []string{"-t", strconv.FormatFloat(secs, 'g', -1, 64)}
	start := time.Now()

	var rows []*lossRow
	for _, p := range lossPaths() {
		b.Run(p.name, func(b *testing.B) {
			lossMu.Lock()
			row, done := lossResults[p.name]
			lossMu.Unlock()
			if !done {
				row = measureLossPath(b, p, progs, timing, limit, reps)
				lossMu.Lock()
				lossResults[p.name] = row
				lossMu.Unlock()
			}
			for i, k := range streamKinds {
				unit := strings.ReplaceAll(k.name, " ", "")
				if row.ours[i].ok() {
					b.ReportMetric(row.ours[i].mbs(), "ours-"+unit+"-MB/s")
				}
				if row.tcp[i].ok() {
					b.ReportMetric(row.tcp[i].mbs(), "tcp-"+unit+"-MB/s")
				}
			}
			b.ReportMetric(0, "ns/op")
		})
		lossMu.Lock()
		if row := lossResults[p.name]; row != nil {
			rows = append(rows, row)
		}
		lossMu.Unlock()
	}
	if len(rows) == 0 {
		return
	}

	table := lossTable(rows, secs, warm, limit, reps, time.Since(start))
	b.Logf("\n%s", table)
	if !testing.Verbose() {
		// without -v the log of a benchmark with sub-benchmarks is not shown
		fmt.Print("\n" + table + "\n")
	}
	dir := filepath.Join(testlib.Root(), "build", "bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "losstable.md")
	if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("written to %s", out)
}

// measureLossPath builds the path's network and runs its four streams,
// reps times.
func measureLossPath(b *testing.B, p lossPath, progs streamPrograms, timing []string, limit float64, reps int) *lossRow {
	cfg := p.bridge
	n := nettest.New(b, nettest.Options{Hosts: 2, MTU: 9000, Bridge: &cfg})
	streamAddresses(b, n)
	row := &lossRow{path: p.name}
	for range reps {
		for i, k := range streamKinds {
			for _, tcp := range []bool{false, true} {
				measureLossCell(b, n, p, progs, k, tcp, timing, limit, row, i)
			}
		}
	}
	if st, err := n.Bridge().Stats(); err == nil {
		d := st.BToA
		row.bridge = fmt.Sprintf("host1→host0: %d frames received, %d dropped, %d queue drops (peak %d), %d kernel drops",
			d.Received, d.Dropped, d.QueueDrops, d.QueuePeak, d.KernelDrops)
		b.Logf("%s: bridge %s", p.name, row.bridge)
	}
	return row
}

// measureLossCell runs one stream and adds it to cell i of row.
func measureLossCell(b *testing.B, n *nettest.Net, p lossPath, progs streamPrograms, k streamKind, tcp bool,
	timing []string, limit float64, row *lossRow, i int) {
	run, err := runStream(b, n, progs, tcp, streamArgs(k, tcp, timing), limit)
	who, cell := "ours", &row.ours[i]
	if tcp {
		who, cell = "TCP", &row.tcp[i]
	}
	if err != nil {
		if cell.err == nil {
			cell.err = err
		}
		b.Errorf("%s, %s %s: %v", p.name, who, k.name, err)
		return
	}
	cell.runs = append(cell.runs, run)
	r := run.res
	extra := ""
	if r.Cut {
		extra = ", cut"
	}
	if run.resends >= 0 {
		extra += fmt.Sprintf(", %d resends", run.resends)
	}
	b.Logf("%s, %s %s: %.2f MB/s (%d messages, %d bytes in %.3f s%s; run %v)", p.name, who, k.name,
		r.MBs, r.Messages, r.Bytes, r.Seconds, extra, run.elapsed.Round(time.Millisecond))
}

// lossTable renders the rows and the goals as Markdown.
func lossTable(rows []*lossRow, secs, warm, limit float64, reps int, took time.Duration) string {
	var s strings.Builder
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	tree := "unknown"
	if out, err := exec.Command("git", "-C", testlib.Root(), "describe", "--always", "--dirty").Output(); err == nil {
		tree = strings.TrimSpace(string(out))
	}
	fmt.Fprintf(&s, "# Goodput under loss (BenchmarkFabricLoss)\n\n")
	fmt.Fprintf(&s, "%s; %d CPUs, kernel %s; library built from %s; the table took %v", time.Now().Format("2006-01-02 15:04 MST"),
		runtime.NumCPU(), strings.TrimSpace(string(kernel)), tree, took.Round(time.Second))
	if reps > 1 {
		fmt.Fprintf(&s, "; medians of %d runs (\"(cut)\": at least one was cut)", reps)
	}
	s.WriteString(".\n\n")
	fmt.Fprintf(&s, "Two network namespaces joined by the fault bridge (tests/faultbridge), MTU 9000; one-way streams from host1 to host0, "+
		"payload MB/s (10^6 B/s) measured by the receiver over about %g s after a %g s warm-up. "+
		"ours: tests/c/stream.c over the Open-MX API (mixed: 8 sends outstanding, 4 MiB: 4); "+
		"TCP: tests/tcpstream, the same message sequences length-prefixed on one connection (default Linux TCP of the namespaces). "+
		"mixed: seed %d, sizes 0 B to 1 MiB in every class, bytes dominated by the large ones. "+
		"The warm-up is timed by the receiver: the window opens at the first message completed %g s after the first one, "+
		"and closes at the last (if the stream ends, or is cut, before the window opens, the window runs from the sender's hello). "+
		"\"(cut)\": the stream had not ended %g s after the hello; the rate is what the receiver got until then "+
		"(for TCP, bytes of partly received messages included).\n\n", secs, warm, streamMixedSeed, warm, limit)
	s.WriteString("| path | ours mixed MB/s | TCP mixed MB/s | ours 4 MiB MB/s | TCP 4 MiB MB/s |\n")
	s.WriteString("|---|---:|---:|---:|---:|\n")
	byName := map[string]*lossRow{}
	for _, r := range rows {
		byName[r.path] = r
		fmt.Fprintf(&s, "| %s | %s | %s | %s | %s |\n", r.path, r.ours[0], r.tcp[0], r.ours[1], r.tcp[1])
	}

	s.WriteString("\nGoals (reported, not enforced):\n\n")
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	ratio := func(path string, frac float64, what string) {
		base, row := byName["no-loss"], byName[path]
		if base == nil || row == nil {
			return
		}
		fmt.Fprintf(&s, "- ours at %s ≥ %.0f %% of ours lossless\n", what, frac*100)
		for i, k := range streamKinds {
			c, b0 := row.ours[i], base.ours[i]
			if !c.ok() || !b0.ok() || b0.mbs() == 0 {
				fmt.Fprintf(&s, "  - %s: no measurement\n", k.name)
				continue
			}
			got, ref := c.mbs(), b0.mbs()
			fmt.Fprintf(&s, "  - %s: %.1f / %.1f MB/s = %.0f %%: %s\n", k.name, got, ref, 100*got/ref, verdict(got >= frac*ref))
		}
	}
	ratio("drop-1%", 0.50, "1 % drop")
	ratio("drop-10%", 0.15, "10 % drop")
	if row := byName["bottleneck-1G"]; row != nil {
		s.WriteString("- ours through the bottleneck ≥ 80 % of 125 MB/s (100 MB/s)\n")
		for i, k := range streamKinds {
			c := row.ours[i]
			if !c.ok() {
				fmt.Fprintf(&s, "  - %s: no measurement\n", k.name)
				continue
			}
			fmt.Fprintf(&s, "  - %s: %.1f MB/s = %.0f %%: %s\n", k.name, c.mbs(), c.mbs()/1.25, verdict(c.mbs() >= 100))
		}
	}
	s.WriteString("- ours never below TCP in the same row\n")
	for _, r := range rows {
		for i, k := range streamKinds {
			o, t := r.ours[i], r.tcp[i]
			if !o.ok() || !t.ok() {
				fmt.Fprintf(&s, "  - %s, %s: no measurement\n", r.path, k.name)
				continue
			}
			fmt.Fprintf(&s, "  - %s, %s: ours %s, TCP %s MB/s: %s\n", r.path, k.name, o, t, verdict(o.mbs() >= t.mbs()))
		}
	}

	var bridge []string
	for _, r := range rows {
		if r.bridge != "" {
			bridge = append(bridge, fmt.Sprintf("- %s: %s", r.path, r.bridge))
		}
	}
	if len(bridge) > 0 {
		s.WriteString("\nFault bridge, whole path (ours and TCP):\n\n" + strings.Join(bridge, "\n") + "\n")
	}
	return s.String()
}

// streamFirstSize is the size of the first message of the sequence that
// the -m and -s options among args give (stream -P 1).
func streamFirstSize(t *testing.T, progs streamPrograms, args []string) uint64 {
	t.Helper()
	pargs := []string{"-P", "1"}
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-m" || args[i] == "-s" {
			pargs = append(pargs, args[i], args[i+1])
		}
	}
	out := testlib.MustRun(t, 30*time.Second, nil, progs.stream, pargs...).Stdout
	f := strings.Fields(out)
	if len(f) != 3 || f[0] != "0" {
		t.Fatalf("stream %v: %q, want one line \"0 <size> <hash>\"", pargs, out)
	}
	n, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		t.Fatalf("stream %v: %q: %v", pargs, out, err)
	}
	return n
}

// TestStreamPrograms: stream.c and tcpstream generate the same messages
// (-P), and, between two hosts joined by a veth pair, each delivers a
// mixed and a fixed-size stream whose counts the receiver reports as the
// sender sent them.
func TestStreamPrograms(t *testing.T) {
	testlib.NeedCC(t)
	progs := buildStreamPrograms(t)
	for _, args := range [][]string{{"-P", "300", "-s", "5"}, {"-P", "3", "-m", "0"}, {"-P", "20", "-m", "70000"}, {"-P", "2", "-m", strconv.Itoa(4 << 20)}} {
		c := testlib.MustRun(t, 60*time.Second, nil, progs.stream, args...)
		g := testlib.MustRun(t, 60*time.Second, nil, progs.tcpstream, args...)
		if c.Stdout != g.Stdout {
			t.Fatalf("%v: stream.c and tcpstream generate different messages:\nstream.c:\n%s\ntcpstream:\n%s", args, c.Stdout, g.Stdout)
		}
		if want, got := args[1], strconv.Itoa(strings.Count(c.Stdout, "\n")); got != want {
			t.Fatalf("%v: %s lines, want %s", args, got, want)
		}
	}

	n := nettest.New(t, nettest.Options{Hosts: 2, MTU: 9000})
	streamAddresses(t, n)
	for _, tc := range []struct {
		name  string
		args  []string
		msgs  uint64  // -n: messages sent
		limit float64 // receiver -l
	}{
		{name: "mixed", args: []string{"-m", "mixed", "-s", "3", "-n", "4000"}, msgs: 4000},
		{name: "fixed", args: []string{"-m", "100000", "-n", "1000"}, msgs: 1000},
		{name: "empty", args: []string{"-m", "0", "-n", "500"}, msgs: 500},
		{name: "timed", args: []string{"-m", "mixed", "-t", "0.4"}},
		{name: "cut", args: []string{"-m", "1000000", "-t", "30"}, limit: 0.8},
	} {
		for _, tcp := range []bool{false, true} {
			who := "ours"
			args := append([]string(nil), tc.args...)
			if tcp {
				who = "tcp"
			} else {
				args = append(args, "-o", "8")
			}
			t.Run(tc.name+"-"+who, func(t *testing.T) {
				run, err := runStream(t, n, progs, tcp, args, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				r, s := run.res, run.sent
				t.Logf("%d messages, %d bytes in %.3f s: %.1f MB/s (run %v)", r.Messages, r.Bytes, r.Seconds, r.MBs,
					run.elapsed.Round(time.Millisecond))
				switch {
				case tc.limit > 0:
					// the warm-up is 0.5 s: the window opened before the cut
					if !r.Cut || r.Messages == 0 || r.Seconds <= 0 || r.Seconds > tc.limit {
						t.Fatalf("received %+v: want a cut result of some messages in at most %g s", r, tc.limit)
					}
				case tc.msgs == 0:
					// -t 0.4: 0.1 s of warm-up, then 0.4 s
					if r.Cut || r.Messages == 0 || r.Seconds < 0.2 || r.Seconds > 5 {
						t.Fatalf("sent %+v, received %+v: want about 0.4 s measured", s, r)
					}
				default:
					// -n: the first message opens the window, the others are in it
					first := streamFirstSize(t, progs, tc.args)
					if s.Messages != tc.msgs || r.Messages != tc.msgs-1 || r.Bytes != s.Bytes-first || r.Cut {
						t.Fatalf("sent %+v, received %+v: want %d messages sent and all but the first (%d bytes) measured",
							s, r, tc.msgs, first)
					}
				}
			})
		}
	}
}
