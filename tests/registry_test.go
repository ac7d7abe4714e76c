package tests

// The endpoint registry across processes (DESIGN.md §4): two processes can
// never hold the same (board, endpoint); OMX_ANY_ENDPOINT takes the first
// free index; a process that dies frees its endpoints without clean-up.

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// regHolder starts a holder that keeps its endpoint open and returns the
// process and the line it printed.
func regHolder(t *testing.T, bin string, env []string, index string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, index, "hold")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	buf := make([]byte, 64)
	n, _ := out.Read(buf)
	return cmd, strings.TrimSpace(string(buf[:n]))
}

func regOpen(t *testing.T, bin string, env []string, index string) string {
	t.Helper()
	return strings.TrimSpace(testlib.MustRun(t, 20*time.Second, env, bin, index).Stdout)
}

func TestRegistryAcrossProcesses(t *testing.T) {
	bin := testlib.CompileTestC(t, "holder")
	env := testlib.CEnv(t) // one run dir shared by every process of the test

	a, line := regHolder(t, bin, env, "0")
	if line != "open 0 0" {
		t.Fatalf("first holder: %q, want \"open 0 0\"", line)
	}
	if got := regOpen(t, bin, env, "0"); got != "open 20 -1" {
		t.Fatalf("second process opening endpoint 0: %q, want \"open 20 -1\" (OMX_BUSY)", got)
	}
	if got := regOpen(t, bin, env, "any"); got != "open 0 1" {
		t.Fatalf("second process opening any endpoint: %q, want \"open 0 1\"", got)
	}
	// A process killed with SIGKILL frees its endpoint.
	a.Process.Kill()
	a.Wait()
	if got := regOpen(t, bin, env, "0"); got != "open 0 0" {
		t.Fatalf("after the holder was killed: %q, want \"open 0 0\"", got)
	}
	// Another run dir is another host: no conflict there.
	other := testlib.CEnv(t)
	_, line = regHolder(t, bin, env, "0")
	if got := regOpen(t, bin, other, "0"); got != "open 0 0" || line != "open 0 0" {
		t.Fatalf("separate run dirs: %q and %q", line, got)
	}
}
