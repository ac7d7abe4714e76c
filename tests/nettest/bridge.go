package nettest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// BridgeConfig are the faults of the fault bridge, applied independently in
// each direction. The zero value forwards every frame untouched.
//
// A frame goes through the faults in this order: Drop, burst loss (GE*),
// corruption, duplication, reordering, then the output port: the queue
// (QueueFrames, QueueBytes), drained at Rate, then Delay.
type BridgeConfig struct {
	// Probabilities in [0, 1] that a frame is dropped, sent twice, held and
	// sent after the next frame, or has one bit flipped.
	Drop, Duplicate, Reorder, Corrupt float64
	// CorruptHead lets corruption hit the Open-MX peer index (frame offset
	// 14); by default it hits offsets >= 16 (the Open-MX body and padding).
	CorruptHead bool

	// Burst loss, a Gilbert-Elliott channel stepped once per frame: GEP is
	// the probability of going from the good state to the bad one, GER
	// back; a frame is lost with probability GELossBad in the bad state (0
	// means the bridge's default, 1) and GELossGood in the good one. It is
	// enabled when GEP or GELossGood is not 0. With the defaults the mean
	// loss rate is GEP/(GEP+GER) and bursts last 1/GER frames on average.
	// Its losses count as BurstDrops, not Dropped; it draws from a random
	// generator of its own, so it does not change the other faults of a
	// Seed.
	GEP, GER, GELossBad, GELossGood float64

	// Rate limits the output to this many bits per second (0: no limit),
	// like a switch port: a frame of n bytes takes (n+24)*8/Rate seconds
	// (24: Ethernet preamble, FCS and inter-frame gap), and frames wait in
	// the output queue for their turn. Departures are scheduled in virtual
	// time, so the rate holds however late the bridge's thread wakes up.
	Rate float64
	// QueueFrames and QueueBytes bound the output queue (0: no limit): a
	// frame arriving when the queue holds QueueFrames frames, or that would
	// take it over QueueBytes bytes, is dropped (tail drop, QueueDrops). The
	// queue holds the frames whose transmission has not ended; without a
	// Rate it never holds one.
	QueueFrames, QueueBytes int
	// Delay holds every frame this long after its departure from the
	// output port (order is kept).
	Delay time.Duration

	// RcvBuf is the receive buffer of the bridge's input sockets in bytes:
	// 0 means the bridge's default (8 MiB), -1 (any negative value) the
	// kernel default (net.core.rmem_default, about 200 KB), to reproduce a
	// forwarding element with a small buffer. Frames lost there count as
	// KernelDrops.
	RcvBuf int

	// ReorderFlush sends a held frame when nothing followed it for this
	// long; 0 means the bridge's default (5ms).
	ReorderFlush time.Duration
	// Seed seeds the random generators (one per direction): the same seed
	// and the same frames give the same faults.
	Seed int64
	// EtherType, when not 0, forwards only frames of that type.
	EtherType uint16
}

func (c BridgeConfig) args() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	a := []string{"-drop", f(c.Drop), "-dup", f(c.Duplicate), "-reorder", f(c.Reorder), "-corrupt", f(c.Corrupt),
		"-delay", c.Delay.String(), "-seed", strconv.FormatInt(c.Seed, 10)}
	if c.CorruptHead {
		a = append(a, "-corrupt-head")
	}
	if c.ReorderFlush > 0 {
		a = append(a, "-reorder-flush", c.ReorderFlush.String())
	}
	if c.EtherType != 0 {
		a = append(a, "-ethertype", fmt.Sprintf("%#04x", c.EtherType))
	}
	for _, o := range []struct {
		flag string
		v    float64
	}{{"-ge-p", c.GEP}, {"-ge-r", c.GER}, {"-ge-loss-bad", c.GELossBad}, {"-ge-loss-good", c.GELossGood}, {"-rate", c.Rate}} {
		if o.v != 0 {
			a = append(a, o.flag, f(o.v))
		}
	}
	if c.QueueFrames != 0 {
		a = append(a, "-queue-frames", strconv.Itoa(c.QueueFrames))
	}
	if c.QueueBytes != 0 {
		a = append(a, "-queue-bytes", strconv.Itoa(c.QueueBytes))
	}
	switch {
	case c.RcvBuf < 0:
		a = append(a, "-rcvbuf", "0")
	case c.RcvBuf > 0:
		a = append(a, "-rcvbuf", strconv.Itoa(c.RcvBuf))
	}
	return a
}

// DirStats are the counters of one direction of the fault bridge. Once the
// bridge has written everything it will write,
//
//	Forwarded + SendErrors + QueueDrops ==
//		Received - Dropped - BurstDrops + Duplicated
type DirStats struct {
	Received    uint64 `json:"received"`     // frames read from the input port
	Forwarded   uint64 `json:"forwarded"`    // frames written (duplicates included)
	Dropped     uint64 `json:"dropped"`      // dropped on purpose (Drop)
	BurstDrops  uint64 `json:"burst_drops"`  // lost by the Gilbert-Elliott channel
	Duplicated  uint64 `json:"duplicated"`   // frames sent twice
	Reordered   uint64 `json:"reordered"`    // held frames sent after a later one
	Flushed     uint64 `json:"flushed"`      // held frames sent by the flush timeout
	Corrupted   uint64 `json:"corrupted"`    // frames with one bit flipped
	QueueDrops  uint64 `json:"queue_drops"`  // copies refused by the full output queue
	QueuePeak   uint64 `json:"queue_peak"`   // most frames the output queue held
	SendErrors  uint64 `json:"send_errors"`  // frames the output interface refused
	KernelDrops uint64 `json:"kernel_drops"` // frames lost before the bridge read them
}

// BridgeStats are the fault bridge's statistics. AToB is host0 to host1
// (port a = Port(0)), BToA the reverse.
type BridgeStats struct {
	Seq   uint64   `json:"seq"`
	Final bool     `json:"final"`
	A     string   `json:"a"`
	B     string   `json:"b"`
	Seed  int64    `json:"seed"`
	AToB  DirStats `json:"a_to_b"`
	BToA  DirStats `json:"b_to_a"`
}

// Bridge is the fault bridge process of a Net. Its methods are safe for
// concurrent use (they are serialized).
type Bridge struct {
	t  testing.TB
	ns *Host // the middle namespace, as a Host for Command
	mu sync.Mutex
	c  BridgeConfig
	p  *bridgeProc
}

type bridgeProc struct {
	cmd    *exec.Cmd
	ready  chan struct{}
	stats  chan BridgeStats
	done   chan struct{}
	stderr syncBuffer
	final  *BridgeStats // the last stats line (valid once done is closed)
}

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// FaultBridgeBinary builds tests/faultbridge (once per test binary) and
// returns its path. The directory is named after the pid, so CleanStale
// removes it once this process is gone.
func FaultBridgeBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("go command not found: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-faultbridge-", Prefix, os.Getpid()))
		if err != nil {
			buildErr = err
			return
		}
		bin := filepath.Join(dir, "faultbridge")
		cmd := exec.Command(goBin, "build", "-o", bin, "./tests/faultbridge")
		cmd.Dir = testlib.Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./tests/faultbridge: %v\n%s", err, out)
			return
		}
		buildBin = bin
	})
	if buildErr != nil {
		t.Fatalf("nettest: %v", buildErr)
	}
	return buildBin
}

func startBridge(t testing.TB, n *Net, c BridgeConfig) *Bridge {
	t.Helper()
	b := &Bridge{t: t, ns: n.MiddleHost(), c: c}
	if err := b.start(); err != nil {
		t.Fatalf("nettest: %v", err)
	}
	return b
}

// start runs the bridge with b.c and waits until it is forwarding.
func (b *Bridge) start() error {
	bin := FaultBridgeBinary(b.t)
	args := append([]string{"-a", Port(0), "-b", Port(1)}, b.c.args()...)
	p := &bridgeProc{ready: make(chan struct{}), stats: make(chan BridgeStats, 16), done: make(chan struct{})}
	p.cmd = b.ns.Command(nil, nil, bin, args...)
	p.cmd.Stderr = &p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := startKilledWithParent(p.cmd); err != nil {
		return fmt.Errorf("starting faultbridge: %w", err)
	}
	go p.read(out)
	select {
	case <-p.ready:
	case <-p.done:
		return fmt.Errorf("faultbridge %v exited before it was ready: %s", args, p.stderr.String())
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("faultbridge %v not ready after 10s: %s", args, p.stderr.String())
	}
	b.p = p
	return nil
}

// read parses the bridge's stdout ("ready", then one JSON stats document per
// line) until it closes, then reaps the process.
func (p *bridgeProc) read(out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var last *BridgeStats
	for sc.Scan() {
		line := sc.Bytes()
		if string(line) == "ready" {
			close(p.ready)
			continue
		}
		var st BridgeStats
		if err := json.Unmarshal(line, &st); err != nil {
			fmt.Fprintf(&p.stderr, "nettest: bad stats line %q: %v\n", line, err)
			continue
		}
		last = &st
		select {
		case p.stats <- st:
		default: // nobody asked; the newest is kept in last
		}
	}
	_ = p.cmd.Wait()
	p.final = last
	close(p.done)
}

// Config returns the faults the bridge currently applies.
func (b *Bridge) Config() BridgeConfig {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.c
}

// Stats asks the running bridge for its counters (SIGUSR1) and returns them.
func (b *Bridge) Stats() (BridgeStats, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.p
	if p == nil {
		return BridgeStats{}, fmt.Errorf("faultbridge is not running")
	}
	for len(p.stats) > 0 { // stale answers
		<-p.stats
	}
	if err := p.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return BridgeStats{}, fmt.Errorf("faultbridge: %w: %s", err, p.stderr.String())
	}
	select {
	case st := <-p.stats:
		return st, nil
	case <-p.done:
		return BridgeStats{}, fmt.Errorf("faultbridge exited: %s", p.stderr.String())
	case <-time.After(5 * time.Second):
		return BridgeStats{}, fmt.Errorf("faultbridge: no statistics 5s after SIGUSR1")
	}
}

// SetFaults restarts the bridge with new faults and returns the final
// statistics of the previous run. Counters and random generators start
// afresh (the same config twice gives the same faults for the same frames);
// frames arriving during the restart are lost.
func (b *Bridge) SetFaults(c BridgeConfig) (BridgeStats, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, err := b.stopLocked()
	if err != nil {
		return st, err
	}
	b.c = c
	return st, b.start()
}

// Stop stops the bridge (SIGTERM) and returns its final statistics. Frames
// are no longer forwarded; SetFaults starts it again.
func (b *Bridge) Stop() (BridgeStats, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stopLocked()
}

func (b *Bridge) stopLocked() (BridgeStats, error) {
	p := b.p
	if p == nil {
		return BridgeStats{}, nil
	}
	b.p = nil
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return BridgeStats{}, fmt.Errorf("faultbridge ignored SIGTERM for 5s (killed): %s", p.stderr.String())
	}
	if p.final == nil || !p.final.Final {
		return BridgeStats{}, fmt.Errorf("faultbridge exited without final statistics (%v): %s", p.cmd.ProcessState, p.stderr.String())
	}
	return *p.final, nil
}

// stop is the cleanup: the bridge must have run without errors.
func (b *Bridge) stop() {
	if _, err := b.Stop(); err != nil {
		b.t.Errorf("nettest: %v", err)
	}
}
