package compat

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

func TestSameHostPath(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	want := "network path (OMX_DISABLE_SHARED)"
	if os.Geteuid() != 0 || runtime.GOOS != "linux" {
		want = "shared memory with the remote thresholds (OMX_DISABLE_SHARED, but no raw-socket permission for the network path)"
	}
	if got := SameHostPath(Config{DisableShared: true}, env()); got != want {
		t.Errorf("disabled: %q, want %q", got, want)
	}
	if got := SameHostPath(Config{}, env("OMX_SHARED_SINGLE_COPY", "0")); got != "shared memory, large messages in two copies (OMX_SHARED_SINGLE_COPY=0)" {
		t.Errorf("single copy off: %q", got)
	}
	got := SameHostPath(Config{}, env())
	scope, err := os.ReadFile("/proc/sys/kernel/yama/ptrace_scope")
	switch s := strings.TrimSpace(string(scope)); {
	case runtime.GOOS != "linux":
		if !strings.Contains(got, "two copies") {
			t.Errorf("non-Linux: %q", got)
		}
	case err != nil || s == "0":
		// No Yama restriction: the probe on this process must succeed.
		if got != "shared memory, large messages in one copy (process_vm_readv)" {
			t.Errorf("no Yama restriction: %q", got)
		}
	case s == "3":
		if !strings.Contains(got, "two copies (Yama ptrace_scope 3") {
			t.Errorf("Yama 3: %q", got)
		}
	case s == "1":
		if !strings.Contains(got, "one copy (process_vm_readv) (Yama ptrace_scope 1") {
			t.Errorf("Yama 1: %q", got)
		}
	default:
		if !strings.Contains(got, "one copy (process_vm_readv) only ") {
			t.Errorf("Yama %s: %q", s, got)
		}
	}
}
