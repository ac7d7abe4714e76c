// Command omx_endpoint_info lists the endpoints open on the boards of this
// host, with the process holding each one (spec/tools.md §2).
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo"
)

const usage = `Usage: omx_endpoint_info [options]
 -b <n>	only show board #<n>
 -a	show all boards [default]
 -v	also list endpoints that are not open
 -h	help
Endpoints are read from the endpoint registry of the node state directory
(<OMX_RUNDIR>/endpoints): an endpoint is open while the process that opened it
holds its registry file, so the endpoints of a process that died disappear.
The raw endpoint is the one of the discovery daemon (omxoed).
`

// commandMax is the longest command name shown (the kernel's 15-byte comm).
const commandMax = 15

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	opts, _, ok := nodeinfo.ParseArgs("omx_endpoint_info", args, "b:avh", stderr, func(w io.Writer) { nodeinfo.Usage(w, usage) })
	if !ok {
		return 255
	}
	board := -1
	verbose := false
	for _, o := range opts {
		switch o.Name {
		case 'b':
			board = nodeinfo.Atoi(o.Arg)
		case 'a':
			board = -1
		case 'v':
			verbose = true
		}
	}
	n, err := nodeinfo.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to initialize (%v)\n", err)
		return 255
	}
	open := make(map[string]map[uint32]node.Info)
	for _, dir := range nodeinfo.StateDirs(n.Cfg) {
		if err := listOpen(dir, open); err != nil {
			fmt.Fprintf(stderr, "Ignoring the endpoints of %v\n", err)
		}
	}
	if board >= 0 {
		b, ok := n.Board(board)
		if !ok {
			s, _ := compat.Strerror(compat.BoardNotFound)
			fmt.Fprintf(stderr, "Failed to read board #%d id, %s\n", board, s)
			return 0
		}
		printBoard(stdout, b, open[b.IfName], verbose)
		return 0
	}
	for _, b := range n.Boards {
		printBoard(stdout, b, open[b.IfName], verbose)
	}
	return 0
}

// listOpen adds the open endpoints of the registry of runDir to out, by
// board interface name and index (an index already there is kept). A run
// directory or registry that does not exist has no open endpoint (and is
// not created); one that is not safe is refused (the error names it).
func listOpen(runDir string, out map[string]map[uint32]node.Info) error {
	if _, err := node.CheckSubdir(runDir, node.EndpointsDir); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if errors.Is(err, node.ErrUnsafeDir) {
		return fmt.Errorf("node state directory %w", err)
	}
	reg, err := node.OpenRegistry(runDir)
	if err != nil {
		return nil
	}
	list, err := reg.List()
	if err != nil {
		return nil
	}
	for _, in := range list {
		m := out[in.Board]
		if m == nil {
			m = make(map[uint32]node.Info)
			out[in.Board] = m
		}
		if _, dup := m[in.Index]; !dup {
			m[in.Index] = in
		}
	}
	return nil
}

func printBoard(w io.Writer, b compat.Board, open map[uint32]node.Info, verbose bool) {
	fmt.Fprintln(w, nodeinfo.BoardLine(b))
	fmt.Fprintln(w, strings.Repeat("=", 46))
	line := func(name string, in node.Info, ok bool) {
		switch {
		case ok:
			cmd := in.Command
			if len(cmd) > commandMax {
				cmd = cmd[:commandMax]
			}
			fmt.Fprintf(w, "  %s\topen by pid %d (%s) user %s\n", name, in.PID, cmd, userName(in.UID))
		case verbose:
			fmt.Fprintf(w, "  %s\tnot open\n", name)
		}
	}
	in, ok := open[node.RawIndex]
	line("raw", in, ok)
	count := 0
	for e := uint32(0); e < nodeinfo.EndpointMax; e++ {
		in, ok := open[e]
		if ok {
			count++
		}
		line(fmt.Sprint(e), in, ok)
	}
	fmt.Fprintf(w, "%d regular endpoints open (out of %d)\n\n", count, nodeinfo.EndpointMax)
}

// userName returns the login name of uid, or the number (open-mx-go
// addition: several users share a host; endpoints served by the node
// service run as ordinary users).
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}
