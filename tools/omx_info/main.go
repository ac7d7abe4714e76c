// Command omx_info shows the boards of this host and its peer table
// (spec/tools.md §1).
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo"
)

const usage = `Usage: omx_info [options]
 -b <n>	only show board #<n> [default is all boards]
 -q	quiet: boards only, no version, driver, NUMA or peer table
 -v	verbose [default]
 -h	help
Boards are the interfaces attached by this user-space Open-MX (OMX_IFNAMES, or
every UP Ethernet interface); the peer table is made of the local boards, the
static peers file (OMX_PEERS_FILE) and the table published by omxoed or
omx_init_peers. The high interrupt-coalescing warning is never shown.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	opts, _, ok := nodeinfo.ParseArgs("omx_info", args, "b:qvh", stderr, func(w io.Writer) { nodeinfo.Usage(w, usage) })
	if !ok {
		return 255
	}
	board := -1
	verbose := true
	for _, o := range opts {
		switch o.Name {
		case 'b':
			board = nodeinfo.Atoi(o.Arg)
		case 'q':
			verbose = false
		case 'v':
			verbose = true
		}
	}

	if verbose {
		fmt.Fprintf(stdout, "Open-MX version %s\n", nodeinfo.Version)
		fmt.Fprintf(stdout, " build: %s\n\n", nodeinfo.BuildString())
	}
	n, err := nodeinfo.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to initialize (%v)\n", err)
		return 255
	}
	fmt.Fprintf(stdout, "Found %d boards (%d max) supporting %d endpoints each:\n", len(n.Boards), nodeinfo.BoardMax, nodeinfo.EndpointMax)
	for _, b := range n.Boards {
		if board >= 0 && b.Index != board {
			continue
		}
		fmt.Fprintf(stdout, " %s\n", nodeinfo.BoardLine(b))
		if verbose && b.Driver != "" {
			fmt.Fprintf(stdout, "   managed by driver '%s'\n", b.Driver)
		}
		if verbose && b.NUMANode >= 0 {
			fmt.Fprintf(stdout, "   attached to numa node %d\n", b.NUMANode)
		}
		if !b.Up {
			fmt.Fprintln(stderr, "   WARNING: interface is currently DOWN.")
		}
		if n.BadMTU(b) {
			fmt.Fprintf(stderr, "   WARNING: MTU=%d invalid\n", b.MTU)
		}
	}

	if verbose {
		// open-mx-go addition: how processes of this host talk.
		fmt.Fprintf(stdout, "Same-host communication: %s\n", compat.SameHostPath(n.Cfg, getenv))
		fmt.Fprintf(stdout, "Network path of this process: %s\n", networkPath(n.Cfg))
	}

	state, err := nodeinfo.ReadState(n.Cfg.RunDir)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to get peer table status, %s\n", nodeinfo.Strerror(err))
		return 255
	}
	table := n.PeerTable()
	if verbose {
		fmt.Fprintln(stdout)
		if state.Configured {
			fmt.Fprintf(stdout, "Peer table is ready, mapper is %s\n", node.FormatMAC(state.MapperID))
		} else {
			fmt.Fprintln(stdout, "Peer table is not configured yet")
		}
		fmt.Fprintln(stdout, strings.Repeat("=", 48))
		for i, p := range table.All() {
			name := p.Hostname
			if name == "" {
				name = "<unknown>"
			}
			fmt.Fprintf(stdout, "  %d) %s %s\n", i, node.FormatMAC(p.NICID), name)
		}
	}
	if state.Full || table.Full() {
		fmt.Fprintln(stderr, "WARNING: peer table is full, some peers could not be added.")
	}
	return 0
}

// networkPath says how a process run like this one reaches other hosts
// (open-mx-go addition).
func networkPath(cfg compat.Config) string {
	path, why, socket := compat.ChooseNetworkPath(cfg)
	switch path {
	case compat.PathDirect:
		return "direct (own raw sockets: " + why + ")"
	case compat.PathBackend:
		return "through the node service at " + socket + " (" + why + ")"
	}
	return "none: " + why
}
