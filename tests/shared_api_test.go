package tests

// The C tests of the library issue with the endpoints in several processes
// of one host (issue 5, point 3): the unexpected handler, cancel and
// forget, the done queue (test_any/wait_any/ipeek/peek) and context ids,
// wakeup of blocked threads, and three senders into one receiver. Every
// process opens its own endpoint of the loopback board (OMX_IFNAMES=lo) in
// a node state directory private to the test; the processes synchronise
// through messages. No privilege is needed.

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// apiTimeout bounds one group of processes.
const apiTimeout = 60 * time.Second

// The summary lines of tests/c/fanin.c.
var (
	apiFanInRecv     = regexp.MustCompile(`(?m)^fanin: received (\d+) messages, (\d+) bytes`)
	apiFanInSent     = regexp.MustCompile(`(?m)^fanin: sender \d+ sent \d+ messages, (\d+) bytes$`)
	apiFanInSwitches = regexp.MustCompile(`(?m)^fanin: the sender changed (\d+) times`)
)

// apiProc is one process of a group: its role name and arguments.
type apiProc struct {
	name string
	args []string
}

// apiResult is what a process of a group did.
type apiResult struct {
	name           string
	err            error
	stdout, stderr string
}

// apiGroup runs the processes of procs at the same time (bin with each
// one's arguments, all with env) and waits for all of them. As soon as one
// fails, or at the timeout, the others are killed (a process may have
// stopped its peer with SIGSTOP). Every process must exit 0, print
// "<marker> <role>: PASS" and report no leak at finalize.
func apiGroup(t *testing.T, bin, marker string, env []string, procs []apiProc) []apiResult {
	t.Helper()
	type done struct {
		i   int
		err error
	}
	cmds := make([]*exec.Cmd, len(procs))
	outs := make([][2]*strings.Builder, len(procs))
	ch := make(chan done, len(procs))
	for i, p := range procs {
		cmd, so, se := sharedStart(t, env, bin, p.args...)
		cmds[i], outs[i] = cmd, [2]*strings.Builder{so, se}
		go func(i int) { ch <- done{i, cmd.Wait()} }(i)
	}
	killAll := func() {
		for _, c := range cmds {
			c.Process.Kill()
		}
	}
	res := make([]apiResult, len(procs))
	timeout := time.NewTimer(apiTimeout)
	defer timeout.Stop()
	timedOut := false
	for n := 0; n < len(procs); n++ {
		select {
		case d := <-ch:
			res[d.i].err = d.err
			if d.err != nil {
				killAll()
			}
		case <-timeout.C:
			timedOut = true
			killAll()
			n--
		}
	}
	var report strings.Builder
	failed := timedOut
	for i, p := range procs {
		res[i].name = p.name
		res[i].stdout, res[i].stderr = outs[i][0].String(), outs[i][1].String()
		fmt.Fprintf(&report, "--- %s %v: %v\nstdout:\n%s\nstderr:\n%s\n", p.name, p.args, res[i].err, res[i].stdout, res[i].stderr)
		if res[i].err != nil || !strings.Contains(res[i].stdout, marker+" "+p.name+": PASS") {
			failed = true
		}
	}
	if timedOut {
		t.Fatalf("%s: timed out after %v\n%s", filepath.Base(bin), apiTimeout, report.String())
	}
	if failed {
		t.Fatalf("%s failed:\n%s", filepath.Base(bin), report.String())
	}
	t.Logf("%s", report.String())
	for _, r := range res {
		ctestCheckLeaks(t, r.stderr)
	}
	return res
}

// TestSharedAPIUnexpHandler: the unexpected handler of one process sees the
// messages of another (FINISHED, CONTINUE with a receive posted inside the
// handler, CONTINUE to the unexpected queue; every size class, isend,
// issend, isendv), and disabled progression holds them back.
func TestSharedAPIUnexpHandler(t *testing.T) {
	bin := testlib.CompileTestC(t, "pair_unexp")
	for _, extra := range [][]string{nil, {"OMX_SHARED_SINGLE_COPY=0"}} {
		t.Run(strings.Join(append([]string{"default"}, extra...), ","), func(t *testing.T) {
			env := append(testlib.CEnv(t), extra...)
			apiGroup(t, bin, "pair_unexp", env, []apiProc{
				{"r", []string{"r", "1", "2"}},
				{"s", []string{"s", "2", "1"}},
			})
		})
	}
}

// TestSharedAPIPairs: two processes, sides a and b, for
//
//   - pair_cancel: cancel and forget with the peer in another process:
//     cancelled receives never complete (the peer's later messages are
//     unexpected), matched receives and sends cannot be cancelled,
//     forgotten requests still move data, and iconnects to a stopped
//     process are cancelled;
//   - pair_any: the done queue through the MX API (ipeek, peek, test_any,
//     wait_any: oldest eligible first, masks, blocking), mx_cancel, and
//     context ids, with the completions caused by another process;
//   - pair_wakeup: threads blocked on an endpoint whose peer is another
//     process are released by omx_wakeup, or by the peer's message (not
//     earlier, and within 2 s), or by the peer answering a connect once it
//     is resumed from SIGSTOP.
func TestSharedAPIPairs(t *testing.T) {
	for _, prog := range []string{"pair_cancel", "pair_any", "pair_wakeup"} {
		t.Run(prog, func(t *testing.T) {
			bin := testlib.CompileTestC(t, prog)
			apiGroup(t, bin, prog, testlib.CEnv(t), []apiProc{
				{"a", []string{"a", "1", "2"}},
				{"b", []string{"b", "2", "1"}},
			})
		})
	}
}

// TestSharedAPIFanIn: three sender processes send at the same time into
// one receiver process (every size class, eager, rendezvous and
// synchronous, verified payloads); the receiver gets every message exactly
// once and, per sender, in sending order. With the single-copy and the
// two-copy large path.
func TestSharedAPIFanIn(t *testing.T) {
	bin := testlib.CompileTestC(t, "fanin")
	const senders, n = 3, 300
	for _, extra := range [][]string{nil, {"OMX_SHARED_SINGLE_COPY=0"}} {
		t.Run(strings.Join(append([]string{"default"}, extra...), ","), func(t *testing.T) {
			env := append(testlib.CEnv(t), extra...)
			procs := []apiProc{{"r", []string{"r", "1", "2", fmt.Sprint(senders), fmt.Sprint(n)}}}
			for i := 0; i < senders; i++ {
				procs = append(procs, apiProc{"s", []string{"s", fmt.Sprint(2 + i), "1", fmt.Sprint(i), fmt.Sprint(n)}})
			}
			res := apiGroup(t, bin, "fanin", env, procs)
			m := apiFanInRecv.FindStringSubmatch(res[0].stdout)
			if m == nil || m[1] != fmt.Sprint(senders*(n+1)) {
				t.Fatalf("receiver: no count of %d messages:\n%s", senders*(n+1), res[0].stdout)
			}
			var sent uint64
			for _, r := range res[1:] {
				s := apiFanInSent.FindStringSubmatch(r.stdout)
				if s == nil {
					t.Fatalf("sender: no byte count:\n%s", r.stdout)
				}
				b, _ := strconv.ParseUint(s[1], 10, 64)
				sent += b
			}
			if got, _ := strconv.ParseUint(m[2], 10, 64); got != sent {
				t.Errorf("receiver got %d bytes, the senders sent %d", got, sent)
			}
			// Concurrent senders interleave: one after the other would
			// change senders only senders-1 times.
			sw := apiFanInSwitches.FindStringSubmatch(res[0].stdout)
			if sw == nil {
				t.Fatalf("receiver: no sender change count:\n%s", res[0].stdout)
			}
			if k, _ := strconv.Atoi(sw[1]); k < senders {
				t.Errorf("the messages of the %d senders were not interleaved (%d changes of sender)", senders, k)
			}
		})
	}
}
