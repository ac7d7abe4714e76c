package node

// Directories of the node state directory that several users share a host
// with (DESIGN.md §4, §9). The rules, enforced by the functions of
// safedir_linux.go that every reader and writer of the run directory goes
// through:
//
//   - No directory the library or the tools use is world- or
//     group-writable, and none is a symbolic link: each is checked with
//     lstat (owned by the caller or by root, no group/other write, a real
//     directory) and refused otherwise, with an error naming it
//     (ErrUnsafeDir). The directories leading to it must be owned by root
//     or the caller too, and may be writable by others only when sticky
//     (like /tmp); a symbolic link among them must belong to root or the
//     caller.
//   - A directory is created 0755 (root's run directory and its endpoints
//     and counters) or 0700 (everything else: a user's run directory, the
//     shared-memory inboxes); the mode is set through a descriptor of the
//     directory just made, to undo the umask. An existing directory is
//     never chmod-ed or chown-ed, whatever its mode.
//   - Files are 0600 or 0644, never 0666.
//
// Which directory a process keeps its own endpoints in (StateDirFor): root
// and the owner of the run directory use the run directory itself; another
// user uses its subdirectory users/<uid> of the run directory, made by the
// node service (MakeUserDir, 0700, owned by the user), or, when there is
// none, a private per-user directory ($XDG_RUNTIME_DIR/open-mx, else
// /tmp/open-mx-<uid>), made 0700 and checked like any other.

import (
	"errors"
	"fmt"
)

// ErrUnsafeDir is wrapped by the errors of a directory refused by the
// rules above (an *UnsafeDirError).
var ErrUnsafeDir = errors.New("unsafe directory")

// UnsafeDirError is a directory refused by the rules of the node state
// directory: Path is the directory, Reason why ("owned by uid 1001", "a
// symbolic link", "writable by group or others (mode 1777)", ...).
type UnsafeDirError struct {
	Path   string
	Reason string
}

func (e *UnsafeDirError) Error() string {
	return fmt.Sprintf("%s: %s: refused", e.Path, e.Reason)
}

// Unwrap returns ErrUnsafeDir.
func (e *UnsafeDirError) Unwrap() error { return ErrUnsafeDir }

// UsersDir is the directory of the per-user subdirectories in the run
// directory: <run dir>/users/<uid>, made by the node service.
const UsersDir = "users"

// ShmDir is the directory of the shared-memory inboxes in a state
// directory.
const ShmDir = "shm"
