package compat

// Environment configuration (spec/api.md §8, DESIGN.md §8). Mirrors the
// getenv calls scattered through libopen-mx/omx_init.c, gathered in one
// table so that they can be tested with a fake environment and documented
// from the same source (Knobs).

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/open-mx-go/open-mx-go/engine"
)

// Defaults of the configuration paths and limits of the thresholds.
const (
	// DefaultConfigFile is the config file read when OMX_CONFIG is unset.
	DefaultConfigFile = "/etc/open-mx/open-mx.conf"
	// DefaultRunDir is the node state directory shared by every process
	// of the host (endpoint registry, counters, peer table).
	DefaultRunDir = "/run/open-mx"
	// DefaultPeersFile is the static peers file of omx_init_peers.
	DefaultPeersFile = "/etc/open-mx/peers"

	// RndvThresholdMin and RndvThresholdMax bound OMX_RNDV_THRESHOLD and
	// OMX_SHARED_RNDV_THRESHOLD. The engine may lower the upper bound to
	// the largest medium message of its wire mode (spec/wire.md §2.2).
	RndvThresholdMin = 128
	RndvThresholdMax = 262144
)

// Config is the library configuration read from the environment and the
// config file. The zero value is not the default configuration: start from
// DefaultConfig or LoadConfig. A Config is a plain value; copies are
// independent (IfNames and Messages are never modified after LoadConfig
// returns).
type Config struct {
	// Read at init (omx_init/mx_init).

	// Verbose enables library messages on stderr (OMX_VERBOSE, MX_VERBOSE).
	Verbose bool
	// VerbosePrefix is the format of the prefix of every library message
	// (OMX_VERBOSE_PREFIX; spec/api.md §8): %p pid, %e endpoint index, %b
	// board index, %B board hostname, %H machine hostname, %H and %B
	// optionally followed by [f-t]. Not expanded here.
	VerbosePrefix string
	// AbortSleeps is the number of seconds a fatal handler sleeps before
	// exiting (OMX_ABORT_SLEEPS); <= 0 means no sleep.
	AbortSleeps int
	// FatalErrors selects OMX_ERRORS_ARE_FATAL (true) or OMX_ERRORS_RETURN
	// as the default global error handler (OMX_FATAL_ERRORS,
	// MX_ERRORS_ARE_FATAL).
	FatalErrors bool

	// Read at the first endpoint open.

	// DisableSelf sends messages to the same endpoint through the shared
	// (or network) path instead of the in-library copy.
	DisableSelf bool
	// DisableShared sends messages to endpoints of the same host through
	// the network path.
	DisableShared bool
	// RndvThreshold and SharedRndvThreshold are the medium/rendezvous
	// boundaries for remote and same-host partners, clamped to
	// [RndvThresholdMin, RndvThresholdMax].
	RndvThreshold, SharedRndvThreshold uint32
	// ResendsMax is the retransmission budget of a request (spec/api.md
	// §7.13).
	ResendsMax uint32
	// ZombieSend is the maximum number of early-completed unacked sends;
	// 0 disables early completion.
	ZombieSend uint32
	// NotAckedMax is the number of unacked received messages that triggers
	// an explicit ack.
	NotAckedMax uint32
	// UnexpQueueMax bounds each endpoint's unexpected queue, in bytes
	// (OMX_UNEXP_QUEUE_MAX; MX_PARAM_UNEXP_QUEUE_MAX per endpoint); 0
	// means the engine's default.
	UnexpQueueMax uint32
	// PartnersMax bounds the partners each endpoint keeps
	// (OMX_PARTNERS_MAX); 0 means the engine's default.
	PartnersMax uint32
	// WaitSpin busy-polls in blocking calls; WaitIntr makes signals end
	// blocking waits; ConnectPollAll makes omx_connect progress every
	// endpoint of the process.
	WaitSpin, WaitIntr, ConnectPollAll bool
	// MediumSendQ selects the send-queue path for medium messages
	// (OMX_MEDIUM_SENDQ, default true).
	MediumSendQ bool
	// CtxIDBits and CtxIDShift are the default context-id parameters of
	// every endpoint (OMX_CTXIDS "bits,shift"), valid when CtxIDsSet.
	// Values are saturated to [0, 255] and validated at endpoint open
	// (bits <= 16, bits+shift <= 64).
	CtxIDBits, CtxIDShift uint8
	CtxIDsSet             bool
	// AnyEndpoint replaces OMX_ANY_ENDPOINT in omx_open_endpoint when
	// AnyEndpointSet (OMX_ANY_ENDPOINT env var, atoi converted to uint32
	// as C does, so -1 means "any" again).
	AnyEndpoint    uint32
	AnyEndpointSet bool
	// ProcessBinding is the raw OMX_PROCESS_BINDING value ("" = unset); the
	// syntax is interpreted at endpoint open (spec/api.md §8).
	ProcessBinding string

	// Host and node configuration (this implementation).

	// IfNames lists the interfaces to attach as boards, in board order
	// (OMX_IFNAMES, OMX_IFACES, or ifnames/OMX_IFNAMES/OMX_IFACES in the
	// config file). Nil means automatic selection (also for "all").
	IfNames []string
	// Hostname replaces the system host name in board host names
	// (OMX_HOSTNAME); empty means os.Hostname.
	Hostname string
	// RunDir is the node state directory of the host (OMX_RUNDIR, else
	// DefaultRunDir): the published peer table, board host names, the
	// node service. The endpoints this process opens keep their state in
	// StateDir(). Processes using different directories do not see each
	// other's endpoints.
	RunDir string
	// UserDir is the private per-user directory of a process that is not
	// root ("" for root): $XDG_RUNTIME_DIR/open-mx, else
	// <os.TempDir()>/open-mx-<uid>, plus a subdirectory named after RunDir
	// when RunDir is not DefaultRunDir. StateDir() uses it when RunDir
	// belongs to root and the node service made no per-user directory.
	UserDir string
	// PeersFile is the static peers file (OMX_PEERS_FILE).
	PeersFile string
	// WireCompat selects the MX wire-compatible framing (OMX_WIRE_COMPAT).
	WireCompat bool
	// BoardAccess says who may use which board through the node service
	// (OMX_BOARD_ACCESS: "<ifname>:<user>,@<group>,..." entries separated
	// by spaces or semicolons; boards not named: every local user).
	BoardAccess string
	// Backend selects the path to the network: BackendAuto (direct with
	// raw-socket rights, else through the node service when it runs),
	// BackendOn or BackendOff (OMX_BACKEND=1/0).
	Backend int

	// ConfigFile is the config file that was read ("" if none).
	ConfigFile string
	// Messages are the verbose lines ("Forcing ...", ...) to print after
	// the prefix, in order. Empty unless Verbose.
	Messages []string
}

// Values of Config.Backend.
const (
	BackendAuto = iota
	BackendOn
	BackendOff
)

// DefaultConfig returns the configuration of an empty environment without a
// config file, for root (RunDir is DefaultRunDir, no UserDir).
func DefaultConfig() Config {
	return Config{
		VerbosePrefix:       "OMX: ",
		FatalErrors:         true,
		RndvThreshold:       32768,
		SharedRndvThreshold: 4096,
		ResendsMax:          1000,
		ZombieSend:          512,
		NotAckedMax:         4,
		UnexpQueueMax:       engine.DefaultUnexpQueueMax,
		PartnersMax:         engine.DefaultPartnersMax,
		MediumSendQ:         true,
		RunDir:              DefaultRunDir,
		PeersFile:           DefaultPeersFile,
	}
}

// LoadConfig reads the configuration from the environment through getenv
// (os.Getenv in the library) and from the config file with os.ReadFile. It
// never fails: bad values are converted like C atoi, clamped or ignored,
// with a message in Config.Messages when verbose. Safe for concurrent use
// if getenv is.
func LoadConfig(getenv func(string) string) Config {
	return LoadConfigFrom(getenv, os.ReadFile)
}

// LoadConfigFrom is LoadConfig with the config file read through readFile.
//
// Sources, first match wins: the OMX_* variable in the environment, its MX_*
// alias in the environment, the OMX_* key in the config file, the MX_* key
// in the config file. MX aliases are skipped when OMX_IGNORE_MX_ENV is
// non-zero. An empty value counts as unset. The config file is named by
// OMX_CONFIG (default DefaultConfigFile); a missing default file is not an
// error.
func LoadConfigFrom(getenv func(string) string, readFile func(string) ([]byte, error)) Config {
	c := DefaultConfig()
	l := &loader{getenv: getenv, cfg: &c}

	path := getenv("OMX_CONFIG")
	explicit := path != ""
	if !explicit {
		path = DefaultConfigFile
	}
	data, err := readFile(path)
	switch {
	case err == nil:
		c.ConfigFile = path
		l.file = parseConfigFile(data, func(line int, text string) {
			l.notef("Ignoring line %d of %s: %q", line, path, text)
		})
	case explicit || !errors.Is(err, fs.ErrNotExist):
		l.notef("Failed to read config file %s: %v", path, err)
	}

	if v, _, ok := l.get([]string{"OMX_IGNORE_MX_ENV"}, nil); ok && atoi(v) != 0 {
		l.ignoreMX = true
	}
	for i := range knobTable {
		k := &knobTable[i]
		if k.set == nil {
			continue
		}
		v, from, ok := l.get(k.names, k.mx)
		if !ok {
			continue
		}
		if from != k.names[0] {
			l.notef("Emulating %s as %s", from, k.names[0])
		}
		k.set(l, v)
	}
	c.UserDir = userDir(c.RunDir, getenv)
	if c.Verbose {
		c.Messages = l.msgs
	}
	return c
}

// loader carries the state of one LoadConfigFrom call.
type loader struct {
	getenv   func(string) string
	file     map[string]string
	ignoreMX bool
	cfg      *Config
	msgs     []string
}

func (l *loader) notef(format string, args ...any) {
	l.msgs = append(l.msgs, fmt.Sprintf(format, args...))
}

// get returns the first non-empty value among the environment variables
// names, then mx (unless ignored), then the same keys of the config file,
// with the name it came from.
func (l *loader) get(names, mx []string) (value, from string, ok bool) {
	lists := [][]string{names}
	if !l.ignoreMX {
		lists = append(lists, mx)
	}
	for _, list := range lists {
		for _, n := range list {
			if v := l.getenv(n); v != "" {
				return v, n, true
			}
		}
	}
	for _, list := range lists {
		for _, n := range list {
			if v := l.file[n]; v != "" {
				return v, n, true
			}
		}
	}
	return "", "", false
}

// get1 returns the value of one variable (environment, then file).
func (l *loader) get1(name string) string {
	v, _, _ := l.get([]string{name}, nil)
	return v
}

// Knob describes one environment variable read by the library.
type Knob struct {
	Name    string // variable name, e.g. "OMX_RNDV_THRESHOLD"
	Default string // value in the Config Knobs was called on; "(unset)" etc. when it has none
	Meaning string // one-line description, mentions aliases and ignored knobs
}

// Knobs lists every environment variable LoadConfig reads, in the order of
// spec/api.md §8, followed by the variables of this implementation. Default
// shows the value the knob has in c: call it on DefaultConfig() to document
// the defaults, or on a loaded Config to show the effective settings.
func (c Config) Knobs() []Knob {
	var out []Knob
	for i := range knobTable {
		k := &knobTable[i]
		def := k.fixed
		if k.show != nil {
			def = k.show(c)
		}
		out = append(out, Knob{Name: k.names[0], Default: def, Meaning: k.meaning})
		for _, n := range k.names[1:] {
			out = append(out, Knob{Name: n, Default: def, Meaning: "same as " + k.names[0]})
		}
		for _, n := range k.mx {
			out = append(out, Knob{Name: n, Default: def,
				Meaning: "MX alias of " + k.names[0] + ", used when it is unset and OMX_IGNORE_MX_ENV is 0"})
		}
	}
	out = append(out,
		Knob{Name: "OMX_CONFIG", Default: DefaultConfigFile,
			Meaning: "config file of KEY=VALUE lines (shell syntax) giving defaults for these variables; ifnames= is accepted for OMX_IFNAMES"},
		Knob{Name: "XDG_RUNTIME_DIR", Default: "(unset)",
			Meaning: "per-user directory holding open-mx/, the private state directory of a user who does not own OMX_RUNDIR when the node service made no users/<uid> there (else /tmp/open-mx-<uid>)"},
	)
	return out
}

// knob is one row of knobTable: the variables (names[0] is the canonical
// one, names[1:] other accepted spellings, mx the MX aliases), how a value
// is applied and how the current value is shown.
type knob struct {
	names   []string
	mx      []string
	meaning string
	set     func(l *loader, v string) // nil: read only through special code
	show    func(c Config) string     // nil: fixed is shown
	fixed   string
}

// knobTable drives LoadConfigFrom and Knobs. OMX_IGNORE_MX_ENV is read
// before the others.
var knobTable = []knob{
	{names: []string{"OMX_IGNORE_MX_ENV"}, fixed: "0",
		meaning: "non-zero: ignore every MX_* alias"},
	{names: []string{"OMX_VERBOSE"}, mx: []string{"MX_VERBOSE"},
		meaning: "non-zero: print library messages on stderr",
		set:     func(l *loader, v string) { l.cfg.Verbose = atoi(v) != 0 },
		show:    func(c Config) string { return boolKnob(c.Verbose) }},
	{names: []string{"OMX_VERBOSE_PREFIX"},
		meaning: "prefix format of library messages (%p pid, %e endpoint, %b board, %B board hostname, %H hostname); a value starting with 1 means \"OMX:%H:%p \"",
		set: func(l *loader, v string) {
			if v[0] == '1' {
				v = "OMX:%H:%p "
			}
			l.cfg.VerbosePrefix = v
		},
		show: func(c Config) string { return strconv.Quote(c.VerbosePrefix) }},
	{names: []string{"OMX_VERBDEBUG"}, fixed: "0",
		meaning: "debug message mask of debug builds; accepted and ignored",
		set:     ignoredKnob("OMX_VERBDEBUG")},
	{names: []string{"OMX_ABORT_SLEEPS"},
		meaning: "seconds to sleep before a fatal exit, to attach a debugger",
		set: func(l *loader, v string) {
			l.cfg.AbortSleeps = atoi(v)
			l.notef("Forcing abort sleeps to %d seconds", l.cfg.AbortSleeps)
		},
		show: func(c Config) string { return strconv.Itoa(c.AbortSleeps) }},
	{names: []string{"OMX_FATAL_ERRORS"}, mx: []string{"MX_ERRORS_ARE_FATAL"},
		meaning: "0: the default error handler returns errors instead of exiting",
		set: func(l *loader, v string) {
			l.cfg.FatalErrors = atoi(v) != 0
			l.notef("Forcing errors to be %s", map[bool]string{true: "fatal", false: "returned"}[l.cfg.FatalErrors])
		},
		show: func(c Config) string { return boolKnob(c.FatalErrors) }},
	{names: []string{"OMX_DEBUG_SIGNAL"}, fixed: "0",
		meaning: "dump-on-signal of debug builds; accepted and ignored (the library installs no signal handler)",
		set:     ignoredKnob("OMX_DEBUG_SIGNAL")},
	{names: []string{"OMX_DEBUG_SIGNAL_NUM"}, fixed: "10",
		meaning: "signal of OMX_DEBUG_SIGNAL; accepted and ignored",
		set:     ignoredKnob("OMX_DEBUG_SIGNAL_NUM")},
	{names: []string{"OMX_DEBUG_REQUESTS"}, fixed: "0",
		meaning: "request accounting checks of debug builds; accepted and ignored",
		set:     ignoredKnob("OMX_DEBUG_REQUESTS")},
	{names: []string{"OMX_DEBUG_CHECKSUM"}, fixed: "0",
		meaning: "payload checksums of debug builds; accepted and ignored",
		set:     ignoredKnob("OMX_DEBUG_CHECKSUM")},
	{names: []string{"OMX_DISABLE_SELF"}, mx: []string{"MX_DISABLE_SELF"},
		meaning: "non-zero: messages to the same endpoint take the shared or network path",
		set:     boolSetter("Disabling self communication", "Enabling self communication", func(c *Config) *bool { return &c.DisableSelf }),
		show:    func(c Config) string { return boolKnob(c.DisableSelf) }},
	{names: []string{"OMX_DISABLE_SHARED"}, mx: []string{"MX_DISABLE_SHMEM"},
		meaning: "non-zero: endpoints of the same host talk through the network path",
		set:     boolSetter("Disabling shared communication", "Enabling shared communication", func(c *Config) *bool { return &c.DisableShared }),
		show:    func(c Config) string { return boolKnob(c.DisableShared) }},
	{names: []string{"OMX_RNDV_THRESHOLD"},
		meaning: fmt.Sprintf("rendezvous threshold to other hosts, bytes, clamped to [%d, %d]", RndvThresholdMin, RndvThresholdMax),
		set:     thresholdSetter("rendezvous threshold", func(c *Config) *uint32 { return &c.RndvThreshold }),
		show:    func(c Config) string { return uintKnob(c.RndvThreshold) }},
	{names: []string{"OMX_SHARED_RNDV_THRESHOLD"},
		meaning: fmt.Sprintf("rendezvous threshold to endpoints of the same host, bytes, clamped to [%d, %d]", RndvThresholdMin, RndvThresholdMax),
		set:     thresholdSetter("shared rendezvous threshold", func(c *Config) *uint32 { return &c.SharedRndvThreshold }),
		show:    func(c Config) string { return uintKnob(c.SharedRndvThreshold) }},
	{names: []string{"OMX_RESENDS_MAX"}, mx: []string{"MX_MAX_RETRIES"},
		meaning: "retry budget: a partner silent for this many resend delays (0.5 s each) is declared unreachable",
		set:     countSetter("resends max", func(c *Config) *uint32 { return &c.ResendsMax }),
		show:    func(c Config) string { return uintKnob(c.ResendsMax) }},
	{names: []string{"OMX_ZOMBIE_SEND"}, mx: []string{"MX_ZOMBIE_SEND"},
		meaning: "maximum early-completed unacked sends; 0 disables early completion",
		set:     countSetter("zombie send max", func(c *Config) *uint32 { return &c.ZombieSend }),
		show:    func(c Config) string { return uintKnob(c.ZombieSend) }},
	{names: []string{"OMX_NOTACKED_MAX"}, mx: []string{"MX_IMM_ACK"},
		meaning: "unacked received messages that trigger an immediate ack",
		set:     countSetter("not-acked max", func(c *Config) *uint32 { return &c.NotAckedMax }),
		show:    func(c Config) string { return uintKnob(c.NotAckedMax) }},
	{names: []string{"OMX_UNEXP_QUEUE_MAX"},
		meaning: "bytes of unexpected messages an endpoint keeps; messages beyond wait at their sender (0: the default)",
		set:     countSetter("unexpected queue max", func(c *Config) *uint32 { return &c.UnexpQueueMax }),
		show:    func(c Config) string { return uintKnob(c.UnexpQueueMax) }},
	{names: []string{"OMX_PARTNERS_MAX"},
		meaning: "partners (remote endpoints) an endpoint keeps; idle ones are reclaimed beyond it (0: the default)",
		set:     countSetter("partners max", func(c *Config) *uint32 { return &c.PartnersMax }),
		show:    func(c Config) string { return uintKnob(c.PartnersMax) }},
	{names: []string{"OMX_BACKEND"},
		meaning: "1: reach the network through the node service (omxoed) even with raw-socket rights; 0: never (default: the service only without raw-socket rights)",
		set: func(l *loader, v string) {
			if atoi(v) != 0 {
				l.cfg.Backend = BackendOn
				l.notef("Forcing the network path through the node service")
			} else {
				l.cfg.Backend = BackendOff
				l.notef("Forcing the direct network path")
			}
		},
		show: func(c Config) string {
			return map[int]string{BackendAuto: "(auto)", BackendOn: "1", BackendOff: "0"}[c.Backend]
		}},
	{names: []string{"OMX_BOARD_ACCESS"},
		meaning: "who may use which board through the node service: \"<ifname>:<user>,@<group>,...\" entries (boards not named: every local user)",
		set: func(l *loader, v string) {
			l.cfg.BoardAccess = v
			l.notef("Board access %q", v)
		},
		show: func(c Config) string { return strOrUnset(c.BoardAccess) }},
	{names: []string{"OMX_WAITSPIN"},
		meaning: "non-zero: blocking calls busy-poll instead of sleeping",
		set:     boolSetter("Forcing busy-polling in blocking calls", "Disabling busy-polling in blocking calls", func(c *Config) *bool { return &c.WaitSpin }),
		show:    func(c Config) string { return boolKnob(c.WaitSpin) }},
	{names: []string{"OMX_WAITINTR"},
		meaning: "non-zero: a signal ends a blocking wait as a timeout",
		set:     boolSetter("Forcing signals to interrupt blocking calls", "Forcing signals not to interrupt blocking calls", func(c *Config) *bool { return &c.WaitIntr }),
		show:    func(c Config) string { return boolKnob(c.WaitIntr) }},
	{names: []string{"OMX_CONNECT_POLLALL"},
		meaning: "non-zero: omx_connect progresses every endpoint of the process while waiting",
		set:     boolSetter("Forcing connect to poll all endpoints", "Forcing connect to poll its endpoint only", func(c *Config) *bool { return &c.ConnectPollAll }),
		show:    func(c Config) string { return boolKnob(c.ConnectPollAll) }},
	{names: []string{"OMX_RCACHE"}, mx: []string{"MX_RCACHE"}, fixed: "0",
		meaning: "registration cache; accepted and ignored (nothing to register in user space)",
		set:     ignoredKnob("OMX_RCACHE")},
	{names: []string{"OMX_PRCACHE"}, fixed: "0",
		meaning: "parallel registration cache; accepted and ignored",
		set:     ignoredKnob("OMX_PRCACHE")},
	{names: []string{"OMX_PROCESS_BINDING"},
		meaning: "bind the process to CPUs at endpoint open: file, file:<path>, all:<cpu>, or a per-endpoint CPU list",
		set: func(l *loader, v string) {
			l.cfg.ProcessBinding = v
			l.notef("Forcing process binding %q", v)
		},
		show: func(c Config) string { return strOrUnset(c.ProcessBinding) }},
	{names: []string{"OMX_MEDIUM_SENDQ"},
		meaning: "0: medium messages are sent from the user buffer (no early completion)",
		set:     boolSetter("Forcing medium messages through the send queue", "Forcing medium messages from the user buffer", func(c *Config) *bool { return &c.MediumSendQ }),
		show:    func(c Config) string { return boolKnob(c.MediumSendQ) }},
	{names: []string{"OMX_CTXIDS"},
		meaning: "bits,shift: default context ids of every endpoint (ignored without a comma)",
		set:     setCtxIDs,
		show: func(c Config) string {
			if !c.CtxIDsSet {
				return "(unset)"
			}
			return fmt.Sprintf("%d,%d", c.CtxIDBits, c.CtxIDShift)
		}},
	{names: []string{"OMX_ANY_ENDPOINT"},
		meaning: "endpoint index used when an endpoint is opened with OMX_ANY_ENDPOINT",
		set: func(l *loader, v string) {
			l.cfg.AnyEndpoint = uint32(int32(atoi(v)))
			l.cfg.AnyEndpointSet = true
			l.notef("Forcing any endpoint to %d", int32(l.cfg.AnyEndpoint))
		},
		show: func(c Config) string {
			if !c.AnyEndpointSet {
				return "(unset)"
			}
			return strconv.Itoa(int(int32(c.AnyEndpoint)))
		}},
	{names: []string{"OMX_IFNAMES", "OMX_IFACES"},
		meaning: "comma list of interfaces to attach as boards, in board order; all or unset: every UP Ethernet interface except lo",
		set:     setIfNames,
		show: func(c Config) string {
			if c.IfNames == nil {
				return "all"
			}
			return strings.Join(c.IfNames, ",")
		}},
	{names: []string{"OMX_HOSTNAME"},
		meaning: "host name used in board host names (<host>:<board>)",
		set: func(l *loader, v string) {
			l.cfg.Hostname = v
			l.notef("Forcing hostname to %s", v)
		},
		show: func(c Config) string {
			if c.Hostname == "" {
				return "(system host name)"
			}
			return c.Hostname
		}},
	{names: []string{"OMX_RUNDIR"},
		meaning: "node state directory (endpoint registry, counters, peer table); a user who does not own it keeps its endpoints in users/<uid> there (made by the node service) or in a private per-user directory",
		set: func(l *loader, v string) {
			l.cfg.RunDir = v
			l.notef("Forcing run directory to %s", v)
		},
		show: func(c Config) string { return c.RunDir }},
	{names: []string{"OMX_PEERS_FILE"},
		meaning: "static peers file",
		set: func(l *loader, v string) {
			l.cfg.PeersFile = v
			l.notef("Forcing peers file to %s", v)
		},
		show: func(c Config) string { return c.PeersFile }},
	{names: []string{"OMX_WIRE_COMPAT"},
		meaning: "1: MX wire-compatible framing (4096-byte fragments, 8 pull replies per block); every peer must agree",
		set:     boolSetter("Forcing MX wire compatibility", "Disabling MX wire compatibility", func(c *Config) *bool { return &c.WireCompat }),
		show:    func(c Config) string { return boolKnob(c.WireCompat) }},
}

func boolKnob(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func uintKnob(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func strOrUnset(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}

func ignoredKnob(name string) func(*loader, string) {
	return func(l *loader, v string) {
		l.notef("Ignoring %s=%s (not used by this implementation)", name, v)
	}
}

// boolSetter applies a flag (atoi != 0) and notes onMsg or offMsg.
func boolSetter(onMsg, offMsg string, field func(*Config) *bool) func(*loader, string) {
	return func(l *loader, v string) {
		b := atoi(v) != 0
		*field(l.cfg) = b
		if b {
			l.notef("%s", onMsg)
		} else {
			l.notef("%s", offMsg)
		}
	}
}

// countSetter applies a non-negative count; negative values become 0.
func countSetter(what string, field func(*Config) *uint32) func(*loader, string) {
	return func(l *loader, v string) {
		n := atoi(v)
		if n < 0 {
			l.notef("Forcing %s to 0 (negative value %d)", what, n)
			n = 0
		} else {
			l.notef("Forcing %s to %d", what, n)
		}
		*field(l.cfg) = uint32(n)
	}
}

func thresholdSetter(what string, field func(*Config) *uint32) func(*loader, string) {
	return func(l *loader, v string) {
		n := atoi(v)
		switch {
		case n < RndvThresholdMin:
			l.notef("Forcing %s to %d (clamped from %d)", what, RndvThresholdMin, n)
			n = RndvThresholdMin
		case n > RndvThresholdMax:
			l.notef("Forcing %s to %d (clamped from %d)", what, RndvThresholdMax, n)
			n = RndvThresholdMax
		default:
			l.notef("Forcing %s to %d", what, n)
		}
		*field(l.cfg) = uint32(n)
	}
}

func setCtxIDs(l *loader, v string) {
	bits, shift, ok := strings.Cut(v, ",")
	if !ok {
		l.notef("Ignoring OMX_CTXIDS=%s (expected bits,shift)", v)
		return
	}
	l.cfg.CtxIDBits = saturateU8(atoi(bits))
	l.cfg.CtxIDShift = saturateU8(atoi(shift))
	l.cfg.CtxIDsSet = true
	l.notef("Forcing context ids to %d bits at shift %d", l.cfg.CtxIDBits, l.cfg.CtxIDShift)
}

func saturateU8(n int) uint8 {
	switch {
	case n < 0:
		return 0
	case n > 255:
		return 255
	}
	return uint8(n)
}

func setIfNames(l *loader, v string) {
	names := splitIfNames(v)
	if len(names) == 0 || (len(names) == 1 && strings.EqualFold(names[0], "all")) {
		l.cfg.IfNames = nil
		return
	}
	l.cfg.IfNames = names
	l.notef("Forcing interfaces to %s", strings.Join(names, ","))
}

// splitIfNames splits an interface list on commas and white space.
func splitIfNames(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n'
	})
}

// userDir returns the private per-user directory for the node state
// directory runDir: "" for root; $XDG_RUNTIME_DIR/open-mx (an absolute
// XDG_RUNTIME_DIR only), else <os.TempDir()>/open-mx-<uid>; plus a
// subdirectory "run-<hash of runDir>" when runDir is not DefaultRunDir, so
// that separate node state directories (separate test hosts) never share
// endpoint indexes.
func userDir(runDir string, getenv func(string) string) string {
	uid := osGeteuid()
	if uid == 0 {
		return ""
	}
	base := filepath.Join(os.TempDir(), "open-mx-"+strconv.Itoa(uid))
	if x := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
		base = filepath.Join(x, "open-mx")
	}
	if runDir != DefaultRunDir {
		base = filepath.Join(base, "run-"+shmNamespace(runDir))
	}
	return base
}

// Hooks for tests.
var osGeteuid = os.Geteuid

// atoi converts like C atoi (glibc: (int)strtol(s, NULL, 10)): leading
// white space, an optional sign, then decimal digits up to the first other
// character; no digits gives 0; the long result is saturated and then
// truncated to 32 bits.
func atoi(s string) int {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	var v uint64
	overflow := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := uint64(s[i] - '0')
		if v > (1<<63-d)/10 {
			overflow = true
			continue
		}
		v = v*10 + d
	}
	var l int64
	switch {
	case overflow && neg:
		l = -1 << 63
	case overflow:
		l = 1<<63 - 1
	case neg:
		l = -int64(v)
	default:
		if v > 1<<63-1 {
			l = 1<<63 - 1
		} else {
			l = int64(v)
		}
	}
	return int(int32(l))
}

// parseConfigFile parses shell-style assignments: KEY=VALUE lines, optional
// "export ", '#' comments, single- or double-quoted values (no expansion).
// The key "ifnames" (a stack parameter of the original) stands for
// OMX_IFNAMES. Later assignments win. Other lines are reported to bad.
func parseConfigFile(data []byte, bad func(line int, text string)) map[string]string {
	m := make(map[string]string)
	for n, line := range strings.Split(string(data), "\n") {
		text := strings.TrimSpace(line)
		if text == "" || text[0] == '#' {
			continue
		}
		key, val, ok := parseAssignment(text)
		if !ok {
			bad(n+1, text)
			continue
		}
		if key == "ifnames" {
			key = "OMX_IFNAMES"
		}
		m[key] = val
	}
	return m
}

// parseAssignment parses one trimmed non-comment line.
func parseAssignment(text string) (key, val string, ok bool) {
	if rest, found := strings.CutPrefix(text, "export"); found && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		text = strings.TrimSpace(rest)
	}
	key, raw, found := strings.Cut(text, "=")
	if !found || !isShellName(key) {
		return "", "", false
	}
	var b strings.Builder
	i := 0
	for i < len(raw) {
		ch := raw[i]
		switch {
		case ch == ' ' || ch == '\t':
			rest := strings.TrimSpace(raw[i:])
			if rest != "" && rest[0] != '#' {
				return "", "", false // "A=b command": not an assignment line
			}
			return key, b.String(), true
		case ch == '\'':
			end := strings.IndexByte(raw[i+1:], '\'')
			if end < 0 {
				return "", "", false
			}
			b.WriteString(raw[i+1 : i+1+end])
			i += end + 2
		case ch == '"':
			i++
			closed := false
			for i < len(raw) {
				c := raw[i]
				if c == '"' {
					closed = true
					i++
					break
				}
				if c == '\\' && i+1 < len(raw) && strings.IndexByte("\"\\$`", raw[i+1]) >= 0 {
					i++
					c = raw[i]
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return "", "", false
			}
		case ch == '\\' && i+1 < len(raw):
			b.WriteByte(raw[i+1])
			i += 2
		default:
			b.WriteByte(ch)
			i++
		}
	}
	return key, b.String(), true
}

func isShellName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}
