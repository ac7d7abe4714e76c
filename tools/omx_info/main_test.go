package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo/nodeinfotest"
)

// The version header: "Open-MX version <v>", " build: <user>@<host>:<dir> <date>", "".
var header = regexp.MustCompile(`^Open-MX version 1\.5\.4\.90\n build: \S+@\S+:\S+ .+\n\n`)

func TestInfoLoopback(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_info")
	h := nodeinfotest.NewHost(t)
	r := h.Run(t, bin)
	if r.ExitCode != 0 || r.Stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	loc := header.FindStringIndex(r.Stdout)
	if loc == nil {
		t.Fatalf("no version header in:\n%s", r.Stdout)
	}
	const body = "Found 1 boards (32 max) supporting 32 endpoints each:\n" +
		" localhost (board #0 name lo addr 00:00:00:00:00:00)\n" +
		"Same-host communication: <path>\n" +
		"Network path of this process: <path>\n" +
		"\n" +
		"Peer table is not configured yet\n" +
		"================================================\n" +
		"  0) 00:00:00:00:00:00 localhost\n"
	// The same-host line depends on the kernel's ptrace policy.
	got := sameHost.ReplaceAllString(r.Stdout[loc[1]:], "Same-host communication: <path>")
	// So does the network path (raw-socket rights, the node service).
	got = regexp.MustCompile(`Network path of this process: (direct|through|none).*`).ReplaceAllString(got, "Network path of this process: <path>")
	if got != body {
		t.Errorf("output after the header:\n%s\nwant:\n%s", got, body)
	}
	// The line the test harness of Open-MX looks for.
	if !regexp.MustCompile(`(?m)^ localhost \(board #0 name lo addr 00:00:00:00:00:00\)`).MatchString(r.Stdout) {
		t.Error("harness regex does not match")
	}
}

var sameHost = regexp.MustCompile(`Same-host communication: shared memory, large messages in (one copy \(process_vm_readv\)[^\n]*|two copies \([^\n]+\))`)

// TestInfoSameHost: the same-host line follows OMX_SHARED_SINGLE_COPY and
// OMX_DISABLE_SHARED.
func TestInfoSameHost(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_info")
	for env, want := range map[string]string{
		"OMX_SHARED_SINGLE_COPY=0": "Same-host communication: shared memory, large messages in two copies (OMX_SHARED_SINGLE_COPY=0)\n",
		"OMX_DISABLE_SHARED=1":     "Same-host communication: network path (OMX_DISABLE_SHARED)\n",
	} {
		h := nodeinfotest.NewHost(t)
		h.Env = append(h.Env, env)
		r := h.Run(t, bin)
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, want) {
			t.Errorf("%s: exit %d, no line %q in:\n%s", env, r.ExitCode, want, r.Stdout)
		}
		if r = h.Run(t, bin, "-q"); strings.Contains(r.Stdout, "Same-host") {
			t.Errorf("%s: quiet mode prints the same-host line:\n%s", env, r.Stdout)
		}
	}
}

func TestInfoQuiet(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_info")
	h := nodeinfotest.NewHost(t)
	const want = "Found 1 boards (32 max) supporting 32 endpoints each:\n" +
		" localhost (board #0 name lo addr 00:00:00:00:00:00)\n"
	for _, args := range [][]string{{"-q"}, {"-v", "-q"}, {"-q", "-b", "0"}, {"-qb0"}} {
		r := h.Run(t, bin, args...)
		if r.ExitCode != 0 || r.Stdout != want || r.Stderr != "" {
			t.Errorf("omx_info %v: exit %d\nstdout:\n%s\nstderr:\n%s\nwant stdout:\n%s", args, r.ExitCode, r.Stdout, r.Stderr, want)
		}
	}
	// A missing board prints nothing; -q -v is verbose again.
	r := h.Run(t, bin, "-q", "-b", "1")
	if r.ExitCode != 0 || r.Stdout != "Found 1 boards (32 max) supporting 32 endpoints each:\n" {
		t.Errorf("-b 1: exit %d, stdout %q", r.ExitCode, r.Stdout)
	}
	r = h.Run(t, bin, "-q", "-v")
	if !header.MatchString(r.Stdout) || !strings.Contains(r.Stdout, "Peer table is not configured yet") {
		t.Errorf("-q -v is not verbose:\n%s", r.Stdout)
	}
}

func TestInfoPeerTable(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_info")
	h := nodeinfotest.NewHost(t)
	// Static file: node1, node2; published table: node2 (renamed), node3
	// without a name yet, and the local board (its own name wins).
	static := "# static\n01:02:03:04:05:06 node1:0\na0:b0:c0:d0:e0:f0 node2:0\n"
	if err := os.WriteFile(h.PeersFile, []byte(static), 0o644); err != nil {
		t.Fatal(err)
	}
	published := []node.Peer{
		{NICID: 0, Hostname: "stale:0"},
		{NICID: 0xa0b0c0d0e0f0, Hostname: "node2-new:0"},
		{NICID: 0x020000000003},
	}
	if err := node.WritePeerTable(h.RunDir, published); err != nil {
		t.Fatal(err)
	}
	if err := nodeinfo.WriteState(h.RunDir, nodeinfo.TableState{Configured: true, Version: 1, Size: 4, MapperID: 0x0200000000aa}); err != nil {
		t.Fatal(err)
	}
	r := h.Run(t, bin)
	const want = "\nPeer table is ready, mapper is 02:00:00:00:00:aa\n" +
		"================================================\n" +
		"  0) 00:00:00:00:00:00 localhost\n" +
		"  1) 01:02:03:04:05:06 node1:0\n" +
		"  2) a0:b0:c0:d0:e0:f0 node2-new:0\n" +
		"  3) 02:00:00:00:00:03 <unknown>\n"
	if r.ExitCode != 0 || !strings.HasSuffix(r.Stdout, want) {
		t.Errorf("exit %d, output:\n%s\nwant it to end with:\n%s", r.ExitCode, r.Stdout, want)
	}
}

func TestInfoTableFull(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_info")
	h := nodeinfotest.NewHost(t)
	const warning = "WARNING: peer table is full, some peers could not be added.\n"
	r := h.Run(t, bin, "-q")
	if strings.Contains(r.Stderr, "full") {
		t.Fatalf("warning without a full table: %q", r.Stderr)
	}
	// The local board plus 1024 peers do not fit in 1024 entries.
	peers := make([]node.Peer, node.PeerMax)
	for i := range peers {
		peers[i] = node.Peer{NICID: 0x020000000000 + uint64(i) + 1, Hostname: fmt.Sprintf("n%d:0", i)}
	}
	if err := node.WritePeerTable(h.RunDir, peers); err != nil {
		t.Fatal(err)
	}
	r = h.Run(t, bin, "-q")
	if r.ExitCode != 0 || r.Stderr != warning {
		t.Errorf("quiet, table overflowing: exit %d, stderr %q, want %q", r.ExitCode, r.Stderr, warning)
	}
	r = h.Run(t, bin)
	if n := len(regexp.MustCompile(`(?m)^  \d+\) `).FindAllString(r.Stdout, -1)); n != node.PeerMax {
		t.Errorf("verbose lists %d peers, want %d", n, node.PeerMax)
	}
	// The full flag recorded in the state (an add that failed) also warns.
	if err := node.WritePeerTable(h.RunDir, nil); err != nil {
		t.Fatal(err)
	}
	if err := nodeinfo.WriteState(h.RunDir, nodeinfo.TableState{Full: true}); err != nil {
		t.Fatal(err)
	}
	if r = h.Run(t, bin, "-q"); r.Stderr != warning {
		t.Errorf("full flag of the state: stderr %q", r.Stderr)
	}
}

func TestInfoHostnameOverride(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_info")
	h := nodeinfotest.NewHost(t)
	if err := os.WriteFile(filepath.Join(h.RunDir, "hostname.lo"), []byte("renamed:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := h.Run(t, bin)
	if !strings.Contains(r.Stdout, " renamed:0 (board #0 name lo addr 00:00:00:00:00:00)\n") ||
		!strings.HasSuffix(r.Stdout, "  0) 00:00:00:00:00:00 renamed:0\n") {
		t.Errorf("override not shown:\n%s", r.Stdout)
	}
}

func TestInfoOptions(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_info")
	h := nodeinfotest.NewHost(t)
	for _, tc := range []struct {
		args []string
		diag string
	}{
		{[]string{"-h"}, ""},
		{[]string{"--help"}, ""},
		{[]string{"-x"}, "omx_info: invalid option -- 'x'\nUnknown option -?\n"},
		{[]string{"-b"}, "omx_info: option requires an argument -- 'b'\nUnknown option -?\n"},
		{[]string{"--bogus"}, "omx_info: unrecognized option '--bogus'\nUnknown option -?\n"},
	} {
		r := h.Run(t, bin, tc.args...)
		if r.ExitCode != 255 || r.Stdout != "" {
			t.Errorf("%v: exit %d, stdout %q; want 255 and nothing on stdout", tc.args, r.ExitCode, r.Stdout)
		}
		if !strings.HasPrefix(r.Stderr, tc.diag+"Usage: omx_info [options]\n") ||
			!strings.Contains(r.Stderr, " -b <n>\t") || !strings.Contains(r.Stderr, "kernel module") {
			t.Errorf("%v: stderr:\n%s", tc.args, r.Stderr)
		}
	}
}
