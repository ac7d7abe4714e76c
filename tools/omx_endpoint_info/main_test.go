package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo/nodeinfotest"
)

const boardHeader = "localhost (board #0 name lo addr 00:00:00:00:00:00)\n" +
	"==============================================\n"

func TestEndpointInfoEmpty(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_endpoint_info")
	h := nodeinfotest.NewHost(t)
	const want = boardHeader + "0 regular endpoints open (out of 32)\n\n"
	for _, args := range [][]string{nil, {"-a"}, {"-b", "0"}, {"-b", "5", "-a"}} {
		r := h.Run(t, bin, args...)
		if r.ExitCode != 0 || r.Stdout != want || r.Stderr != "" {
			t.Errorf("%v: exit %d\nstdout:\n%s\nstderr:\n%s\nwant:\n%s", args, r.ExitCode, r.Stdout, r.Stderr, want)
		}
	}
	// A run directory without a registry is not created by the tool.
	h.Env = append(h.Env, "OMX_RUNDIR="+filepath.Join(h.RunDir, "missing"))
	if r := h.Run(t, bin); r.Stdout != want {
		t.Errorf("missing run dir: %q", r.Stdout)
	}
	if _, err := os.Stat(filepath.Join(h.RunDir, "missing")); err == nil {
		t.Error("the tool created the run directory")
	}
}

func TestEndpointInfoVerbose(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_endpoint_info")
	h := nodeinfotest.NewHost(t)
	var b strings.Builder
	b.WriteString(boardHeader + "  raw\tnot open\n")
	for e := 0; e < 32; e++ {
		fmt.Fprintf(&b, "  %d\tnot open\n", e)
	}
	b.WriteString("0 regular endpoints open (out of 32)\n\n")
	r := h.Run(t, bin, "-v")
	if r.ExitCode != 0 || r.Stdout != b.String() {
		t.Errorf("-v: exit %d\n%s\nwant:\n%s", r.ExitCode, r.Stdout, b.String())
	}
}

func TestEndpointInfoMissingBoard(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_endpoint_info")
	h := nodeinfotest.NewHost(t)
	r := h.Run(t, bin, "-b", "5")
	if r.ExitCode != 0 || r.Stdout != "" || r.Stderr != "Failed to read board #5 id, Board Not Found\n" {
		t.Errorf("-b 5: exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
}

// Endpoints claimed by this test process (its command name, cut to 15
// bytes) are listed in index order, the raw one first.
func TestEndpointInfoClaims(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_endpoint_info")
	h := nodeinfotest.NewHost(t)
	reg, err := node.OpenRegistry(h.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	var claims []*node.Claim
	for _, idx := range []uint32{7, node.RawIndex, 0, 31} {
		c, err := reg.Acquire(node.Slot{Board: "lo", Index: idx}, 1)
		if err != nil {
			t.Fatal(err)
		}
		claims = append(claims, c)
	}
	// An endpoint of another board is not listed under lo.
	other, err := reg.Acquire(node.Slot{Board: "eth9", Index: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	cmd := filepath.Base(os.Args[0])
	if len(cmd) > 15 {
		cmd = cmd[:15]
	}
	who := fmt.Sprintf("\topen by pid %d (%s) user %s\n", os.Getpid(), cmd, userName(os.Geteuid()))
	want := boardHeader + "  raw" + who + "  0" + who + "  7" + who + "  31" + who +
		"3 regular endpoints open (out of 32)\n\n"
	if r := h.Run(t, bin); r.ExitCode != 0 || r.Stdout != want {
		t.Errorf("exit %d\n%s\nwant:\n%s", r.ExitCode, r.Stdout, want)
	}
	r := h.Run(t, bin, "-v")
	if !strings.Contains(r.Stdout, "  6\tnot open\n  7"+who+"  8\tnot open\n") || !strings.Contains(r.Stdout, "  raw"+who) {
		t.Errorf("-v:\n%s", r.Stdout)
	}
	for _, c := range claims {
		c.Release()
	}
	if r := h.Run(t, bin); !strings.HasSuffix(r.Stdout, "0 regular endpoints open (out of 32)\n\n") {
		t.Errorf("after release:\n%s", r.Stdout)
	}
}

// An endpoint held by a C program in another process is listed with the
// program's pid and command; once the program is killed it is gone.
func TestEndpointInfoOtherProcess(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_endpoint_info")
	holder := testlib.CompileTestC(t, "holder")
	h := nodeinfotest.NewHost(t)
	cmd := exec.Command(holder, "0", "hold")
	cmd.Env = append(os.Environ(), h.Env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "open 0 0\n" {
		t.Fatalf("holder: %q, %v; want \"open 0 0\"", line, err)
	}
	want := boardHeader + fmt.Sprintf("  0\topen by pid %d (holder) user %s\n", cmd.Process.Pid, userName(os.Geteuid())) +
		"1 regular endpoints open (out of 32)\n\n"
	if r := h.Run(t, bin); r.ExitCode != 0 || r.Stdout != want {
		t.Fatalf("with the holder running: exit %d\n%s\nwant:\n%s", r.ExitCode, r.Stdout, want)
	}
	cmd.Process.Kill()
	cmd.Wait()
	const gone = boardHeader + "0 regular endpoints open (out of 32)\n\n"
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := h.Run(t, bin)
		if r.Stdout == gone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the holder was killed:\n%s\nwant:\n%s", r.Stdout, gone)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEndpointInfoOptions(t *testing.T) {
	nodeinfotest.CheckOptions(t, nodeinfotest.Build(t, "omx_endpoint_info"), "Usage: omx_endpoint_info [options]", []nodeinfotest.OptionCase{
		{Args: []string{"-h"}, Diag: ""},
		{Args: []string{"--help"}, Diag: ""},
		{Args: []string{"-q"}, Diag: "omx_endpoint_info: invalid option -- 'q'\nUnknown option -?\n"},
		{Args: []string{"-b"}, Diag: "omx_endpoint_info: option requires an argument -- 'b'\nUnknown option -?\n"},
	})
}
