// Command omx_hostname shows or changes the host name of a board and
// clears the names of the peers (spec/tools.md §4).
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo"
)

const usage = `Usage: omx_hostname [options]
 -b <n>	change board #<n> [default is 0]
 -n <s>	change the board hostname into <s>
 -c	clear the names of the non-local peers so that they are queried again
 -v	verbose
 -h	help
The new board name is kept in the node state directory
(<OMX_RUNDIR>/hostname.<interface>): processes started afterwards use it and
answer host-name queries with it. Clearing peer names empties them in the
published peer table (<OMX_RUNDIR>/peers); names given by the static peers
file stay. Both need root or the ownership of the node state directory.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	opts, _, ok := nodeinfo.ParseArgs("omx_hostname", args, "b:n:cvh", stderr, func(w io.Writer) { nodeinfo.Usage(w, usage) })
	if !ok {
		return 255
	}
	board := 0
	var newName string
	rename, clear, verbose := false, false, false
	for _, o := range opts {
		switch o.Name {
		case 'b':
			board = int(uint8(nodeinfo.Atoi(o.Arg)))
		case 'n':
			rename, newName = true, o.Arg
		case 'c':
			clear = true
		case 'v':
			verbose = true
		}
	}
	n, err := nodeinfo.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to initialize (%v)\n", err)
		return 255
	}
	b, ok := n.Board(board)
	if !ok {
		fmt.Fprintf(stderr, "Cannot find board #%d\n", board)
		return 255
	}
	mac := node.FormatMAC(b.NICID)
	if verbose || (!rename && !clear) {
		fmt.Fprintf(stdout, "Board #%d (%s %s) hostname was %s\n", board, b.IfName, mac, b.Hostname)
	}
	if rename {
		if len(newName) > node.HostnameMax {
			newName = newName[:node.HostnameMax]
		}
		if verbose {
			fmt.Fprintf(stdout, "Changing board #%d (%s %s) hostname into %s\n", board, b.IfName, mac, newName)
		}
		if err := setHostname(n, b, newName); err != nil {
			fmt.Fprintf(stderr, "Failed to change hostname, %s\n", err)
		}
	}
	if clear {
		if verbose {
			fmt.Fprintln(stdout, "Clearing peer names")
		}
		if err := clearNames(n); err != nil {
			fmt.Fprintf(stderr, "Failed to clear peer names, %s\n", nodeinfo.Strerror(err))
		}
	}
	return 0
}

// errBadName is the error text of a name that cannot be stored.
type errBadName string

func (e errBadName) Error() string { return string(e) }

// setHostname records name as the host name of board b; the error text is
// an Open-MX error string.
func setHostname(n *nodeinfo.Node, b compat.Board, name string) error {
	if err := nodeinfo.CheckPrivileged(n.Cfg.RunDir); err != nil {
		return errBadName(nodeinfo.Strerror(err))
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c == 0x7f {
			s, _ := compat.Strerror(compat.BadRequest)
			return errBadName(s)
		}
	}
	if name == "" {
		s, _ := compat.Strerror(compat.BadRequest)
		return errBadName(s)
	}
	if err := compat.WriteBoardHostname(n.Cfg.RunDir, b.IfName, name); err != nil {
		return errBadName(nodeinfo.Strerror(err))
	}
	return nil
}

// clearNames empties the names of the non-local peers of the published
// peer table.
func clearNames(n *nodeinfo.Node) error {
	if err := nodeinfo.CheckPrivileged(n.Cfg.RunDir); err != nil {
		return err
	}
	peers, err := nodeinfo.ReadPublished(n.Cfg.RunDir)
	if err != nil {
		return err
	}
	if peers == nil {
		return nil
	}
	for i := range peers {
		if _, local := n.BoardByNIC(peers[i].NICID); !local {
			peers[i].Hostname = ""
		}
	}
	return node.WritePeerTable(n.Cfg.RunDir, peers)
}
