package node

// The peer table published in the node state directory (DESIGN.md §4):
// written by omxoed (dynamic discovery) or omx_init_peers (static file),
// read by every library of the host, which reloads it when it changes.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// PeerTableFile is the name of the published peer table in the run
// directory.
const PeerTableFile = "peers"

// WritePeerTable publishes peers as runDir/peers, replacing the previous
// table atomically (a temporary file in runDir renamed over it), so that a
// reader sees either the old or the new table, never a mix. runDir is
// created if needed, and must be a safe directory (MakeRunDir). The file
// has mode 0644 and the format of a
// static peers file (ParsePeersFile), one "<mac> <hostname>" line per peer
// in order, after a '#' header line; a peer whose host name is not known yet
// is written as its address alone, which ReadPeerTable accepts but
// ParsePeersFile does not. Peers with a host name that is longer than
// HostnameMax or contains white space are rejected, since they could not be
// read back.
func WritePeerTable(runDir string, peers []Peer) error {
	var b bytes.Buffer
	b.WriteString("# Open-MX peer table: <address> <board host name>, in peer index order\n")
	for _, p := range peers {
		if len(p.Hostname) > HostnameMax {
			return fmt.Errorf("publish peer table: host name of %s longer than %d characters", FormatMAC(p.NICID), HostnameMax)
		}
		if bytes.ContainsFunc([]byte(p.Hostname), isBlank) {
			return fmt.Errorf("publish peer table: host name %q of %s contains white space", p.Hostname, FormatMAC(p.NICID))
		}
		b.WriteString(FormatMAC(p.NICID))
		if p.Hostname != "" {
			b.WriteByte(' ')
			b.WriteString(p.Hostname)
		}
		b.WriteByte('\n')
	}
	if err := MakeRunDir(runDir); err != nil {
		return fmt.Errorf("publish peer table: %w", err)
	}
	f, err := os.CreateTemp(runDir, "."+PeerTableFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("publish peer table: %w", err)
	}
	tmp := f.Name()
	err = writeAndClose(f, b.Bytes())
	if err == nil {
		err = os.Rename(tmp, filepath.Join(runDir, PeerTableFile))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("publish peer table: %w", err)
	}
	return nil
}

// writeAndClose writes data to f, makes it world-readable, syncs and
// closes it.
func writeAndClose(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadPeerTable reads the peer table published in runDir and returns it
// with the modification time of the file. A missing table gives an error
// wrapping fs.ErrNotExist; a bad line a *LineError.
func ReadPeerTable(runDir string) ([]Peer, time.Time, error) {
	peers, fi, err := readPeerTable(filepath.Join(runDir, PeerTableFile))
	if err != nil {
		return nil, time.Time{}, err
	}
	return peers, fi.ModTime(), nil
}

// readPeerTable reads and parses the file at path; the FileInfo describes
// the very file that was read (fstat of the open file). The directory
// must be safe (CheckRunDir): a table another user could have written is
// refused.
func readPeerTable(path string) ([]Peer, fs.FileInfo, error) {
	if err := CheckRunDir(filepath.Dir(path)); err != nil {
		return nil, nil, fmt.Errorf("read peer table: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read peer table: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("read peer table: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("read peer table: %w", err)
	}
	peers, err := parsePeers(data, true)
	if err != nil {
		return nil, nil, fmt.Errorf("read peer table %s: %w", path, err)
	}
	return peers, fi, nil
}

// Watcher follows the peer table published in a run directory. It is meant
// to be polled (about once per second): Poll costs one stat when nothing
// changed. The zero value is not usable: use NewWatcher. A Watcher is safe
// for concurrent use.
type Watcher struct {
	path string

	mu   sync.Mutex
	last fs.FileInfo // file seen by the last Poll; nil: absent or never seen
}

// NewWatcher returns a Watcher of runDir/peers that considers the table
// absent until its first Poll.
func NewWatcher(runDir string) *Watcher {
	return &Watcher{path: filepath.Join(runDir, PeerTableFile)}
}

// Poll reports whether the published table changed since the previous Poll
// (for the first Poll: whether it exists) and, when it did, returns its new
// contents. A change is a different file (WritePeerTable renames a new one
// in place), size or modification time. A table that was removed gives
// (nil, true, nil), and then (nil, false, nil) while it stays absent.
//
// When the table changed but cannot be read or parsed, Poll returns the
// error and changed true, and tries again at the next Poll; the caller
// keeps its current table.
func (w *Watcher) Poll() (peers []Peer, changed bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	fi, err := os.Stat(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		if w.last == nil {
			return nil, false, nil
		}
		w.last = nil
		return nil, true, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("poll peer table: %w", err)
	}
	if w.last != nil && sameVersion(w.last, fi) {
		return nil, false, nil
	}
	peers, fi, err = readPeerTable(w.path)
	if errors.Is(err, fs.ErrNotExist) {
		// Removed between the stat and the open.
		w.last = nil
		return nil, true, nil
	}
	if err != nil {
		w.last = nil
		return nil, true, err
	}
	w.last = fi
	return peers, true, nil
}

// sameVersion reports whether a and b describe the same version of the
// published table.
func sameVersion(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
