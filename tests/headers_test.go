package tests

// Header compilation: each public header must compile alone (it includes
// what it needs) and together with the others, with gcc -Wall -Wextra
// -Werror -pedantic as C89, C99, C11, C17 and with g++ as C++98, C++11,
// C++17. No header needs an exception for C89: omx_init() uses
// `static __inline__` there (gcc's spelling of inline before C99), the only
// 64-bit type is uint64_t from <stdint.h> (unsigned long on LP64), and no
// header uses // comments or trailing enum commas.
//
// The programs compiled are generated from the reference ABI
// (tests/testdata/abi): compile-time assertions that gcc, independently of
// the cc/v4 parser used by TestConformance, agrees with every size,
// alignment, offset, enum and macro value, and (in C, with
// __builtin_types_compatible_p) with every type, plus function pointer
// initializations that check each prototype. This needs a C compiler but
// not the built library: the checks compile with -c, and the run-time check
// of the function-like macros links stubs of mx__init_api/omx__init_api.

import (
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/abigen/abidesc"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// headerCStds and headerCXXStds are the language standards every header is
// compiled with.
var (
	headerCStds   = []string{"c89", "c99", "c11", "c17"}
	headerCXXStds = []string{"c++98", "c++11", "c++17"}
)

// headerCXX is the C++ compiler (CXX environment variable, default c++).
func headerCXX() string {
	if cxx := os.Getenv("CXX"); cxx != "" {
		return cxx
	}
	return "c++"
}

// headerIOFacts keeps, from the mx_raw description, what mx_io.h declares
// (the reference describes mx_raw.h and mx_io.h together).
func headerIOFacts(f *abidesc.File) *abidesc.File {
	io := *f
	io.Functions, io.Variables, io.Enums, io.FunctionMacros = nil, nil, nil, nil
	io.Typedefs, io.Records, io.Macros = nil, nil, nil
	ioNames := map[string]bool{"mx_endpt_handle_t": true, "mx_mapper_state_t": true, "MX_IO_H": true, "MX__INVALID_HANDLE": true}
	for _, t := range f.Typedefs {
		if ioNames[t.Name] {
			io.Typedefs = append(io.Typedefs, t)
		}
	}
	for _, r := range f.Records {
		if ioNames[r.Name] {
			io.Records = append(io.Records, r)
		}
	}
	for _, m := range f.Macros {
		if ioNames[m.Name] || strings.HasPrefix(m.Name, "MX_DEAD_") {
			io.Macros = append(io.Macros, m)
		}
	}
	return &io
}

// headerChecker writes a C/C++ source of compile-time checks.
type headerChecker struct {
	b strings.Builder
	n int
}

// headerCheckMacro is a static assertion for every language mode: the
// standard one where there is one, else a negative array size (C89,
// C++98). The message names the fact in the compiler's error.
const headerCheckMacro = `#include <stddef.h>
#if defined(__cplusplus) && __cplusplus >= 201103L
#define ABI_CHECK(n, cond, what) static_assert(cond, what);
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define ABI_CHECK(n, cond, what) _Static_assert(cond, what);
#else
#define ABI_CHECK(n, cond, what) typedef char abi_check_##n[(cond) ? 1 : -1];
#endif
`

// assert adds a static assertion of cond; what describes the fact.
func (c *headerChecker) assert(what, cond string) {
	c.n++
	fmt.Fprintf(&c.b, "/* %s */\nABI_CHECK(%d, %s, %q)\n", what, c.n, cond, what)
}

// assertType adds a type check, compiled in C only (g++ has no
// __builtin_types_compatible_p).
func (c *headerChecker) assertType(what, expr, typ string) {
	if headerAnonymousType(typ) {
		return // cannot be named again
	}
	c.b.WriteString("#ifndef __cplusplus\n")
	c.assert(what+" type is "+typ, fmt.Sprintf("__builtin_types_compatible_p(%s, %s)", expr, typ))
	c.b.WriteString("#endif\n")
}

func headerAnonymousType(typ string) bool {
	return strings.HasPrefix(typ, "struct {") || strings.HasPrefix(typ, "union {") || strings.HasPrefix(typ, "enum {")
}

// headerLiteral writes an integer value as a C89 literal, with a cast so
// that any integer macro or constant compares without sign warnings.
func headerValue(expr string, v string) (string, error) {
	n, ok := new(big.Int).SetString(v, 10)
	if !ok {
		return "", fmt.Errorf("bad integer %q", v)
	}
	if n.Sign() < 0 {
		return fmt.Sprintf("(long)(%s) == %sL", expr, n.String()), nil
	}
	return fmt.Sprintf("(unsigned long)(%s) == 0x%sUL", expr, n.Text(16)), nil
}

func (c *headerChecker) file(f *abidesc.File) error {
	for _, m := range f.Macros {
		fmt.Fprintf(&c.b, "#ifndef %s\n#error \"macro %s is not defined\"\n#endif\n", m.Name, m.Name)
		if m.Value == nil {
			continue
		}
		v, ok := m.Value.(interface{ String() string })
		if !ok {
			continue // string values: none in these headers
		}
		cond, err := headerValue(m.Name, v.String())
		if err != nil {
			return fmt.Errorf("macro %s: %w", m.Name, err)
		}
		c.assert("macro "+m.Name+" = "+v.String(), cond)
		c.assertType("macro "+m.Name, "__typeof__("+m.Name+")", m.Type)
	}
	for _, m := range f.FunctionMacros {
		fmt.Fprintf(&c.b, "#ifndef %s\n#error \"macro %s() is not defined\"\n#endif\n", m.Name, m.Name)
	}
	for _, e := range f.Enums {
		et := "enum " + e.Tag
		if e.Tag == "" {
			et = e.Typedefs[0]
		}
		for _, k := range e.Constants {
			cond, err := headerValue(k.Name, k.Value.String())
			if err != nil {
				return fmt.Errorf("enum %s: %w", k.Name, err)
			}
			c.assert("enumerator "+k.Name+" = "+k.Value.String(), cond)
		}
		c.assert("sizeof("+et+")", fmt.Sprintf("sizeof(%s) == %d", et, e.Size))
		c.assert("alignof("+et+")", fmt.Sprintf("__alignof__(%s) == %d", et, e.Align))
		c.assertType(et, et, e.Underlying)
		for _, td := range e.Typedefs {
			c.assertType("typedef "+td, td, et)
		}
	}
	for _, td := range f.Typedefs {
		c.assert("sizeof("+td.Name+")", fmt.Sprintf("sizeof(%s) == %d", td.Name, td.Size))
		c.assert("alignof("+td.Name+")", fmt.Sprintf("__alignof__(%s) == %d", td.Name, td.Align))
		c.assertType("typedef "+td.Name, td.Name, td.Type)
	}
	for _, r := range f.Records {
		if r.Incomplete {
			continue // checked through the typedefs that point to it
		}
		rt := r.Kind + " " + r.Tag
		if r.Tag == "" {
			rt = r.Typedefs[0]
		}
		c.assert("sizeof("+rt+")", fmt.Sprintf("sizeof(%s) == %d", rt, r.Size))
		c.assert("alignof("+rt+")", fmt.Sprintf("__alignof__(%s) == %d", rt, r.Align))
		for _, td := range r.Typedefs {
			c.assertType("typedef "+td, td, rt)
		}
		c.fields(rt, "", r.Fields)
	}
	for _, v := range f.Variables {
		c.assert("sizeof("+v.Name+")", fmt.Sprintf("sizeof(%s) == %d", v.Name, v.Size))
		// &v has type pointer to the declared type, qualifiers included.
		c.assertType("&"+v.Name, "__typeof__(&"+v.Name+")", v.Type+" *")
		fmt.Fprintf(&c.b, "%s *abi_var_%s = &%s;\n", v.Type, v.Name, v.Name)
	}
	for _, fn := range f.Functions {
		var ps []string
		for _, p := range fn.Params {
			ps = append(ps, p.Type)
		}
		if fn.Variadic {
			ps = append(ps, "...")
		}
		if len(ps) == 0 {
			ps = []string{"void"}
		}
		// An incompatible prototype makes this initialization an error (C++)
		// or a warning turned into an error by -Werror (C).
		fmt.Fprintf(&c.b, "%s (*abi_fn_%s)(%s) = %s;\n", fn.Return, fn.Name, strings.Join(ps, ", "), fn.Name)
	}
	return nil
}

// fields checks members of record type rt; prefix is the designator of the
// enclosing anonymous member ("" at the top), from which offsets count.
func (c *headerChecker) fields(rt, prefix string, fs []abidesc.Field) {
	for _, f := range fs {
		path := prefix + f.Name
		off := fmt.Sprintf("offsetof(%s, %s)", rt, path)
		if prefix != "" {
			off += fmt.Sprintf(" - offsetof(%s, %s)", rt, strings.TrimSuffix(prefix, "."))
		}
		member := fmt.Sprintf("((%s *)0)->%s", rt, path)
		c.assert(rt+"."+path+" offset", fmt.Sprintf("%s == %d", off, f.Offset))
		c.assert(rt+"."+path+" size", fmt.Sprintf("sizeof(%s) == %d", member, f.Size))
		c.assert(rt+"."+path+" align", fmt.Sprintf("__alignof__(%s) == %d", member, f.Align))
		c.assertType(rt+"."+path, "__typeof__("+member+")", f.Type)
		if len(f.Fields) > 0 {
			c.fields(rt, path+".", f.Fields)
		}
	}
}

// headerSet is a compilation unit: headers included in this order (the
// first one first of all, to prove it needs nothing before it), and the
// reference facts it must provide.
type headerSet struct {
	name     string
	includes []string
	facts    func(ref map[string]*abidesc.File) []*abidesc.File
}

var headerSets = []headerSet{
	{"myriexpress", []string{"myriexpress.h"}, func(r map[string]*abidesc.File) []*abidesc.File {
		return []*abidesc.File{r["myriexpress"]}
	}},
	{"mx_extensions", []string{"mx_extensions.h"}, func(r map[string]*abidesc.File) []*abidesc.File {
		return []*abidesc.File{r["myriexpress"], r["mx_extensions"]}
	}},
	{"mx_raw", []string{"mx_raw.h"}, func(r map[string]*abidesc.File) []*abidesc.File {
		return []*abidesc.File{r["myriexpress"], r["mx_raw"]}
	}},
	{"mx_io", []string{"mx_io.h"}, func(r map[string]*abidesc.File) []*abidesc.File {
		return []*abidesc.File{headerIOFacts(r["mx_raw"])}
	}},
	{"open-mx", []string{"open-mx.h"}, func(r map[string]*abidesc.File) []*abidesc.File {
		return []*abidesc.File{r["open-mx"]}
	}},
	// Everything at once, each header twice (include guards), MX and Open-MX
	// side by side as the library's own sources need them.
	{"all", []string{"open-mx.h", "mx_io.h", "mx_raw.h", "mx_extensions.h", "myriexpress.h", "open-mx.h", "mx_io.h", "mx_raw.h", "mx_extensions.h", "myriexpress.h"},
		func(r map[string]*abidesc.File) []*abidesc.File {
			return []*abidesc.File{r["myriexpress"], r["mx_extensions"], r["mx_raw"], r["open-mx"]}
		}},
}

// headerCompile compiles src (C or C++) with std and the strict warning
// flags, into out or, with -c, to nothing.
func headerCompile(t *testing.T, compiler, std, src, out string, extra ...string) {
	t.Helper()
	args := []string{"-std=" + std, "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", testlib.IncludeDir()}
	args = append(args, extra...)
	args = append(args, "-o", out, src)
	cmd := exec.Command(compiler, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", compiler, strings.Join(args, " "), err, headerFirstLines(string(b), 40))
	}
}

func headerFirstLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		return strings.Join(lines[:n], "") + fmt.Sprintf("... (%d more lines)\n", len(lines)-n)
	}
	return s
}

func headerNeedCXX(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(headerCXX()); err != nil {
		testlib.Skip(t, "no C++ compiler ("+headerCXX()+") in PATH: install g++")
	}
}

func TestHeaderCompile(t *testing.T) {
	testlib.NeedCC(t)
	ref := map[string]*abidesc.File{}
	for _, s := range abidesc.Specs {
		ref[s.Name] = abiLoad(t, abidesc.ReferenceDir, s.Name)
	}
	dir := t.TempDir()
	for _, set := range headerSets {
		var c headerChecker
		for _, h := range set.includes {
			fmt.Fprintf(&c.b, "#include \"%s\"\n", h)
		}
		c.b.WriteString(headerCheckMacro)
		for _, f := range set.facts(ref) {
			if err := c.file(f); err != nil {
				t.Fatalf("%s: %v", set.name, err)
			}
		}
		if c.n < 10 {
			t.Fatalf("%s: only %d checks generated", set.name, c.n)
		}
		for _, lang := range []struct {
			ext  string
			cxx  bool
			stds []string
		}{{".c", false, headerCStds}, {".cpp", true, headerCXXStds}} {
			src := filepath.Join(dir, set.name+lang.ext)
			if err := os.WriteFile(src, []byte(c.b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, std := range lang.stds {
				t.Run(set.name+"/"+std, func(t *testing.T) {
					t.Parallel()
					compiler := testlib.CC()
					if lang.cxx {
						headerNeedCXX(t)
						compiler = headerCXX()
					}
					headerCompile(t, compiler, std, src, os.DevNull, "-c")
				})
			}
		}
	}
}

// headerRuntimeSrc checks what only running shows: the function-like
// macros and the inline omx_init() call the init entry points with the
// compiled-in API version, and MX_U32/MX_L32 split 64-bit values. The init
// entry points are stubs here, so no library is needed.
const headerRuntimeSrc = `#include "myriexpress.h"
#include "mx_extensions.h"
#include "mx_raw.h"
#include "open-mx.h"
#include <stdio.h>

static int mx_calls, omx_calls;

mx_return_t mx__init_api(int api)
{
  mx_calls++;
  return api == 0x301 ? MX_SUCCESS : MX_BAD_LIB_VERSION;
}

omx_return_t omx__init_api(int api)
{
  omx_calls++;
  return api == 0x301 ? OMX_SUCCESS : OMX_BAD_LIB_ABI;
}

#define CHECK(c) do { if (!(c)) { printf("FAILED: %s\n", #c); failed = 1; } } while (0)

int main(void)
{
  int failed = 0;
  uint64_t big = 0x123456789abcdef0UL;
  uint32_t small = 0xdeadbeefU;
  uint64_t mask = MX_MATCH_MASK_NONE;
  CHECK(mx_init() == MX_SUCCESS && mx_calls == 1);
  CHECK(omx_init() == OMX_SUCCESS && omx_calls == 1);
  CHECK(MX_U32(big) == 0x12345678U);
  CHECK(MX_L32(big) == 0x9abcdef0U);
  CHECK(MX_U32(small) == 0);
  CHECK(MX_L32(small) == 0xdeadbeefU);
  CHECK(mask + 1 == 0 && (mask >> 63) == 1);
  CHECK(OMX_TIMEOUT_INFINITE == 0xffffffffU);
  printf("%s\n", failed ? "FAIL" : "OK");
  return failed;
}
`

func TestHeaderRuntime(t *testing.T) {
	testlib.NeedCC(t)
	dir := t.TempDir()
	for _, lang := range []struct {
		ext  string
		cxx  bool
		stds []string
	}{{".c", false, headerCStds}, {".cpp", true, headerCXXStds}} {
		src := filepath.Join(dir, "runtime"+lang.ext)
		if err := os.WriteFile(src, []byte(headerRuntimeSrc), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, std := range lang.stds {
			t.Run(std, func(t *testing.T) {
				compiler := testlib.CC()
				if lang.cxx {
					headerNeedCXX(t)
					compiler = headerCXX()
				}
				prog := filepath.Join(t.TempDir(), "runtime")
				headerCompile(t, compiler, std, src, prog)
				r := testlib.MustRun(t, 30*time.Second, nil, prog)
				if strings.TrimSpace(r.Stdout) != "OK" {
					t.Errorf("runtime checks:\n%s", r.Stdout)
				}
			})
		}
	}
}
