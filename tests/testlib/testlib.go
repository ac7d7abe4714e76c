// Package testlib builds the project's C shared library and compiles and runs
// C programs against it, for the tests under tests/.
//
// The library is built once per test binary with `make lib` at the repository
// root (make keeps it up to date, so the flags are exactly the Makefile's).
// Every helper calls t.Helper and fails the test with the tool's output on
// error; a missing C compiler skips the test with a clear reason, unless
// OMX_TEST_REQUIRE_PRIV=1 (CI), where it fails.
package testlib

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildErr  error
	buildOut  []byte
)

// Root returns the repository root (the directory holding go.mod).
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// IncludeDir is the directory of the public headers.
func IncludeDir() string { return filepath.Join(Root(), "include") }

// LibDir is where `make lib` puts libopen-mx.so.0 and its links.
func LibDir() string { return filepath.Join(Root(), "build", "lib") }

// Required reports whether skips must become failures (CI).
func Required() bool { return os.Getenv("OMX_TEST_REQUIRE_PRIV") == "1" }

// Skip skips the test with reason, or fails it when skips are forbidden.
func Skip(t testing.TB, reason string) {
	t.Helper()
	if Required() {
		t.Fatalf("cannot run (OMX_TEST_REQUIRE_PRIV=1 forbids skipping): %s", reason)
	}
	t.Skip(reason)
}

// NeedCC skips (or fails in CI) when no C compiler is available.
func NeedCC(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath(CC()); err != nil {
		Skip(t, "no C compiler ("+CC()+") in PATH: install gcc")
	}
}

// CC is the C compiler (CC environment variable, default cc).
func CC() string {
	if cc := os.Getenv("CC"); cc != "" {
		return cc
	}
	return "cc"
}

// Lib builds the shared library (once per test binary) and returns LibDir.
func Lib(t testing.TB) string {
	t.Helper()
	NeedCC(t)
	buildOnce.Do(func() {
		cmd := exec.Command("make", "-s", "lib")
		cmd.Dir = Root()
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("make lib: %v\n%s", buildErr, buildOut)
	}
	return LibDir()
}

// CompileC compiles C sources into an executable in t.TempDir() linked
// against the built library (-lmyriexpress, with an rpath to LibDir) and
// returns its path. extra holds additional compiler flags.
func CompileC(t testing.TB, name string, srcs []string, extra ...string) string {
	t.Helper()
	lib := Lib(t)
	out := filepath.Join(t.TempDir(), name)
	args := []string{"-std=gnu99", "-Wall", "-Wextra", "-Werror", "-O2", "-g", "-I", IncludeDir(), "-o", out}
	args = append(args, srcs...)
	args = append(args, extra...)
	args = append(args, "-L", lib, "-Wl,-rpath,"+lib, "-lmyriexpress", "-lpthread")
	cmd := exec.Command(CC(), args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", CC(), strings.Join(args, " "), err, b)
	}
	return out
}

// Result is the outcome of a program run.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// Run runs prog with args and extra environment entries ("K=V"), killing it
// after timeout. It never fails the test for a non-zero exit: callers assert
// on Result. A timeout fails the test.
func Run(t testing.TB, timeout time.Duration, env []string, prog string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := Command(ctx, Isolate(t, env), prog, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v: timed out after %v\nstdout:\n%s\nstderr:\n%s", prog, args, timeout, so.String(), se.String())
	}
	res := Result{Stdout: so.String(), Stderr: se.String()}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			res.ExitCode = ee.ExitCode()
		} else {
			t.Fatalf("%s: %v", prog, err)
		}
	}
	return res
}

// MustRun is Run that fails the test unless the program exits with 0.
func MustRun(t testing.TB, timeout time.Duration, env []string, prog string, args ...string) Result {
	t.Helper()
	r := Run(t, timeout, env, prog, args...)
	if r.ExitCode != 0 {
		t.Fatalf("%s %v: exit %d\nstdout:\n%s\nstderr:\n%s", filepath.Base(prog), args, r.ExitCode, r.Stdout, r.Stderr)
	}
	return r
}
