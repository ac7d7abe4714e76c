// Command omx_init starts, stops and reports the open-mx-go stack of a
// host (spec/tools.md §8), adapted to a user-space stack: there is no
// kernel module to load, so "start" checks the attached interfaces and
// their MTU, prepares the node state directory and starts the peer
// discovery (omxoed) or loads the static peers file into the published
// peer table; "stop" stops the discovery. Run "omx_init --help".
package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
)

// Files of the node state directory written by omx_init.
const (
	// stackFile marks a started stack ("Open-MX driver is loaded").
	stackFile = "stack"
	// discoveryPidFile lists "<pid> <command>" of the discovery started
	// (/var/run/open-mx.peer-discovery.pid in Open-MX).
	discoveryPidFile = "peer-discovery.pid"
	// oedPidFile is omxoed's own pid file (written when it is ready).
	oedPidFile = "omxoed.pid"

	version        = "1.5.4.90"
	defaultOedLog  = "/var/log/omxoed.log"
	discoveryWait  = 5 * time.Second
	stopWait       = 3 * time.Second
	defaultDynProg = "omxoed"
)

const usageText = `Usage: %s [options] <command> [ifnames=<list>]
 Commands:	start stop status restart kill
          	start-discovery stop-discovery restart-discovery kill-discovery
 Options:
  --dynamic-peers		Force dynamic peer discovery
  --dynamic-peers=<prog>	Force <prog> as the peer discovery tool instead of omxoed
  --static-peers		Force static peers from %s
  --static-peers=<file>		Force static peers from <file>
  --module=<file>		Accepted and ignored (no kernel module in open-mx-go)
  --retry=<nb>			Accepted and ignored (no kernel module in open-mx-go)
 open-mx-go runs in user space: "start" checks the attached interfaces and
 their MTU, prepares the node state directory (OMX_RUNDIR) and starts the
 discovery; "stop" stops it; "status" says whether the stack was started.
 Configuration: %s (OMX_CONFIG), keys OMX_IFACES (or ifnames),
 OMX_PEER_DISCOVERY (dynamic or static), OMX_DISCOVERY_PROG,
 OMX_PEERS_FILE, OMX_DISCOVERY_LOG (omxoed log, default %s);
 the environment overrides the file; "ifnames=<list>" overrides both.
`

type setup struct {
	prog      string
	static    bool
	dynProg   string
	peersFile string
	oedLog    string
	cfg       compat.Config
	stdout    io.Writer
	stderr    io.Writer
}

func usage(w io.Writer, s *setup) {
	fmt.Fprintf(w, usageText, s.prog, s.peersFile, compat.DefaultConfigFile, defaultOedLog)
}

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

func run(argv []string, stdout, stderr io.Writer) int {
	s := &setup{prog: argv[0], stdout: stdout, stderr: stderr}
	file := readConfigFile()
	get := func(k string) string {
		if v := os.Getenv(k); v != "" {
			return v
		}
		return file[k]
	}
	s.static = get("OMX_PEER_DISCOVERY") == "static"
	s.dynProg = get("OMX_DISCOVERY_PROG")
	if s.dynProg == "" {
		s.dynProg = defaultDynProg
	}
	s.oedLog = get("OMX_DISCOVERY_LOG")
	if s.oedLog == "" {
		s.oedLog = defaultOedLog
	}
	s.cfg = compat.LoadConfig(os.Getenv)
	s.peersFile = s.cfg.PeersFile

	var cmd string
	for _, a := range argv[1:] {
		switch {
		case a == "--help" || a == "-h":
			usage(stdout, s)
			return 0
		case a == "--dynamic-peers":
			s.static = false
		case strings.HasPrefix(a, "--dynamic-peers="):
			s.static, s.dynProg = false, strings.TrimPrefix(a, "--dynamic-peers=")
		case a == "--static-peers":
			s.static = true
		case strings.HasPrefix(a, "--static-peers="):
			s.static, s.peersFile = true, strings.TrimPrefix(a, "--static-peers=")
		case strings.HasPrefix(a, "--module=") || strings.HasPrefix(a, "--retry="):
			// No kernel module: accepted for compatibility.
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(stderr, "[ERROR] Unknown option: %s\n", a)
			usage(stdout, s)
			return 1
		case cmd == "":
			cmd = a
		default:
			k, v, ok := strings.Cut(a, "=")
			if !ok || k != "ifnames" {
				fmt.Fprintf(stderr, "[WARNING] Ignoring parameter %s (only ifnames=<list> means something in open-mx-go)\n", a)
				continue
			}
			if v == "all" {
				v = ""
			}
			os.Setenv("OMX_IFNAMES", v)
			s.cfg = compat.LoadConfig(os.Getenv)
		}
	}
	switch cmd {
	case "":
		usage(stdout, s)
		return 1
	case "start":
		return s.start()
	case "stop":
		return s.stop(false)
	case "kill":
		return s.stop(true)
	case "restart":
		s.stopDiscovery(false)
		s.unload()
		return s.start()
	case "status":
		return s.status()
	case "start-discovery":
		return s.startDiscovery()
	case "stop-discovery":
		return s.stopDiscovery(false)
	case "kill-discovery":
		return s.stopDiscovery(true)
	case "restart-discovery":
		s.stopDiscovery(false)
		return s.startDiscovery()
	}
	fmt.Fprintf(stderr, "[ERROR] Unknown command: %s\n", cmd)
	usage(stdout, s)
	return 1
}

// readConfigFile reads the KEY=VALUE lines of the config file (shell
// syntax, quotes removed); compat.LoadConfig reads the library's keys.
func readConfigFile() map[string]string {
	path := os.Getenv("OMX_CONFIG")
	if path == "" {
		path = compat.DefaultConfigFile
	}
	m := map[string]string{}
	data, err := os.ReadFile(path)
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(line, "export ")
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		m[strings.TrimSpace(k)] = v
	}
	return m
}

func (s *setup) path(name string) string { return filepath.Join(s.cfg.RunDir, name) }

func ifnamesText(cfg compat.Config) string {
	if len(cfg.IfNames) == 0 {
		return "all"
	}
	return strings.Join(cfg.IfNames, ",")
}

// start checks the interfaces, marks the stack started and starts the
// discovery.
func (s *setup) start() int {
	fmt.Fprintf(s.stdout, "Starting the Open-MX user-space stack (ifnames=%s, node state directory %s)\n", ifnamesText(s.cfg), s.cfg.RunDir)
	boards, err := compat.DiscoverBoards(s.cfg)
	if boards == nil {
		fmt.Fprintf(s.stderr, "[ERROR] Cannot list the interfaces: %v\n", err)
		return 1
	}
	if err != nil {
		fmt.Fprintf(s.stderr, "[WARNING] %v\n", err)
	}
	s.checkBoards(boards)
	if _, err := node.OpenRegistry(s.cfg.RunDir); err != nil {
		fmt.Fprintf(s.stderr, "[ERROR] Cannot prepare the node state directory: %v\n", err)
		return 1
	}
	var names []string
	for _, b := range boards {
		names = append(names, b.IfName)
	}
	mark := fmt.Sprintf("started=%s\ninterfaces=%s\n", time.Now().Format(time.RFC3339), strings.Join(names, ","))
	if err := os.WriteFile(s.path(stackFile), []byte(mark), 0o644); err != nil {
		fmt.Fprintf(s.stderr, "[ERROR] Cannot write %s: %v\n", s.path(stackFile), err)
		return 1
	}
	if st := s.startDiscovery(); st != 0 {
		return st
	}
	s.omxInfo()
	return 0
}

// checkBoards prints the attached boards and warns about their MTU.
func (s *setup) checkBoards(boards []compat.Board) {
	for _, b := range boards {
		if b.Loopback {
			fmt.Fprintf(s.stdout, " Board #%d: %s (loopback board: same-process traffic only, no discovery)\n", b.Index, b.IfName)
			continue
		}
		fmt.Fprintf(s.stdout, " Board #%d: %s addr %s MTU %d\n", b.Index, b.IfName, node.FormatMAC(b.NICID), b.MTU)
		if !b.Up {
			fmt.Fprintf(s.stderr, "[WARNING] Interface %s is DOWN\n", b.IfName)
		}
		switch {
		case s.cfg.WireCompat && b.MTU < 4130:
			fmt.Fprintf(s.stderr, "[ERROR] Interface %s MTU %d is too small for OMX_WIRE_COMPAT (needs 4130)\n", b.IfName, b.MTU)
		case b.MTU < 9000 && !s.cfg.WireCompat:
			fmt.Fprintf(s.stderr, "[WARNING] Interface %s MTU %d is below 9000: native frames of %d bytes, every peer needs the same MTU\n", b.IfName, b.MTU, b.MTU+14)
		}
	}
}

// unload is "Removing Open-MX driver" of a user-space stack.
func (s *setup) unload() {
	if err := os.Remove(s.path(stackFile)); err == nil {
		fmt.Fprintln(s.stdout, "Stopping the Open-MX user-space stack")
	}
}

func (s *setup) stop(kill bool) int {
	if kill {
		fmt.Fprintln(s.stdout, "Killing the dynamic peer discovery processes")
	}
	s.stopDiscovery(kill)
	s.unload()
	return 0
}

func (s *setup) status() int {
	mark, err := os.ReadFile(s.path(stackFile))
	if err != nil {
		fmt.Fprintln(s.stdout, "Open-MX user-space stack is not started")
		return 0
	}
	ifaces := ""
	for _, l := range strings.Split(string(mark), "\n") {
		if v, ok := strings.CutPrefix(l, "interfaces="); ok {
			ifaces = v
		}
	}
	fmt.Fprintln(s.stdout, "Open-MX user-space stack is started")
	fmt.Fprintf(s.stdout, "Open-MX %s\n", version)
	fmt.Fprintln(s.stdout, " Driver ABI=0x20f (user space, no driver)")
	fmt.Fprintln(s.stdout, " Configured for 32 endpoints on 32 interfaces with 1024 peers")
	fmt.Fprintf(s.stdout, " Interfaces: %s\n", ifaces)
	wire := "NoWireCompat"
	if s.cfg.WireCompat {
		wire = "WireCompat"
	}
	fmt.Fprintf(s.stdout, " WireSpecs: %s EtherType=0x86df\n", wire)
	procs := s.discoveryProcs()
	if len(procs) == 0 {
		fmt.Fprintln(s.stdout, " Discovery: not running")
	}
	for _, p := range procs {
		state := "not running"
		if p.alive() {
			state = "running"
		}
		fmt.Fprintf(s.stdout, " Discovery: %s pid=%d %s\n", p.name, p.pid, state)
	}
	s.omxInfo()
	return 0
}

type discProc struct {
	pid  int
	name string
}

// alive reports whether the process exists and still has the name.
func (p discProc) alive() bool {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.pid))
	if err != nil {
		return false
	}
	c := strings.TrimSpace(string(comm))
	return c != "" && strings.HasPrefix(p.name, c)
}

func (s *setup) discoveryProcs() []discProc {
	data, err := os.ReadFile(s.path(discoveryPidFile))
	if err != nil {
		return nil
	}
	var out []discProc
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		if pid, err := strconv.Atoi(f[0]); err == nil && pid > 0 {
			out = append(out, discProc{pid, f[1]})
		}
	}
	return out
}

// startDiscovery loads the static peers or starts the dynamic discovery.
func (s *setup) startDiscovery() int {
	if s.static {
		return s.loadStatic()
	}
	prog := s.findProg(s.dynProg)
	if prog == "" {
		fmt.Fprintf(s.stderr, "[ERROR] Cannot find dynamic peer discovery to start (%s)\n", s.dynProg)
		return 1
	}
	var args []string
	if filepath.Base(prog) == defaultDynProg {
		args = []string{"-l", s.oedLog, "-p", s.path(oedPidFile)}
	}
	fmt.Fprintf(s.stdout, "Starting the dynamic peer discovery (%s)\n", strings.Join(append([]string{prog}, args...), " "))
	cmd := exec.Command(prog, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(s.stderr, "[ERROR] Cannot start %s: %v\n", prog, err)
		return 1
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	ready := false
	deadline := time.Now().Add(discoveryWait)
	for !ready && time.Now().Before(deadline) {
		select {
		case <-exited:
			fmt.Fprintln(s.stderr, "[ERROR] Discovery exited early")
			return 1
		case <-time.After(20 * time.Millisecond):
		}
		if len(args) > 0 {
			ready = readPid(s.path(oedPidFile)) == cmd.Process.Pid
		}
	}
	select {
	case <-exited:
		fmt.Fprintln(s.stderr, "[ERROR] Discovery exited early")
		return 1
	default:
	}
	line := fmt.Sprintf("%d %s\n", cmd.Process.Pid, filepath.Base(prog))
	f, err := os.OpenFile(s.path(discoveryPidFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err == nil {
		_, err = f.WriteString(line)
		f.Close()
	}
	if err != nil {
		fmt.Fprintf(s.stderr, "[ERROR] Cannot record the discovery pid: %v\n", err)
	}
	fmt.Fprintf(s.stdout, "Started as pid=%d\n", cmd.Process.Pid)
	return 0
}

// findProg looks for prog next to omx_init, then in PATH.
func (s *setup) findProg(prog string) string {
	if strings.Contains(prog, "/") {
		if fi, err := os.Stat(prog); err == nil && !fi.IsDir() {
			return prog
		}
		return ""
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), prog)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	p, err := exec.LookPath(prog)
	if err != nil {
		return ""
	}
	return p
}

// loadStatic publishes the static peers file as the host's peer table,
// local boards first.
func (s *setup) loadStatic() int {
	if _, err := os.Stat(s.peersFile); err != nil {
		fmt.Fprintf(s.stdout, "Peers file %s does not exist, remember to run omx_peers_init with the correct file\n", s.peersFile)
		return 0
	}
	fmt.Fprintf(s.stdout, "Initializing peers using file '%s'\n", s.peersFile)
	peers, err := node.LoadPeersFile(s.peersFile)
	if err != nil {
		fmt.Fprintf(s.stderr, "[ERROR] %v\n", err)
		return 1
	}
	boards, _ := compat.DiscoverBoards(s.cfg)
	var local []node.Peer
	for _, b := range boards {
		local = append(local, node.Peer{NICID: b.NICID, Hostname: b.Hostname})
	}
	tab := node.NewPeerTable(local, peers)
	if err := node.WritePeerTable(s.cfg.RunDir, tab.All()); err != nil {
		fmt.Fprintf(s.stderr, "[ERROR] %v\n", err)
		return 1
	}
	fmt.Fprintf(s.stdout, "Published %d peers in %s\n", tab.Len(), filepath.Join(s.cfg.RunDir, node.PeerTableFile))
	return 0
}

// stopDiscovery stops the processes of the discovery pid file: SIGTERM
// (SIGKILL with kill, or when SIGTERM is not enough).
func (s *setup) stopDiscovery(kill bool) int {
	procs := s.discoveryProcs()
	if _, err := os.Stat(s.path(discoveryPidFile)); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(s.stderr, "[ERROR] Cannot find dynamic peer discovery to kill")
		return 0
	}
	for _, p := range procs {
		if !p.alive() {
			fmt.Fprintf(s.stderr, "[ERROR] Cannot find dynamic peer discovery to kill (%s, pid=%d)\n", p.name, p.pid)
			continue
		}
		fmt.Fprintf(s.stdout, "Killing the dynamic peer discovery (%s, pid=%d)\n", p.name, p.pid)
		sig := syscall.SIGTERM
		if kill {
			sig = syscall.SIGKILL
		}
		syscall.Kill(p.pid, sig)
		deadline := time.Now().Add(stopWait)
		for p.alive() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if p.alive() {
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
	os.Remove(s.path(discoveryPidFile))
	return 0
}

// omxInfo runs "omx_info -q" when it is installed, as the final check.
func (s *setup) omxInfo() {
	prog := s.findProg("omx_info")
	if prog == "" {
		return
	}
	cmd := exec.Command(prog, "-q")
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	_ = cmd.Run()
}

// readPid returns the pid recorded in a pid file, 0 if none.
func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	pid, _ := strconv.Atoi(f[0])
	return pid
}
