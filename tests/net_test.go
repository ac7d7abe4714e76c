package tests

// Two hosts (network namespaces joined by veth, or through the fault
// bridge) exchanging messages over raw Ethernet: omx_perf for every size,
// the C stress program, and the stress program through a lossy bridge.

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/nettest"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// netPerf runs omx_perf between host 0 (server) and host 1 (client) and
// returns the client's result lines.
func netPerf(t *testing.T, n *nettest.Net, env []string, args ...string) []string {
	t.Helper()
	bin := testlib.CompileC(t, "omx_perf", []string{filepath.Join(testlib.Root(), "examples", "omx_perf.c")})
	srv := n.Hosts[0].Start(t, env, bin, "-V")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(srv.Stdout(), "Starting receiver...") {
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s\n%s", srv.Stdout(), srv.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cargs := append([]string{"-d", n.Hosts[0].Hostname + ":0", "-V"}, args...)
	res := n.Hosts[1].Run(t, 120*time.Second, env, bin, cargs...)
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
	return lines
}

var netPerfLine = regexp.MustCompile(`^length +(\d+):\t[0-9.]+ us\t[0-9.]+ MB/s\t [0-9.]+ MiB/s$`)

// TestNetPerf: omx_perf with verified payloads for every size from 0 B to
// 4 MiB at MTU 9000 and 1500, and in mx-wire mode.
func TestNetPerf(t *testing.T) {
	for _, tc := range []struct {
		name string
		mtu  int
		env  []string
	}{
		{"native-9000", 9000, nil},
		{"native-1500", 1500, nil},
		{"mx-wire", 9000, []string{"OMX_WIRE_COMPAT=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := nettest.New(t, nettest.Options{Hosts: 2, MTU: tc.mtu})
			lines := netPerf(t, n, tc.env, "-N", "20", "-W", "2", "-P", "0", "-E", "4194305")
			want := []int{0}
			for l := 1; l <= 4<<20; l *= 2 {
				want = append(want, l)
			}
			if len(lines) != len(want) {
				t.Fatalf("%d result lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
			}
			for i, l := range lines {
				m := netPerfLine.FindStringSubmatch(l)
				if m == nil {
					t.Fatalf("bad result line %q", l)
				}
				if got, _ := strconv.Atoi(m[1]); got != want[i] {
					t.Fatalf("line %d has length %d, want %d", i, got, want[i])
				}
			}
		})
	}
}

// netStress runs the stress program on both hosts against each other and
// returns their stderr (with the counters).
func netStress(t *testing.T, n *nettest.Net, env []string, args ...string) [2]string {
	t.Helper()
	bin := testlib.CompileTestC(t, "stress")
	env = append([]string{"OMX_DEBUG_COUNTERS=1"}, env...)
	a := n.Hosts[0].Start(t, env, bin, append([]string{"-d", n.Hosts[1].Hostname + ":0"}, args...)...)
	res := n.Hosts[1].Run(t, 300*time.Second, env, bin, append([]string{"-d", n.Hosts[0].Hostname + ":0"}, args...)...)
	ares := a.Wait(60 * time.Second)
	for i, r := range []testlib.Result{ares, res} {
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "errors 0") {
			t.Fatalf("stress on host %d: exit %d\nstdout:\n%s\nstderr:\n%s", i, r.ExitCode, r.Stdout, r.Stderr)
		}
		// Memory stays bounded: unacked, early and unexpected packets are
		// bounded by the protocol windows, whatever the losses.
		m := regexp.MustCompile(`stress: maxrss (\d+) kB`).FindStringSubmatch(r.Stdout)
		if m == nil {
			t.Fatalf("stress on host %d printed no maxrss:\n%s", i, r.Stdout)
		}
		if kb, _ := strconv.Atoi(m[1]); kb > 256*1024 {
			t.Errorf("stress on host %d peaked at %d kB", i, kb)
		}
	}
	return [2]string{ares.Stderr, res.Stderr}
}

// TestNetStress: 8 messages outstanding each way, every size class,
// checksummed, both hosts at once.
func TestNetStress(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 2, MTU: 9000})
	netStress(t, n, nil, "-n", "400", "-s", "3")
}

// TestNetFaults: through the fault bridge at 1 %, 10 % and 30 % drop with
// 5 % duplication and reordering, every message arrives exactly once, in
// order and intact (the stress program checks it), and the counters show
// the retransmissions.
func TestNetFaults(t *testing.T) {
	for _, drop := range []float64{0.01, 0.10, 0.30} {
		t.Run(fmt.Sprint(drop), func(t *testing.T) {
			n := nettest.New(t, nettest.Options{Hosts: 2, MTU: 9000,
				Bridge: &nettest.BridgeConfig{Drop: drop, Duplicate: 0.05, Reorder: 0.05, Seed: 11}})
			msgs := 300
			if drop >= 0.3 {
				msgs = 120
			}
			errs := netStress(t, n, nil, "-n", strconv.Itoa(msgs), "-s", "5", "-M", "300000")
			st, err := n.Bridge().Stats()
			if err != nil {
				t.Fatal(err)
			}
			if st.AToB.Dropped+st.BToA.Dropped == 0 || st.AToB.Duplicated+st.BToA.Duplicated == 0 {
				t.Fatalf("the bridge injected no faults: %+v", st)
			}
			resends := testlib.Counter(errs[0], "Resends") + testlib.Counter(errs[1], "Resends")
			if resends == 0 {
				t.Errorf("no retransmission counted although the bridge dropped frames:\n%s\n%s", errs[0], errs[1])
			}
			t.Logf("bridge %+v; resends %d", st, resends)
		})
	}
}

// TestNetPeerRestart: the receiving process is killed mid-stream and
// started again. The sender's pending requests end with a documented
// status, it connects again, and no message is delivered twice.
func TestNetPeerRestart(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 2, MTU: 9000})
	bin := testlib.CompileTestC(t, "restart")
	a, b := n.Hosts[0], n.Hosts[1]
	recv1 := a.Start(t, nil, bin, "recv", "-d", b.Hostname+":0")
	send := b.Start(t, nil, bin, "send", "-d", a.Hostname+":0", "-n", "600")
	waitFor := func(p *nettest.Proc, s string, d time.Duration) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !strings.Contains(p.Stdout(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q after %v:\n%s\n%s", s, d, p.Stdout(), p.Stderr())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(recv1, "got 100\n", 60*time.Second)
	recv1.Kill()
	recv1.Wait(10 * time.Second)
	recv2 := a.Start(t, nil, bin, "recv", "-d", b.Hostname+":0")
	res := send.Wait(200 * time.Second)
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "done ") {
		t.Fatalf("sender: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	waitFor(recv2, "got ", 10*time.Second)
	seen := map[string]bool{}
	for _, out := range []string{recv1.Stdout(), recv2.Stdout()} {
		if strings.Contains(out, "FAIL") {
			t.Fatalf("receiver: %s", out)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "got ") {
				if seen[l] {
					t.Fatalf("message delivered twice: %q", l)
				}
				seen[l] = true
			}
		}
	}
	documented := map[string]bool{"92": true, "93": true, "33": true} // UNREACHABLE, BAD_SESSION, CLOSED
	failures := 0
	for _, l := range strings.Split(res.Stdout, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "status" {
			failures++
			if !documented[f[2]] {
				t.Errorf("send failed with undocumented status %s", f[2])
			}
		}
	}
	if failures == 0 {
		t.Errorf("no send request failed although the receiver was killed:\n%s", res.Stdout)
	}
	if !strings.Contains(recv2.Stdout(), "got 599\n") {
		waitFor(recv2, "got 599\n", 10*time.Second)
	}
	t.Logf("%d messages received, %d sends failed", len(seen), failures)
}

// TestNetRemoteClosed: the receiver closes its endpoint mid-stream; the
// sender's requests end with OMX_REMOTE_ENDPOINT_CLOSED at once, not after
// the retry budget.
func TestNetRemoteClosed(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 2, MTU: 9000})
	bin := testlib.CompileTestC(t, "restart")
	a, b := n.Hosts[0], n.Hosts[1]
	recv := a.Start(t, nil, bin, "recv", "-d", b.Hostname+":0", "-c", "50")
	start := time.Now()
	res := b.Run(t, 60*time.Second, nil, bin, "send", "-d", a.Hostname+":0", "-n", "100000", "-x")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "stopped") {
		t.Fatalf("sender: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr)
	}
	if r := recv.Wait(10 * time.Second); !strings.Contains(r.Stdout, "closed") {
		t.Fatalf("receiver did not close:\n%s\n%s", r.Stdout, r.Stderr)
	}
	if !regexp.MustCompile(`(?m)^status \d+ 33$`).MatchString(res.Stdout) {
		t.Fatalf("sender did not get OMX_REMOTE_ENDPOINT_CLOSED (33):\n%s", res.Stdout)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("the sender learned it after %v", d)
	}
}
