package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo/nodeinfotest"
)

func TestHostnameShow(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_hostname")
	h := nodeinfotest.NewHost(t)
	const want = "Board #0 (lo 00:00:00:00:00:00) hostname was localhost\n"
	// -b is taken modulo 256.
	for _, args := range [][]string{nil, {"-b", "0"}, {"-b", "256"}, {"-v"}} {
		r := h.Run(t, bin, args...)
		if r.ExitCode != 0 || r.Stdout != want || r.Stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.ExitCode, r.Stdout, r.Stderr)
		}
	}
	r := h.Run(t, bin, "-b", "3")
	if r.ExitCode != 255 || r.Stdout != "" || r.Stderr != "Cannot find board #3\n" {
		t.Errorf("-b 3: exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
}

func TestHostnameSet(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_hostname")
	info := nodeinfotest.Build(t, "omx_info")
	h := nodeinfotest.NewHost(t)
	r := h.Run(t, bin, "-n", "first:0")
	if r.ExitCode != 0 || r.Stdout != "" || r.Stderr != "" {
		t.Fatalf("-n: exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
	if name, err := compat.ReadBoardHostname(h.RunDir, "lo"); err != nil || name != "first:0" {
		t.Fatalf("override file: %q, %v", name, err)
	}
	r = h.Run(t, bin, "-v", "-n", "second:0")
	const verbose = "Board #0 (lo 00:00:00:00:00:00) hostname was first:0\n" +
		"Changing board #0 (lo 00:00:00:00:00:00) hostname into second:0\n"
	if r.ExitCode != 0 || r.Stdout != verbose {
		t.Errorf("-v -n: exit %d, stdout:\n%s\nwant:\n%s", r.ExitCode, r.Stdout, verbose)
	}
	if r = h.Run(t, info, "-q"); !strings.Contains(r.Stdout, " second:0 (board #0 name lo addr 00:00:00:00:00:00)\n") {
		t.Errorf("omx_info after renaming:\n%s", r.Stdout)
	}
	// Names are cut to 79 characters.
	long := strings.Repeat("x", 100)
	h.Run(t, bin, "-n", long)
	if name, _ := compat.ReadBoardHostname(h.RunDir, "lo"); name != long[:79] {
		t.Errorf("long name stored as %q", name)
	}
	// A name with a blank cannot be stored: error, exit 0, name unchanged.
	r = h.Run(t, bin, "-n", "a b")
	if r.ExitCode != 0 || !strings.HasPrefix(r.Stderr, "Failed to change hostname, ") {
		t.Errorf("bad name: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	if name, _ := compat.ReadBoardHostname(h.RunDir, "lo"); name != long[:79] {
		t.Errorf("bad name changed the stored name into %q", name)
	}
}

func TestHostnameClearPeerNames(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_hostname")
	h := nodeinfotest.NewHost(t)
	peers := []node.Peer{
		{NICID: 0, Hostname: "localhost"}, // the local board keeps its name
		{NICID: 0x010203040506, Hostname: "node1:0"},
		{NICID: 0x020000000002},
		{NICID: 0xa0b0c0d0e0f0, Hostname: "node2:0"},
	}
	if err := node.WritePeerTable(h.RunDir, peers); err != nil {
		t.Fatal(err)
	}
	r := h.Run(t, bin, "-c")
	if r.ExitCode != 0 || r.Stdout != "" || r.Stderr != "" {
		t.Fatalf("-c: exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
	got, _, err := node.ReadPeerTable(h.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	want := []node.Peer{{NICID: 0, Hostname: "localhost"}, {NICID: 0x010203040506}, {NICID: 0x020000000002}, {NICID: 0xa0b0c0d0e0f0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("published table after -c (-want +got):\n%s", diff)
	}
	r = h.Run(t, bin, "-c", "-v")
	if r.Stdout != "Board #0 (lo 00:00:00:00:00:00) hostname was localhost\nClearing peer names\n" {
		t.Errorf("-c -v: %q", r.Stdout)
	}
}

func TestHostnameAccessDenied(t *testing.T) {
	nodeinfotest.NeedRoot(t)
	bin := nodeinfotest.Build(t, "omx_hostname")
	h := nodeinfotest.NewHost(t) // run dir owned by root
	if err := node.WritePeerTable(h.RunDir, []node.Peer{{NICID: 0x010203040506, Hostname: "node1:0"}}); err != nil {
		t.Fatal(err)
	}
	r := h.RunAs(t, nodeinfotest.Nobody, bin)
	if r.ExitCode != 0 || r.Stdout != "Board #0 (lo 00:00:00:00:00:00) hostname was localhost\n" {
		t.Fatalf("showing as nobody: exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
	r = h.RunAs(t, nodeinfotest.Nobody, bin, "-n", "evil:0", "-c")
	const want = "Failed to change hostname, Access denied\nFailed to clear peer names, Access denied\n"
	if r.ExitCode != 0 || r.Stderr != want {
		t.Errorf("as nobody: exit %d, stderr %q, want %q", r.ExitCode, r.Stderr, want)
	}
	if _, err := os.Stat(filepath.Join(h.RunDir, "hostname.lo")); err == nil {
		t.Error("an unprivileged user renamed the board")
	}
	if ps, _, _ := node.ReadPeerTable(h.RunDir); len(ps) != 1 || ps[0].Hostname != "node1:0" {
		t.Errorf("an unprivileged user cleared peer names: %+v", ps)
	}
}

func TestHostnameOptions(t *testing.T) {
	nodeinfotest.CheckOptions(t, nodeinfotest.Build(t, "omx_hostname"), "Usage: omx_hostname [options]", []nodeinfotest.OptionCase{
		{Args: []string{"-h"}, Diag: ""},
		{Args: []string{"--help"}, Diag: ""},
		{Args: []string{"-q"}, Diag: "omx_hostname: invalid option -- 'q'\nUnknown option -?\n"},
		{Args: []string{"-n"}, Diag: "omx_hostname: option requires an argument -- 'n'\nUnknown option -?\n"},
	})
}
