package nodeinfotest

import (
	"strings"
	"testing"
)

// OptionCase is one command line of CheckOptions and the getopt
// diagnostic it must print before "Usage:" ("" for -h and --help).
type OptionCase struct {
	Args []string
	Diag string
}

// CheckOptions runs the tool bin with each case on a private host and
// checks the behaviour of tools.md §0.2: exit 255, nothing on stdout, the
// diagnostic then usageLine on stderr, and the usage saying how the tool
// is adapted without a kernel module.
func CheckOptions(t *testing.T, bin, usageLine string, cases []OptionCase) {
	t.Helper()
	h := NewHost(t)
	for _, tc := range cases {
		r := h.Run(t, bin, tc.Args...)
		if r.ExitCode != 255 || r.Stdout != "" || !strings.HasPrefix(r.Stderr, tc.Diag+usageLine+"\n") ||
			!strings.Contains(r.Stderr, "kernel module") {
			t.Errorf("%v: exit %d, stdout %q\nstderr:\n%s", tc.Args, r.ExitCode, r.Stdout, r.Stderr)
		}
	}
}
