package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo/nodeinfotest"

	"github.com/open-mx-go/open-mx-go/compat/node"
)

func buildTool(t *testing.T) string { return nodeinfotest.Build(t, "omx_init") }

func runTool(t *testing.T, bin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	r := testlib.Run(t, time.Minute, env, bin, args...)
	return r.Stdout, r.Stderr, r.ExitCode
}

func TestUsage(t *testing.T) {
	bin := buildTool(t)
	env := []string{"OMX_CONFIG=/nonexistent", "OMX_RUNDIR=" + t.TempDir()}
	so, _, code := runTool(t, bin, env)
	if code != 1 || !strings.Contains(so, "[options] <command>") || !strings.Contains(so, "restart-discovery") {
		t.Errorf("no command: exit %d, stdout %q", code, so)
	}
	so, se, code := runTool(t, bin, env, "frobnicate")
	if code != 1 || se != "[ERROR] Unknown command: frobnicate\n" || !strings.HasPrefix(so, "Usage: ") {
		t.Errorf("unknown command: exit %d, %q %q", code, so, se)
	}
	_, se, code = runTool(t, bin, env, "--bogus", "start")
	if code != 1 || !strings.Contains(se, "Unknown option: --bogus") {
		t.Errorf("bad option: exit %d, %q", code, se)
	}
	so, _, code = runTool(t, bin, env, "--help")
	if code != 0 || !strings.Contains(so, "user space") {
		t.Errorf("--help: exit %d, %q", code, so)
	}
}

func TestStaticStartStatusStop(t *testing.T) {
	bin := buildTool(t)
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	peers := filepath.Join(dir, "peers")
	if err := os.WriteFile(peers, []byte("# test\n02:00:00:00:00:0b nodeb:0\n02:00:00:00:00:0c nodec:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "open-mx.conf")
	if err := os.WriteFile(conf, []byte("OMX_PEER_DISCOVERY=static\nOMX_IFACES=lo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"OMX_CONFIG=" + conf, "OMX_RUNDIR=" + run, "OMX_PEERS_FILE=" + peers, "OMX_IFNAMES=", "PATH=/nonexistent"}

	so, _, code := runTool(t, bin, env, "status")
	if code != 0 || so != "Open-MX user-space stack is not started\n" {
		t.Errorf("status before start: exit %d, %q", code, so)
	}
	so, se, code := runTool(t, bin, env, "start")
	if code != 0 {
		t.Fatalf("start: exit %d\n%s\n%s", code, so, se)
	}
	for _, want := range []string{
		"Starting the Open-MX user-space stack (ifnames=lo, node state directory " + run + ")\n",
		" Board #0: lo (loopback board",
		"Initializing peers using file '" + peers + "'\n",
		"Published 3 peers",
	} {
		if !strings.Contains(so, want) {
			t.Errorf("start output lacks %q:\n%s", want, so)
		}
	}
	got, _, err := node.ReadPeerTable(run)
	if err != nil {
		t.Fatal(err)
	}
	want := []node.Peer{{NICID: 0, Hostname: "localhost"}, {NICID: 0x02000000000b, Hostname: "nodeb:0"}, {NICID: 0x02000000000c, Hostname: "nodec:0"}}
	if len(got) != len(want) {
		t.Fatalf("published table %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("published peer %d = %v, want %v", i, got[i], want[i])
		}
	}
	so, _, _ = runTool(t, bin, env, "status")
	for _, want := range []string{"Open-MX user-space stack is started\n", "Open-MX 1.5.4.90\n", " Configured for 32 endpoints on 32 interfaces with 1024 peers\n", " Interfaces: lo\n", " Discovery: not running\n"} {
		if !strings.Contains(so, want) {
			t.Errorf("status lacks %q:\n%s", want, so)
		}
	}
	so, se, code = runTool(t, bin, env, "stop")
	if code != 0 || !strings.Contains(so, "Stopping the Open-MX user-space stack") || !strings.Contains(se, "Cannot find dynamic peer discovery to kill") {
		t.Errorf("stop: exit %d, %q %q", code, so, se)
	}
	so, _, _ = runTool(t, bin, env, "status")
	if so != "Open-MX user-space stack is not started\n" {
		t.Errorf("status after stop: %q", so)
	}

	// A missing peers file is reported, not fatal.
	env[2] = "OMX_PEERS_FILE=" + filepath.Join(dir, "missing")
	so, _, code = runTool(t, bin, env, "start-discovery")
	if code != 0 || !strings.Contains(so, "does not exist, remember to run omx_peers_init") {
		t.Errorf("missing peers file: exit %d, %q", code, so)
	}
	// The dynamic discovery program must exist.
	_, se, code = runTool(t, bin, env, "--dynamic-peers=/nonexistent/omxoed", "start-discovery")
	if code != 1 || !strings.Contains(se, "[ERROR] Cannot find dynamic peer discovery to start (/nonexistent/omxoed)") {
		t.Errorf("missing discovery program: exit %d, %q", code, se)
	}
}
