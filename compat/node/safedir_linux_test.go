//go:build linux

package node

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// asUID makes the rules of this package check for uid instead of the
// effective user id (the files are still created by this process).
func asUID(t *testing.T, uid int) {
	t.Helper()
	old := geteuid
	t.Cleanup(func() { geteuid = old })
	geteuid = func() int { return uid }
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to make files of another user")
	}
}

func wantUnsafe(t *testing.T, err error, path, reason string) {
	t.Helper()
	var ue *UnsafeDirError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnsafeDir) {
		t.Fatalf("err = %v, want an UnsafeDirError for %s", err, path)
	}
	if ue.Path != path || !strings.Contains(ue.Reason, reason) {
		t.Fatalf("refused %s (%s), want %s (%s)", ue.Path, ue.Reason, path, reason)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("message %q does not name %s", err, path)
	}
}

func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode()
}

func TestMakeDirModes(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b", "run")
	if err := MakeDir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(base, "a"), filepath.Join(base, "a", "b"), dir} {
		if got := modeOf(t, d); got != os.ModeDir|0o755 {
			t.Errorf("%s: mode %v, want drwxr-xr-x whatever the umask", d, got)
		}
	}
	// Present: checked, not changed.
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := MakeDir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if got := modeOf(t, dir); got != os.ModeDir|0o700 {
		t.Errorf("existing directory changed to %v", got)
	}
	for _, bad := range []os.FileMode{0o777, 0o775, 0o1777, 0o500} {
		if err := MakeDir(filepath.Join(base, "x"), bad); err == nil {
			t.Errorf("MakeDir with mode %04o succeeded", bad)
		}
	}
}

func TestCheckDir(t *testing.T) {
	base := t.TempDir()
	ok := filepath.Join(base, "ok")
	mkdirMode(t, ok, 0o755)
	if err := CheckDir(ok); err != nil {
		t.Errorf("CheckDir(0755 dir of this user): %v", err)
	}
	open := filepath.Join(base, "open")
	mkdirMode(t, open, 0o777|os.ModeSticky)
	wantUnsafe(t, CheckDir(open), open, "writable by group or others (mode 1777)")
	link := filepath.Join(base, "link")
	if err := os.Symlink(ok, link); err != nil {
		t.Fatal(err)
	}
	wantUnsafe(t, CheckDir(link), link, "a symbolic link")
	file := filepath.Join(base, "file")
	os.WriteFile(file, nil, 0o644)
	if err := CheckDir(file); !errors.Is(err, syscall.ENOTDIR) || errors.Is(err, ErrUnsafeDir) {
		t.Errorf("CheckDir(file of this user) = %v, want ENOTDIR", err)
	}
	if err := CheckDir(filepath.Join(base, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CheckDir(missing) = %v, want ErrNotExist", err)
	}
	if err := CheckRunDir(filepath.Join(base, "missing", "run")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CheckRunDir(missing) = %v, want ErrNotExist", err)
	}
	// Another user's directory (the test makes it as root, then checks as
	// uid 1000: a root directory is accepted, one of uid 1001 is not).
	asUID(t, 1000)
	if err := CheckDir(ok); err != nil {
		t.Errorf("CheckDir(root's 0755 dir) as a user: %v", err)
	}
	if os.Geteuid() == 0 {
		other := filepath.Join(base, "other")
		mkdirMode(t, other, 0o700)
		os.Chown(other, 1001, 1001)
		wantUnsafe(t, CheckDir(other), other, "owned by uid 1001 (neither you, uid 1000, nor root)")
		os.Chown(file, 1001, 1001)
		wantUnsafe(t, CheckDir(file), file, "owned by uid 1001")
	}
}

func TestAncestors(t *testing.T) {
	base := t.TempDir()
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	// A sticky world-writable parent (like /tmp) is fine.
	sticky := filepath.Join(base, "tmp")
	mkdirMode(t, sticky, 0o777|os.ModeSticky)
	if err := MakeDir(filepath.Join(sticky, "open-mx-0"), 0o700); err != nil {
		t.Errorf("in a sticky directory: %v", err)
	}
	// A parent writable by others without the sticky bit is not.
	open := filepath.Join(base, "open")
	mkdirMode(t, open, 0o777)
	wantUnsafe(t, MakeDir(filepath.Join(open, "run"), 0o700), open, "not sticky")
	if _, err := os.Lstat(filepath.Join(open, "run")); err == nil {
		t.Error("created a directory under a refused parent")
	}
	// Symbolic links of this user (or root) on the way are followed, and
	// the directories they lead to checked.
	real := filepath.Join(base, "real")
	mkdirMode(t, real, 0o755)
	if err := os.Symlink(real, filepath.Join(base, "via")); err != nil {
		t.Fatal(err)
	}
	if err := MakeDir(filepath.Join(base, "via", "run"), 0o700); err != nil {
		t.Errorf("through a link of this user: %v", err)
	}
	if _, err := os.Stat(filepath.Join(real, "run")); err != nil {
		t.Errorf("not made where the link leads: %v", err)
	}
	if err := os.Symlink(open, filepath.Join(base, "toopen")); err != nil {
		t.Fatal(err)
	}
	wantUnsafe(t, MakeDir(filepath.Join(base, "toopen", "run"), 0o700), open, "not sticky")
	if os.Geteuid() == 0 {
		// A link of another user on the way is refused.
		link := filepath.Join(sticky, "planted")
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(link, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		wantUnsafe(t, MakeDir(filepath.Join(link, "run"), 0o700), link, "a symbolic link owned by uid 65534")
		// A parent of another user too.
		theirs := filepath.Join(sticky, "theirs")
		mkdirMode(t, theirs, 0o755)
		os.Chown(theirs, 65534, 65534)
		wantUnsafe(t, MakeDir(filepath.Join(theirs, "run"), 0o700), theirs, "owned by uid 65534")
	}
}

// TestPlantedPrivateDir is the first attack of the multi-user issue at the
// level of this package: another user makes the private directory of the
// victim first (here /tmp/open-mx-<uid> is <base>/open-mx-1000), with shm
// a link to the victim's home. The victim refuses it, names it, and
// changes nothing: its home keeps its mode.
func TestPlantedPrivateDir(t *testing.T) {
	needRoot(t)
	base := t.TempDir()
	mkdirMode(t, filepath.Join(base, "tmp"), 0o777|os.ModeSticky)
	home := filepath.Join(base, "home")
	mkdirMode(t, home, 0o755)
	os.Chown(home, 1000, 1000)
	planted := filepath.Join(base, "tmp", "open-mx-1000")
	mkdirMode(t, planted, 0o777)
	if err := os.Symlink(home, filepath.Join(planted, ShmDir)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{planted, filepath.Join(planted, ShmDir)} {
		os.Lchown(p, 65534, 65534)
	}
	before := snapshot(t, base)
	asUID(t, 1000)
	userDir := planted
	sd := StateDirFor(filepath.Join(base, "rootrun-missing"), userDir, false)
	if sd != userDir {
		t.Fatalf("StateDirFor = %s, want the private directory %s", sd, userDir)
	}
	_, err := MakeSubdir(sd, ShmDir)
	wantUnsafe(t, err, planted, "owned by uid 65534")
	// The same through a run-<hash> subdirectory of it.
	_, err = MakeSubdir(filepath.Join(planted, "run-1234"), ShmDir)
	wantUnsafe(t, err, planted, "owned by uid 65534")
	// And when the planted thing is a link to the home itself.
	os.Remove(filepath.Join(planted, ShmDir))
	os.Remove(planted)
	if err := os.Symlink(home, planted); err != nil {
		t.Fatal(err)
	}
	os.Lchown(planted, 65534, 65534)
	before = snapshot(t, base)
	_, err = MakeSubdir(planted, ShmDir)
	wantUnsafe(t, err, planted, "a symbolic link")
	if after := snapshot(t, base); after != before {
		t.Errorf("changed:\n%s\nwant\n%s", after, before)
	}
	if got := modeOf(t, home); got != os.ModeDir|0o755 {
		t.Errorf("victim's home mode %v", got)
	}
}

func TestStateDirFor(t *testing.T) {
	needRoot(t)
	base := t.TempDir()
	userDir := filepath.Join(base, "private")
	root := filepath.Join(base, "root") // the service's run dir
	mkdirMode(t, root, 0o755)
	mine := filepath.Join(base, "mine")
	mkdirMode(t, mine, 0o700)
	os.Chown(mine, 1000, 1000)
	open := filepath.Join(base, "open")
	mkdirMode(t, open, 0o777|os.ModeSticky)
	withUser := filepath.Join(base, "withuser")
	mkdirMode(t, withUser, 0o755)
	asUID(t, 1000)
	for _, tc := range []struct {
		name      string
		runDir    string
		mayCreate bool
		want      string
	}{
		{"root's", root, false, userDir},
		{"own", mine, false, mine},
		{"unsafe: refused at use", open, false, open},
		{"missing default", filepath.Join(base, "none"), false, userDir},
		{"missing explicit", filepath.Join(base, "none"), true, filepath.Join(base, "none")},
	} {
		if got := StateDirFor(tc.runDir, userDir, tc.mayCreate); got != tc.want {
			t.Errorf("%s: StateDirFor = %s, want %s", tc.name, got, tc.want)
		}
	}
	geteuid = os.Geteuid
	u, err := MakeUserDir(withUser, 1000)
	if err != nil {
		t.Fatal(err)
	}
	asUID(t, 1000)
	if got := StateDirFor(withUser, userDir, false); got != u || u != filepath.Join(withUser, UsersDir, "1000") {
		t.Errorf("with a per-user directory: %s (made %s)", got, u)
	}
	if _, err := MakeSubdir(u, CountersDir); err != nil {
		t.Errorf("the per-user directory is not usable by its user: %v", err)
	}
	if got := StateDirFor(root, "", false); got != root {
		t.Errorf("without a per-user directory (root): %s", got)
	}
}

func TestMakeUserDir(t *testing.T) {
	needRoot(t)
	run := filepath.Join(t.TempDir(), "run")
	u, err := MakeUserDir(run, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(u, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 1000 || st.Mode&0o7777 != 0o700 {
		t.Errorf("%s: uid %d mode %o, want uid 1000 mode 0700", u, st.Uid, st.Mode&0o7777)
	}
	for _, d := range []string{run, filepath.Join(run, UsersDir)} {
		if got := modeOf(t, d); got != os.ModeDir|0o755 {
			t.Errorf("%s: mode %v, want 0755", d, got)
		}
	}
	if again, err := MakeUserDir(run, 1000); err != nil || again != u {
		t.Errorf("second MakeUserDir: %s, %v", again, err)
	}
	// A wrong one is refused, never repaired.
	os.Chmod(u, 0o777)
	if _, err := MakeUserDir(run, 1000); !errors.Is(err, ErrUnsafeDir) {
		t.Errorf("world-writable per-user dir: %v, want refused", err)
	}
	if got := modeOf(t, u); got != os.ModeDir|0o777 {
		t.Errorf("refused directory changed to %v", got)
	}
	os.Chmod(u, 0o700)
	if _, err := MakeUserDir(run, 1001); err != nil {
		t.Fatal(err)
	}
	os.Chown(UserDir(run, 1001), 1002, 1002)
	if _, err := MakeUserDir(run, 1001); !errors.Is(err, ErrUnsafeDir) {
		t.Errorf("per-user dir of another uid: %v, want refused", err)
	}
	link := UserDir(run, 1003)
	os.Symlink(u, link)
	if _, err := MakeUserDir(run, 1003); !errors.Is(err, ErrUnsafeDir) {
		t.Errorf("per-user dir as a link: %v, want refused", err)
	}
}
