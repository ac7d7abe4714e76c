// Command omx_init_peers edits the peer table of this host: clears it,
// marks it configured, adds one peer or the peers of a file
// (spec/tools.md §5).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo"
)

const usage = `Usage: omx_init_peers [options] [<file> | <mac> <hostname>]
 -c	clear all non-local peers first
 -a	append to the current peers [default]
 -d	mark the peer table configured as done
 -v	verbose
 -h	help
Without an argument only the options are applied; with a file, the peers it
lists ("<mac> <hostname>" lines, '#' comments) are added; with an address and a
host name, that peer is added (a local board's address renames the board).
The peer table is the one published in the node state directory
(<OMX_RUNDIR>/peers), which every process of the host reloads when it changes;
its state is kept in <OMX_RUNDIR>/peers.state. Changing them needs root or
the ownership of the node state directory.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	opts, pos, ok := nodeinfo.ParseArgs("omx_init_peers", args, "cadvh", stderr, func(w io.Writer) { nodeinfo.Usage(w, usage) })
	if !ok {
		return 255
	}
	clear, done, verbose := false, false, false
	for _, o := range opts {
		switch o.Name {
		case 'c':
			clear = true
		case 'a':
			clear = false
		case 'd':
			done = true
		case 'v':
			verbose = true
		}
	}
	n, err := nodeinfo.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to initialize (%v)\n", err)
		return 255
	}
	e := &editor{n: n, stdout: stdout, stderr: stderr, verbose: verbose}

	if clear {
		fmt.Fprintln(stdout, "Clearing peers...")
		if err := e.clear(); err != nil {
			fmt.Fprintf(stderr, "Failed to clear peers (%s)\n", nodeinfo.Strerror(err))
			return 255
		}
	}
	if done {
		fmt.Fprintln(stdout, "Marking the peer table configured as done...")
		if err := e.markDone(); err != nil {
			fmt.Fprintf(stderr, "Failed to set peer table state (%s)\n", nodeinfo.Strerror(err))
			return 255
		}
	}
	var code compat.Code
	switch {
	case len(pos) >= 2:
		fmt.Fprintf(stdout, "Adding peer %s address %s\n", pos[1], pos[0])
		nic, err := node.ParseMAC(pos[0])
		if err != nil {
			fmt.Fprintf(stderr, "Unrecognized address '%s'\n", pos[0])
			return 255
		}
		code = e.add(nic, pos[1])
	case len(pos) == 1:
		fmt.Fprintf(stdout, "Adding peers from file %s...\n", pos[0])
		code = e.addFile(pos[0])
	default:
		fmt.Fprintln(stdout, "Not adding any peer")
	}
	if err := e.flush(); err != nil && code == compat.Success {
		fmt.Fprintf(stderr, "Failed to publish the peer table (%v)\n", err)
		code = nodeinfo.Code(err)
	}
	return int(code)
}

// editor applies the changes to the published peer table, which it reads
// once and writes back once (flush).
type editor struct {
	n       *nodeinfo.Node
	stdout  io.Writer
	stderr  io.Writer
	verbose bool

	loaded bool
	dirty  bool
	peers  []node.Peer // published table
	index  map[uint64]int
}

func (e *editor) load() error {
	if e.loaded {
		return nil
	}
	ps, err := nodeinfo.ReadPublished(e.n.Cfg.RunDir)
	if err != nil {
		return err
	}
	e.set(ps)
	return nil
}

func (e *editor) set(ps []node.Peer) {
	e.loaded = true
	e.peers = ps
	e.index = make(map[uint64]int, len(ps))
	for i, p := range ps {
		e.index[p.NICID] = i
	}
}

func (e *editor) flush() error {
	if !e.dirty {
		return nil
	}
	e.dirty = false
	return node.WritePeerTable(e.n.Cfg.RunDir, e.peers)
}

// clear empties the published table (local boards are always present) and
// forgets that it was full.
func (e *editor) clear() error {
	if err := nodeinfo.CheckPrivileged(e.n.Cfg.RunDir); err != nil {
		return err
	}
	e.set(nil)
	e.dirty = true
	if err := e.flush(); err != nil {
		return err
	}
	st, err := nodeinfo.ReadState(e.n.Cfg.RunDir)
	if err != nil {
		return err
	}
	if st.Full {
		st.Full = false
		return nodeinfo.WriteState(e.n.Cfg.RunDir, st)
	}
	return nil
}

func (e *editor) markDone() error {
	if err := nodeinfo.CheckPrivileged(e.n.Cfg.RunDir); err != nil {
		return err
	}
	st, err := nodeinfo.ReadState(e.n.Cfg.RunDir)
	if err != nil {
		return err
	}
	st.Configured, st.Version, st.Size, st.MapperID = true, 0, 0, 1<<48-1
	return nodeinfo.WriteState(e.n.Cfg.RunDir, st)
}

// add adds one peer, printing the failures; it returns the Open-MX code.
func (e *editor) add(nic uint64, name string) compat.Code {
	mac := node.FormatMAC(nic)
	if e.verbose {
		fmt.Fprintf(e.stdout, "Trying to adding peer %s address %s\n", name, mac)
	}
	code, err := e.addPeer(nic, name)
	if code != compat.Success {
		fmt.Fprintf(e.stderr, "Failed to add new peer %s address %s (%s)\n", name, mac, err)
	}
	return code
}

func (e *editor) addPeer(nic uint64, name string) (compat.Code, string) {
	fail := func(c compat.Code) (compat.Code, string) {
		s, _ := compat.Strerror(c)
		return c, s
	}
	if err := nodeinfo.CheckPrivileged(e.n.Cfg.RunDir); err != nil {
		return fail(compat.AccessDenied)
	}
	if len(name) > node.HostnameMax {
		name = name[:node.HostnameMax]
	}
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fail(compat.BadRequest)
	}
	if b, local := e.n.BoardByNIC(nic); local {
		if err := compat.WriteBoardHostname(e.n.Cfg.RunDir, b.IfName, name); err != nil {
			return fail(nodeinfo.Code(err))
		}
		return compat.Success, ""
	}
	if err := e.load(); err != nil {
		return fail(nodeinfo.Code(err))
	}
	if i, ok := e.index[nic]; ok {
		if e.peers[i].Hostname != name {
			e.peers[i].Hostname = name
			e.dirty = true
		}
		return compat.Success, ""
	}
	if len(e.n.Boards)+len(e.peers) >= node.PeerMax {
		st, err := nodeinfo.ReadState(e.n.Cfg.RunDir)
		if err == nil && !st.Full {
			st.Full = true
			nodeinfo.WriteState(e.n.Cfg.RunDir, st)
		}
		return fail(nodeinfo.Code(nodeinfo.ErrTableFull))
	}
	e.index[nic] = len(e.peers)
	e.peers = append(e.peers, node.Peer{NICID: nic, Hostname: name})
	e.dirty = true
	return compat.Success, ""
}

// addFile adds the peers of a peers file (spec/tools.md §5.1) in order,
// stopping at the first bad line or failed addition.
func (e *editor) addFile(path string) compat.Code {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(e.stderr, "Cannot open file '%s'\n", path)
		return compat.BadError
	}
	text := string(data)
	for text != "" {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		line = strings.TrimSuffix(line, "\r")
		ps, err := node.ParsePeersFile([]byte(line))
		if err != nil {
			var le *node.LineError
			if errors.As(err, &le) {
				line = le.Text
			}
			fmt.Fprintf(e.stderr, "Unrecognized peer line '%s'\n", line)
			return compat.BadError
		}
		for _, p := range ps {
			if code := e.add(p.NICID, p.Hostname); code != compat.Success {
				return code
			}
		}
	}
	return compat.Success
}
