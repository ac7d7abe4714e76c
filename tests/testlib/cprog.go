package testlib

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// CEnv is the base environment of a C test program run: a private node
// state directory (parallel runs never share endpoint indexes), the
// library's leak report at finalize, and the loopback interface as the only
// board unless the caller chose boards with OMX_IFNAMES.
func CEnv(t testing.TB) []string {
	t.Helper()
	env := []string{"OMX_RUNDIR=" + t.TempDir(), "OMX_DEBUG_LEAKS=1"}
	if os.Getenv("OMX_IFNAMES") == "" {
		env = append(env, "OMX_IFNAMES=lo")
	}
	return env
}

// CompileTestC compiles tests/c/<prog>.c against the built library.
func CompileTestC(t testing.TB, prog string) string {
	t.Helper()
	return CompileC(t, prog, []string{filepath.Join(Root(), "tests", "c", prog+".c")})
}

// counterLine matches the lines OMX_DEBUG_COUNTERS=1 prints when an
// endpoint closes: "<prefix>counter <board>:<index> <label>: <value>".
var counterLine = regexp.MustCompile(`(?m)counter \d+:\d+ (.+): (\d+)$`)

// Counter sums the counter label over the OMX_DEBUG_COUNTERS lines of a C
// program's stderr (every endpoint it closed).
func Counter(stderr, label string) int {
	sum := 0
	for _, m := range counterLine.FindAllStringSubmatch(stderr, -1) {
		if m[1] == label {
			v, _ := strconv.Atoi(m[2])
			sum += v
		}
	}
	return sum
}
