// Package fabric tests the library over paths that lose frames the way real
// Ethernet fabrics do: a forwarding element with a small buffer (tail drop),
// a rate-limited port, random loss with duplication and reordering, burst
// loss, and two senders into one receiver through one bottleneck. Every
// case runs omx_perf with verified payloads for every size from 0 B to
// 64 MiB, and a stream of mixed messages (the stress program, or the fan-in
// program for two senders): every message must arrive exactly once, in
// order, intact, and in bounded time.
//
// The network (two namespaces and the fault bridge between them) needs
// root; without it the tests skip (and fail under OMX_TEST_REQUIRE_PRIV=1).
package fabric

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/nettest"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// jumbo is the queue of the small-buffer cases: about 24 jumbo frames.
const jumbo = 24

// fabricCase is one path and wire mode.
type fabricCase struct {
	name   string
	mtu    int
	env    []string
	bridge nettest.BridgeConfig
	// perfMax is the largest omx_perf length (64 MiB unless the path is
	// too slow for it in the time of a test).
	perfMax int
	msgs    int // messages per direction of the mixed stream
}

var lossy = nettest.BridgeConfig{Duplicate: 0.05, Reorder: 0.05, Seed: 5}

func with(c nettest.BridgeConfig, f func(*nettest.BridgeConfig)) nettest.BridgeConfig {
	f(&c)
	return c
}

// smallBuffer is a forwarding element that reads one frame at a time into
// a socket buffer of the kernel's default size, and holds at most 24
// frames itself.
var smallBuffer = nettest.BridgeConfig{QueueFrames: jumbo, RcvBuf: -1, Seed: 3}

// bottleneck is a 1 Gbit/s port with a 24-frame buffer.
var bottleneck = nettest.BridgeConfig{QueueFrames: jumbo, Rate: 1e9, Seed: 4}

func cases() []fabricCase {
	return []fabricCase{
		{name: "small-buffer", mtu: 9000, bridge: smallBuffer, perfMax: 64 << 20, msgs: 200},
		{name: "bottleneck-1G", mtu: 9000, bridge: bottleneck, perfMax: 64 << 20, msgs: 200},
		{name: "drop-1%", mtu: 9000, bridge: with(lossy, func(c *nettest.BridgeConfig) { c.Drop = 0.01 }), perfMax: 64 << 20, msgs: 200},
		{name: "drop-10%", mtu: 9000, bridge: with(lossy, func(c *nettest.BridgeConfig) { c.Drop = 0.10 }), perfMax: 64 << 20, msgs: 150},
		{name: "drop-30%", mtu: 9000, bridge: with(lossy, func(c *nettest.BridgeConfig) { c.Drop = 0.30 }), perfMax: 16 << 20, msgs: 80},
		{name: "burst-loss", mtu: 9000, bridge: nettest.BridgeConfig{GEP: 0.01, GER: 0.3, Seed: 6}, perfMax: 64 << 20, msgs: 150},
		{name: "small-buffer-1500", mtu: 1500, bridge: smallBuffer, perfMax: 64 << 20, msgs: 150},
		{name: "drop-10%-1500", mtu: 1500, bridge: with(lossy, func(c *nettest.BridgeConfig) { c.Drop = 0.10 }), perfMax: 16 << 20, msgs: 100},
		{name: "small-buffer-mx-wire", mtu: 9000, env: []string{"OMX_WIRE_COMPAT=1"}, bridge: smallBuffer, perfMax: 64 << 20, msgs: 150},
		{name: "drop-10%-mx-wire", mtu: 9000, env: []string{"OMX_WIRE_COMPAT=1"}, bridge: with(lossy, func(c *nettest.BridgeConfig) { c.Drop = 0.10 }), perfMax: 16 << 20, msgs: 100},
	}
}

// TestFabric: every case moves every size exactly once, in order and
// intact, and the mixed stream too.
func TestFabric(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			b := c.bridge
			n := nettest.New(t, nettest.Options{Hosts: 2, MTU: c.mtu, Bridge: &b})
			start := time.Now()
			lines, errs := perf(t, n, c.env, c.perfMax)
			perfTime := time.Since(start)
			var want []int
			want = append(want, 0)
			for l := 1; l <= c.perfMax; l *= 2 {
				want = append(want, l)
			}
			if len(lines) != len(want) {
				t.Fatalf("%d result lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
			}
			for i, l := range lines {
				m := perfLine.FindStringSubmatch(l)
				if m == nil || m[1] != strconv.Itoa(want[i]) {
					t.Fatalf("result line %d is %q, want length %d", i, l, want[i])
				}
			}
			start = time.Now()
			errs2 := stress(t, n, c.env, c.msgs)
			st, err := n.Bridge().Stats()
			if err != nil {
				t.Fatal(err)
			}
			lost := st.AToB.Dropped + st.BToA.Dropped + st.AToB.BurstDrops + st.BToA.BurstDrops +
				st.AToB.QueueDrops + st.BToA.QueueDrops + st.AToB.KernelDrops + st.BToA.KernelDrops
			all := errs + errs2
			t.Logf("omx_perf 0..%d MiB %v, stress %v; bridge lost %d frames (queue %d/%d, kernel %d/%d); %s",
				c.perfMax>>20, perfTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), lost,
				st.AToB.QueueDrops, st.BToA.QueueDrops, st.AToB.KernelDrops, st.BToA.KernelDrops, recovery(all))
			if lost == 0 && (c.bridge.Drop > 0 || c.bridge.GEP > 0) {
				t.Errorf("the bridge lost no frame: %+v", st)
			}
			if lost > 0 && testlib.Counter(all, "Resends") == 0 {
				t.Errorf("frames were lost but nothing was sent again:\n%s", all)
			}
		})
	}
}

// TestFabricFanIn: two sender processes of one host send at once to one
// receiver of the other host through a 1 Gbit/s port with a 24-frame
// buffer: both streams complete, exactly once and in order per sender.
func TestFabricFanIn(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 2, MTU: 9000, Bridge: &bottleneck})
	bin := testlib.CompileTestC(t, "fanin")
	const senders, msgs = 2, 150
	env := []string{"OMX_DEBUG_COUNTERS=1"}
	recvEnv := append(env, "PU_PEER="+n.Hosts[0].Hostname+":0")
	sendEnv := append(env, "PU_PEER="+n.Hosts[1].Hostname+":0")
	var procs []*nettest.Proc
	for i := 0; i < senders; i++ {
		procs = append(procs, n.Hosts[0].Start(t, sendEnv, bin, "s", fmt.Sprint(2+i), "1", fmt.Sprint(i), fmt.Sprint(msgs)))
	}
	res := n.Hosts[1].Run(t, 300*time.Second, recvEnv, bin, "r", "1", "2", fmt.Sprint(senders), fmt.Sprint(msgs))
	if res.ExitCode != 0 {
		for _, p := range procs {
			p.Kill()
		}
		t.Fatalf("receiver: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	all := res.Stderr
	for i, p := range procs {
		r := p.Wait(60 * time.Second)
		if r.ExitCode != 0 {
			t.Fatalf("sender %d: exit %d\n%s\n%s", i, r.ExitCode, r.Stdout, r.Stderr)
		}
		all += r.Stderr
	}
	m := regexp.MustCompile(`(?m)^fanin: received (\d+) messages`).FindStringSubmatch(res.Stdout)
	if m == nil || m[1] != fmt.Sprint(senders*(msgs+1)) {
		t.Fatalf("receiver: no count of %d messages:\n%s", senders*(msgs+1), res.Stdout)
	}
	st, err := n.Bridge().Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bridge queue drops %d/%d, peak %d/%d; %s", st.AToB.QueueDrops, st.BToA.QueueDrops,
		st.AToB.QueuePeak, st.BToA.QueuePeak, recovery(all))
}

var perfLine = regexp.MustCompile(`^length +(\d+):\t[0-9.]+ us\t[0-9.]+ MB/s\t [0-9.]+ MiB/s$`)

// perf runs omx_perf with verified payloads (-V) from 0 B to max, once per
// length, between host 0 (server) and host 1 (client), and returns the
// client's result lines and both sides' counters.
func perf(t *testing.T, n *nettest.Net, env []string, max int) ([]string, string) {
	t.Helper()
	bin := testlib.CompileC(t, "omx_perf", []string{filepath.Join(testlib.Root(), "examples", "omx_perf.c")})
	env = append([]string{"OMX_DEBUG_COUNTERS=1"}, env...)
	srv := n.Hosts[0].Start(t, env, bin, "-V")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(srv.Stdout(), "Starting receiver...") {
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s\n%s", srv.Stdout(), srv.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	res := n.Hosts[1].Run(t, 240*time.Second, env, bin, "-d", n.Hosts[0].Hostname+":0", "-V",
		"-N", "1", "-W", "0", "-E", strconv.Itoa(max+1))
	sres := srv.Wait(30 * time.Second)
	if res.ExitCode != 0 || sres.ExitCode != 0 {
		t.Fatalf("omx_perf client exit %d, server exit %d\nclient:\n%s\n%s\nserver:\n%s\n%s",
			res.ExitCode, sres.ExitCode, res.Stdout, res.Stderr, sres.Stdout, sres.Stderr)
	}
	var lines []string
	for _, l := range strings.Split(res.Stdout, "\n") {
		if strings.HasPrefix(l, "length ") {
			lines = append(lines, l)
		}
	}
	return lines, res.Stderr + sres.Stderr
}

// stress runs the stress program (mixed sizes up to 1 MiB, 8 outstanding
// each way, checksummed) between the two hosts and returns their counters.
func stress(t *testing.T, n *nettest.Net, env []string, msgs int) string {
	t.Helper()
	bin := testlib.CompileTestC(t, "stress")
	env = append([]string{"OMX_DEBUG_COUNTERS=1"}, env...)
	args := []string{"-n", strconv.Itoa(msgs), "-s", "9", "-M", strconv.Itoa(1 << 20)}
	a := n.Hosts[0].Start(t, env, bin, append([]string{"-d", n.Hosts[1].Hostname + ":0"}, args...)...)
	res := n.Hosts[1].Run(t, 240*time.Second, env, bin, append([]string{"-d", n.Hosts[0].Hostname + ":0"}, args...)...)
	ares := a.Wait(60 * time.Second)
	for i, r := range []testlib.Result{ares, res} {
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "errors 0") {
			t.Fatalf("stress on host %d: exit %d\nstdout:\n%s\nstderr:\n%s", i, r.ExitCode, r.Stdout, r.Stderr)
		}
	}
	return ares.Stderr + res.Stderr
}

// recovery summarizes how the endpoints repaired losses.
func recovery(stderr string) string {
	return fmt.Sprintf("resends %d: fast retransmits %d, timeouts %d, pull re-requests %d, pull timeouts %d",
		testlib.Counter(stderr, "Resends"), testlib.Counter(stderr, "Fast Retransmits"), testlib.Counter(stderr, "Retransmit Timeouts"),
		testlib.Counter(stderr, "Pull Rerequests"), testlib.Counter(stderr, "Pull Timeouts"))
}

// TestFabricReceiverStopped: one side of a mixed stream is stopped
// (SIGSTOP) for 40 ms every 80 ms, as a descheduled receiver would be.
// Its receive ring is deep enough for the windows the partner may fill,
// so nothing is dropped while it sleeps, and the stream completes.
func TestFabricReceiverStopped(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 2, MTU: 9000})
	bin := testlib.CompileTestC(t, "stress")
	env := []string{"OMX_DEBUG_COUNTERS=1"}
	args := []string{"-n", "300", "-s", "12", "-M", strconv.Itoa(1 << 20)}
	a := n.Hosts[0].Start(t, env, bin, append([]string{"-d", n.Hosts[1].Hostname + ":0"}, args...)...)
	stops := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-a.Done():
				return
			case <-time.After(40 * time.Millisecond):
			}
			if a.Signal(syscall.SIGSTOP) != nil {
				return
			}
			stops++
			time.Sleep(40 * time.Millisecond)
			if a.Signal(syscall.SIGCONT) != nil {
				return
			}
		}
	}()
	res := n.Hosts[1].Run(t, 240*time.Second, env, bin, append([]string{"-d", n.Hosts[0].Hostname + ":0"}, args...)...)
	ares := a.Wait(60 * time.Second)
	<-done
	for i, r := range []testlib.Result{ares, res} {
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "errors 0") {
			t.Fatalf("stress on host %d: exit %d\nstdout:\n%s\nstderr:\n%s", i, r.ExitCode, r.Stdout, r.Stderr)
		}
	}
	if stops < 3 {
		t.Fatalf("the stream ended after %d stops: too short to show anything", stops)
	}
	if !strings.Contains(ares.Stderr, "Receive Ring Drops: ") {
		t.Fatalf("no ring drop count in the counters:\n%s", ares.Stderr)
	}
	if d := testlib.Counter(ares.Stderr, "Receive Ring Drops"); d != 0 {
		t.Errorf("the stopped side's ring dropped %d frames", d)
	}
	t.Logf("%d stops; stopped side: %s; other side: %s", stops, recovery(ares.Stderr), recovery(res.Stderr))
}
