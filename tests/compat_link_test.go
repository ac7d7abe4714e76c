package tests

// Binary compatibility with Myricom's MX: a program linked against a real
// libmyriexpress.so.0 (which records mx_open_endpoint@MX_0.9,
// mx__init_api@MX_0.92, ...) must run against our library, found either as
// libmyriexpress.so.0 on the library path or forced in with LD_PRELOAD.
//
// The "real MX" is a fake built here from testdata/link/fakemx.c with the MX
// version nodes; each of its functions returns 77, and the program reports
// which file defines each symbol (dladdr), so the test knows which library
// answered.

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// compatLinkFakeAnswer is what every function of fakemx.c returns.
const compatLinkFakeAnswer = 77

// compatLinkImports are the symbols linkprog.c imports, with the version it
// must record (empty: unversioned).
var compatLinkImports = map[string]string{
	"mx_open_endpoint":           "MX_0.9",
	"mx_decompose_endpoint_addr": "MX_0.9",
	"mx_get_info":                "MX_0.91",
	"mx_test":                    "MX_0.91",
	"mx_wait":                    "MX_0.91",
	"mx_iprobe":                  "MX_0.91",
	"mx__init_api":               "MX_0.92",
	"mx_finalize":                "",
}

// compatLinkCC runs the C compiler and fails the test on error.
func compatLinkCC(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(testlib.CC(), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", testlib.CC(), strings.Join(args, " "), err, out)
	}
}

// compatLinkBuild builds the fake MX library into fakeDir (as
// libmyriexpress.so.0, with a libmyriexpress.so link) and the program linked
// against it, and returns the program's path.
func compatLinkBuild(t *testing.T, fakeDir string) string {
	t.Helper()
	src := filepath.Join(testlib.Root(), "tests", "testdata", "link")
	if err := os.MkdirAll(fakeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	compatLinkCC(t, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror",
		"-Wl,-soname,libmyriexpress.so.0",
		"-Wl,--version-script="+filepath.Join(src, "fakemx.map"),
		"-o", filepath.Join(fakeDir, "libmyriexpress.so.0"), filepath.Join(src, "fakemx.c"))
	if err := os.Symlink("libmyriexpress.so.0", filepath.Join(fakeDir, "libmyriexpress.so")); err != nil {
		t.Fatal(err)
	}
	// PIE, so a function's address is the library's, not a PLT slot of the
	// program; no rpath, so LD_LIBRARY_PATH decides.
	prog := filepath.Join(t.TempDir(), "linkprog")
	compatLinkCC(t, "-std=gnu99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIE", "-pie",
		"-o", prog, filepath.Join(src, "linkprog.c"), "-L", fakeDir, "-lmyriexpress", "-ldl")
	return prog
}

// compatLinkResult is what linkprog printed.
type compatLinkResult struct {
	files          map[string]string // symbol -> defining file (symlinks resolved)
	init, finalize int
}

func compatLinkRun(t *testing.T, prog string, env ...string) compatLinkResult {
	t.Helper()
	// LD_BIND_NOW: resolve every symbol at start-up, not only those called.
	r := testlib.MustRun(t, 30*time.Second, append([]string{"LD_BIND_NOW=1"}, env...), prog)
	res := compatLinkResult{files: map[string]string{}, init: -1, finalize: -1}
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "sym":
			p, err := filepath.EvalSymlinks(f[2])
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			res.files[f[1]] = p
		case len(f) == 2 && f[0] == "init":
			res.init, _ = strconv.Atoi(f[1])
		case len(f) == 2 && f[0] == "finalize":
			res.finalize, _ = strconv.Atoi(f[1])
		default:
			t.Fatalf("unexpected output line %q\nstdout:\n%s\nstderr:\n%s", line, r.Stdout, r.Stderr)
		}
	}
	return res
}

func TestCompatLinkMXBinary(t *testing.T) {
	lib := testlib.Lib(t)
	fakeDir := filepath.Join(t.TempDir(), "fake")
	prog := compatLinkBuild(t, fakeDir)

	// The program must have recorded the MX versions, or the rest proves
	// nothing.
	f, err := elf.Open(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	imported, err := f.ImportedSymbols()
	if err != nil {
		t.Fatal(err)
	}
	gotVersions := map[string]string{}
	for _, s := range imported {
		if _, ok := compatLinkImports[s.Name]; ok {
			gotVersions[s.Name] = s.Version
			if s.Version != "" && s.Library != "libmyriexpress.so.0" {
				t.Errorf("%s@%s required from %q, want libmyriexpress.so.0", s.Name, s.Version, s.Library)
			}
		}
	}
	if diff := cmp.Diff(compatLinkImports, gotVersions); diff != "" {
		t.Fatalf("versions recorded by the program (-want +got):\n%s", diff)
	}
	needed, err := f.DynString(elf.DT_NEEDED)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(needed, " "), "libmyriexpress.so.0") {
		t.Fatalf("DT_NEEDED %v, want libmyriexpress.so.0", needed)
	}

	fake, err := filepath.EvalSymlinks(filepath.Join(fakeDir, "libmyriexpress.so.0"))
	if err != nil {
		t.Fatal(err)
	}
	ours, err := filepath.EvalSymlinks(filepath.Join(lib, elfSoname))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		env     []string
		wantLib string
	}{
		// Control: the fake answers when it is what the loader finds.
		{"fake", []string{"LD_LIBRARY_PATH=" + fakeDir}, fake},
		// (a) build/lib/libmyriexpress.so.0 -> libopen-mx.so.0 replaces MX.
		{"library-path", []string{"LD_LIBRARY_PATH=" + lib}, ours},
		// (b) the fake is still loaded, but ours comes first.
		{"preload", []string{"LD_LIBRARY_PATH=" + fakeDir, "LD_PRELOAD=" + filepath.Join(lib, elfSoname)}, ours},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := compatLinkRun(t, prog, tc.env...)
			for name := range compatLinkImports {
				if got := res.files[name]; got != tc.wantLib {
					t.Errorf("%s defined by %q, want %q", name, got, tc.wantLib)
				}
			}
			want := 0 // MX_SUCCESS
			if tc.wantLib == fake {
				want = compatLinkFakeAnswer
			}
			if res.init != want || res.finalize != want {
				t.Errorf("mx__init_api -> %d, mx_finalize -> %d; want %d for both", res.init, res.finalize, want)
			}
		})
	}
}
