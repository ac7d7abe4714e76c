package tests

// The node state directory shared by several users (issue 10 §2): the three
// attacks found when trying the library as a second user, run for real. As
// root, the test plants the attacker's state as user nobody and runs the
// victim (omx_perf, the C library) as another user or as root, each with a
// private TMPDIR and OMX_RUNDIR. Every attack must be refused with a
// message naming the directory, leave the victim's directories as they
// were, and crash nothing.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

const (
	muAttacker = 65534 // nobody
	muVictim   = 4242  // an ordinary user (no passwd entry needed)
	muRoot     = -1    // run as this process (root)
)

// muHost is a private host: a world-usable base directory holding the
// TMPDIR of every process (sticky, like /tmp), root's node state directory
// (0755, like /run/open-mx with the service) and omx_perf.
type muHost struct {
	base, tmp, runDir, perf string
}

func newMuHost(t *testing.T) *muHost {
	t.Helper()
	if os.Geteuid() != 0 {
		testlib.Skip(t, "needs root to run processes as other users")
	}
	bin := testlib.CompileC(t, "omx_perf", []string{filepath.Join(testlib.Root(), "examples", "omx_perf.c")})
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h := &muHost{base: base, tmp: filepath.Join(base, "tmp"), runDir: filepath.Join(base, "run"), perf: filepath.Join(base, "omx_perf")}
	muMkdir(t, h.tmp, 0o777|os.ModeSticky, 0)
	muMkdir(t, h.runDir, 0o755, 0)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.perf, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return h
}

// muMkdir makes dir with exactly mode, owned by uid.
func muMkdir(t *testing.T, dir string, mode os.FileMode, uid int) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
}

// env is the environment of a process of the host: the loopback board,
// the host's TMPDIR, no XDG_RUNTIME_DIR (as under cron or su), runDir as
// OMX_RUNDIR ("" leaves it unset: /run/open-mx).
func (h *muHost) env(runDir string) []string {
	return []string{"OMX_IFNAMES=lo", "TMPDIR=" + h.tmp, "XDG_RUNTIME_DIR=",
		"OMX_RUNDIR=" + runDir, "OMX_CONFIG=/nonexistent", "OMX_PEERS_FILE=/nonexistent", "OMX_IGNORE_MX_ENV=1"}
}

// muCmd builds the command running prog as uid (muRoot: as this process).
func (h *muHost) cmd(ctx context.Context, uid int, env []string, prog string, args ...string) *exec.Cmd {
	cmd := testlib.Command(ctx, env, prog, args...)
	cmd.Dir = h.base
	if uid >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	return cmd
}

// muResult is how a program ended.
type muResult struct {
	stdout, stderr string
	code           int
	signal         syscall.Signal // non-zero: killed by it
}

func (r muResult) String() string {
	return fmt.Sprintf("exit %d signal %v\nstdout:\n%s\nstderr:\n%s", r.code, r.signal, r.stdout, r.stderr)
}

// run runs prog as uid and waits at most timeout.
func (h *muHost) run(t *testing.T, timeout time.Duration, uid int, env []string, prog string, args ...string) muResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := h.cmd(ctx, uid, env, prog, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v as uid %d: still running after %v (not refused?)\nstdout:\n%s\nstderr:\n%s", filepath.Base(prog), args, uid, timeout, so.String(), se.String())
	}
	r := muResult{stdout: so.String(), stderr: se.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.signal = ws.Signal()
		}
	} else if err != nil {
		t.Fatalf("%s: %v", prog, err)
	}
	return r
}

// start starts prog as uid in the background (killed when the test ends).
func (h *muHost) start(t *testing.T, uid int, env []string, prog string, args ...string) (*exec.Cmd, *strings.Builder, *strings.Builder) {
	t.Helper()
	cmd := h.cmd(nil, uid, env, prog, args...)
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &so, &se
}

// waitFor waits until out contains s.
func waitFor(t *testing.T, out, errOut *strings.Builder, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q:\n%s\n%s", s, out.String(), errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// perfPair runs an omx_perf server and a verifying client as uid with env
// and fails unless both succeed.
func (h *muHost) perfPair(t *testing.T, uid int, env []string) {
	t.Helper()
	srv, sout, serr := h.start(t, uid, env, h.perf, "-V")
	waitFor(t, sout, serr, "Starting receiver...")
	res := h.run(t, 60*time.Second, uid, env, h.perf, "-d", "localhost", "-V", "-N", "5", "-W", "1", "-P", "0", "-E", "70000")
	if res.code != 0 || res.signal != 0 || strings.Count(res.stdout, "length ") != 18 {
		t.Fatalf("client as uid %d: %v\nserver:\n%s\n%s", uid, res, sout.String(), serr.String())
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("server as uid %d: %v\n%s\n%s", uid, err, sout.String(), serr.String())
	}
}

// wantRefused checks that a victim run was refused, naming path, without
// a crash.
func wantRefused(t *testing.T, r muResult, path string) {
	t.Helper()
	t.Logf("refused: %s", strings.TrimSpace(r.stderr))
	if r.signal != 0 {
		t.Fatalf("the victim died of %v:\n%v", r.signal, r)
	}
	if r.code == 0 || !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "refused") {
		t.Fatalf("not refused naming %s:\n%v", path, r)
	}
	if strings.Contains(r.stdout, "Successfully open") {
		t.Fatalf("an endpoint was opened:\n%v", r)
	}
}

// muSnapshot lists every path under dir with its type, mode and owner.
func muSnapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %o uid %d\n", p, st.Mode, st.Uid)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// muStat is the mode (type and permission bits) and owner of path.
func muStat(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Mode, st.Uid
}

// TestMultiuserPlantedPrivateDir is the first attack: a user without
// XDG_RUNTIME_DIR keeps its endpoints in /tmp/open-mx-<uid> (here in the
// host's TMPDIR); another user made that directory first, with shm a link
// to the victim's home, so that the library's chmod of shm made the home
// world-writable. Now the victim refuses the directory, naming it, and
// the home keeps its mode; once the planted directory is gone, the
// victim's own one is made 0700 and two of its processes talk through it.
func TestMultiuserPlantedPrivateDir(t *testing.T) {
	h := newMuHost(t)
	home := filepath.Join(h.base, "home-victim")
	muMkdir(t, home, 0o755, muVictim)
	private := filepath.Join(h.tmp, fmt.Sprintf("open-mx-%d", muVictim))

	for _, tc := range []struct {
		name   string
		runDir string // "" : the default /run/open-mx
		plant  func(t *testing.T)
	}{
		{"shm linked to the home", h.runDir, func(t *testing.T) {
			muMkdir(t, private, 0o777, muAttacker)
			if err := os.Symlink(home, filepath.Join(private, "shm")); err != nil {
				t.Fatal(err)
			}
			os.Lchown(filepath.Join(private, "shm"), muAttacker, muAttacker)
		}},
		{"the directory a link to the home", h.runDir, func(t *testing.T) {
			if err := os.Symlink(home, private); err != nil {
				t.Fatal(err)
			}
			os.Lchown(private, muAttacker, muAttacker)
		}},
		{"private to the attacker", h.runDir, func(t *testing.T) { muMkdir(t, private, 0o700, muAttacker) }},
		{"default run dir", "", func(t *testing.T) {
			muMkdir(t, private, 0o777, muAttacker)
			if err := os.Symlink(home, filepath.Join(private, "shm")); err != nil {
				t.Fatal(err)
			}
			os.Lchown(filepath.Join(private, "shm"), muAttacker, muAttacker)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.runDir == "" {
				// The victim uses /run/open-mx: only when it is absent
				// or root's (as the service makes it), without a
				// per-user directory for the victim.
				if mode, uid := muStatMaybe("/run/open-mx"); mode != 0 && (uid != 0 || mode&0o022 != 0 || mode&syscall.S_IFMT != syscall.S_IFDIR) {
					t.Skip("/run/open-mx is not a directory of root that only root writes")
				}
				if mode, _ := muStatMaybe(fmt.Sprintf("/run/open-mx/users/%d", muVictim)); mode != 0 {
					t.Skip("/run/open-mx has a per-user directory for the victim")
				}
			}
			os.RemoveAll(private)
			tc.plant(t)
			before := muSnapshot(t, h.base)
			res := h.run(t, 20*time.Second, muVictim, h.env(tc.runDir), h.perf, "-V")
			wantRefused(t, res, private)
			if after := muSnapshot(t, h.base); after != before {
				t.Errorf("directories changed:\n%s\nwant\n%s", after, before)
			}
			if mode, uid := muStat(t, home); mode&0o7777 != 0o755 || uid != muVictim {
				t.Errorf("victim's home: mode %o uid %d", mode, uid)
			}
		})
	}

	t.Run("without the planted directory", func(t *testing.T) {
		os.RemoveAll(private)
		h.perfPair(t, muVictim, h.env(h.runDir))
		mode, uid := muStat(t, private)
		if mode&0o7777 != 0o700 || uid != muVictim {
			t.Errorf("%s: mode %o uid %d, want 0700 and the victim's", private, mode&0o7777, uid)
		}
		// Its run-<hash> subdirectory (the host's OMX_RUNDIR is not the
		// default) and everything in it: the victim's, never writable by
		// others.
		err := filepath.WalkDir(private, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			mode, uid := muStat(t, p)
			if uid != muVictim || mode&0o022 != 0 {
				t.Errorf("%s: mode %o uid %d", p, mode, uid)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if ents, _ := os.ReadDir(h.runDir); len(ents) != 0 {
			t.Errorf("the victim wrote into root's run directory: %v", ents)
		}
	})
}

// muStatMaybe is muStat for a path that may be missing (mode 0).
func muStatMaybe(path string) (uint32, uint32) {
	var st syscall.Stat_t
	if syscall.Lstat(path, &st) != nil {
		return 0, 0
	}
	return st.Mode, st.Uid
}

// TestMultiuserCounterTruncation is the second attack: in a world-writable
// run directory the counter and slot files were 0666, and another user
// truncated a mapped counter file under the victim (SIGBUS). Now a run
// directory others may write is refused (naming it, left unchanged); in
// the victim's own directory the files are 0644 in a 0700 directory, the
// attacker can neither truncate nor reach them, and the victim completes
// its run; and a counter file its owner truncates does not crash root's
// omx_counters, which refuses another user's directory anyway.
func TestMultiuserCounterTruncation(t *testing.T) {
	h := newMuHost(t)

	t.Run("world-writable run dir", func(t *testing.T) {
		shared := filepath.Join(h.base, "shared")
		muMkdir(t, shared, 0o777|os.ModeSticky, 0)
		// What the attacker could plant there before: a 0666 counters
		// directory of its own.
		res := h.run(t, 20*time.Second, muAttacker, nil, "/bin/mkdir", "-m", "0777", filepath.Join(shared, "counters"))
		if res.code != 0 {
			t.Fatalf("mkdir as the attacker: %v", res)
		}
		before := muSnapshot(t, shared)
		for _, uid := range []int{muVictim, muRoot} {
			res := h.run(t, 20*time.Second, uid, h.env(shared), h.perf, "-V")
			wantRefused(t, res, shared)
		}
		if after := muSnapshot(t, shared); after != before {
			t.Errorf("directories changed:\n%s\nwant\n%s", after, before)
		}
	})

	t.Run("victim's own directory", func(t *testing.T) {
		own := filepath.Join(h.base, "victim-run")
		muMkdir(t, own, 0o755, muVictim) // readable by others, as for omx_counters
		env := h.env(own)
		srv, sout, serr := h.start(t, muVictim, env, h.perf, "-V")
		waitFor(t, sout, serr, "Starting receiver...")
		counters := filepath.Join(own, "counters")
		ents, err := os.ReadDir(counters)
		if err != nil || len(ents) == 0 {
			t.Fatalf("counters of the victim: %v %v", ents, err)
		}
		for _, e := range ents {
			p := filepath.Join(counters, e.Name())
			if mode, uid := muStat(t, p); mode&0o7777 != 0o644 || uid != muVictim {
				t.Errorf("%s: mode %o uid %d, want 0644 and the victim's", p, mode&0o7777, uid)
			}
			for _, args := range [][]string{{"/usr/bin/truncate", "-s", "0", p}, {"/bin/rm", "-f", p}} {
				if res := h.run(t, 10*time.Second, muAttacker, nil, args[0], args[1:]...); res.code == 0 {
					t.Errorf("the attacker could run %v", args)
				}
			}
		}
		for _, d := range []string{counters, filepath.Join(own, "endpoints"), filepath.Join(own, "shm")} {
			if mode, uid := muStat(t, d); mode&0o022 != 0 || uid != muVictim {
				t.Errorf("%s: mode %o uid %d", d, mode&0o7777, uid)
			}
			if res := h.run(t, 10*time.Second, muAttacker, nil, "/usr/bin/touch", filepath.Join(d, "planted")); res.code == 0 {
				t.Errorf("the attacker created a file in %s", d)
			}
		}
		res := h.run(t, 60*time.Second, muVictim, env, h.perf, "-d", "localhost", "-V", "-N", "5", "-W", "1", "-P", "0", "-E", "70000")
		if res.code != 0 || res.signal != 0 {
			t.Fatalf("client: %v\nserver:\n%s\n%s", res, sout.String(), serr.String())
		}
		if err := srv.Wait(); err != nil {
			t.Fatalf("server (the victim): %v\n%s\n%s", err, sout.String(), serr.String())
		}
	})

	t.Run("root reading a truncated file", func(t *testing.T) {
		// The attacker's own directory with a counter file it keeps
		// truncating: root's omx_counters refuses the directory of
		// another user, and does not crash.
		theirs := filepath.Join(h.base, "attacker-run")
		muMkdir(t, theirs, 0o755, muAttacker)
		muMkdir(t, filepath.Join(theirs, "counters"), 0o755, muAttacker)
		file := filepath.Join(theirs, "counters", "lo.0")
		if err := os.WriteFile(file, []byte("OMXC"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chown(file, muAttacker, muAttacker)
		tool := filepath.Join(h.base, "omx_counters")
		if out, err := exec.Command("go", "build", "-o", tool, filepath.Join(testlib.Root(), "tools", "omx_counters")).CombinedOutput(); err != nil {
			t.Fatalf("go build omx_counters: %v\n%s", err, out)
		}
		res := h.run(t, 30*time.Second, muRoot, h.env(theirs), tool, "-v")
		wantRefused(t, res, theirs)
	})
}

// TestMultiuserShmSquat is the third attack: RUNDIR/shm was made 01777
// inside root's 0755 run directory, so an unprivileged user created root's
// endpoint inbox first: root's endpoint lost its same-host path, its
// client hung, and the squatter read its CONNECT frames. Now shm is 0700
// (root's processes only meet root's), a user's endpoint 0 lives in the
// user's own directory, and root's pair completes; a shm directory left
// world-writable is refused, naming it, and not changed.
func TestMultiuserShmSquat(t *testing.T) {
	h := newMuHost(t)
	env := h.env(h.runDir)

	// The squatter opens endpoint 0 of the same board first.
	sq, sqOut, sqErr := h.start(t, muAttacker, env, h.perf, "-V")
	waitFor(t, sqOut, sqErr, "Starting receiver...")
	// Root's server and client on endpoint 0 of root's run directory.
	h.perfPair(t, muRoot, env)
	if sq.ProcessState != nil || strings.Contains(sqOut.String(), "length") {
		t.Errorf("the squatter took part:\n%s\n%s", sqOut.String(), sqErr.String())
	}
	shm := filepath.Join(h.runDir, "shm")
	if mode, uid := muStat(t, shm); mode&0o7777 != 0o700 || uid != 0 {
		t.Errorf("%s: mode %o uid %d, want 0700 and root's", shm, mode&0o7777, uid)
	}
	err := filepath.WalkDir(h.runDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if mode, uid := muStat(t, p); uid != 0 || mode&0o022 != 0 {
			t.Errorf("%s: mode %o uid %d in root's run directory", p, mode, uid)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The squatter's inbox is in its own private directory.
	own := filepath.Join(h.tmp, fmt.Sprintf("open-mx-%d", muAttacker))
	if mode, uid := muStat(t, own); mode&0o7777 != 0o700 || uid != muAttacker {
		t.Errorf("%s: mode %o uid %d", own, mode&0o7777, uid)
	}
	for _, p := range []string{filepath.Join(shm, "planted"), filepath.Join(h.runDir, "planted")} {
		if res := h.run(t, 10*time.Second, muAttacker, nil, "/usr/bin/touch", p); res.code == 0 {
			t.Errorf("the attacker created %s", p)
		}
	}

	t.Run("world-writable shm left behind", func(t *testing.T) {
		run := filepath.Join(h.base, "oldrun")
		muMkdir(t, run, 0o755, 0)
		old := filepath.Join(run, "shm")
		muMkdir(t, old, 0o777|os.ModeSticky, 0)
		res := h.run(t, 20*time.Second, muRoot, h.env(run), h.perf, "-V")
		wantRefused(t, res, old)
		// Only endpoints and counters may have been made (0755) before shm
		// was refused; shm itself keeps its mode.
		if mode, _ := muStat(t, old); mode&0o7777 != 0o1777 {
			t.Errorf("%s: mode %o, want 1777 (never chmod-ed)", old, mode&0o7777)
		}
		if ents, _ := os.ReadDir(old); len(ents) != 0 {
			t.Errorf("%d files in the refused shm directory", len(ents))
		}
	})
}
