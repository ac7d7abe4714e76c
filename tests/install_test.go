package tests

// make install / make uninstall: what lands under the prefix, that the
// pkg-config files let a C program build and run against the installed
// library, and that uninstall removes exactly what install put there
// (directories stay: they may be shared with other packages).

import (
	"bytes"
	"debug/elf"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// installMake runs make with args at the repository root.
func installMake(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-s"}, args...)...)
	cmd.Dir = testlib.Root()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// installPrograms returns the names make installs into bin/: one per
// tools/<name>/ holding a main package, one per examples/<name>.c.
func installPrograms(t *testing.T) []string {
	t.Helper()
	root := testlib.Root()
	var names []string
	gofiles, _ := filepath.Glob(filepath.Join(root, "tools", "*", "*.go"))
	for _, f := range gofiles {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(strings.Split(string(b), "\n"), "package main") {
			names = append(names, filepath.Base(filepath.Dir(f)))
		}
	}
	examples, _ := filepath.Glob(filepath.Join(root, "examples", "*.c"))
	for _, f := range examples {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".c"))
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// installHeaders returns the public headers, include/*.h.
func installHeaders(t *testing.T) []string {
	t.Helper()
	hs, err := filepath.Glob(filepath.Join(testlib.IncludeDir(), "*.h"))
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

// installTree lists every non-directory under dir, relative and sorted.
func installTree(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// installSameContent fails unless files a and b have the same bytes.
func installSameContent(t *testing.T, a, b string) {
	t.Helper()
	ab, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ab, bb) {
		t.Errorf("%s differs from %s", a, b)
	}
}

func TestInstall(t *testing.T) {
	for _, tool := range []string{"make", "pkg-config"} {
		if _, err := exec.LookPath(tool); err != nil {
			testlib.Skip(t, tool+" not found: install it (apt-get install "+tool+")")
		}
	}
	testlib.Lib(t)
	t.Run("prefix", func(t *testing.T) {
		installCheck(t, "", filepath.Join(t.TempDir(), "usr"))
	})
	t.Run("destdir", func(t *testing.T) {
		// The prefix is recorded in the .pc files, DESTDIR is not.
		installCheck(t, t.TempDir(), "/opt/open-mx-go-test")
	})
}

// installCheck installs into destdir+prefix, checks the tree and the
// pkg-config files, builds and runs a program against it, then uninstalls.
func installCheck(t *testing.T, destdir, prefix string) {
	vars := []string{"PREFIX=" + prefix, "DESTDIR=" + destdir}
	staged := filepath.Join(destdir, prefix)
	installMake(t, append([]string{"install"}, vars...)...)

	want := []string{"lib/pkgconfig/myriexpress.pc", "lib/pkgconfig/open-mx.pc", "lib/" + elfSoname}
	for _, l := range elfLinks {
		want = append(want, "lib/"+l)
	}
	for _, h := range installHeaders(t) {
		want = append(want, "include/"+filepath.Base(h))
	}
	programs := installPrograms(t)
	for _, p := range programs {
		want = append(want, "bin/"+p)
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, installTree(t, staged)); diff != "" {
		t.Errorf("installed files mismatch (-want +got):\n%s", diff)
	}

	lib := filepath.Join(staged, "lib")
	installSameContent(t, filepath.Join(testlib.LibDir(), elfSoname), filepath.Join(lib, elfSoname))
	for _, l := range elfLinks {
		if target, err := os.Readlink(filepath.Join(lib, l)); err != nil || target != elfSoname {
			t.Errorf("installed %s -> %q (%v), want a link to %s", l, target, err, elfSoname)
		}
	}
	for _, h := range installHeaders(t) {
		installSameContent(t, h, filepath.Join(staged, "include", filepath.Base(h)))
	}
	for _, p := range programs {
		installCheckProgram(t, filepath.Join(staged, "bin", p))
	}

	for _, pc := range []struct{ name, lflag string }{
		{"myriexpress", "-lmyriexpress"},
		{"open-mx", "-lopen-mx"},
	} {
		t.Run(pc.name, func(t *testing.T) {
			installCheckPkgConfig(t, destdir, prefix, pc.name, pc.lflag)
		})
	}

	// Files of someone else survive uninstall.
	foreign := []string{"bin/other-tool", "include/other.h", "lib/libother.so.1", "lib/pkgconfig/other.pc"}
	for _, f := range foreign {
		if err := os.WriteFile(filepath.Join(staged, f), []byte("not ours\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	installMake(t, append([]string{"uninstall"}, vars...)...)
	if diff := cmp.Diff(foreign, installTree(t, staged)); diff != "" {
		t.Errorf("files left after make uninstall (-want +got):\n%s", diff)
	}
	for _, d := range []string{"bin", "include", "lib/pkgconfig"} {
		if fi, err := os.Stat(filepath.Join(staged, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: want the directory kept by uninstall (%v)", d, err)
		}
	}
}

// installCheckProgram checks an installed program: executable, and for a C
// example, an rpath that finds the library next to it ($ORIGIN/../lib).
func installCheckProgram(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	if fi.Mode().Perm()&0o111 != 0o111 {
		t.Errorf("%s: mode %v, want executable", path, fi.Mode())
	}
	name := filepath.Base(path)
	if _, err := os.Stat(filepath.Join(testlib.Root(), "examples", name+".c")); err != nil {
		return // a Go tool
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	runpath, _ := f.DynString(elf.DT_RUNPATH)
	rpath, _ := f.DynString(elf.DT_RPATH)
	if !slices.Contains(append(runpath, rpath...), "$ORIGIN/../lib") {
		t.Errorf("%s: RUNPATH %q RPATH %q, want $ORIGIN/../lib", name, runpath, rpath)
	}
	needed, _ := f.DynString(elf.DT_NEEDED)
	if !slices.Contains(needed, elfSoname) {
		t.Errorf("%s: DT_NEEDED %q, want %s", name, needed, elfSoname)
	}
}

// installCheckPkgConfig builds testdata/link/pc_<name>.c with the flags of
// the installed <name>.pc and runs it against the installed library.
func installCheckPkgConfig(t *testing.T, destdir, prefix, name, lflag string) {
	staged := filepath.Join(destdir, prefix)
	pcdir := filepath.Join(staged, "lib", "pkgconfig")

	text, err := os.ReadFile(filepath.Join(pcdir, name+".pc"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	if !slices.Contains(lines, "prefix="+prefix) {
		t.Errorf("%s.pc has no line prefix=%s:\n%s", name, prefix, text)
	}
	if strings.Contains(string(text), "@") || (destdir != "" && strings.Contains(string(text), destdir)) {
		t.Errorf("%s.pc has a placeholder or the DESTDIR:\n%s", name, text)
	}

	// Only our directory; PKG_CONFIG_SYSROOT_DIR maps the recorded prefix
	// onto the staged tree, as when cross-building against a DESTDIR.
	env := []string{"PKG_CONFIG_PATH=" + pcdir, "PKG_CONFIG_LIBDIR=" + pcdir, "PKG_CONFIG_SYSROOT_DIR=" + destdir}
	pkgConfig := func(args ...string) string {
		cmd := exec.Command("pkg-config", append(args, name)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pkg-config %s %s: %v\n%s", strings.Join(args, " "), name, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if v := pkgConfig("--modversion"); v == "" {
		t.Errorf("pkg-config --modversion %s: empty", name)
	}
	flags := strings.Fields(pkgConfig("--cflags", "--libs"))
	for _, f := range []string{"-I" + filepath.Join(staged, "include"), "-L" + filepath.Join(staged, "lib"), lflag} {
		if !slices.Contains(flags, f) {
			t.Errorf("pkg-config --cflags --libs %s = %q, want %s in it", name, flags, f)
		}
	}

	prog := filepath.Join(t.TempDir(), "pc_"+name)
	args := []string{"-std=gnu99", "-Wall", "-Wextra", "-Werror", "-o", prog,
		filepath.Join(testlib.Root(), "tests", "testdata", "link", "pc_"+name+".c")}
	args = append(append(args, flags...), "-ldl")
	if out, err := exec.Command(testlib.CC(), args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", testlib.CC(), strings.Join(args, " "), err, out)
	}
	f, err := elf.Open(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Either name links to the one SONAME.
	if needed, _ := f.DynString(elf.DT_NEEDED); !slices.Contains(needed, elfSoname) {
		t.Errorf("DT_NEEDED %q, want %s", needed, elfSoname)
	}

	lib := filepath.Join(staged, "lib")
	r := testlib.MustRun(t, 30*time.Second, []string{"LD_LIBRARY_PATH=" + lib}, prog)
	wantLib, err := filepath.EvalSymlinks(filepath.Join(lib, elfSoname))
	if err != nil {
		t.Fatal(err)
	}
	var gotLib string
	for _, line := range strings.Split(r.Stdout, "\n") {
		if p, ok := strings.CutPrefix(line, "lib "); ok {
			gotLib, _ = filepath.EvalSymlinks(p)
		}
	}
	if gotLib != wantLib {
		t.Errorf("program ran against %q, want the installed %s\nstdout:\n%s", gotLib, wantLib, r.Stdout)
	}
	for _, want := range []string{"init 0", "finalize 0"} {
		if !slices.Contains(strings.Split(r.Stdout, "\n"), want) {
			t.Errorf("want a line %q (MX_SUCCESS) in the output:\n%s", want, r.Stdout)
		}
	}
}
