package tests

// Symbol hygiene of the built library: the dynamic symbol table of
// build/lib/libopen-mx.so.0 must hold exactly the API, with the MX symbol
// versions, the right SONAME and the links the Makefile promises.

import (
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

const (
	elfSoname         = "libopen-mx.so.0"
	elfDefaultVersion = "MX_0.0"
)

// elfLinks are the names that must be symbolic links to elfSoname in the
// library directory.
var elfLinks = []string{"libopen-mx.so", "libmyriexpress.so", "libmyriexpress.so.0"}

// elfInternals are the MX symbols no header declares but real MX clients
// (MPI implementations, the MX tools) call; DESIGN.md §1.
var elfInternals = []string{"mx_open_board", "mx__get_mapper_state", "mx__regcache_clean"}

// elfVersionNode is a node of symbol-versions.json.
type elfVersionNode struct {
	Name   string   `json:"name"`
	Parent *string  `json:"parent"`
	Global []string `json:"global"`
}

// elfReadABI decodes tests/testdata/abi/name into v.
func elfReadABI(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testlib.Root(), "tests", "testdata", "abi", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// elfExpected returns the exported functions and data symbols the library
// must define, each mapped to its version.
func elfExpected(t *testing.T) (funcs, data map[string]string) {
	t.Helper()
	funcs, data = map[string]string{}, map[string]string{}
	for _, h := range []string{"myriexpress", "mx_extensions", "mx_raw", "open-mx"} {
		var hd struct {
			Functions []struct {
				Name   string `json:"name"`
				Static bool   `json:"static"`
			} `json:"functions"`
			Variables []struct {
				Name string `json:"name"`
			} `json:"variables"`
		}
		elfReadABI(t, h+".json", &hd)
		for _, f := range hd.Functions {
			if !f.Static { // omx_init is static inline: no symbol
				funcs[f.Name] = elfDefaultVersion
			}
		}
		for _, v := range hd.Variables {
			data[v.Name] = elfDefaultVersion
		}
	}
	for _, s := range elfInternals {
		funcs[s] = elfDefaultVersion
	}
	var vers struct{ Nodes []elfVersionNode }
	elfReadABI(t, "symbol-versions.json", &vers)
	for _, n := range vers.Nodes {
		for _, s := range n.Global {
			if _, ok := funcs[s]; !ok {
				t.Fatalf("symbol-versions.json: %s@%s is not an API function", s, n.Name)
			}
			funcs[s] = n.Name
		}
	}
	if len(data) != 4 {
		t.Fatalf("want the 4 data symbols MX_/OMX_ERRORS_*, the ABI lists %v", data)
	}
	return funcs, data
}

// elfOpenLib builds the library and opens it.
func elfOpenLib(t *testing.T) *elf.File {
	t.Helper()
	f, err := elf.Open(filepath.Join(testlib.Lib(t), elfSoname))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// elfExports returns the symbols the library defines for others: defined,
// not local, without the absolute symbols naming the version definitions.
func elfExports(t *testing.T, f *elf.File) map[string]elf.Symbol {
	t.Helper()
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]elf.Symbol{}
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF || elf.ST_BIND(s.Info) == elf.STB_LOCAL {
			continue
		}
		if s.Section == elf.SHN_ABS && s.Name == s.Version && s.Size == 0 {
			continue // the symbol of a version definition (MX_0.9 ...)
		}
		if _, dup := out[s.Name]; dup {
			t.Errorf("%s is exported twice (several versions)", s.Name)
		}
		out[s.Name] = s
	}
	return out
}

func TestElfExportedSymbols(t *testing.T) {
	f := elfOpenLib(t)
	funcs, data := elfExpected(t)
	got := elfExports(t, f)

	var missing, extra []string
	for name := range funcs {
		if _, ok := got[name]; !ok {
			missing = append(missing, name)
		}
	}
	for name := range data {
		if _, ok := got[name]; !ok {
			missing = append(missing, name)
		}
	}
	for name := range got {
		_, isFunc := funcs[name]
		_, isData := data[name]
		if !isFunc && !isData {
			extra = append(extra, name)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		t.Errorf("%d API symbols not exported by %s:\n  %s", len(missing), elfSoname, strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("%d exported symbols that are not API (check capi/myriexpress.map and the -ldflags of the Makefile):\n  %s",
			len(extra), strings.Join(extra, "\n  "))
	}

	check := func(name, wantVersion string, wantType elf.SymType) {
		s, ok := got[name]
		if !ok {
			return // reported above
		}
		if typ := elf.ST_TYPE(s.Info); typ != wantType {
			t.Errorf("%s: type %v, want %v", name, typ, wantType)
		}
		if b := elf.ST_BIND(s.Info); b != elf.STB_GLOBAL {
			t.Errorf("%s: binding %v, want STB_GLOBAL", name, b)
		}
		if v := elf.ST_VISIBILITY(s.Other); v != elf.STV_DEFAULT {
			t.Errorf("%s: visibility %v, want STV_DEFAULT", name, v)
		}
		switch {
		case !s.HasVersion || s.Version == "":
			t.Errorf("%s: no version, want %s@@%s", name, name, wantVersion)
		case s.Version != wantVersion || s.VersionIndex.IsHidden():
			sep := "@@"
			if s.VersionIndex.IsHidden() {
				sep = "@"
			}
			t.Errorf("%s: version %s%s%s, want %s@@%s", name, name, sep, s.Version, name, wantVersion)
		}
	}
	for name, v := range funcs {
		check(name, v, elf.STT_FUNC)
	}
	for name, v := range data {
		check(name, v, elf.STT_OBJECT)
		if s, ok := got[name]; ok && s.Size != 8 {
			t.Errorf("%s: size %d, want 8 (a const function pointer)", name, s.Size)
		}
	}
}

func TestElfVersionDefinitions(t *testing.T) {
	f := elfOpenLib(t)
	var vers struct{ Nodes []elfVersionNode }
	elfReadABI(t, "symbol-versions.json", &vers)

	type def struct {
		Name string
		Base bool
		Deps []string
	}
	want := []def{{Name: elfSoname, Base: true}}
	for _, n := range vers.Nodes {
		d := def{Name: n.Name}
		if n.Parent != nil {
			d.Deps = []string{*n.Parent}
		}
		want = append(want, d)
	}
	dv, err := f.DynamicVersions()
	if err != nil {
		t.Fatal(err)
	}
	var got []def
	for _, v := range dv {
		got = append(got, def{Name: v.Name, Base: v.Flags&elf.VER_FLG_BASE != 0, Deps: v.Deps})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("version definitions mismatch (-want +got):\n%s", diff)
	}
}

func TestElfSoname(t *testing.T) {
	f := elfOpenLib(t)
	got, err := f.DynString(elf.DT_SONAME)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{elfSoname}, got); diff != "" {
		t.Errorf("DT_SONAME mismatch (-want +got):\n%s", diff)
	}
}

func TestElfLibraryLinks(t *testing.T) {
	dir := testlib.Lib(t)
	real, err := os.Stat(filepath.Join(dir, elfSoname))
	if err != nil {
		t.Fatal(err)
	}
	if !real.Mode().IsRegular() {
		t.Fatalf("%s: mode %v, want a regular file", elfSoname, real.Mode())
	}
	for _, l := range elfLinks {
		p := filepath.Join(dir, l)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", l, err)
			continue
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s: mode %v, want a symbolic link", l, fi.Mode())
			continue
		}
		// Relative, so the directory can be moved or installed.
		if target, _ := os.Readlink(p); target != elfSoname {
			t.Errorf("%s -> %q, want -> %q", l, target, elfSoname)
		}
		if fi, err := os.Stat(p); err != nil || !os.SameFile(fi, real) {
			t.Errorf("%s does not resolve to %s (%v)", l, elfSoname, err)
		}
	}
	// Go writes a header next to a c-shared library; include/ is the only
	// header the project ships.
	if hs, _ := filepath.Glob(filepath.Join(dir, "*.h")); len(hs) > 0 {
		t.Errorf("Go-generated headers left in %s: %v", dir, hs)
	}
}

// TestElfLibUpToDate checks that make considers the library up to date
// right after building it, so every test's "make -s lib" is a no-op.
func TestElfLibUpToDate(t *testing.T) {
	testlib.Lib(t)
	cmd := exec.Command("make", "-q", "lib")
	cmd.Dir = testlib.Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("make -q lib after make lib: %v (make would rebuild)\n%s", err, out)
	}
}

// TestElfMapGenerated checks that capi/myriexpress.map is what capi/mkmap.go
// generates, and that the check notices a stale map.
func TestElfMapGenerated(t *testing.T) {
	goCmd, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		t.Fatal(err)
	}
	root := testlib.Root()
	mapPath := filepath.Join(root, "capi", "myriexpress.map")
	run := func(args ...string) ([]byte, error) {
		cmd := exec.Command(goCmd, append([]string{"run", "capi/mkmap.go"}, args...)...)
		cmd.Dir = root
		return cmd.CombinedOutput()
	}
	if out, err := run("-check", "-o", mapPath); err != nil {
		t.Errorf("capi/myriexpress.map is stale: %v\n%s", err, out)
	}

	committed, err := os.ReadFile(mapPath)
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(t.TempDir(), "stale.map")
	edited := strings.Replace(string(committed), "    mx_isend;\n", "", 1)
	if edited == string(committed) {
		t.Fatal("capi/myriexpress.map does not list mx_isend")
	}
	if err := os.WriteFile(stale, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run("-check", "-o", stale); err == nil {
		t.Errorf("mkmap -check accepted a map without mx_isend\n%s", out)
	}
}
