package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/nettest"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

var counterLine = regexp.MustCompile(`^(\d{3}): +(\d+) (.+)$`)

// parseCounters returns the counters of the block titled by a line
// starting with prefix in omx_counters output.
func parseCounters(t *testing.T, out, prefix string) map[string]uint64 {
	t.Helper()
	for _, blk := range strings.Split(out, "\n\n") {
		lines := strings.Split(blk, "\n")
		if !strings.HasPrefix(lines[0], prefix) {
			continue
		}
		m := make(map[string]uint64)
		for _, l := range lines[2:] {
			if l == "" {
				continue
			}
			f := counterLine.FindStringSubmatch(l)
			if f == nil {
				t.Fatalf("bad counter line %q", l)
			}
			v, _ := strconv.ParseUint(f[2], 10, 64)
			m[f[3]] = v
		}
		return m
	}
	t.Fatalf("no block %q in:\n%s", prefix, out)
	return nil
}

// TestNetPerfCounters: after an omx_perf run between two hosts, each
// host's omx_counters shows the traffic, one host's sends matching the
// other's receives; -c then clears them.
func TestNetPerfCounters(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 2})
	testlib.Lib(t)
	perf := testlib.CompileC(t, "omx_perf", []string{filepath.Join(testlib.Root(), "examples", "omx_perf.c")})
	srv, cli := n.Hosts[0], n.Hosts[1]
	sp := srv.Start(t, nil, perf)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(sp.Stdout(), "Starting receiver...") {
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s\n%s", sp.Stdout(), sp.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// While the server runs, its endpoint file is live.
	live := srv.MustRun(t, 10*time.Second, nil, toolBin, "-v")
	if !strings.Contains(live.Stdout, srv.Hostname+":0 (board #0 name "+srv.IfName+" addr ") {
		t.Fatalf("server board missing:\n%s", live.Stdout)
	}
	const iters, warmup = 50, 2
	res := cli.Run(t, 60*time.Second, nil, perf, "-d", srv.Hostname+":0", "-N", strconv.Itoa(iters), "-W", strconv.Itoa(warmup), "-P", "0", "-E", "65537")
	sres := sp.Wait(30 * time.Second)
	if res.ExitCode != 0 || sres.ExitCode != 0 {
		t.Fatalf("omx_perf client exit %d, server exit %d\n%s\n%s\n%s\n%s", res.ExitCode, sres.ExitCode, res.Stdout, res.Stderr, sres.Stdout, sres.Stderr)
	}
	// Both processes exited: the counts are in the board totals.
	get := func(h *nettest.Host) map[string]uint64 {
		r := h.MustRun(t, 10*time.Second, nil, toolBin)
		if sh := parseCounters(t, r.Stdout, "Shared Communication "); len(sh) != 0 {
			t.Errorf("%s: shared counters after a network run: %v", h.Name, sh)
		}
		return parseCounters(t, r.Stdout, h.Hostname+":0 (board #0 ")
	}
	s, c := get(srv), get(cli)
	t.Logf("server: %v", s)
	t.Logf("client: %v", c)
	// Lengths 0, 1, 2, 4, ..., 65536: the ping-pong sends iters+warmup
	// messages of each length in each direction.
	perLen := uint64(iters + warmup)
	for _, tc := range []struct{ send, recv string }{
		{"Send Tiny", "Recv Tiny"},
		{"Send Small", "Recv Small"},
		{"Send MediumSQ Frag", "Recv Medium Frag"},
		{"Send Rndv", "Recv Rndv"},
		{"Send Pull Request", "Recv Pull Request"},
		{"Send Pull Reply", "Recv Pull Reply"},
		{"Send Notify", "Recv Notify"},
	} {
		for _, dir := range []struct {
			name     string
			from, to map[string]uint64
		}{{"client->server", c, s}, {"server->client", s, c}} {
			sent, got := dir.from[tc.send], dir.to[tc.recv]
			if sent < perLen || got < perLen {
				t.Errorf("%s: %s = %d, %s = %d; want at least %d", dir.name, tc.send, sent, tc.recv, got, perLen)
			}
			// Equal on a clean link, but for the odd retransmission.
			if d := int64(sent) - int64(got); d < -int64(sent)/20-2 || d > int64(sent)/20+2 {
				t.Errorf("%s: %s = %d but %s = %d", dir.name, tc.send, sent, tc.recv, got)
			}
		}
	}
	if c["Send Connect Request"] == 0 || s["Recv Connect Request"] == 0 || s["Send Connect Reply"] == 0 || c["Recv Connect Reply"] == 0 {
		t.Errorf("connect counters: client %v, server %v", c, s)
	}
	// Lengths 0..32 are tiny: at least 7 lengths of them.
	if c["Send Tiny"] < 7*perLen {
		t.Errorf("Send Tiny = %d, want at least %d", c["Send Tiny"], 7*perLen)
	}
	// Clearing: -c shows the values once, then everything is 0.
	r := srv.MustRun(t, 10*time.Second, nil, toolBin, "-c")
	if cleared := parseCounters(t, r.Stdout, srv.Hostname+":0 "); cleared["Recv Tiny"] != s["Recv Tiny"] {
		t.Errorf("-c showed Recv Tiny = %d, want %d", cleared["Recv Tiny"], s["Recv Tiny"])
	}
	after := srv.MustRun(t, 10*time.Second, nil, toolBin)
	if v := parseCounters(t, after.Stdout, srv.Hostname+":0 "); len(v) != 0 {
		t.Errorf("after -c: %v", v)
	}
	if v := get(cli); v["Send Tiny"] != c["Send Tiny"] {
		t.Errorf("clearing the server changed the client: %v", v)
	}
}
