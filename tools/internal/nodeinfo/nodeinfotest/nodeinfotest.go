// Package nodeinfotest builds the node tools and runs them against a
// private node state directory, for the tests of tools/omx_*.
package nodeinfotest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// Build builds tools/<name> into a temporary directory of the test and
// returns the path of the executable. The directory is world-readable, so
// that RunAs can run the tool as another user.
func Build(t testing.TB, name string) string {
	t.Helper()
	dir := openTempDir(t)
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, "./tools/"+name)
	cmd.Dir = testlib.Root()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./tools/%s: %v\n%s", name, err, b)
	}
	return out
}

// openTempDir returns t.TempDir() made accessible to every user (with its
// parent, which the testing package creates 0700).
func openTempDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Host is a private node: a run directory, an empty config file, no static
// peers file and the loopback interface as the only board.
type Host struct {
	RunDir    string
	PeersFile string // OMX_PEERS_FILE (missing unless a test writes it)
	Env       []string
}

// NewHost makes a Host under a world-readable temporary directory.
func NewHost(t testing.TB) *Host {
	t.Helper()
	dir := openTempDir(t)
	h := &Host{RunDir: filepath.Join(dir, "run"), PeersFile: filepath.Join(dir, "static-peers")}
	conf := filepath.Join(dir, "open-mx.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(h.RunDir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.Env = []string{
		"OMX_RUNDIR=" + h.RunDir,
		"OMX_PEERS_FILE=" + h.PeersFile,
		"OMX_CONFIG=" + conf,
		"OMX_IFNAMES=lo",
		"OMX_HOSTNAME=testhost",
		"OMX_IGNORE_MX_ENV=1",
		"OMX_VERBOSE=0",
	}
	return h
}

// Result is the outcome of a tool run.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// Run runs prog with args in the host's environment.
func (h *Host) Run(t testing.TB, prog string, args ...string) Result {
	t.Helper()
	return h.RunAs(t, -1, prog, args...)
}

// RunAs runs prog as user uid (uid < 0: as this process).
func (h *Host) RunAs(t testing.TB, uid int, prog string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = append(os.Environ(), h.Env...)
	if uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v: timed out\nstdout:\n%s\nstderr:\n%s", prog, args, so.String(), se.String())
	}
	res := Result{Stdout: so.String(), Stderr: se.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", prog, err)
		}
		res.ExitCode = ee.ExitCode()
	}
	return res
}

// Nobody is the uid RunAs tests use for an unprivileged user.
const Nobody = 65534

// NeedRoot skips (testlib.Skip) unless the test runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testlib.Skip(t, "needs root to run a tool as another user")
	}
}
