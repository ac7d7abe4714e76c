// Command forger forges Open-MX frames on a raw socket, for the hostile-peer
// tests (tests/hostile_test.go, issue 9). It runs inside the attacker's
// network namespace, needs CAP_NET_RAW, and prints one JSON object on
// stdout when done: what it sent and what came back.
//
//	forger <command> [flags]
//
// Commands:
//
//	connect          one CONNECT (-key) from (-src, -srcep): the reply's status,
//	                 target session and target recv seqnum start
//	rndvlocal        CONNECT then RNDV from (-src, -srcep), by default the
//	                 victim's own MAC, carrying the same-host extension
//	                 (-pid, -addr) in its padding, for every seqnum session
//	flood-nosession  sequenced TINY/SMALL/MEDIUM/RNDV frames with random sessions
//	                 (with -valid, that fraction with the true session and
//	                 random seqnums, half of them from a connected partner)
//	flood-early      with the session (learned with -key): out-of-order MEDIUM
//	                 fragments, seqnums 1..255 ahead, every fragment number,
//	                 from -partners endpoint indexes
//	flood-unexp      with the session and the right seqnum: in-order TINY and
//	                 MEDIUM messages nobody receives (go-back-N on the acks)
//	flood-partners   CONNECT (-key) from every (MAC of -macs, endpoint < -eps)
//	pull             PULL requests for region ids 0..-regions-1 and every
//	                 region seqnum; counts the PULL_REPLY frames that arrive
//	garbage          random bytes, truncated headers, absurd lengths, forged
//	                 sessions, connect and discovery floods, mixed
//
// Every flood runs for -duration at most -rate frames per second (0: as
// fast as the socket takes them).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/open-mx-go/open-mx-go/engine/wire"
)

const usage = `usage: forger <command> [flags]
commands: connect rndvlocal flood-nosession flood-early flood-unexp flood-partners pull garbage
run "forger <command> -h" for the flags
`

// opts are the flags shared by every command.
type opts struct {
	iface    string
	dst      [6]byte
	dstEP    uint
	src      [6]byte // zero: the interface's MAC
	srcEP    uint
	key      uint64
	session  uint64
	seqStart uint
	mode     wire.Mode
	rate     float64
	duration time.Duration
	timeout  time.Duration
	seed     uint64
	macs     string
	eps      uint
	partners uint
	pid      uint
	addr     uint64
	length   uint
	regions  uint
	seqs     string
	srcs     string
	blocks   string
	targets  string
	window   uint
	passes   uint
	valid    float64
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd := os.Args[1]
	run, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(os.Stderr, "forger: unknown command %q\n%s", cmd, usage)
		os.Exit(2)
	}
	var o opts
	var dst, src, mode string
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	fs.StringVar(&o.iface, "i", "veth0", "interface")
	fs.StringVar(&dst, "dst", "", "victim MAC (required)")
	fs.UintVar(&o.dstEP, "ep", 0, "victim endpoint index")
	fs.StringVar(&src, "src", "", "source MAC (default: the interface's)")
	fs.UintVar(&o.srcEP, "srcep", 7, "source endpoint index (first one, for several partners)")
	fs.Uint64Var(&o.key, "key", 0, "endpoint key for CONNECT")
	fs.Uint64Var(&o.session, "session", 0, "victim session (0: learn it with a CONNECT using -key)")
	fs.UintVar(&o.seqStart, "seqstart", 1, "receive seqnum start announced in our CONNECTs")
	fs.StringVar(&mode, "mode", "native-9000", "wire mode (native-N or mx-wire)")
	fs.Float64Var(&o.rate, "rate", 20000, "frames per second (0: unlimited)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "flood duration")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Second, "how long to wait for a CONNECT reply")
	fs.Uint64Var(&o.seed, "seed", 0, "random seed (0: from the clock)")
	fs.StringVar(&o.macs, "macs", "", "file of fake MACs, one per line (flood-partners, garbage)")
	fs.UintVar(&o.eps, "eps", 256, "endpoint indexes per fake MAC (flood-partners)")
	fs.UintVar(&o.partners, "partners", 1, "source endpoints used as partners (flood-early, flood-unexp)")
	fs.UintVar(&o.pid, "pid", 0, "same-host extension pid (rndvlocal)")
	fs.Uint64Var(&o.addr, "addr", 0, "same-host extension address (rndvlocal)")
	fs.UintVar(&o.length, "len", 4096, "RNDV message length (rndvlocal)")
	fs.UintVar(&o.regions, "regions", 256, "region ids to pull (pull)")
	fs.StringVar(&o.seqs, "seqs", "all", "region seqnums to try: all, or a comma list (pull)")
	fs.StringVar(&o.srcs, "srcs", "own", "comma list of source MACs, own = the interface's (pull)")
	fs.StringVar(&o.blocks, "blocks", "max", "comma list of PULL block lengths, max = the mode's largest (pull)")
	fs.StringVar(&o.targets, "targets", "", "comma list of victim endpoints (garbage; default -ep)")
	fs.UintVar(&o.window, "window", 128, "messages in flight per partner (flood-unexp)")
	fs.Float64Var(&o.valid, "valid", 0, "fraction of frames with the true session (flood-nosession; learned with -key)")
	fs.UintVar(&o.passes, "passes", 1, "passes over the (MAC, endpoint) pairs (flood-partners)")
	fs.Parse(os.Args[2:])

	var err error
	if o.mode, err = wire.ParseMode(mode); err != nil {
		fatal(err)
	}
	if dst == "" {
		fatal(fmt.Errorf("-dst is required"))
	}
	if o.dst, err = parseMAC(dst); err != nil {
		fatal(err)
	}
	if src != "" {
		if o.src, err = parseMAC(src); err != nil {
			fatal(err)
		}
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	s, err := openRaw(o.iface)
	if err != nil {
		fatal(err)
	}
	if o.src == ([6]byte{}) {
		o.src = s.mac
	}
	f := &forger{o: o, s: s, rng: rand.New(rand.NewPCG(o.seed, o.seed^0x9e3779b97f4a7c15)),
		buf: make([]byte, 65536), out: map[string]any{"cmd": cmd}}
	f.l = listen(s, o.mode)
	start := time.Now()
	if err := run(f); err != nil {
		f.out["error"] = err.Error()
	}
	f.l.close(200 * time.Millisecond)
	sent, bytes, fails := s.stats()
	recv, recvBytes := f.l.snapshot()
	f.out["sent"] = sent
	f.out["bytes"] = bytes
	f.out["send_failures"] = fails
	f.out["seconds"] = time.Since(start).Seconds()
	f.out["recv"] = recv
	f.out["recv_bytes"] = recvBytes
	f.out["connect_replies"] = recv[wire.TypeConnect.String()]
	b, _ := json.Marshal(f.out)
	fmt.Println(string(b))
	if _, bad := f.out["error"]; bad {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "forger: %v\n", err)
	os.Exit(2)
}

var commands = map[string]func(*forger) error{
	"connect":         cmdConnect,
	"rndvlocal":       cmdRndvLocal,
	"flood-nosession": cmdFloodNoSession,
	"flood-early":     cmdFloodEarly,
	"flood-unexp":     cmdFloodUnexp,
	"flood-partners":  cmdFloodPartners,
	"pull":            cmdPull,
	"garbage":         cmdGarbage,
}

func parseMAC(s string) ([6]byte, error) {
	var m [6]byte
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) != 6 {
		return m, fmt.Errorf("bad MAC %q", s)
	}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return m, fmt.Errorf("bad MAC %q", s)
		}
		m[i] = byte(v)
	}
	return m, nil
}

func formatMAC(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// readMACs reads a file of MACs, one per line; '#' starts a comment and a
// line may go on after the MAC (a peers file works).
func readMACs(path string) ([][6]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var out [][6]byte
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		m, err := parseMAC(fields[0])
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, sc.Err()
}
