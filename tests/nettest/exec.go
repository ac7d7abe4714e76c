package nettest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// Command returns a command running prog inside h's namespace ("ip netns
// exec", which execs prog in place, so the process id is prog's), with
// os.Environ(), then h.Env(), then env (later entries win). A nil ctx means
// context.Background(). Unlike Start and Run, the caller forks it, so it has
// no parent-death signal: if the test binary dies, the process lives on
// until a later test binary's New removes the namespace.
func (h *Host) Command(ctx context.Context, env []string, prog string, args ...string) *exec.Cmd {
	if ctx == nil {
		ctx = context.Background()
	}
	ipBin, err := ip()
	if err != nil {
		ipBin = "ip" // New has checked; let Start report it otherwise
	}
	cmd := exec.CommandContext(ctx, ipBin, append([]string{"netns", "exec", h.Name, prog}, args...)...)
	cmd.Env = append(append(os.Environ(), h.Env()...), env...)
	return cmd
}

// spawner is a goroutine locked to its thread forever: commands started
// there may carry a parent-death signal, which the kernel ties to the
// forking thread, without the risk of that thread going away while the test
// binary lives.
var spawner = sync.OnceValue(func() chan<- func() {
	ch := make(chan func())
	go func() {
		runtime.LockOSThread() // never unlocked: this thread is the spawner's alone
		for f := range ch {
			f()
		}
	}()
	return ch
})

// startKilledWithParent starts cmd with SIGKILL as its parent-death signal.
func startKilledWithParent(cmd *exec.Cmd) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	errc := make(chan error, 1)
	spawner() <- func() { errc <- cmd.Start() }
	return <-errc
}

// Run runs prog in h's namespace like testlib.Run: it kills the program and
// fails t after timeout, and otherwise returns its output and exit code
// without judging them.
func (h *Host) Run(t testing.TB, timeout time.Duration, env []string, prog string, args ...string) testlib.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := h.Command(ctx, env, prog, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := startKilledWithParent(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	if ctx.Err() != nil {
		t.Fatalf("%s: %s %v: timed out after %v\nstdout:\n%s\nstderr:\n%s", h.Name, prog, args, timeout, so.String(), se.String())
	}
	res := testlib.Result{Stdout: so.String(), Stderr: se.String()}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s: %s: %v", h.Name, prog, err)
		}
		res.ExitCode = ee.ExitCode()
	}
	return res
}

// MustRun is Run that fails t unless the program exits with 0.
func (h *Host) MustRun(t testing.TB, timeout time.Duration, env []string, prog string, args ...string) testlib.Result {
	t.Helper()
	r := h.Run(t, timeout, env, prog, args...)
	if r.ExitCode != 0 {
		t.Fatalf("%s: %s %v: exit %d\nstdout:\n%s\nstderr:\n%s", h.Name, filepath.Base(prog), args, r.ExitCode, r.Stdout, r.Stderr)
	}
	return r
}

// Proc is a program running in the background in a host's namespace. Its
// methods are safe for concurrent use.
type Proc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{}
	res    testlib.Result // valid once done is closed
}

// Start starts prog in h's namespace (environment as in Command) and
// returns at once. At cleanup a still-running process is killed and reaped.
// It fails t when the program cannot be started.
func (h *Host) Start(t testing.TB, env []string, prog string, args ...string) *Proc {
	t.Helper()
	p := &Proc{t: t, name: h.Name + ": " + filepath.Base(prog), done: make(chan struct{})}
	p.cmd = h.Command(nil, env, prog, args...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := startKilledWithParent(p.cmd); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	go func() {
		err := p.cmd.Wait()
		p.res = testlib.Result{Stdout: p.stdout.String(), Stderr: p.stderr.String()}
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			p.res.ExitCode = ee.ExitCode() // -1 when killed by a signal
		case err != nil:
			p.res.ExitCode = -1
			p.res.Stderr += "\nnettest: wait: " + err.Error()
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		<-p.done
	})
	return p
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Signal sends sig to the process; it does nothing once the process has
// been reaped.
func (p *Proc) Signal(sig os.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	err := p.cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Kill sends SIGKILL (if still running) and does not wait.
func (p *Proc) Kill() { _ = p.Signal(os.Kill) }

// Wait waits for the process to exit and returns its result. After timeout
// it kills the process and fails the test with the output so far.
func (p *Proc) Wait(timeout time.Duration) testlib.Result {
	p.t.Helper()
	select {
	case <-p.done:
		return p.res
	case <-time.After(timeout):
	}
	p.Kill()
	<-p.done
	p.t.Fatalf("%s: still running after %v (killed)\nstdout:\n%s\nstderr:\n%s", p.name, timeout, p.res.Stdout, p.res.Stderr)
	return p.res
}

// Stdout returns what the process has written to stdout so far.
func (p *Proc) Stdout() string { return p.stdout.String() }

// Stderr returns what the process has written to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
