// Command omx_counters shows and clears the Open-MX statistics of the
// boards of this host and of the shared-communication pseudo-board
// (spec/tools.md §3; counters of §12).
//
// Without a kernel module the counters are those of the endpoints, kept by
// the library in memory-mapped files of the node state directory
// (<run dir>/counters, see compat/node/counters.go): a board shows the sum
// of its open endpoints and of the endpoints that closed since the last
// clearing; the "Shared" family (72..84) is shown on the pseudo-board.
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/engine"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo"
)

const prog = "omx_counters"

const usage = `Usage: omx_counters [options]
 -a	show the shared communication pseudo-board, then every board (default)
 -b <n>	show only board #n
 -s	show only the shared communication pseudo-board
 -c	clear the shown counters after reading them (privileged)
 -q	show only non-zero counters (default)
 -v	show all counters
 -h	show this help
`

const adaptation = `Counters are kept per endpoint by the library, in memory-mapped files of
<run dir>/counters updated live; a board shows the sum over its open endpoints
and the endpoints closed since the last clearing.
`

func printUsage(w io.Writer) {
	nodeinfo.Usage(w, usage)
	fmt.Fprint(w, adaptation)
}

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is the whole tool; it returns the exit status.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	opts, _, ok := nodeinfo.ParseArgs(prog, args, "ab:scqvh", stderr, printUsage)
	if !ok {
		return 255
	}
	const (
		all = iota
		one
		shared
	)
	mode, board := all, 0
	clear, verbose := false, false
	for _, o := range opts {
		switch o.Name {
		case 'a':
			mode = all
		case 'b':
			mode, board = one, nodeinfo.Atoi(o.Arg)
		case 's':
			mode = shared
		case 'c':
			clear = true
		case 'q':
			verbose = false
		case 'v':
			verbose = true
		}
	}
	n, err := nodeinfo.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to initialize (%v)\n", err)
		return 255
	}
	show := func(index int, isShared bool) {
		title, ifname := "Shared Communication (addr 00:00:00:00:00:00)", ""
		own := func(i int) bool { return i >= node.SharedCountersFirst }
		if !isShared {
			b, found := n.Board(index)
			if !found {
				if mode == one {
					s, _ := compat.Strerror(compat.BoardNotFound)
					fmt.Fprintf(stderr, "Failed to read board #%d id, %s\n", index, s)
				}
				return
			}
			title, ifname = nodeinfo.BoardLine(b), b.IfName
			own = func(i int) bool { return i < node.SharedCountersFirst }
		}
		var reset func(int) bool
		if clear {
			if nodeinfo.CheckPrivileged(n.Cfg.RunDir) != nil {
				fmt.Fprintln(stderr, "Clearing counters: Operation not permitted")
				return
			}
			reset = own
		}
		// The node state directory, plus the per-user directory of this
		// user's endpoints when that is another one.
		var v node.CounterValues
		for i, dir := range nodeinfo.StateDirs(n.Cfg) {
			d, err := node.ReadCounters(dir, ifname, reset)
			if err != nil && i == 0 {
				if clear && errors.Is(err, fs.ErrPermission) {
					fmt.Fprintln(stderr, "Clearing counters: Operation not permitted")
				}
				return
			}
			for i := range d {
				v[i] += d[i]
			}
		}
		var out strings.Builder
		out.WriteString(title + "\n")
		out.WriteString(strings.Repeat("=", 55) + "\n")
		for i, x := range v {
			if !own(i) {
				x = 0 // accounted on the other kind of board
			}
			if x != 0 || verbose {
				fmt.Fprintf(&out, "%03d: % 9d %s\n", i, x, engine.Counter(i).Label())
			}
		}
		out.WriteString("\n")
		io.WriteString(stdout, out.String())
	}
	switch mode {
	case all:
		show(0, true)
		for i := 0; i < nodeinfo.BoardMax; i++ {
			show(i, false)
		}
	case one:
		show(board, false)
	case shared:
		show(0, true)
	}
	return 0
}
