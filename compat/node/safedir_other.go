//go:build !linux

package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// CheckDir checks that path is a directory and not a symbolic link (the
// ownership rules are checked on Linux only).
func CheckDir(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return &UnsafeDirError{Path: path, Reason: "a symbolic link"}
	case !fi.IsDir():
		return &UnsafeDirError{Path: path, Reason: "not a directory"}
	case fi.Mode().Perm()&0o022 != 0:
		return &UnsafeDirError{Path: path, Reason: fmt.Sprintf("writable by group or others (mode %04o)", fi.Mode().Perm())}
	}
	return nil
}

// MakeDir creates path (and its parents) with mode perm when missing, then
// checks it with CheckDir.
func MakeDir(path string, perm os.FileMode) error {
	if err := os.MkdirAll(path, perm); err != nil {
		return err
	}
	return CheckDir(path)
}

// MakeRunDir is MakeDir with mode 0700.
func MakeRunDir(runDir string) error { return MakeDir(runDir, 0o700) }

// CheckRunDir is CheckDir.
func CheckRunDir(runDir string) error { return CheckDir(runDir) }

// MakeSubdir makes runDir and its subdirectory name (0700).
func MakeSubdir(runDir, name string) (string, error) {
	dir := filepath.Join(runDir, name)
	return dir, MakeDir(dir, 0o700)
}

// CheckSubdir checks runDir and its subdirectory name.
func CheckSubdir(runDir, name string) (string, error) {
	dir := filepath.Join(runDir, name)
	if err := CheckRunDir(runDir); err != nil {
		return "", err
	}
	return dir, CheckDir(dir)
}

// UserDir is the per-user subdirectory of uid in the run directory.
func UserDir(runDir string, uid int) string {
	return filepath.Join(runDir, UsersDir, strconv.Itoa(uid))
}

// MakeUserDir is not supported outside Linux.
func MakeUserDir(runDir string, uid int) (string, error) {
	return "", errors.New("per-user directories: not supported on this system")
}

// StateDirFor returns runDir outside Linux.
func StateDirFor(runDir, userDir string, mayCreate bool) string { return runDir }
