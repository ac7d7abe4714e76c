package abidesc

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// describeTemp writes headers into a temporary include directory and
// describes spec there.
func describeTemp(t *testing.T, spec Spec, headers map[string]string) *File {
	t.Helper()
	if _, err := exec.LookPath("cc"); err != nil {
		if _, err := exec.LookPath("gcc"); err != nil {
			t.Skip("no C compiler: cc/v4 needs one for its configuration")
		}
	}
	dir := t.TempDir()
	for name, text := range headers {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := NewParser(dir, "inc")
	if err != nil {
		t.Fatal(err)
	}
	f, err := p.Describe(spec)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestDescribeTypes(t *testing.T) {
	f := describeTemp(t, Spec{Name: "t", Headers: []string{"t.h"}}, map[string]string{"t.h": `
#include <stdint.h>
typedef int base_t;
typedef base_t alias_t;
typedef const base_t calias_t;
typedef char *const cptr_t;
typedef int (*arrptr_t)[3];
typedef void (*fnarr_t[4])(int, ...);
typedef struct { unsigned int a : 3; unsigned int b : 5; int c; } bits_t;
typedef enum { ONE = 1, TWO } anon_e;
enum flags { F_A = 1 << 2, F_B = -1 };
extern const char *const name;
extern const int ci;
extern int arr[3];
base_t f1(const void *p, uint64_t v[], ...);
`})

	wantTypedefs := []Typedef{
		{Name: "alias_t", Type: "base_t", Size: 4, Align: 4},
		{Name: "anon_e", Type: "enum { ONE, TWO }", Size: 4, Align: 4},
		{Name: "arrptr_t", Type: "int (*)[3]", Size: 8, Align: 8},
		{Name: "base_t", Type: "int", Size: 4, Align: 4},
		{Name: "bits_t", Type: "struct { unsigned int a : 3; unsigned int b : 5; int c; }", Size: 8, Align: 4},
		{Name: "calias_t", Type: "const base_t", Size: 4, Align: 4},
		{Name: "cptr_t", Type: "char *const", Size: 8, Align: 8},
		{Name: "fnarr_t", Type: "void (*[4])(int, ...)", Size: 32, Align: 8},
	}
	if diff := cmp.Diff(wantTypedefs, f.Typedefs); diff != "" {
		t.Errorf("typedefs (-want +got):\n%s", diff)
	}

	wantVars := []Variable{
		{Name: "arr", Type: "int[3]", Extern: true, Size: 12},
		{Name: "ci", Type: "const int", Extern: true, Size: 4},
		{Name: "name", Type: "const char *const", Extern: true, Size: 8},
	}
	if diff := cmp.Diff(wantVars, f.Variables); diff != "" {
		t.Errorf("variables (-want +got):\n%s", diff)
	}

	wantFuncs := []Function{{
		Name:     "f1",
		Return:   "base_t",
		Params:   []Param{{Name: "p", Type: "const void *"}, {Name: "v", Type: "uint64_t *"}},
		Variadic: true,
	}}
	if diff := cmp.Diff(wantFuncs, f.Functions); diff != "" {
		t.Errorf("functions (-want +got):\n%s", diff)
	}

	wantEnums := []Enum{
		{Name: "anon_e", Typedefs: []string{"anon_e"}, Size: 4, Align: 4, Underlying: "unsigned int",
			Constants: []Constant{{Name: "ONE", Value: "1"}, {Name: "TWO", Value: "2"}}},
		{Name: "flags", Tag: "flags", Size: 4, Align: 4, Underlying: "int",
			Constants: []Constant{{Name: "F_A", Value: "4", Expr: "1 << 2"}, {Name: "F_B", Value: "-1", Expr: "-1"}}},
	}
	if diff := cmp.Diff(wantEnums, f.Enums); diff != "" {
		t.Errorf("enums (-want +got):\n%s", diff)
	}

	wantRecords := []Record{{
		Name: "bits_t", Kind: "struct", Typedefs: []string{"bits_t"}, Size: 8, Align: 4,
		Fields: []Field{
			{Name: "a", Type: "unsigned int", Offset: 0, Size: 4, Align: 4, Bits: 3},
			{Name: "b", Type: "unsigned int", Offset: 0, Size: 4, Align: 4, Bits: 5, BitOffset: 3},
			{Name: "c", Type: "int", Offset: 4, Size: 4, Align: 4},
		},
	}}
	if diff := cmp.Diff(wantRecords, f.Records); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

func TestDescribePreincludeAndMacros(t *testing.T) {
	f := describeTemp(t, Spec{Name: "t", Headers: []string{"b.h"}, Preinclude: []string{"a.h"}}, map[string]string{
		"a.h": `#ifndef A_H
#define A_H
#define A_ONLY 1
struct opaque;
typedef struct a_rec { int x; } a_rec_t;
#endif
`,
		"b.h": `#include "a.h"
#define B_H
#define B_BIG (~0UL)   /* comment */
#define B_NEG -1
#define B_STR "hi"
#define B_EXPR  (A_ONLY  +\
   2)
#define B_FN(a, b) ((a) + \
  (b))
typedef struct opaque *opaque_t;
typedef struct later later_t;
struct later { short s; };
typedef a_rec_t b_rec_t;
`,
	})
	if diff := cmp.Diff([]string{"inc/a.h"}, f.Preinclude); diff != "" {
		t.Errorf("preinclude (-want +got):\n%s", diff)
	}
	if f.Header != "inc/b.h" {
		t.Errorf("header = %q, want inc/b.h", f.Header)
	}
	wantMacros := []Macro{
		{Name: "B_BIG", Replacement: "(~0UL)", Value: json.Number("18446744073709551615"), Type: "unsigned long"},
		{Name: "B_EXPR", Replacement: "(A_ONLY + 2)", Value: json.Number("3"), Type: "int"},
		{Name: "B_H", Replacement: ""},
		{Name: "B_NEG", Replacement: "-1", Value: json.Number("-1"), Type: "int"},
		{Name: "B_STR", Replacement: `"hi"`, Value: "hi", Type: "char *"},
	}
	if diff := cmp.Diff(wantMacros, f.Macros); diff != "" {
		t.Errorf("macros (-want +got):\n%s", diff)
	}
	wantFn := []FunctionMacro{{Name: "B_FN", Params: []string{"a", "b"}, Replacement: "((a) + (b))"}}
	if diff := cmp.Diff(wantFn, f.FunctionMacros); diff != "" {
		t.Errorf("function macros (-want +got):\n%s", diff)
	}
	// struct opaque is introduced by a.h (not described); struct later is
	// completed in b.h; a_rec belongs to a.h.
	wantRecords := []Record{{
		Name: "later", Kind: "struct", Tag: "later", Typedefs: []string{"later_t"}, Size: 2, Align: 2,
		Fields: []Field{{Name: "s", Type: "short", Size: 2, Align: 2}},
	}}
	if diff := cmp.Diff(wantRecords, f.Records); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	wantTypedefs := []Typedef{
		{Name: "b_rec_t", Type: "a_rec_t", Size: 4, Align: 4},
		{Name: "later_t", Type: "struct later", Size: 2, Align: 2},
		{Name: "opaque_t", Type: "struct opaque *", Size: 8, Align: 8},
	}
	if diff := cmp.Diff(wantTypedefs, f.Typedefs); diff != "" {
		t.Errorf("typedefs (-want +got):\n%s", diff)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	in := &File{
		Header: "include/x.h", Headers: []string{"include/x.h"}, Target: Target,
		Functions: []Function{{Name: "f", Return: "int", Params: []Param{}}},
		Macros: []Macro{
			{Name: "BIG", Replacement: "(~(uint64_t)0)", Value: json.Number("18446744073709551615"), Type: "uint64_t"},
			{Name: "S", Replacement: `"s"`, Value: "s", Type: "char *"},
			{Name: "G", Replacement: ""},
		},
	}
	data, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := GeneratedLine + "\n{"; string(data[:len(want)]) != want {
		t.Fatalf("encoded file starts %q, want %q", data[:len(want)], want)
	}
	out, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
	if _, err := Decode([]byte(`{"header": "x", "surprise": 1}`)); err == nil {
		t.Error("Decode accepted an unknown key")
	}
}
