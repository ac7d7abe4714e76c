package tests

// More processes and larger messages on the same-host path (issue 5 §3):
// four processes all exchanging messages with each other, and omx_perf up
// to 64 MiB with verified data between two processes. No privilege needed.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// moreStressLine is the summary line of tests/c/stress.c.
var moreStressLine = regexp.MustCompile(`(?m)^stress: sent (\d+) received (\d+) bytes (\d+) errors (\d+)$`)

// moreRounds is a round-robin schedule of 4 processes: in each round every
// process talks to one other, and over the rounds every process talks to
// every other exactly once.
var moreRounds = [][][2]int{
	{{0, 1}, {2, 3}},
	{{0, 2}, {1, 3}},
	{{0, 3}, {1, 2}},
}

// moreStressResult checks the output of one stress process: it exited 0,
// sent and received exactly n messages, with no verification error. It
// returns the bytes received.
func moreStressResult(t *testing.T, who string, err error, out, errOut string, n int) uint64 {
	t.Helper()
	m := moreStressLine.FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", who, err, out, errOut)
	}
	sent, _ := strconv.Atoi(m[1])
	recv, _ := strconv.Atoi(m[2])
	bytes, _ := strconv.ParseUint(m[3], 10, 64)
	if sent != n || recv != n || m[4] != "0" {
		t.Fatalf("%s: sent %d received %d errors %s, want %d %d 0\n%s\n%s", who, sent, recv, m[4], n, n, out, errOut)
	}
	return bytes
}

// TestSharedMoreStress4: four processes of one host, every one sending to
// and receiving from every other (tests/c/stress.c talks to one peer per
// process, so the four meet in three rounds of two pairs; the four
// processes of a round run at the same time, and in the last test all
// twelve run at once). stress checks every message exactly once, in order
// per sender, intact, and the final handshake compares what each side sent
// with what its peer received.
func TestSharedMoreStress4(t *testing.T) {
	bin := testlib.CompileTestC(t, "stress")
	const n = 200
	for _, concurrent := range []bool{false, true} {
		name := "rounds"
		if concurrent {
			name = "all-at-once"
		}
		t.Run(name, func(t *testing.T) {
			env := testlib.CEnv(t)
			type proc struct {
				who      string
				wait     func() error
				kill     func() error
				out, err *strings.Builder
			}
			var running []proc
			finish := func() {
				// a hung process is killed (and fails its check)
				procs := running
				kill := time.AfterFunc(150*time.Second, func() {
					for _, p := range procs {
						p.kill()
					}
				})
				defer kill.Stop()
				for _, p := range procs {
					err := p.wait()
					if b := moreStressResult(t, p.who, err, p.out.String(), p.err.String(), n); b == 0 {
						t.Errorf("%s: received 0 bytes", p.who)
					}
				}
				running = nil
			}
			for r, round := range moreRounds {
				for _, pair := range round {
					// endpoint of process k in round r: distinct in
					// every round, so that all rounds can run at once
					ep := func(k int) int { return 1 + 4*r + k }
					for side := 0; side < 2; side++ {
						me, peer := pair[side], pair[1-side]
						seed := fmt.Sprint(100 + 10*r + me) // differs per process and round
						cmd, so, se := sharedStart(t, env, bin, "-d", "localhost",
							"-e", fmt.Sprint(ep(me)), "-r", fmt.Sprint(ep(peer)),
							"-n", fmt.Sprint(n), "-s", seed, "-M", "1048576")
						running = append(running, proc{
							who:  fmt.Sprintf("round %d process %d (endpoint %d, peer %d)", r, me, ep(me), ep(peer)),
							wait: cmd.Wait, kill: cmd.Process.Kill, out: so, err: se,
						})
					}
				}
				if !concurrent {
					finish()
				}
			}
			finish()
		})
	}
}

// TestSharedMorePerf64M: omx_perf between two processes of one host for
// 0 B to 64 MiB, the payloads verified on both sides (-V), few iterations.
func TestSharedMorePerf64M(t *testing.T) {
	res, _ := sharedPerfPair(t, testlib.CEnv(t), 240*time.Second, "-N", "3", "-W", "1", "-P", "0", "-E", "67108865")
	// 0, then every power of two up to 64 MiB, each exactly once, in order
	var got []uint64
	for _, l := range strings.Split(res.Stdout, "\n") {
		if m := netPerfLine.FindStringSubmatch(l); m != nil {
			v, _ := strconv.ParseUint(m[1], 10, 64)
			got = append(got, v)
		}
	}
	want := []uint64{0}
	for s := uint64(1); s <= 64<<20; s *= 2 {
		want = append(want, s)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("result lengths %v, want %v:\n%s", got, want, res.Stdout)
	}
}
