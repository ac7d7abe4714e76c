package testlib

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// With OMX_DISABLE_SHARED (or MX_DISABLE_SHMEM) and raw-socket rights, the
// library reaches the endpoints of this host through the network, on the
// loopback board the host's lo interface. Parallel test runs would then
// hear each other's frames (their private OMX_RUNDIRs do not separate the
// interface), so such runs get a network namespace of their own: Isolate
// makes one and names it in the environment (OMX_TEST_NETNS), and Run and
// Command start the program inside it.

// NetnsVar names the network namespace Run and Command start programs in.
const NetnsVar = "OMX_TEST_NETNS"

var netnsCount atomic.Int64

// needsNetns reports whether env asks for the network path between the
// endpoints of this host and no namespace was chosen yet.
func needsNetns(env []string) bool {
	if os.Geteuid() != 0 || envValue(env, NetnsVar) != "" {
		return false
	}
	for _, k := range []string{"OMX_DISABLE_SHARED", "MX_DISABLE_SHMEM"} {
		if v := envValue(env, k); v != "" && v != "0" {
			return true
		}
	}
	return false
}

// envValue returns the last value of key in env ("" if absent).
func envValue(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// Isolate returns env, plus a fresh network namespace (its loopback up,
// deleted when the test ends) in OMX_TEST_NETNS when env selects the
// network path to this host's endpoints and the test runs as root. Call
// it once for a group of processes that must talk to each other.
func Isolate(t testing.TB, env []string) []string {
	t.Helper()
	if !needsNetns(env) {
		return env
	}
	name := fmt.Sprintf("omxt%d-%d", os.Getpid(), netnsCount.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s link set lo up: %v\n%s", name, err, out)
	}
	return append(env[:len(env):len(env)], NetnsVar+"="+name)
}

// Command builds the command running prog with env added to this
// process's environment, inside the namespace OMX_TEST_NETNS names if
// any. ctx may be nil.
func Command(ctx context.Context, env []string, prog string, args ...string) *exec.Cmd {
	if ns := envValue(env, NetnsVar); ns != "" {
		args = append([]string{"netns", "exec", ns, prog}, args...)
		prog = "ip"
	}
	var cmd *exec.Cmd
	if ctx != nil {
		cmd = exec.CommandContext(ctx, prog, args...)
	} else {
		cmd = exec.Command(prog, args...)
	}
	cmd.Env = append(os.Environ(), env...)
	return cmd
}
