package tests

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// TestSharedZombieHolder: the holder of endpoint 0 is killed and not
// reaped (a zombie, as when an MPI launcher is slow to wait); two new
// processes then take endpoint 0 and connect to it at once. Before, the
// zombie still counted as the owner of its inbox (kill(pid, 0) succeeds)
// and the connect failed with "Remote Endpoint is Closed" until the zombie
// was reaped.
func TestSharedZombieHolder(t *testing.T) {
	env := perfLoopbackEnv(t)
	holder := testlib.CompileTestC(t, "holder")
	cmd := testlib.Command(nil, env, holder, "0", "hold")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reaped := false
	t.Cleanup(func() {
		if !reaped {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "open 0 0\n" {
		t.Fatalf("holder: %q %v", line, err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	deadline := time.Now().Add(5 * time.Second)
	for !isZombie(cmd.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatal("the killed holder never became a zombie")
		}
		time.Sleep(5 * time.Millisecond)
	}
	res, _ := sharedPerfPair(t, env, 60*time.Second, "-S", "0", "-E", "65537", "-N", "3")
	if !isZombie(cmd.Process.Pid) {
		t.Fatal("the holder was reaped during the test: it proves nothing")
	}
	cmd.Wait()
	reaped = true
	t.Logf("omx_perf beside a zombie holder of endpoint 0: %d lines", strings.Count(res.Stdout, "\n"))
}

// isZombie reports whether pid has exited but is not reaped.
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}
