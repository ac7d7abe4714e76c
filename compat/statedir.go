package compat

// The directory in which a process keeps the state of the endpoints it
// opens (endpoint registry, counters, shared-memory inboxes), and its
// checks (compat/node/safedir.go has the rules).

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine/link/backend"
)

// StateDir returns the directory holding the state of the endpoints this
// process opens: RunDir for root and for the owner of RunDir; otherwise
// the per-user directory RunDir/users/<uid> made by the node service, or
// UserDir when there is none (node.StateDirFor). A RunDir that is not a
// safe directory is returned as is, so that its use is refused with its
// name.
func (c Config) StateDir() string {
	return node.StateDirFor(c.RunDir, c.UserDir, c.RunDir != DefaultRunDir)
}

// stateSubdirs are the directories of a state directory an endpoint uses.
var stateSubdirs = []string{node.EndpointsDir, node.CountersDir, node.ShmDir}

// prepareStateDir makes (or checks) the state directory of cfg and its
// subdirectories before an endpoint opens. An unsafe directory gives an
// error wrapping node.ErrUnsafeDir: the endpoint is refused. Other errors
// (a directory this process may not create) leave the endpoint without
// registry, counters or same-host path, as before.
func prepareStateDir(cfg Config) error {
	if cfg.StateDir() == cfg.UserDir && os.Geteuid() != 0 {
		// The node service makes a user's directory in the node state
		// directory when asked; without it (or if it cannot), the
		// private directory stays.
		if sock := BackendSocket(cfg); backend.Available(sock) {
			_ = backend.MakeUserDir(sock)
		}
	}
	dir := cfg.StateDir()
	for _, sub := range stateSubdirs {
		if _, err := node.MakeSubdir(dir, sub); err != nil {
			return err
		}
	}
	return nil
}

// refusedDirs remembers the refusals already printed.
var refusedDirs sync.Map // string -> bool

// checkStateDir runs prepareStateDir for an endpoint about to open and
// returns the error to report when the directory is refused (nil
// otherwise). The refusal is printed on stderr once per process and
// message, unless the global handler prints it anyway (fatal).
func (l *Library) checkStateDir(cfg Config) error {
	err := prepareStateDir(cfg)
	if err == nil {
		return nil
	}
	if !errors.Is(err, node.ErrUnsafeDir) {
		if cfg.Verbose {
			Stderr(fmt.Sprintf("%snode state directory %s: %v\n", expandPrefix(cfg.VerbosePrefix), cfg.StateDir(), err))
		}
		return nil
	}
	err = fmt.Errorf("node state directory %w", err)
	if k := l.GlobalHandler().Kind; k != HandlerFatal && k != HandlerBeforeInit {
		if _, done := refusedDirs.LoadOrStore(err.Error(), true); !done {
			Stderr(fmt.Sprintf("%s%v\n", expandPrefix(cfg.VerbosePrefix), err))
		}
	}
	return err
}
