package tests

// The C programs of examples/: every one must compile against include/ and
// the built library (warnings are errors); the ones that need no peer or
// arguments are run.

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// examplesRun lists the examples run after compiling, with the lines their
// stdout must contain. Examples not listed (e.g. omx_perf, which needs a
// peer) are only compiled.
var examplesRun = map[string][]string{
	"mx_walkthrough": {
		"1. library initialized",
		"7. B received 22 bytes \"hello from endpoint A\"",
		"9. mx_ipeek + mx_test_any completed the receive: \"hello\"",
		"10. cancelled a pending receive (result 1)",
		"11. mx_irecv with match bits outside the mask returns \"Bad match mask.\"",
		"12. endpoints closed, library finalized",
	},
}

func TestExamples(t *testing.T) {
	srcs, err := filepath.Glob(filepath.Join(testlib.Root(), "examples", "*.c"))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, src := range srcs {
		name := strings.TrimSuffix(filepath.Base(src), ".c")
		found[name] = true
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bin := testlib.CompileC(t, name, []string{src})
			want, ok := examplesRun[name]
			if !ok {
				return
			}
			res := testlib.MustRun(t, 60*time.Second, testlib.CEnv(t), bin)
			for _, line := range want {
				if !strings.Contains(res.Stdout, line) {
					t.Errorf("stdout lacks %q:\n%s", line, res.Stdout)
				}
			}
			ctestCheckLeaks(t, res.Stderr)
			if rest := strings.TrimSpace(ctestLeakLine.ReplaceAllString(res.Stderr, "")); rest != "" {
				t.Errorf("unexpected stderr:\n%s", rest)
			}
		})
	}
	for name := range examplesRun {
		if !found[name] {
			t.Errorf("examples/%s.c is missing", name)
		}
	}
}
