package nodeinfo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGetopt(t *testing.T) {
	tests := []struct {
		args  []string
		opts  []Opt
		pos   []string
		diag  string
		valid bool
	}{
		{args: nil, valid: true},
		{args: []string{"-qv", "-b", "3"}, opts: []Opt{{'q', ""}, {'v', ""}, {'b', "3"}}, valid: true},
		{args: []string{"-b7", "file"}, opts: []Opt{{'b', "7"}}, pos: []string{"file"}, valid: true},
		{args: []string{"-qb", "2"}, opts: []Opt{{'q', ""}, {'b', "2"}}, valid: true},
		{args: []string{"file", "-q"}, opts: []Opt{{'q', ""}}, pos: []string{"file"}, valid: true},
		{args: []string{"--", "-q", "x"}, pos: []string{"-q", "x"}, valid: true},
		{args: []string{"-", "x"}, pos: []string{"-", "x"}, valid: true},
		{args: []string{"--help"}, opts: []Opt{{'h', ""}}, valid: true},
		{args: []string{"-x"}, diag: "prog: invalid option -- 'x'"},
		{args: []string{"-q:"}, opts: []Opt{{'q', ""}}, diag: "prog: invalid option -- ':'"},
		{args: []string{"-b"}, diag: "prog: option requires an argument -- 'b'"},
		{args: []string{"--foo"}, diag: "prog: unrecognized option '--foo'"},
	}
	for _, tc := range tests {
		opts, pos, diag, ok := Getopt("prog", tc.args, "b:qvh")
		if ok != tc.valid || diag != tc.diag {
			t.Errorf("Getopt(%q): ok=%v diag=%q, want ok=%v diag=%q", tc.args, ok, diag, tc.valid, tc.diag)
		}
		if diff := cmp.Diff(tc.opts, opts); diff != "" {
			t.Errorf("Getopt(%q) options (-want +got):\n%s", tc.args, diff)
		}
		if diff := cmp.Diff(tc.pos, pos); diff != "" {
			t.Errorf("Getopt(%q) positional (-want +got):\n%s", tc.args, diff)
		}
	}
}

func TestAtoi(t *testing.T) {
	for in, want := range map[string]int{"3": 3, " 12x": 12, "abc": 0, "": 0, "-4": -4, "+5": 5, "256": 256} {
		if got := Atoi(in); got != want {
			t.Errorf("Atoi(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, err := ReadState(dir)
	if err != nil || s != (TableState{}) {
		t.Fatalf("missing state: %+v, %v; want zero state", s, err)
	}
	want := TableState{Configured: true, Full: true, Version: 3, Size: 7, MapperID: 0x0200000000aa}
	if err := WriteState(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(dir)
	if err != nil || got != want {
		t.Fatalf("ReadState = %+v, %v; want %+v", got, err, want)
	}
	data, _ := os.ReadFile(filepath.Join(dir, StateFile))
	const file = "configured=1\nfull=1\nversion=3\nsize=7\nmapper_id=02:00:00:00:00:aa\n"
	if string(data) != file {
		t.Errorf("state file:\n%s\nwant:\n%s", data, file)
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".*")); len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

func TestCheckPrivileged(t *testing.T) {
	dir := t.TempDir()
	if err := CheckPrivileged(dir); err != nil {
		t.Errorf("owner of the run directory: %v", err)
	}
	if err := CheckPrivileged(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("missing run directory: %v", err)
	}
	if os.Geteuid() != 0 {
		if err := CheckPrivileged("/"); err != ErrAccessDenied {
			t.Errorf("root-owned directory as a user: %v, want ErrAccessDenied", err)
		}
	}
	if Strerror(ErrAccessDenied) != "Access denied" {
		t.Errorf("Strerror(ErrAccessDenied) = %q", Strerror(ErrAccessDenied))
	}
}

func TestLoadLoopback(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"OMX_RUNDIR": dir, "OMX_IFNAMES": "lo", "OMX_CONFIG": filepath.Join(dir, "none.conf"), "OMX_PEERS_FILE": filepath.Join(dir, "none")}
	n, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Boards) != 1 || BoardLine(n.Boards[0]) != "localhost (board #0 name lo addr 00:00:00:00:00:00)" {
		t.Fatalf("boards: %+v", n.Boards)
	}
	if n.BadMTU(n.Boards[0]) {
		t.Error("loopback board reported with a bad MTU")
	}
	if err := os.WriteFile(filepath.Join(dir, "hostname.lo"), []byte("renamed:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err = Load(func(k string) string { return env[k] })
	if err != nil || n.Boards[0].Hostname != "renamed:0" {
		t.Fatalf("host name override not applied: %+v, %v", n.Boards, err)
	}
}

// TestUnsafeRunDir: the tools refuse a node state directory others may
// write (naming it) and never change it.
func TestUnsafeRunDir(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	if err := os.Mkdir(run, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(run, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OMX_RUNDIR": run, "OMX_IFNAMES": "lo", "OMX_CONFIG": "/nonexistent"}
	_, err := Load(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), run) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("Load: %v, want a refusal naming %s", err, run)
	}
	if Strerror(err) != "Access denied" {
		t.Errorf("Strerror = %q", Strerror(err))
	}
	if err := WriteState(run, TableState{Configured: true}); err == nil {
		t.Error("WriteState in a world-writable directory succeeded")
	}
	if ents, _ := os.ReadDir(run); len(ents) != 0 {
		t.Errorf("%d files written in the refused directory", len(ents))
	}
	if fi, _ := os.Stat(run); fi.Mode() != os.ModeDir|os.ModeSticky|0o777 {
		t.Errorf("mode changed to %v", fi.Mode())
	}
}
