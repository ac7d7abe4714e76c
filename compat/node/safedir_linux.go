//go:build linux

package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// geteuid is the effective user id the rules are checked for (a hook for
// tests).
var geteuid = os.Geteuid

// maxLinks bounds the symbolic links followed on the way to a directory.
const maxLinks = 40

// CheckDir checks the directory at path itself with lstat: a directory,
// not a symbolic link, owned by this process's effective user or root,
// not writable by group or others. A refusal is an *UnsafeDirError; a
// missing directory an error wrapping fs.ErrNotExist, a file of this user
// or root one wrapping ENOTDIR.
func CheckDir(path string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	return checkOwnDir(path, &st, geteuid())
}

// checkOwnDir applies the rules of a directory of the node state
// directory to st, the lstat of path. Something else than a directory,
// of this user or root, is only a misconfiguration: an error wrapping
// ENOTDIR, not an *UnsafeDirError.
func checkOwnDir(path string, st *unix.Stat_t, uid int) error {
	reason := ""
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		reason = "a symbolic link"
	case st.Uid != 0 && int(st.Uid) != uid:
		reason = fmt.Sprintf("owned by uid %d (neither you, uid %d, nor root)", st.Uid, uid)
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return &fs.PathError{Op: "lstat", Path: path, Err: unix.ENOTDIR}
	case st.Mode&0o022 != 0:
		reason = fmt.Sprintf("writable by group or others (mode %04o)", st.Mode&0o7777)
	default:
		return nil
	}
	return &UnsafeDirError{Path: path, Reason: reason}
}

// checkAncestor applies the rules of a directory leading to the node
// state directory: owned by root or the caller, and writable by group or
// others only when sticky (only the owner of an entry may then rename or
// remove it).
func checkAncestor(path string, st *unix.Stat_t, uid int) error {
	reason := ""
	switch {
	case st.Uid != 0 && int(st.Uid) != uid:
		reason = fmt.Sprintf("on the way to the node state directory, owned by uid %d (neither you, uid %d, nor root)", st.Uid, uid)
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return &fs.PathError{Op: "lstat", Path: path, Err: unix.ENOTDIR}
	case st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0:
		reason = fmt.Sprintf("on the way to the node state directory, writable by group or others and not sticky (mode %04o)", st.Mode&0o7777)
	default:
		return nil
	}
	return &UnsafeDirError{Path: path, Reason: reason}
}

// walkAncestors checks the existing directories of the absolute path dir,
// from / down, with checkAncestor, following symbolic links (each owned by
// root or the caller: it lives in a directory already checked, so nobody
// else can change it). It returns the resolved path of the deepest
// existing directory and the names missing below it.
func walkAncestors(dir string, uid int) (string, []string, error) {
	var st unix.Stat_t
	if err := unix.Lstat("/", &st); err != nil {
		return "", nil, &fs.PathError{Op: "lstat", Path: "/", Err: err}
	}
	if err := checkAncestor("/", &st, uid); err != nil {
		return "", nil, err
	}
	cur := "/"
	pending := strings.Split(dir, "/")
	links := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = filepath.Dir(cur) // cur has no symbolic link
			continue
		}
		next := filepath.Join(cur, c)
		err := unix.Lstat(next, &st)
		if err == unix.ENOENT {
			missing := []string{c}
			for _, m := range pending {
				switch m {
				case "", ".":
				case "..":
					return "", nil, &fs.PathError{Op: "resolve", Path: dir, Err: unix.ENOENT}
				default:
					missing = append(missing, m)
				}
			}
			return cur, missing, nil
		}
		if err != nil {
			return "", nil, &fs.PathError{Op: "lstat", Path: next, Err: err}
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			if st.Uid != 0 && int(st.Uid) != uid {
				return "", nil, &UnsafeDirError{Path: next, Reason: fmt.Sprintf("a symbolic link owned by uid %d (neither you, uid %d, nor root)", st.Uid, uid)}
			}
			if links++; links > maxLinks {
				return "", nil, &fs.PathError{Op: "resolve", Path: dir, Err: unix.ELOOP}
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", nil, err
			}
			if filepath.IsAbs(target) {
				cur = "/"
			}
			pending = append(strings.Split(target, "/"), pending...)
			continue
		}
		if err := checkAncestor(next, &st, uid); err != nil {
			return "", nil, err
		}
		cur = next
	}
	return cur, nil, nil
}

// mkdirOwn creates the directory path with mode perm exactly (the umask
// undone through a descriptor of the new directory, never through its
// name). It reports false, and changes nothing, when path exists.
func mkdirOwn(path string, perm uint32) (bool, error) {
	err := unix.Mkdir(path, perm)
	if err == unix.EEXIST {
		return false, nil
	}
	if err != nil {
		return false, &fs.PathError{Op: "mkdir", Path: path, Err: err}
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if int(st.Uid) != os.Geteuid() {
		return false, &UnsafeDirError{Path: path, Reason: "replaced after it was made"}
	}
	if st.Mode&0o7777 != perm {
		if err := unix.Fchmod(fd, perm); err != nil {
			return false, &fs.PathError{Op: "chmod", Path: path, Err: err}
		}
	}
	return true, nil
}

// MakeDir makes sure path is a directory of the node state directory that
// this process can trust: when missing it is created with mode perm (0700
// or 0755), and so are its missing parents; when present it is checked as
// CheckDir does, and never changed. The directories leading to it are
// checked too (owned by root or the caller, writable by others only when
// sticky). Refusals are *UnsafeDirError naming the directory.
func MakeDir(path string, perm os.FileMode) error {
	if perm&^0o755 != 0 || perm&0o700 != 0o700 {
		return fmt.Errorf("make directory %s: mode %04o not allowed", path, perm)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	uid := geteuid()
	parent, missing, err := walkAncestors(filepath.Dir(abs), uid)
	if err != nil {
		return err
	}
	for _, c := range missing {
		p := filepath.Join(parent, c)
		created, err := mkdirOwn(p, uint32(perm))
		if err != nil {
			return err
		}
		if !created { // made meanwhile by somebody else
			var st unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil {
				return &fs.PathError{Op: "lstat", Path: p, Err: err}
			}
			if err := checkAncestor(p, &st, uid); err != nil {
				return err
			}
		}
		parent = p
	}
	final := filepath.Join(parent, filepath.Base(abs))
	created, err := mkdirOwn(final, uint32(perm))
	if err != nil {
		return err
	}
	if created {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(final, &st); err != nil {
		return &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	return checkOwnDir(path, &st, uid)
}

// runDirPerm is the mode of a run directory this process creates: 0755 for
// root (every user reads the host's registry, counters and peer table),
// 0700 for anybody else (a per-user directory).
func runDirPerm() os.FileMode {
	if geteuid() == 0 {
		return 0o755
	}
	return 0o700
}

// MakeRunDir makes sure runDir can be used by this process as a node
// state directory (MakeDir with 0755 for root, 0700 otherwise).
func MakeRunDir(runDir string) error {
	return MakeDir(runDir, runDirPerm())
}

// CheckRunDir checks an existing node state directory for a reader: the
// directories leading to it and runDir itself, as MakeDir does, without
// creating anything. A missing directory gives an error wrapping
// fs.ErrNotExist.
func CheckRunDir(runDir string) error {
	abs, err := filepath.Abs(runDir)
	if err != nil {
		return err
	}
	if _, missing, err := walkAncestors(filepath.Dir(abs), geteuid()); err != nil {
		return err
	} else if len(missing) > 0 {
		return &fs.PathError{Op: "lstat", Path: runDir, Err: unix.ENOENT}
	}
	return CheckDir(runDir)
}

// MakeSubdir makes sure runDir (MakeRunDir) and its subdirectory name are
// safe directories and returns the path of the latter. A new
// subdirectory gets the permission bits of runDir for the owner, group
// and others' read and search (0755 in root's 0755 run directory, 0700
// in a per-user one), except ShmDir, always 0700.
func MakeSubdir(runDir, name string) (string, error) {
	if err := MakeRunDir(runDir); err != nil {
		return "", err
	}
	var st unix.Stat_t
	if err := unix.Lstat(runDir, &st); err != nil {
		return "", &fs.PathError{Op: "lstat", Path: runDir, Err: err}
	}
	perm := uint32(st.Mode&0o755) | 0o700
	if name == ShmDir {
		perm = 0o700
	}
	dir := filepath.Join(runDir, name)
	created, err := mkdirOwn(dir, perm)
	if err != nil {
		return "", err
	}
	if !created {
		if err := CheckDir(dir); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// CheckSubdir checks an existing subdirectory name of the node state
// directory runDir for a reader (CheckRunDir, then CheckDir) and returns
// its path. A missing one gives an error wrapping fs.ErrNotExist.
func CheckSubdir(runDir, name string) (string, error) {
	if err := CheckRunDir(runDir); err != nil {
		return "", err
	}
	dir := filepath.Join(runDir, name)
	if err := CheckDir(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// UserDir is the per-user subdirectory of uid in the run directory, made
// by the node service (MakeUserDir).
func UserDir(runDir string, uid int) string {
	return filepath.Join(runDir, UsersDir, strconv.Itoa(uid))
}

// MakeUserDir makes, as root (the node service), the per-user directory
// of uid in runDir (runDir and runDir/users 0755, owned by root;
// runDir/users/<uid> 0700, owned by uid) and returns its path. An existing
// per-user directory must already be a directory of uid, not writable by
// group or others: it is never chmod-ed or chown-ed.
func MakeUserDir(runDir string, uid int) (string, error) {
	if geteuid() != 0 {
		return "", fmt.Errorf("make the directory of uid %d in %s: %w", uid, runDir, fs.ErrPermission)
	}
	if _, err := MakeSubdir(runDir, UsersDir); err != nil {
		return "", err
	}
	dir := UserDir(runDir, uid)
	created, err := mkdirOwn(dir, 0o700)
	if err != nil {
		return "", err
	}
	if created {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return "", &fs.PathError{Op: "open", Path: dir, Err: err}
		}
		err = unix.Fchown(fd, uid, -1)
		unix.Close(fd)
		if err != nil {
			unix.Rmdir(dir)
			return "", &fs.PathError{Op: "chown", Path: dir, Err: err}
		}
		return dir, nil
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return "", &fs.PathError{Op: "lstat", Path: dir, Err: err}
	}
	if err := checkOwnDir(dir, &st, uid); err != nil {
		return "", err
	}
	if st.Uid != uint32(uid) {
		return "", &UnsafeDirError{Path: dir, Reason: fmt.Sprintf("owned by uid %d, not by uid %d", st.Uid, uid)}
	}
	return dir, nil
}

// StateDirFor returns the directory in which this process keeps the state
// of the endpoints it opens (registry, counters, shared-memory inboxes),
// for the node state directory runDir and the private per-user directory
// userDir ("" for root):
//
//   - runDir itself for root, for the owner of runDir, and when runDir
//     is not a safe directory (so that its use is refused, naming it);
//   - when runDir is missing: runDir if mayCreate (it is created 0700 at
//     first use), else userDir;
//   - when runDir is a safe directory of root: the per-user directory the
//     node service made (UserDir) if there is one, else userDir.
//
// It only looks (lstat); MakeSubdir checks what it returns at use.
func StateDirFor(runDir, userDir string, mayCreate bool) string {
	uid := geteuid()
	if uid == 0 || userDir == "" {
		return runDir
	}
	var st unix.Stat_t
	err := unix.Lstat(runDir, &st)
	switch {
	case errors.Is(err, unix.ENOENT):
		if mayCreate {
			return runDir
		}
		return userDir
	case err != nil, checkOwnDir(runDir, &st, uid) != nil, int(st.Uid) == uid:
		return runDir
	}
	u := UserDir(runDir, uid)
	if unix.Lstat(u, &st) == nil {
		return u
	}
	return userDir
}
