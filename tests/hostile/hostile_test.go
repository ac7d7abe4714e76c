package hostile

// Hostile peers (issue 9, DESIGN.md §9 and §10 item 6): a forger
// (tests/forger) in a second network namespace sends what an attacker on
// the Ethernet segment can, and each test shows what it must never get:
// another process's memory, unbounded memory or CPU in the victim, data of
// a transfer that was not sent to it, or a stalled reconnect.
//
// Victims are tests/c/victim.c (an endpoint idle, progressing, receiving,
// sending) and tests/c/secret.c (a process with a secret in memory); honest
// traffic beside the floods is examples/omx_perf.c with verified payloads.
// Memory is the victim's VmRSS, sampled every 100 ms; CPU is utime+stime of
// /proc/<pid>/stat.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/tests/nettest"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

const (
	// atkKey is the key of every honest endpoint of these tests.
	atkKey = 0x12345678
	// atkRSSLimitKB bounds a flooded victim's resident memory; an idle
	// endpoint takes about 15 MB.
	atkRSSLimitKB = 64 << 10
	// atkRSSKillKB: a victim above this is killed at once (the test has
	// failed anyway; the machine keeps its memory).
	atkRSSKillKB = 1 << 20
	// atkCPULimit bounds the CPU share of an idle victim after a flood.
	atkCPULimit = 0.30
	// atkFloodRate is the forger's frame rate in the floods (frames/s).
	atkFloodRate = 20000
)

// atkTools are the programs of these tests, built once per test binary.
type atkTools struct {
	victim, secret, perf, forger string
}

var (
	atkOnce     sync.Once
	atkBuilt    atkTools
	atkBuildErr error
)

// atkBuild builds the C victims, omx_perf and the forger into a directory
// named after this process (nettest.CleanStale removes it once the process
// is gone).
func atkBuild(t *testing.T) atkTools {
	t.Helper()
	lib := testlib.Lib(t)
	atkOnce.Do(func() {
		dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-hostile-", nettest.Prefix, os.Getpid()))
		if err != nil {
			atkBuildErr = err
			return
		}
		root := testlib.Root()
		cc := func(name, src string) string {
			if atkBuildErr != nil {
				return ""
			}
			out := filepath.Join(dir, name)
			args := []string{"-std=gnu99", "-Wall", "-Wextra", "-Werror", "-O2", "-g", "-I", testlib.IncludeDir(), "-o", out, src,
				"-L", lib, "-Wl,-rpath," + lib, "-lmyriexpress", "-lpthread"}
			if b, err := exec.Command(testlib.CC(), args...).CombinedOutput(); err != nil {
				atkBuildErr = fmt.Errorf("%s %s: %v\n%s", testlib.CC(), strings.Join(args, " "), err, b)
			}
			return out
		}
		atkBuilt.victim = cc("victim", filepath.Join(root, "tests", "c", "victim.c"))
		atkBuilt.secret = cc("secret", filepath.Join(root, "tests", "c", "secret.c"))
		atkBuilt.perf = cc("omx_perf", filepath.Join(root, "examples", "omx_perf.c"))
		if atkBuildErr != nil {
			return
		}
		atkBuilt.forger = filepath.Join(dir, "forger")
		cmd := exec.Command("go", "build", "-o", atkBuilt.forger, "./tests/forger")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			atkBuildErr = fmt.Errorf("go build ./tests/forger: %v\n%s", err, b)
		}
	})
	if atkBuildErr != nil {
		t.Fatalf("building the hostile-test programs: %v", atkBuildErr)
	}
	return atkBuilt
}

// atkWaitLine waits until p printed a line starting with prefix and returns
// it; it fails the test if p exits first or after timeout.
func atkWaitLine(t *testing.T, p *nettest.Proc, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, l := range strings.Split(p.Stdout(), "\n") {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		select {
		case <-p.Done():
			r := p.Wait(time.Second)
			t.Fatalf("process exited (status %d) before printing %q\nstdout:\n%s\nstderr:\n%s", r.ExitCode, prefix, r.Stdout, r.Stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q line after %v\nstdout:\n%s\nstderr:\n%s", prefix, timeout, p.Stdout(), p.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// atkVictim is a running tests/c/victim.c.
type atkVictim struct {
	p       *nettest.Proc
	pid     int
	session uint32
}

// atkStartVictim starts the victim program in h with OMX_DEBUG_COUNTERS=1
// and waits until its endpoint is open.
func atkStartVictim(t *testing.T, h *nettest.Host, tools atkTools, env []string, args ...string) *atkVictim {
	t.Helper()
	p := h.Start(t, append([]string{"OMX_DEBUG_COUNTERS=1"}, env...), tools.victim, args...)
	f := strings.Fields(atkWaitLine(t, p, "ready ", 20*time.Second))
	if len(f) != 3 {
		t.Fatalf("bad ready line %q", strings.Join(f, " "))
	}
	pid, err1 := strconv.Atoi(f[1])
	sess, err2 := strconv.ParseUint(f[2], 0, 32)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad ready line %q", strings.Join(f, " "))
	}
	if pid != p.Pid() {
		t.Fatalf("victim says pid %d, started as %d", pid, p.Pid())
	}
	return &atkVictim{p: p, pid: pid, session: uint32(sess)}
}

// atkRegistrySession reads the session of endpoint index of h from its
// endpoint registry: what an attacker who learned it would know.
func atkRegistrySession(t *testing.T, h *nettest.Host, index uint32) uint32 {
	t.Helper()
	reg, err := node.OpenRegistry(h.RunDir)
	if err != nil {
		t.Fatalf("opening the registry of %s: %v", h.Name, err)
	}
	infos, err := reg.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.Index == index {
			return in.Session
		}
	}
	t.Fatalf("endpoint %d of %s not in its registry (%+v)", index, h.Name, infos)
	return 0
}

// atkRSS returns the resident memory of pid in kB.
func atkRSS(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// atkCPU returns the CPU time (user + system) pid has used.
func atkCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	// Fields 14 and 15 of stat (utime, stime), counted from the state (3).
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// atkCPUShare measures the CPU share pid uses over d.
func atkCPUShare(t *testing.T, pid int, d time.Duration) float64 {
	t.Helper()
	c0, err := atkCPU(pid)
	if err != nil {
		t.Fatalf("victim gone before the CPU measure: %v", err)
	}
	t0 := time.Now()
	time.Sleep(d)
	c1, err := atkCPU(pid)
	if err != nil {
		t.Fatalf("victim gone during the CPU measure: %v", err)
	}
	return float64(c1-c0) / float64(time.Since(t0))
}

// atkMonitor samples a process's resident memory every 100 ms and keeps
// the peak; above atkRSSKillKB it kills the process.
type atkMonitor struct {
	pid    int
	peak   atomic.Int64
	killed atomic.Bool
	stop   chan struct{}
	done   chan struct{}
}

func atkWatch(pid int) *atkMonitor {
	m := &atkMonitor{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			kb, err := atkRSS(pid)
			if err != nil {
				return // exited
			}
			if int64(kb) > m.peak.Load() {
				m.peak.Store(int64(kb))
			}
			if kb > atkRSSKillKB && !m.killed.Swap(true) {
				_ = syscallKill(pid)
			}
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return m
}

// Peak stops the sampling and returns the peak in kB.
func (m *atkMonitor) Peak() int {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
	return int(m.peak.Load())
}

func syscallKill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// atkForgerRun runs the forger in h with args and returns its JSON summary.
func atkForgerRun(t *testing.T, h *nettest.Host, tools atkTools, timeout time.Duration, args ...string) map[string]any {
	t.Helper()
	r := h.Run(t, timeout, nil, tools.forger, args...)
	return atkForgerResult(t, r, args)
}

func atkForgerResult(t *testing.T, r testlib.Result, args []string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	var out map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &out); err != nil {
		t.Fatalf("forger %s: exit %d, no JSON summary (%v)\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.ExitCode, err, r.Stdout, r.Stderr)
	}
	if r.ExitCode != 0 {
		t.Fatalf("forger %s: exit %d: %v\nstderr:\n%s", strings.Join(args, " "), r.ExitCode, out["error"], r.Stderr)
	}
	return out
}

// atkNum reads a number of a forger summary (0 when absent).
func atkNum(out map[string]any, keys ...string) float64 {
	var v any = out
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return 0
		}
		v = m[k]
	}
	f, _ := v.(float64)
	return f
}

// atkMAC formats a host's MAC for the forger.
func atkMAC(h *nettest.Host) string { return nettest.FormatMAC(h.MAC) }

// atkPerf runs verified omx_perf pairs between two honest hosts, one after
// the other (a fresh server each time), until stopped.
type atkPerf struct {
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	passes   int
	failures []string
	peakKB   int // largest server RSS seen
}

// atkPerfArgs is one verified run: every size from 0 to 1 MiB (eager,
// medium and pulled), 5 iterations each, blocking waits.
var atkPerfArgs = []string{"-V", "-w", "-N", "5", "-W", "1", "-P", "0", "-E", "1048577"}

func atkStartPerf(server, client *nettest.Host, tools atkTools) *atkPerf {
	a := &atkPerf{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for {
			select {
			case <-a.stop:
				return
			default:
			}
			err := a.once(server, client, tools)
			a.mu.Lock()
			if err != nil {
				a.failures = append(a.failures, err.Error())
			} else {
				a.passes++
			}
			a.mu.Unlock()
		}
	}()
	return a
}

// once runs one pair and returns what went wrong.
func (a *atkPerf) once(server, client *nettest.Host, tools atkTools) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := server.Command(ctx, nil, tools.perf, "-w")
	var so, se strings.Builder
	var mu sync.Mutex
	srv.Stdout, srv.Stderr = &lockedWriter{w: &so, mu: &mu}, &lockedWriter{w: &se, mu: &mu}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("starting the omx_perf server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	defer func() {
		_ = srv.Process.Kill() // harmless once it exited
		<-exited
		exited <- nil
	}()
	read := func() string { mu.Lock(); defer mu.Unlock(); return so.String() + se.String() }
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(read(), "Starting receiver...") {
		if time.Now().After(deadline) {
			return fmt.Errorf("omx_perf server not ready after 20 s: %s", read())
		}
		time.Sleep(10 * time.Millisecond)
	}
	mon := atkWatch(srv.Process.Pid)
	cl := client.Command(ctx, nil, tools.perf, append([]string{"-d", server.Hostname + ":0"}, atkPerfArgs...)...)
	out, err := cl.CombinedOutput()
	peak := mon.Peak()
	a.mu.Lock()
	a.peakKB = max(a.peakKB, peak)
	a.mu.Unlock()
	if err != nil || ctx.Err() != nil {
		return fmt.Errorf("omx_perf client: %v (ctx %v)\n%s\nserver:\n%s", err, ctx.Err(), out, read())
	}
	if n := atkResultLines(string(out)); n != 22 {
		return fmt.Errorf("omx_perf client printed %d result lines, want 22:\n%s", n, out)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			return fmt.Errorf("omx_perf server: %v\n%s", err, read())
		}
	case <-time.After(20 * time.Second):
		return fmt.Errorf("omx_perf server did not exit after its client")
	}
	return nil
}

// Stop waits for the run in progress and returns the passes and failures.
func (a *atkPerf) Stop() (int, []string, int) {
	close(a.stop)
	<-a.done
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.passes, a.failures, a.peakKB
}

// atkResultLines counts the result lines of an omx_perf client.
func atkResultLines(stdout string) int {
	return len(regexp.MustCompile(`(?m)^length +\d+:\t`).FindAllString(stdout, -1))
}

type lockedWriter struct {
	w  *strings.Builder
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// atkCounters returns the counters a victim printed at close
// (OMX_DEBUG_COUNTERS=1), non-zero ones only.
func atkCounters(stderr string) map[string]int {
	re := regexp.MustCompile(`(?m)counter \d+:\d+ (.+): (\d+)$`)
	out := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(stderr, -1) {
		if v, _ := strconv.Atoi(m[2]); v != 0 {
			out[m[1]] += v
		}
	}
	return out
}

// atkCheckPerf asserts the honest pairs all passed, at least once.
func atkCheckPerf(t *testing.T, perf *atkPerf) int {
	t.Helper()
	passes, failures, peak := perf.Stop()
	t.Logf("honest omx_perf -V beside the attack: %d runs passed, %d failed; server peak RSS %d kB", passes, len(failures), peak)
	for _, f := range failures {
		t.Errorf("honest omx_perf run failed during the attack: %s", f)
	}
	if passes == 0 && len(failures) == 0 {
		t.Errorf("no honest omx_perf run completed during the attack")
	}
	return peak
}

// atkFlood is one flood against an endpoint of host 0 of a three-host
// network, with verified omx_perf running between hosts 0 and 1 and the
// forger on host 2.
type atkFlood struct {
	victimMode string        // victim.c mode: idle, progress, recv
	victimArgs []string      // more victim arguments
	victimEnv  []string      // more victim environment
	forger     []string      // forger command and arguments (-dst, -ep, -key, -duration, -rate added)
	flood      time.Duration // forger duration
	cpuAfter   time.Duration // measure the victim's CPU this long after the flood (0: no)
	cpuDuring  float64       // bound of the victim's CPU share during the flood (0: none)
	rssLimitKB int           // bound of the victim's RSS (0: atkRSSLimitKB)
	rate       int           // forger frames per second (0: atkFloodRate)
	peers      func(t *testing.T, n *nettest.Net) string
}

type atkFloodResult struct {
	net     *nettest.Net
	victim  *atkVictim
	forger  map[string]any
	peakKB  int
	baseKB  int
	cpu     float64 // after the flood
	during  float64 // during the flood
	perfKB  int     // peak RSS of the honest omx_perf servers
	stdout  string
	counts  map[string]int
	session uint32
}

const atkVictimEP = "1"

// beforeFlood, if not nil, runs once the victim and the honest pairs run,
// and returns more forger arguments.
func atkRunFlood(t *testing.T, c atkFlood, beforeFlood func(r *atkFloodResult, tools atkTools) []string) *atkFloodResult {
	t.Helper()
	n := nettest.New(t, nettest.Options{Hosts: 3})
	tools := atkBuild(t)
	a, b, x := n.Hosts[0], n.Hosts[1], n.Hosts[2]
	env := c.victimEnv
	if c.peers != nil {
		env = append(env, "OMX_PEERS_FILE="+c.peers(t, n))
	}
	life := c.flood + c.cpuAfter + 3*time.Second
	rate := c.rate
	if rate == 0 {
		rate = atkFloodRate
	}
	args := append([]string{c.victimMode, "-e", atkVictimEP, "-k", strconv.Itoa(atkKey), "-t", fmt.Sprint(life.Seconds())}, c.victimArgs...)
	v := atkStartVictim(t, a, tools, env, args...)
	r := &atkFloodResult{net: n, victim: v}
	r.baseKB, _ = atkRSS(v.pid)
	t.Logf("victim %s (pid %d) on %s endpoint %s: session %#08x, RSS %d kB", c.victimMode, v.pid, a.Name, atkVictimEP, v.session, r.baseKB)
	mon := atkWatch(v.pid)
	perf := atkStartPerf(a, b, tools)
	fargs := append([]string{}, c.forger...)
	if beforeFlood != nil {
		fargs = append(fargs, beforeFlood(r, tools)...)
	}
	fargs = append(fargs, "-dst", atkMAC(a), "-ep", atkVictimEP,
		"-duration", c.flood.String(), "-rate", strconv.Itoa(rate))
	t.Logf("forger %s (from %s)", strings.Join(fargs, " "), x.Name)
	c0, err0 := atkCPU(v.pid)
	t0 := time.Now()
	r.forger = atkForgerRun(t, x, tools, c.flood+60*time.Second, fargs...)
	if c1, err1 := atkCPU(v.pid); err0 == nil && err1 == nil {
		r.during = float64(c1-c0) / float64(time.Since(t0))
	}
	t.Logf("forger: %d frames (%d bytes) in %.1f s; received back %v",
		int64(atkNum(r.forger, "sent")), int64(atkNum(r.forger, "bytes")), atkNum(r.forger, "seconds"), r.forger["recv"])
	t.Logf("victim CPU during the flood: %.1f %% of one CPU", 100*r.during)
	if c.cpuDuring > 0 && r.during > c.cpuDuring {
		t.Errorf("victim used %.0f %% of a CPU during the flood, bound %.0f %%", 100*r.during, 100*c.cpuDuring)
	}
	r.perfKB = atkCheckPerf(t, perf)
	if c.cpuAfter > 0 {
		r.cpu = atkCPUShare(t, v.pid, c.cpuAfter)
		t.Logf("victim CPU over %v after the flood: %.1f %% of one CPU", c.cpuAfter, 100*r.cpu)
	}
	r.peakKB = mon.Peak()
	res := v.p.Wait(life + 60*time.Second)
	r.stdout = res.Stdout
	r.counts = atkCounters(res.Stderr)
	limit := c.rssLimitKB
	if limit == 0 {
		limit = atkRSSLimitKB
	}
	t.Logf("victim peak RSS %d kB (bound %d kB); exit %d; counters %v", r.peakKB, limit, res.ExitCode, r.counts)
	if mon.killed.Load() {
		t.Errorf("victim killed: its RSS passed %d kB", atkRSSKillKB)
	} else if res.ExitCode != 0 {
		t.Errorf("victim exit %d\nstdout:\n%s\nstderr:\n%s", res.ExitCode, res.Stdout, lastLines(res.Stderr, 20))
	}
	if r.peakKB > limit {
		t.Errorf("victim RSS peaked at %d kB under the flood, bound %d kB (started at %d kB)", r.peakKB, limit, r.baseKB)
	}
	if c.cpuAfter > 0 && r.cpu > atkCPULimit {
		t.Errorf("idle victim used %.0f %% of a CPU after the flood, bound %.0f %%", 100*r.cpu, 100*atkCPULimit)
	}
	return r
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// atkLanded fails the test unless the victim's counters show at least min
// frames of the flood (any of the labels): a flood that never reached the
// victim proves nothing.
func atkLanded(t *testing.T, counts map[string]int, min int, labels ...string) {
	t.Helper()
	sum := 0
	for _, l := range labels {
		sum += counts[l]
	}
	if sum < min {
		t.Errorf("the flood did not reach the victim: %v sum to %d, want at least %d (counters %v)", labels, sum, min, counts)
	}
}

// atkCounted fails the test unless the victim counted drops under label:
// a bounded queue says when it is full (issue 9: dropped and counted).
func atkCounted(t *testing.T, counts map[string]int, label string) {
	t.Helper()
	if counts[label] == 0 {
		t.Errorf("the victim counted no %q: the queue never filled or its drops are not counted (counters %v)", label, counts)
	}
}

// TestHostileRemoteRead: a remote host forges an RNDV carrying the
// same-host extension (pid and address of an unrelated process holding a
// secret), from the victim's own MAC and from its own; the victim's 1 MiB
// receives must never get the secret. Also with OMX_DISABLE_SHARED=1, where
// the victim takes frames from its own MAC off the network (this host's
// traffic goes through it) and the extension must still be ignored.
func TestHostileRemoteRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"shared", nil},
		{"disable_shared", []string{"OMX_DISABLE_SHARED=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) { atkRemoteRead(t, tc.env) })
	}
}

func atkRemoteRead(t *testing.T, env []string) {
	n := nettest.New(t, nettest.Options{Hosts: 2})
	tools := atkBuild(t)
	v, x := n.Hosts[0], n.Hosts[1]

	sp := v.Start(t, nil, tools.secret)
	f := strings.Fields(atkWaitLine(t, sp, "secret ", 10*time.Second))
	if len(f) != 5 {
		t.Fatalf("bad secret line %q", strings.Join(f, " "))
	}
	spid, saddr, secret := f[1], f[2], f[4]
	t.Logf("secret holder pid %s: %s at %s", spid, secret, saddr)

	victim := atkStartVictim(t, v, tools, env, "recv", "-e", "0", "-k", strconv.Itoa(atkKey), "-t", "6",
		"-l", "1048576", "-n", "4", "-s", secret)

	learned := atkForgerRun(t, x, tools, 30*time.Second, "connect", "-dst", atkMAC(v), "-ep", "0", "-key", strconv.Itoa(atkKey))
	if learned["replied"] != true || atkNum(learned, "status") != 0 {
		t.Fatalf("CONNECT with the right key got no successful reply: %v", learned)
	}
	t.Logf("attacker learned session %#x (victim's is %#x)", uint32(atkNum(learned, "target_session")), victim.session)

	for _, src := range []struct{ name, mac, srcep string }{
		{"victim's own MAC", atkMAC(v), "5"},
		{"attacker's MAC", atkMAC(x), "6"},
	} {
		out := atkForgerRun(t, x, tools, 30*time.Second, "rndvlocal", "-dst", atkMAC(v), "-ep", "0", "-key", strconv.Itoa(atkKey),
			"-src", src.mac, "-srcep", src.srcep, "-pid", spid, "-addr", saddr, "-len", "4096")
		t.Logf("forged CONNECT + RNDV from the %s: %v frames", src.name, out["sent"])
		time.Sleep(300 * time.Millisecond)
	}

	res := victim.p.Wait(30 * time.Second)
	t.Logf("victim:\n%s", res.Stdout)
	counts := atkCounters(res.Stderr)
	t.Logf("victim counters: %v", counts)
	m := regexp.MustCompile(`(?m)^summary received (\d+) secret (\w+)$`).FindStringSubmatch(res.Stdout)
	if res.ExitCode != 0 || m == nil {
		t.Fatalf("victim: exit %d, no summary\nstdout:\n%s\nstderr:\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if m[2] != "absent" {
		t.Errorf("the secret of pid %s arrived in the victim's receive buffer: a remote host read another process's memory", spid)
	}
	// The attack reached the victim: at least the RNDV from the attacker's
	// own MAC is a valid frame of a connected partner.
	atkLanded(t, counts, 1, "Recv Rndv")
}

// TestHostileFloodNoSession: sequenced frames with random sessions (and a
// quarter with the true session but random seqnums, from a connected
// partner and from unknown endpoints) while the victim computes (does not
// call the library): what waits for the application is bounded.
func TestHostileFloodNoSession(t *testing.T) {
	r := atkRunFlood(t, atkFlood{
		victimMode: "idle",
		forger:     []string{"flood-nosession", "-key", strconv.Itoa(atkKey), "-valid", "0.25"},
		flood:      8 * time.Second,
	}, nil)
	atkLanded(t, r.counts, 1000, "Expected Event Queue Full", "Drop Bad Session")
	atkCounted(t, r.counts, "Expected Event Queue Full")
	if atkNum(r.forger, "true_session_frames") < 1000 {
		t.Errorf("the forger sent only %v frames with the true session", r.forger["true_session_frames"])
	}
}

// TestHostileFloodEarly: with the session (learned with the right key),
// out-of-order MEDIUM fragments ahead of the expected seqnum, every
// fragment number, from every source endpoint index of the attacker.
func TestHostileFloodEarly(t *testing.T) {
	r := atkRunFlood(t, atkFlood{
		victimMode: "progress",
		forger:     []string{"flood-early", "-key", strconv.Itoa(atkKey), "-srcep", "0", "-partners", "256"},
		flood:      8 * time.Second,
	}, nil)
	t.Logf("forger partners: %v (CONNECT statuses %v)", r.forger["partners"], r.forger["connect_status"])
	atkLanded(t, r.counts, 1000, "Recv Medium Frag")
	atkCounted(t, r.counts, "Expected Event Queue Full")
}

// TestHostileFloodUnexp: with the session and the right seqnums, in-order
// messages the victim never receives: the unexpected queue is bounded
// (MX_PARAM_UNEXP_QUEUE_MAX semantics, default 16 MiB). The RSS bound
// allows those 16 MiB twice (the Go heap grows to twice its live data
// between collections).
func TestHostileFloodUnexp(t *testing.T) {
	r := atkRunFlood(t, atkFlood{
		victimMode: "progress",
		rssLimitKB: atkRSSLimitKB + 32<<10,
		forger:     []string{"flood-unexp", "-key", strconv.Itoa(atkKey), "-srcep", "0", "-partners", "8"},
		flood:      8 * time.Second,
	}, nil)
	atkLanded(t, r.counts, 1000, "Recv Medium Frag", "Recv Tiny")
	atkCounted(t, r.counts, "Unexpected Event Queue Full")
	if atkNum(r.forger, "messages") < 1000 {
		t.Errorf("the forger sent only %v messages", r.forger["messages"])
	}
}

// TestHostileWrongKey: a CONNECT with a wrong key is refused for good: the
// reply has status 11 and no session, and messages sent afterwards from
// that host with the true session (read from the victim's registry) are
// not delivered.
func TestHostileWrongKey(t *testing.T) {
	const wrongKey = atkKey ^ 0x5a5a
	r := atkRunFlood(t, atkFlood{
		victimMode: "recv",
		victimArgs: []string{"-l", "65536", "-n", "4"},
		flood:      6 * time.Second,
	}, func(r *atkFloodResult, tools atkTools) []string {
		a, x := r.net.Hosts[0], r.net.Hosts[2]
		r.session = atkRegistrySession(t, a, 1)
		if r.session != r.victim.session {
			t.Errorf("registry session %#x, victim says %#x", r.session, r.victim.session)
		}
		out := atkForgerRun(t, x, tools, 30*time.Second, "connect", "-dst", atkMAC(a), "-ep", atkVictimEP,
			"-key", strconv.Itoa(wrongKey), "-srcep", "7")
		t.Logf("CONNECT with a wrong key: %v", out)
		if out["replied"] != true {
			t.Errorf("no reply to a CONNECT with a wrong key (want status 11)")
		} else {
			if st := atkNum(out, "status"); st != 11 {
				t.Errorf("CONNECT with a wrong key: status %v, want 11", st)
			}
			if s := atkNum(out, "target_session"); s != 0 {
				t.Errorf("the reply to a CONNECT with a wrong key gives the session %#x, want 0", uint32(s))
			}
		}
		// In-order messages with the true session from the refused
		// host, at every seqnum session, from 4 endpoint indexes.
		return []string{"flood-unexp", "-key", strconv.Itoa(wrongKey), "-session", strconv.FormatUint(uint64(r.session), 10),
			"-srcep", "7", "-partners", "4"}
	})
	m := regexp.MustCompile(`(?m)^summary received (\d+) secret`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("victim printed no summary:\n%s", r.stdout)
	}
	if m[1] != "0" {
		t.Errorf("the victim received %s messages from a host whose CONNECT had a wrong key", m[1])
	}
	atkLanded(t, r.counts, 100, "Recv Tiny", "Recv Medium Frag", "Expected Event Queue Full")
}

// TestHostileFloodPartners: CONNECTs with the right key from many (MAC,
// endpoint) pairs the victim's peer table knows (1000 fake MACs × 256
// endpoints); memory stays bounded and the idle victim's CPU stays low once
// the flood is over.
func TestHostileFloodPartners(t *testing.T) {
	const fakes = 1000
	var macs strings.Builder
	for i := range fakes {
		fmt.Fprintf(&macs, "%s fake%d:0\n", nettest.FormatMAC(atkFakeMAC(i)), i)
	}
	dir := t.TempDir()
	macFile := filepath.Join(dir, "fakes")
	if err := os.WriteFile(macFile, []byte(macs.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := atkRunFlood(t, atkFlood{
		victimMode: "idle",
		forger:     []string{"flood-partners", "-key", strconv.Itoa(atkKey), "-eps", "256", "-macs", macFile},
		flood:      8 * time.Second,
		rate:       32000,
		cpuAfter:   10 * time.Second,
		peers: func(t *testing.T, n *nettest.Net) string {
			b, err := os.ReadFile(n.PeersFile)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "peers")
			if err := os.WriteFile(p, append(b, macs.String()...), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		},
	}, nil)
	t.Logf("forger: %v (MAC, endpoint) pairs, %v CONNECT replies", r.forger["pairs"], r.forger["connect_replies"])
	atkLanded(t, r.counts, 10000, "Recv Connect Request")
}

// atkFakeMAC is the i-th fake MAC of the floods.
func atkFakeMAC(i int) [6]byte { return [6]byte{0x02, 0x66, 0x61, 0x6b, byte(i >> 8), byte(i)} }

// TestHostilePullWrongPeer: host A sends 1 MiB to host B, which posts its
// receive only after 3 s; meanwhile the attacker, who learned A's session
// with the right key, PULLs every region id and seqnum from A, as itself
// and from a forged MAC. No PULL_REPLY may reach the attacker's namespace,
// and B must then receive the data intact.
func TestHostilePullWrongPeer(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 3})
	tools := atkBuild(t)
	a, b, x := n.Hosts[0], n.Hosts[1], n.Hosts[2]
	key := strconv.Itoa(atkKey)
	recv := atkStartVictim(t, b, tools, nil, "precv", "-e", "0", "-k", key, "-l", "1048576", "-w", "3000", "-t", "15")
	send := atkStartVictim(t, a, tools, nil, "send", "-e", "0", "-k", key, "-l", "1048576", "-t", "25", "-d", b.Hostname+":0")
	start := time.Now()
	out := atkForgerRun(t, x, tools, 60*time.Second, "pull", "-dst", atkMAC(a), "-ep", "0", "-key", key,
		"-srcs", "own,"+nettest.FormatMAC(atkFakeMAC(0xfe)), "-duration", "2.5s", "-rate", "60000")
	t.Logf("attacker: %v PULLs (%v rounds over 256 region ids × 256 seqnums × 2 sources) in %v: %v PULL_REPLY (%v bytes), %v NACK_MCP",
		out["pulls"], out["rounds"], time.Since(start).Round(time.Millisecond), out["pull_replies"],
		atkNum(out, "recv_bytes", "PULL_REPLY"), out["nack_mcp"])
	if r := atkNum(out, "pull_replies"); r != 0 {
		t.Errorf("the attacker received %v PULL_REPLY frames (%v bytes) of a transfer from %s to %s", r, atkNum(out, "recv_bytes", "PULL_REPLY"), a.Name, b.Name)
	}
	rres := recv.p.Wait(40 * time.Second)
	sres := send.p.Wait(40 * time.Second)
	t.Logf("receiver: %s", strings.TrimSpace(rres.Stdout))
	t.Logf("sender: %s", strings.TrimSpace(sres.Stdout))
	counts := atkCounters(sres.Stderr)
	t.Logf("sender counters: %v", counts)
	if rres.ExitCode != 0 || !strings.Contains(rres.Stdout, "precv ok 1048576") {
		t.Errorf("receiver: exit %d\nstdout:\n%s\nstderr:\n%s", rres.ExitCode, rres.Stdout, lastLines(rres.Stderr, 20))
	}
	if sres.ExitCode != 0 || !strings.Contains(sres.Stdout, "sent 0 1048576") {
		t.Errorf("sender: exit %d\nstdout:\n%s\nstderr:\n%s", sres.ExitCode, sres.Stdout, lastLines(sres.Stderr, 20))
	}
	atkLanded(t, counts, 1000, "Recv Pull Request")
}

// TestHostileReconnect: an omx_perf server in slave mode (-s: it serves
// clients one after the other and disconnects each) and three clients
// started back to back: all three complete.
func TestHostileReconnect(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 2})
	tools := atkBuild(t)
	a, b := n.Hosts[0], n.Hosts[1]
	srv := a.Start(t, nil, tools.perf, "-s", "-w")
	atkWaitLine(t, srv, "Starting receiver...", 20*time.Second)
	for i := 1; i <= 3; i++ {
		start := time.Now()
		r := b.Run(t, 20*time.Second, nil, tools.perf, "-d", a.Hostname+":0", "-V", "-w", "-N", "10", "-W", "1", "-P", "0", "-E", "131073")
		if r.ExitCode != 0 || atkResultLines(r.Stdout) != 19 {
			t.Fatalf("client %d: exit %d\nstdout:\n%s\nstderr:\n%s\nserver:\n%s\n%s", i, r.ExitCode, r.Stdout, r.Stderr, srv.Stdout(), srv.Stderr())
		}
		t.Logf("client %d done in %v", i, time.Since(start).Round(time.Millisecond))
	}
	select {
	case <-srv.Done():
		r := srv.Wait(time.Second)
		t.Fatalf("the slave server exited (%d):\n%s\n%s", r.ExitCode, r.Stdout, r.Stderr)
	default:
	}
}

// TestHostileFlood60s: a hostile mixed flood for 60 s (random bytes,
// truncated headers, absurd lengths, forged sessions, connect floods from
// fake MACs, discovery floods) against host A, aimed at the endpoint of the
// honest omx_perf servers and at an idle endpoint; verified omx_perf runs
// between A and B keep passing, and the idle victim's memory and CPU stay
// bounded.
func TestHostileFlood60s(t *testing.T) {
	const flood = 60 * time.Second
	dir := t.TempDir()
	var macs strings.Builder
	for i := range 64 {
		fmt.Fprintf(&macs, "%s\n", nettest.FormatMAC(atkFakeMAC(0x100+i)))
	}
	macFile := filepath.Join(dir, "fakes")
	if err := os.WriteFile(macFile, []byte(macs.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	r := atkRunFlood(t, atkFlood{
		victimMode: "idle",
		forger:     []string{"garbage", "-targets", "0,1", "-macs", macFile},
		flood:      flood,
		cpuDuring:  atkCPULimit,
	}, nil)
	kinds, _ := r.forger["kinds"].(map[string]any)
	t.Logf("FLOOD60 numbers: %d frames (%.0f frames/s, %.1f MB) in %.0f s, kinds %v; idle victim: peak RSS %d kB (start %d kB), CPU %.1f %% during the flood; omx_perf servers (flooded too): peak RSS %d kB",
		int64(atkNum(r.forger, "sent")), atkNum(r.forger, "sent")/atkNum(r.forger, "seconds"), atkNum(r.forger, "bytes")/1e6,
		atkNum(r.forger, "seconds"), kinds, r.peakKB, r.baseKB, 100*r.during, r.perfKB)
	if r.perfKB > atkRSSLimitKB {
		t.Errorf("a flooded omx_perf server peaked at %d kB, bound %d kB", r.perfKB, atkRSSLimitKB)
	}
	atkLanded(t, r.counts, 10000, "Drop Bad Data Length", "Drop Bad Data Length for Headers", "Drop Bad Session",
		"Recv Connect Request", "Expected Event Queue Full", "Drop Unknown Packet Type")
}
