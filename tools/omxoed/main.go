//go:build linux

// Command omxoed is the node service of open-mx-go (spec/tools.md §6,
// spec/wire.md §6.5–6.6, DESIGN.md §4): one per host, it discovers the
// peers of every board by broadcasting announcement frames, publishes them
// in the peer table of the node state directory (which the libraries
// reload), resolves their host names with HOST_QUERY, answers the host-name
// queries of other hosts, and refuses (NACK_LIB) the connect requests and
// messages aimed at endpoint indexes that no process of this host holds, so
// that a remote connect fails at once instead of timing out.
//
// Run "omxoed -h" for the options.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
)

// Defaults of the options.
const (
	defaultLogFile = "/var/log/omxoed.log"
	pidFileName    = "omxoed.pid"
	// envDetached marks the process started by -d.
	envDetached = "OMXOED_DETACHED"
	// daemonStartWait bounds how long -d waits for the daemon to be ready.
	daemonStartWait = 10 * time.Second
)

const usageText = `Usage: %s [options]
 -f		foreground: log on stderr instead of the log file
 -d		daemon: detach from the terminal, print the daemon's pid and return
 -l <file>	log file (default %s, truncated at start; '-' = stderr)
 -p <file>	pid file (default <node state directory>/%s)
 -v		verbose log (every NACK, every host query)
 -h		this help
Dynamic peer discovery and node service of open-mx-go, one per host: for
every board (at most 8, loopback excluded) it broadcasts announcements (8
one second apart, then one every 3 minutes; 8 more when a new or restarted
peer shows up), adds the peers it hears of to the peer table published in
the node state directory (OMX_RUNDIR), asks nameless peers for their host
names every 5 s, answers host-name queries, and sends NACK_LIB
(ENDPT_CLOSED, BAD_ENDPT) for connect requests and messages aimed at
endpoints that are not open on this host. Stops cleanly on SIGTERM/SIGINT.
Frames are not authenticated, so: an announcement counts only if the nic
id it announces is its source address; a new peer is admitted on its
second announcement within 10 minutes, 32 at once then one per 250 ms, at
most 128 waiting for their names (the oldest gives way) and 768 in all;
a discovered peer that never answers its host queries leaves the table 2
minutes after it came, one that answered after 10 minutes without news
(peers of the static peers file never leave); a host reply counts only
if it answers one of our queries (random magic, 5 s) and names a peer
without a name; log lines about refused frames are rate-limited (per kind,
one per 10 s with the number held back).
Adapted from Open-MX, where there is no kernel module: the original takes
no options and always logs to %s; here -f/-d/-l/-p/-v exist, a
second instance refuses to start (pid file lock), and the daemon itself
answers host queries and sends NACKs (the kernel did it in Open-MX).
Configuration: OMX_IFNAMES, OMX_HOSTNAME, OMX_RUNDIR, OMX_PEERS_FILE, OMX_CONFIG.
`

type options struct {
	foreground, daemon, verbose bool
	logFile, pidFile            string
}

func usage(w io.Writer, prog string) {
	fmt.Fprintf(w, usageText, prog, defaultLogFile, pidFileName, defaultLogFile)
}

// parseArgs parses getopt-style options. It returns ok=false after
// printing the diagnostics when the caller must exit 255.
func parseArgs(prog string, args []string, stderr io.Writer) (options, bool) {
	o := options{logFile: defaultLogFile}
	bad := func(format string, a ...any) (options, bool) {
		fmt.Fprintf(stderr, format, a...)
		fmt.Fprintln(stderr, "Unknown option -?")
		usage(stderr, prog)
		return o, false
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				return bad("%s: unexpected argument '%s'\n", prog, args[i+1])
			}
			break
		}
		if len(a) < 2 || a[0] != '-' {
			return bad("%s: unexpected argument '%s'\n", prog, a)
		}
		if a == "--help" {
			usage(stderr, prog)
			return o, false
		}
		if strings.HasPrefix(a, "--") {
			return bad("%s: unrecognized option '%s'\n", prog, a)
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			switch c {
			case 'f':
				o.foreground = true
			case 'd':
				o.daemon = true
			case 'v':
				o.verbose = true
			case 'h':
				usage(stderr, prog)
				return o, false
			case 'l', 'p':
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return bad("%s: option requires an argument -- '%c'\n", prog, c)
					}
					i++
					val = args[i]
				}
				if c == 'l' {
					o.logFile = val
				} else {
					o.pidFile = val
				}
				j = len(a)
			default:
				return bad("%s: invalid option -- '%c'\n", prog, c)
			}
		}
	}
	if o.foreground && o.daemon {
		return bad("%s: -f and -d exclude each other\n", prog)
	}
	return o, true
}

func main() {
	prog := filepath.Base(os.Args[0])
	o, ok := parseArgs(prog, os.Args[1:], os.Stderr)
	if !ok {
		os.Exit(255)
	}
	cfg := compat.LoadConfig(os.Getenv)
	if o.pidFile == "" {
		o.pidFile = filepath.Join(cfg.RunDir, pidFileName)
	}
	if o.daemon && os.Getenv(envDetached) == "" {
		os.Exit(detach(prog, o))
	}
	os.Exit(run(prog, o, cfg))
}

// run is the daemon proper; it returns the exit status.
func run(prog string, o options, cfg compat.Config) int {
	// The node state directory is made 0755 and checked like every
	// directory of it (never world-writable, not another user's); the
	// directory of a pid file given with -p is the administrator's.
	mkdir := func(dir string) error { return os.MkdirAll(dir, 0o755) }
	if filepath.Clean(filepath.Dir(o.pidFile)) == filepath.Clean(cfg.RunDir) {
		mkdir = node.MakeRunDir
	}
	if err := mkdir(filepath.Dir(o.pidFile)); err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot create the directory of %s: %v\n", prog, o.pidFile, err)
		return 1
	}
	pf, err := lockPidFile(o.pidFile)
	if err != nil {
		if errors.Is(err, errRunning) {
			fmt.Fprintf(os.Stderr, "%s: not starting: %v\n", prog, err)
		} else {
			fmt.Fprintf(os.Stderr, "%s: pid file: %v\n", prog, err)
		}
		return 1
	}
	defer pf.remove()

	logw := io.Writer(os.Stderr)
	if !o.foreground && o.logFile != "-" {
		f, err := os.OpenFile(o.logFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Printf("%s: Failed to open %s, sending errors to stderr.\n", prog, o.logFile)
		} else {
			// Runtime errors (panics) go to the log too.
			_ = unix.Dup2(int(f.Fd()), 2)
			logw = f
			defer f.Close()
		}
	}
	if os.Getenv(envDetached) != "" {
		// Leave the caller's terminal or pipe: only the log file remains.
		if null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
			if logw == io.Writer(os.Stderr) {
				fmt.Fprintf(os.Stderr, "%s: no log file, the daemon logs nothing\n", prog)
				_ = unix.Dup2(int(null.Fd()), 2)
				logw = io.Discard
			}
			_ = unix.Dup2(int(null.Fd()), 0)
			_ = unix.Dup2(int(null.Fd()), 1)
			null.Close()
		}
	}
	lg := log.New(logw, "", log.LstdFlags)

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	d := newDaemon(cfg, lg, o.verbose)
	if err := d.start(); err != nil {
		lg.Print(err)
		d.stop()
		return 1
	}
	if err := pf.ready(); err != nil {
		lg.Printf("Writing pid file %s: %v", o.pidFile, err)
		d.stop()
		return 1
	}
	status := 0
	select {
	case s := <-sigs:
		lg.Printf("Exiting on signal %v", s)
	case err := <-d.failed:
		lg.Print(err)
		status = 1
	}
	d.stop()
	return status
}

// detach starts the daemon in its own session, waits until it is ready
// and prints its pid; it returns the exit status.
func detach(prog string, o options) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot find my own executable: %v\n", prog, err)
		return 1
	}
	args := []string{"-l", o.logFile, "-p", o.pidFile}
	if o.verbose {
		args = append(args, "-v")
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), envDetached+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// Keep stderr until the pid file says the daemon is ready: an early
	// refusal (another omxoed, no pid file) is shown to the caller.
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: cannot start the daemon: %v\n", prog, err)
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(daemonStartWait)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			code := 1
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() > 0 {
				code = ee.ExitCode()
			}
			fmt.Fprintf(os.Stderr, "%s: the daemon exited early (status %d), see %s\n", prog, code, o.logFile)
			return 1
		case <-time.After(20 * time.Millisecond):
		}
		if readPid(o.pidFile) == cmd.Process.Pid {
			fmt.Printf("%s started as pid %d\n", prog, cmd.Process.Pid)
			return 0
		}
	}
	fmt.Fprintf(os.Stderr, "%s: the daemon (pid %d) is not ready after %v, see %s\n", prog, cmd.Process.Pid, daemonStartWait, o.logFile)
	return 1
}
