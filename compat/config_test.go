package compat

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeEnv returns a getenv over m.
func fakeEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// noFile is a readFile for a host without a config file.
func noFile(string) ([]byte, error) { return nil, fs.ErrNotExist }

// fileWith returns a readFile serving content at path only.
func fileWith(path, content string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		if p != path {
			return nil, fs.ErrNotExist
		}
		return []byte(content), nil
	}
}

// fakeUID makes the per-user directory deterministic (UserDir is empty
// for root).
func fakeUID(t *testing.T, uid int) {
	t.Helper()
	old := osGeteuid
	t.Cleanup(func() { osGeteuid = old })
	osGeteuid = func() int { return uid }
}

func TestLoadConfigDefaults(t *testing.T) {
	fakeUID(t, 0)
	got := LoadConfigFrom(fakeEnv(nil), noFile)
	if diff := cmp.Diff(DefaultConfig(), got); diff != "" {
		t.Errorf("empty environment (-want +got):\n%s", diff)
	}
	want := Config{
		VerbosePrefix: "OMX: ", FatalErrors: true,
		RndvThreshold: 32768, SharedRndvThreshold: 4096,
		ResendsMax: 1000, ZombieSend: 512, NotAckedMax: 4,
		UnexpQueueMax: 16 << 20, PartnersMax: 8192,
		MediumSendQ: true, RunDir: "/run/open-mx", PeersFile: "/etc/open-mx/peers",
	}
	if diff := cmp.Diff(want, DefaultConfig()); diff != "" {
		t.Errorf("DefaultConfig (-want +got):\n%s", diff)
	}
}

func TestLoadConfigKnobs(t *testing.T) {
	fakeUID(t, 0)
	tests := []struct {
		name string
		env  map[string]string
		want func(c *Config)
	}{
		{"verbose", map[string]string{"OMX_VERBOSE": "1"}, func(c *Config) { c.Verbose = true }},
		{"verbose non-numeric is atoi 0", map[string]string{"OMX_VERBOSE": "yes"}, func(c *Config) {}},
		{"verbose from MX alias", map[string]string{"MX_VERBOSE": "1"}, func(c *Config) {
			c.Verbose = true
			c.Messages = []string{"Emulating MX_VERBOSE as OMX_VERBOSE"}
		}},
		{"OMX_VERBOSE wins over MX_VERBOSE", map[string]string{"OMX_VERBOSE": "0", "MX_VERBOSE": "1"}, func(c *Config) {}},
		{"MX_VERBOSE ignored", map[string]string{"OMX_IGNORE_MX_ENV": "1", "MX_VERBOSE": "1"}, func(c *Config) {}},
		{"prefix starting with 1", map[string]string{"OMX_VERBOSE_PREFIX": "12"}, func(c *Config) { c.VerbosePrefix = "OMX:%H:%p " }},
		{"prefix format", map[string]string{"OMX_VERBOSE_PREFIX": "[%p/%e] "}, func(c *Config) { c.VerbosePrefix = "[%p/%e] " }},
		{"abort sleeps", map[string]string{"OMX_ABORT_SLEEPS": " 7s"}, func(c *Config) { c.AbortSleeps = 7 }},
		{"fatal errors off", map[string]string{"OMX_FATAL_ERRORS": "0"}, func(c *Config) { c.FatalErrors = false }},
		{"fatal errors off by MX alias", map[string]string{"MX_ERRORS_ARE_FATAL": "0"}, func(c *Config) { c.FatalErrors = false }},
		{"fatal errors OMX wins", map[string]string{"OMX_FATAL_ERRORS": "1", "MX_ERRORS_ARE_FATAL": "0"}, func(c *Config) {}},
		{"disable self", map[string]string{"OMX_DISABLE_SELF": "1"}, func(c *Config) { c.DisableSelf = true }},
		{"disable self by MX alias", map[string]string{"MX_DISABLE_SELF": "1"}, func(c *Config) { c.DisableSelf = true }},
		{"disable self OMX=0 wins", map[string]string{"OMX_DISABLE_SELF": "0", "MX_DISABLE_SELF": "1"}, func(c *Config) {}},
		{"disable shared", map[string]string{"OMX_DISABLE_SHARED": "2"}, func(c *Config) { c.DisableShared = true }},
		{"disable shared by MX alias", map[string]string{"MX_DISABLE_SHMEM": "1"}, func(c *Config) { c.DisableShared = true }},
		{"MX alias ignored", map[string]string{"OMX_IGNORE_MX_ENV": "1", "MX_DISABLE_SHMEM": "1"}, func(c *Config) {}},
		{"ignore flag 0 keeps aliases", map[string]string{"OMX_IGNORE_MX_ENV": "0", "MX_DISABLE_SHMEM": "1"}, func(c *Config) { c.DisableShared = true }},
		{"ignore flag non-numeric keeps aliases", map[string]string{"OMX_IGNORE_MX_ENV": "yes", "MX_DISABLE_SHMEM": "1"}, func(c *Config) { c.DisableShared = true }},
		{"misspelt variable has no effect", map[string]string{"OMX_DISABLED_SHARED": "1"}, func(c *Config) {}},
		{"rndv threshold", map[string]string{"OMX_RNDV_THRESHOLD": "65536"}, func(c *Config) { c.RndvThreshold = 65536 }},
		{"rndv threshold clamped low", map[string]string{"OMX_RNDV_THRESHOLD": "10"}, func(c *Config) { c.RndvThreshold = 128 }},
		{"rndv threshold clamped high", map[string]string{"OMX_RNDV_THRESHOLD": "1000000"}, func(c *Config) { c.RndvThreshold = 262144 }},
		{"rndv threshold non-numeric", map[string]string{"OMX_RNDV_THRESHOLD": "big"}, func(c *Config) { c.RndvThreshold = 128 }},
		{"rndv threshold negative", map[string]string{"OMX_RNDV_THRESHOLD": "-4096"}, func(c *Config) { c.RndvThreshold = 128 }},
		{"rndv threshold bounds kept", map[string]string{"OMX_RNDV_THRESHOLD": "128", "OMX_SHARED_RNDV_THRESHOLD": "262144"}, func(c *Config) {
			c.RndvThreshold, c.SharedRndvThreshold = 128, 262144
		}},
		{"shared rndv threshold", map[string]string{"OMX_SHARED_RNDV_THRESHOLD": "8192"}, func(c *Config) { c.SharedRndvThreshold = 8192 }},
		{"shared rndv threshold clamped", map[string]string{"OMX_SHARED_RNDV_THRESHOLD": "999999999"}, func(c *Config) { c.SharedRndvThreshold = 262144 }},
		{"resends max", map[string]string{"OMX_RESENDS_MAX": "10"}, func(c *Config) { c.ResendsMax = 10 }},
		{"resends max by MX alias", map[string]string{"MX_MAX_RETRIES": "20"}, func(c *Config) { c.ResendsMax = 20 }},
		{"resends max OMX wins", map[string]string{"OMX_RESENDS_MAX": "10", "MX_MAX_RETRIES": "20"}, func(c *Config) { c.ResendsMax = 10 }},
		{"resends max negative", map[string]string{"OMX_RESENDS_MAX": "-1"}, func(c *Config) { c.ResendsMax = 0 }},
		{"zombie send off", map[string]string{"OMX_ZOMBIE_SEND": "0"}, func(c *Config) { c.ZombieSend = 0 }},
		{"zombie send by MX alias", map[string]string{"MX_ZOMBIE_SEND": "7"}, func(c *Config) { c.ZombieSend = 7 }},
		{"not acked max", map[string]string{"OMX_NOTACKED_MAX": "8"}, func(c *Config) { c.NotAckedMax = 8 }},
		{"not acked max by MX alias", map[string]string{"MX_IMM_ACK": "2"}, func(c *Config) { c.NotAckedMax = 2 }},
		{"not acked max alias ignored", map[string]string{"MX_IMM_ACK": "2", "OMX_IGNORE_MX_ENV": "1"}, func(c *Config) {}},
		{"wait spin", map[string]string{"OMX_WAITSPIN": "1"}, func(c *Config) { c.WaitSpin = true }},
		{"wait intr", map[string]string{"OMX_WAITINTR": "1"}, func(c *Config) { c.WaitIntr = true }},
		{"connect pollall", map[string]string{"OMX_CONNECT_POLLALL": "1"}, func(c *Config) { c.ConnectPollAll = true }},
		{"medium sendq off", map[string]string{"OMX_MEDIUM_SENDQ": "0"}, func(c *Config) { c.MediumSendQ = false }},
		{"rcache accepted and ignored", map[string]string{"OMX_RCACHE": "1", "MX_RCACHE": "1", "OMX_PRCACHE": "1"}, func(c *Config) {}},
		{"debug knobs ignored", map[string]string{"OMX_VERBDEBUG": "PCX", "OMX_DEBUG_SIGNAL": "2", "OMX_DEBUG_SIGNAL_NUM": "12", "OMX_DEBUG_REQUESTS": "3", "OMX_DEBUG_CHECKSUM": "1"}, func(c *Config) {}},
		{"ctxids", map[string]string{"OMX_CTXIDS": "10,10"}, func(c *Config) { c.CtxIDBits, c.CtxIDShift, c.CtxIDsSet = 10, 10, true }},
		{"ctxids other", map[string]string{"OMX_CTXIDS": "1,41"}, func(c *Config) { c.CtxIDBits, c.CtxIDShift, c.CtxIDsSet = 1, 41, true }},
		{"ctxids without comma ignored", map[string]string{"OMX_CTXIDS": "4"}, func(c *Config) {}},
		{"ctxids empty bits", map[string]string{"OMX_CTXIDS": ",5"}, func(c *Config) { c.CtxIDBits, c.CtxIDShift, c.CtxIDsSet = 0, 5, true }},
		{"ctxids saturated", map[string]string{"OMX_CTXIDS": "300,-2"}, func(c *Config) { c.CtxIDBits, c.CtxIDShift, c.CtxIDsSet = 255, 0, true }},
		{"any endpoint", map[string]string{"OMX_ANY_ENDPOINT": "3"}, func(c *Config) { c.AnyEndpoint, c.AnyEndpointSet = 3, true }},
		{"any endpoint -1 is any", map[string]string{"OMX_ANY_ENDPOINT": "-1"}, func(c *Config) { c.AnyEndpoint, c.AnyEndpointSet = 0xffffffff, true }},
		{"any endpoint non-numeric", map[string]string{"OMX_ANY_ENDPOINT": "x"}, func(c *Config) { c.AnyEndpoint, c.AnyEndpointSet = 0, true }},
		{"process binding", map[string]string{"OMX_PROCESS_BINDING": "0,,,1"}, func(c *Config) { c.ProcessBinding = "0,,,1" }},
		{"ifnames", map[string]string{"OMX_IFNAMES": "eth2,eth3"}, func(c *Config) { c.IfNames = []string{"eth2", "eth3"} }},
		{"ifnames spaces", map[string]string{"OMX_IFNAMES": " eth1 , eth0,,"}, func(c *Config) { c.IfNames = []string{"eth1", "eth0"} }},
		{"ifnames all", map[string]string{"OMX_IFNAMES": "all"}, func(c *Config) {}},
		{"ifnames blank", map[string]string{"OMX_IFNAMES": " "}, func(c *Config) {}},
		{"ifaces", map[string]string{"OMX_IFACES": "eth5"}, func(c *Config) { c.IfNames = []string{"eth5"} }},
		{"ifnames wins over ifaces", map[string]string{"OMX_IFNAMES": "lo", "OMX_IFACES": "eth5"}, func(c *Config) { c.IfNames = []string{"lo"} }},
		{"hostname", map[string]string{"OMX_HOSTNAME": "node7"}, func(c *Config) { c.Hostname = "node7" }},
		{"rundir", map[string]string{"OMX_RUNDIR": "/tmp/omx"}, func(c *Config) { c.RunDir = "/tmp/omx" }},
		{"peers file", map[string]string{"OMX_PEERS_FILE": "/etc/peers"}, func(c *Config) { c.PeersFile = "/etc/peers" }},
		{"wire compat", map[string]string{"OMX_WIRE_COMPAT": "1"}, func(c *Config) { c.WireCompat = true }},
		{"wire compat off", map[string]string{"OMX_WIRE_COMPAT": "0"}, func(c *Config) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := DefaultConfig()
			tt.want(&want)
			got := LoadConfigFrom(fakeEnv(tt.env), noFile)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("LoadConfig(%v) (-want +got):\n%s", tt.env, diff)
			}
		})
	}
}

func TestLoadConfigMessages(t *testing.T) {
	fakeUID(t, 0)
	env := map[string]string{
		"OMX_VERBOSE":        "1",
		"MX_MAX_RETRIES":     "5",
		"OMX_RNDV_THRESHOLD": "10",
		"OMX_CTXIDS":         "bad",
		"OMX_RCACHE":         "1",
		"OMX_DISABLE_SELF":   "1",
	}
	got := LoadConfigFrom(fakeEnv(env), noFile).Messages
	want := []string{
		"Disabling self communication",
		"Forcing rendezvous threshold to 128 (clamped from 10)",
		"Emulating MX_MAX_RETRIES as OMX_RESENDS_MAX",
		"Forcing resends max to 5",
		"Ignoring OMX_RCACHE=1 (not used by this implementation)",
		"Ignoring OMX_CTXIDS=bad (expected bits,shift)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}

	// Without verbose, nothing is printed.
	delete(env, "OMX_VERBOSE")
	if got := LoadConfigFrom(fakeEnv(env), noFile).Messages; got != nil {
		t.Errorf("non-verbose messages = %q, want none", got)
	}
}

func TestLoadConfigFile(t *testing.T) {
	fakeUID(t, 0)
	const conf = `# Open-MX configuration
OMX_IFACES="eth1,eth3"
export OMX_RNDV_THRESHOLD=8192   # comment
MX_DISABLE_SHMEM='1'
OMX_MODULE_PARAMS="endpoints=64 peers=4096"
OMX_HOSTNAME=from-file
`
	t.Run("default path", func(t *testing.T) {
		got := LoadConfigFrom(fakeEnv(nil), fileWith(DefaultConfigFile, conf))
		want := DefaultConfig()
		want.IfNames = []string{"eth1", "eth3"}
		want.RndvThreshold = 8192
		want.DisableShared = true
		want.Hostname = "from-file"
		want.ConfigFile = DefaultConfigFile
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("environment overrides file", func(t *testing.T) {
		env := map[string]string{"OMX_IFNAMES": "eth9", "OMX_RNDV_THRESHOLD": "4096", "OMX_DISABLE_SHARED": "0", "MX_DISABLE_SHMEM": ""}
		got := LoadConfigFrom(fakeEnv(env), fileWith(DefaultConfigFile, conf))
		want := DefaultConfig()
		want.IfNames = []string{"eth9"}
		want.RndvThreshold = 4096
		want.Hostname = "from-file"
		want.ConfigFile = DefaultConfigFile
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("MX alias in environment beats OMX key in file", func(t *testing.T) {
		got := LoadConfigFrom(fakeEnv(map[string]string{"MX_MAX_RETRIES": "3"}),
			fileWith(DefaultConfigFile, "OMX_RESENDS_MAX=9\n"))
		if got.ResendsMax != 3 {
			t.Errorf("ResendsMax = %d, want 3", got.ResendsMax)
		}
	})
	t.Run("ifnames key and later lines win", func(t *testing.T) {
		got := LoadConfigFrom(fakeEnv(nil), fileWith(DefaultConfigFile, "ifnames=eth4\nifnames=eth4,eth5\n"))
		if diff := cmp.Diff([]string{"eth4", "eth5"}, got.IfNames); diff != "" {
			t.Errorf("IfNames (-want +got):\n%s", diff)
		}
	})
	t.Run("OMX_CONFIG names the file", func(t *testing.T) {
		got := LoadConfigFrom(fakeEnv(map[string]string{"OMX_CONFIG": "/x/omx.conf"}),
			fileWith("/x/omx.conf", "OMX_WIRE_COMPAT=1\n"))
		if !got.WireCompat || got.ConfigFile != "/x/omx.conf" {
			t.Errorf("WireCompat = %v, ConfigFile = %q; want true, /x/omx.conf", got.WireCompat, got.ConfigFile)
		}
	})
	t.Run("missing explicit file and bad lines are reported when verbose", func(t *testing.T) {
		got := LoadConfigFrom(fakeEnv(map[string]string{"OMX_CONFIG": "/nope", "OMX_VERBOSE": "1"}), noFile)
		if len(got.Messages) != 1 || got.ConfigFile != "" {
			t.Errorf("Messages = %q, ConfigFile = %q; want one failure message, no file", got.Messages, got.ConfigFile)
		}
		got = LoadConfigFrom(fakeEnv(nil), fileWith(DefaultConfigFile, "OMX_VERBOSE=1\nrm -rf /\nOMX_ZOMBIE_SEND=3 true\n"))
		want := []string{
			`Ignoring line 2 of /etc/open-mx/open-mx.conf: "rm -rf /"`,
			`Ignoring line 3 of /etc/open-mx/open-mx.conf: "OMX_ZOMBIE_SEND=3 true"`,
		}
		if diff := cmp.Diff(want, got.Messages); diff != "" {
			t.Errorf("messages (-want +got):\n%s", diff)
		}
		if got.ZombieSend != 512 {
			t.Errorf("ZombieSend = %d, want the default 512", got.ZombieSend)
		}
	})
	t.Run("unreadable default file", func(t *testing.T) {
		got := LoadConfigFrom(fakeEnv(map[string]string{"OMX_VERBOSE": "1"}), func(string) ([]byte, error) {
			return nil, errors.New("permission denied")
		})
		if len(got.Messages) != 1 {
			t.Errorf("Messages = %q, want one failure message", got.Messages)
		}
	})
}

func TestParseAssignment(t *testing.T) {
	tests := []struct {
		line     string
		key, val string
		ok       bool
	}{
		{`A=b`, "A", "b", true},
		{`A=`, "A", "", true},
		{`export A="x y"`, "A", "x y", true},
		{`export	B=1`, "B", "1", true},
		{`A='a"b'`, "A", `a"b`, true},
		{`A="a\"b\\c\n"`, "A", `a"b\c\n`, true},
		{`A=b # comment`, "A", "b", true},
		{`A=#b`, "A", "#b", true},
		{`A=x\ y`, "A", "x y", true},
		{`A="one"'two'three`, "A", "onetwothree", true},
		{`lower_1=v`, "lower_1", "v", true},
		{`exportA=1`, "exportA", "1", true},
		{`A=b c`, "", "", false},
		{`1A=b`, "", "", false},
		{`A`, "", "", false},
		{`A-B=1`, "", "", false},
		{`A="unterminated`, "", "", false},
		{`A='unterminated`, "", "", false},
	}
	for _, tt := range tests {
		key, val, ok := parseAssignment(tt.line)
		if key != tt.key || val != tt.val || ok != tt.ok {
			t.Errorf("parseAssignment(%q) = %q, %q, %v; want %q, %q, %v", tt.line, key, val, ok, tt.key, tt.val, tt.ok)
		}
	}
}

func TestAtoi(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0}, {"0", 0}, {"12", 12}, {" \t12", 12}, {"+5", 5}, {"-5", -5},
		{"12abc", 12}, {"abc", 0}, {"0x10", 0}, {"- 5", 0}, {"1 2", 1},
		{"2147483647", 2147483647},
		{"2147483648", -2147483648},           // (int) of a long, as glibc
		{"4294967296", 0},                     // same
		{"99999999999999999999", -1},          // strtol saturates at LONG_MAX
		{"-99999999999999999999", 0},          // LONG_MIN truncated
		{"9223372036854775807", -1},           // LONG_MAX exactly
		{"-9223372036854775808", 0},           // LONG_MIN exactly
		{"00000000000000000000000000042", 42}, // leading zeros do not overflow
	}
	for _, tt := range tests {
		if got := atoi(tt.in); got != tt.want {
			t.Errorf("atoi(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestRunDirAndUserDir(t *testing.T) {
	tmp := filepath.Join(os.TempDir(), "open-mx-1000")
	tests := []struct {
		name    string
		uid     int
		env     map[string]string
		runDir  string
		userDir string
	}{
		{"root", 0, map[string]string{"XDG_RUNTIME_DIR": "/run/user/0"}, "/run/open-mx", ""},
		{"user, XDG runtime dir", 1000, map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"}, "/run/open-mx", "/run/user/1000/open-mx"},
		{"user, relative XDG runtime dir ignored", 1000, map[string]string{"XDG_RUNTIME_DIR": "run/user"}, "/run/open-mx", tmp},
		{"user, temp dir", 1000, nil, "/run/open-mx", tmp},
		{"explicit, per node state directory", 1000, map[string]string{"OMX_RUNDIR": "/srv/omx", "XDG_RUNTIME_DIR": "/run/user/1000"},
			"/srv/omx", "/run/user/1000/open-mx/run-" + shmNamespace("/srv/omx")},
		{"explicit default", 1000, map[string]string{"OMX_RUNDIR": "/run/open-mx"}, "/run/open-mx", tmp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakeUID(t, tt.uid)
			c := LoadConfigFrom(fakeEnv(tt.env), noFile)
			if c.RunDir != tt.runDir || c.UserDir != tt.userDir {
				t.Errorf("RunDir, UserDir = %q, %q, want %q, %q", c.RunDir, c.UserDir, tt.runDir, tt.userDir)
			}
		})
	}
}

// allKnobsEnv sets every variable the library knows, so that LoadConfig
// reads them all.
var allKnobsEnv = map[string]string{
	"OMX_VERBOSE": "1", "OMX_VERBOSE_PREFIX": "x", "OMX_VERBDEBUG": "1", "OMX_ABORT_SLEEPS": "1",
	"OMX_FATAL_ERRORS": "0", "OMX_DEBUG_SIGNAL": "1", "OMX_DEBUG_SIGNAL_NUM": "1",
	"OMX_DEBUG_REQUESTS": "1", "OMX_DEBUG_CHECKSUM": "1", "OMX_DISABLE_SELF": "1",
	"OMX_DISABLE_SHARED": "1", "OMX_RNDV_THRESHOLD": "1", "OMX_SHARED_RNDV_THRESHOLD": "1",
	"OMX_RESENDS_MAX": "1", "OMX_ZOMBIE_SEND": "1", "OMX_NOTACKED_MAX": "1", "OMX_WAITSPIN": "1",
	"OMX_WAITINTR": "1", "OMX_CONNECT_POLLALL": "1", "OMX_RCACHE": "1", "OMX_PRCACHE": "1",
	"OMX_PROCESS_BINDING": "1", "OMX_MEDIUM_SENDQ": "1", "OMX_CTXIDS": "1,1", "OMX_ANY_ENDPOINT": "1",
	"OMX_HOSTNAME": "h", "OMX_PEERS_FILE": "p", "OMX_WIRE_COMPAT": "1", "OMX_CONFIG": "/c",
}

func TestKnobsListEveryVariableRead(t *testing.T) {
	fakeUID(t, 1000)
	read := make(map[string]bool)
	record := func(env map[string]string) func(string) string {
		return func(k string) string { read[k] = true; return env[k] }
	}
	LoadConfigFrom(record(nil), noFile)
	LoadConfigFrom(record(allKnobsEnv), noFile)

	var knobs []string
	seen := make(map[string]bool)
	for _, k := range DefaultConfig().Knobs() {
		if seen[k.Name] {
			t.Errorf("knob %s listed twice", k.Name)
		}
		seen[k.Name] = true
		knobs = append(knobs, k.Name)
		if k.Meaning == "" || k.Default == "" {
			t.Errorf("knob %s: empty meaning or default: %+v", k.Name, k)
		}
	}
	var readNames []string
	for k := range read {
		readNames = append(readNames, k)
	}
	sort.Strings(knobs)
	sort.Strings(readNames)
	if diff := cmp.Diff(knobs, readNames); diff != "" {
		t.Errorf("variables read by LoadConfig vs Knobs() (-knobs +read):\n%s", diff)
	}
}

func TestKnobsShowValues(t *testing.T) {
	fakeUID(t, 0)
	byName := func(ks []Knob) map[string]string {
		m := make(map[string]string)
		for _, k := range ks {
			m[k.Name] = k.Default
		}
		return m
	}
	def := byName(DefaultConfig().Knobs())
	for name, want := range map[string]string{
		"OMX_RNDV_THRESHOLD": "32768", "OMX_SHARED_RNDV_THRESHOLD": "4096",
		"OMX_RESENDS_MAX": "1000", "MX_MAX_RETRIES": "1000", "OMX_ZOMBIE_SEND": "512",
		"OMX_NOTACKED_MAX": "4", "OMX_FATAL_ERRORS": "1", "OMX_VERBOSE": "0",
		"OMX_VERBOSE_PREFIX": `"OMX: "`, "OMX_MEDIUM_SENDQ": "1", "OMX_CTXIDS": "(unset)",
		"OMX_IFNAMES": "all", "OMX_RUNDIR": "/run/open-mx", "OMX_PEERS_FILE": "/etc/open-mx/peers",
		"OMX_CONFIG": "/etc/open-mx/open-mx.conf", "OMX_ANY_ENDPOINT": "(unset)",
	} {
		if def[name] != want {
			t.Errorf("default of %s = %q, want %q", name, def[name], want)
		}
	}
	cur := byName(LoadConfigFrom(fakeEnv(map[string]string{
		"OMX_RNDV_THRESHOLD": "4096", "OMX_CTXIDS": "10,10", "OMX_IFNAMES": "eth1,eth2", "OMX_ANY_ENDPOINT": "-1",
	}), noFile).Knobs())
	for name, want := range map[string]string{
		"OMX_RNDV_THRESHOLD": "4096", "OMX_CTXIDS": "10,10", "OMX_IFNAMES": "eth1,eth2", "OMX_ANY_ENDPOINT": "-1",
	} {
		if cur[name] != want {
			t.Errorf("loaded value of %s = %q, want %q", name, cur[name], want)
		}
	}
}
