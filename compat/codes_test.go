package compat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// abiDir holds the reference ABI description (tests/testdata/abi/README.md).
const abiDir = "../tests/testdata/abi"

// loadABI decodes one JSON file of abiDir into v.
func loadABI(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(abiDir, name))
	if err != nil {
		t.Fatalf("reading ABI reference: %v", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
}

type namedValue struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

type compatCodes struct {
	Conversions []struct {
		Function    string `json:"function"`
		Pairs       []struct{ From, To namedValue }
		Passthrough []namedValue `json:"passthrough_unless_strict"`
		Default     string       `json:"default"`
		Otherwise   string       `json:"otherwise"`
	} `json:"conversions"`
}

type headerEnums struct {
	Enums []struct {
		Name      string       `json:"name"`
		Constants []namedValue `json:"constants"`
	} `json:"enums"`
}

// enumConstants returns the constants of enum tag in a header JSON file.
func enumConstants(t *testing.T, file, tag string) []namedValue {
	t.Helper()
	var h headerEnums
	loadABI(t, file, &h)
	for _, e := range h.Enums {
		if e.Name == tag {
			return e.Constants
		}
	}
	t.Fatalf("%s: no enum %s", file, tag)
	return nil
}

// convFuncs maps each C conversion function of mx-compat-codes.json to the
// Go function implementing it. Strict and lenient variants share one
// function: the lenient rule is used everywhere (spec/api.md §3.3).
var convFuncs = map[string]func(uint32) uint32{
	"omx_return_to_mx":                 func(v uint32) uint32 { return ReturnToMX(Code(v)) },
	"omx_error_to_mx":                  func(v uint32) uint32 { return ReturnToMX(Code(v)) },
	"omx_unlikely_return_to_mx":        func(v uint32) uint32 { return ReturnToMX(Code(v)) },
	"omx_return_from_mx":               func(v uint32) uint32 { return uint32(ReturnFromMX(v)) },
	"omx_error_from_mx":                func(v uint32) uint32 { return uint32(ReturnFromMX(v)) },
	"omx_unlikely_return_from_mx":      func(v uint32) uint32 { return uint32(ReturnFromMX(v)) },
	"omx_status_code_to_mx":            func(v uint32) uint32 { return StatusToMX(Code(v)) },
	"omx_unlikely_status_code_to_mx":   func(v uint32) uint32 { return StatusToMX(Code(v)) },
	"omx_status_code_from_mx":          func(v uint32) uint32 { return uint32(StatusFromMX(v)) },
	"omx_unlikely_status_code_from_mx": func(v uint32) uint32 { return uint32(StatusFromMX(v)) },
}

// notCodeConversions are conversions of mx-compat-codes.json that are not
// code tables (timeouts are converted by the MX wrappers).
var notCodeConversions = map[string]bool{"omx_timeout_from_mx": true}

func TestConversionsMatchReference(t *testing.T) {
	var ref compatCodes
	loadABI(t, "mx-compat-codes.json", &ref)
	if len(ref.Conversions) == 0 {
		t.Fatal("no conversions in mx-compat-codes.json")
	}
	seen := make(map[string]bool)
	for _, conv := range ref.Conversions {
		if notCodeConversions[conv.Function] {
			continue
		}
		f, ok := convFuncs[conv.Function]
		if !ok {
			t.Errorf("conversion %s of the reference has no Go counterpart", conv.Function)
			continue
		}
		seen[conv.Function] = true
		t.Run(conv.Function, func(t *testing.T) {
			want := make(map[string]uint64)
			got := make(map[string]uint64)
			mapped := make(map[uint32]bool)
			for _, p := range conv.Pairs {
				key := p.From.Name + "->" + p.To.Name
				want[key] = p.To.Value
				got[key] = uint64(f(uint32(p.From.Value)))
				mapped[uint32(p.From.Value)] = true
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pairs mismatch (-want +got):\n%s", diff)
			}

			// Codes the original passes through unchanged on the lenient path.
			wantPass := make(map[string]uint64)
			gotPass := make(map[string]uint64)
			for _, p := range conv.Passthrough {
				wantPass[p.Name] = p.Value
				gotPass[p.Name] = uint64(f(uint32(p.Value)))
				mapped[uint32(p.Value)] = true
			}
			if diff := cmp.Diff(wantPass, gotPass); diff != "" {
				t.Errorf("pass-through mismatch (-want +got):\n%s", diff)
			}

			// Where the original aborts (or, for the inline wrappers,
			// defers to the unlikely function), the lenient rule passes
			// values through unchanged. The wrappers' other values are
			// covered by the unlikely function's own case.
			if conv.Default != "abort" {
				return
			}
			for v := uint32(0); v < 200; v++ {
				if mapped[v] || v == 0 {
					continue
				}
				if r := f(v); r != v {
					t.Errorf("unmapped value %d converted to %d, want unchanged", v, r)
				}
			}
			for _, v := range []uint32{1 << 16, 1<<32 - 1} {
				if r := f(v); r != v {
					t.Errorf("unmapped value %d converted to %d, want unchanged", v, r)
				}
			}
		})
	}
	for name := range convFuncs {
		if !seen[name] {
			t.Errorf("Go conversion %s has no reference entry", name)
		}
	}
}

// TestConversionNamesMatchHeaders checks that every name in the conversion
// tables is the enumerator of its value in the headers, and that our Code
// constants are exactly enum omx_return.
func TestConversionNamesMatchHeaders(t *testing.T) {
	names := make(map[string]uint64)
	for _, c := range enumConstants(t, "open-mx.json", "omx_return") {
		names[c.Name] = c.Value
	}
	for _, tag := range []string{"mx_return_code", "mx_status_code"} {
		for _, c := range enumConstants(t, "myriexpress.json", tag) {
			names[c.Name] = c.Value
		}
	}
	var ref compatCodes
	loadABI(t, "mx-compat-codes.json", &ref)
	for _, conv := range ref.Conversions {
		if notCodeConversions[conv.Function] {
			continue
		}
		check := func(nv namedValue) {
			if v, ok := names[nv.Name]; !ok || v != nv.Value {
				t.Errorf("%s: %s = %d, header has %d (present %v)", conv.Function, nv.Name, nv.Value, v, ok)
			}
		}
		for _, p := range conv.Pairs {
			check(p.From)
			check(p.To)
		}
		for _, p := range conv.Passthrough {
			check(p)
		}
	}
}

func TestCodeConstantsMatchEnum(t *testing.T) {
	want := make(map[uint64]string)
	for _, c := range enumConstants(t, "open-mx.json", "omx_return") {
		want[c.Value] = c.Name
	}
	got := make(map[uint64]string)
	for c := range codeNames {
		got[uint64(c)] = c.String()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Code constants differ from enum omx_return (-want +got):\n%s", diff)
	}
	// The exported constants themselves, spot-checked against the names.
	for c, name := range map[Code]string{
		Success: "OMX_SUCCESS", BadError: "OMX_BAD_ERROR", NICIDNotFound: "OMX_NIC_ID_NOT_FOUND",
		BadMatchingForContextIDMask: "OMX_BAD_MATCHING_FOR_CONTEXT_ID_MASK",
		NotSupportedInHandler:       "OMX_NOT_SUPPORTED_IN_HANDLER", ReturnCodeMax: "OMX_RETURN_CODE_MAX",
	} {
		if want[uint64(c)] != name {
			t.Errorf("%s = %d, enum has %q at that value", name, uint32(c), want[uint64(c)])
		}
	}
	if got := Code(2).String(); got != "Code(2)" {
		t.Errorf("Code(2).String() = %q, want %q", got, "Code(2)")
	}
}

func TestConversionExamples(t *testing.T) {
	tests := []struct {
		name string
		got  uint32
		want uint32
	}{
		{"ReturnToMX(Success)", ReturnToMX(Success), 0},
		{"ReturnToMX(NotSupportedInHandler)", ReturnToMX(NotSupportedInHandler), 41},
		{"ReturnToMX(RemoteEndpointClosed)", ReturnToMX(RemoteEndpointClosed), 33},
		{"ReturnToMX(MessageTruncated) passes through", ReturnToMX(MessageTruncated), 95},
		{"ReturnToMX(NoSystemResources) passes through", ReturnToMX(NoSystemResources), 97},
		{"ReturnToMX(ReturnCodeMax) passes through", ReturnToMX(ReturnCodeMax), 100},
		{"ReturnFromMX(MX_CANCEL_NOT_SUPPORTED)", uint32(ReturnFromMX(40)), uint32(BadRequest)},
		{"ReturnFromMX(MX_CLOSE_IN_HANDLER)", uint32(ReturnFromMX(41)), uint32(NotSupportedInHandler)},
		{"ReturnFromMX(MX_FAILURE) passes through", uint32(ReturnFromMX(2)), 2},
		{"ReturnFromMX(95) passes through", uint32(ReturnFromMX(95)), uint32(MessageTruncated)},
		{"StatusToMX(MessageTruncated)", StatusToMX(MessageTruncated), 5},
		{"StatusToMX(NoResources)", StatusToMX(NoResources), 16},
		{"StatusToMX(RemoteEndpointBadID)", StatusToMX(RemoteEndpointBadID), 12},
		{"StatusToMX(BadError) passes through", StatusToMX(BadError), 1},
		{"StatusFromMX(MX_STATUS_CANCELLED)", uint32(StatusFromMX(6)), uint32(Cancelled)},
		{"StatusFromMX(MX_STATUS_EVENTQ_FULL) passes through", uint32(StatusFromMX(15)), 15},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
}

func TestRoundTrips(t *testing.T) {
	for c := range codeNames {
		if got := ReturnFromMX(ReturnToMX(c)); got != c {
			t.Errorf("ReturnFromMX(ReturnToMX(%v)) = %v", c, got)
		}
	}
	for c := range statusToMX {
		if got := StatusFromMX(StatusToMX(c)); got != c {
			t.Errorf("StatusFromMX(StatusToMX(%v)) = %v", c, got)
		}
	}
}

func TestMXKnown(t *testing.T) {
	var ref compatCodes
	loadABI(t, "mx-compat-codes.json", &ref)
	wantReturn := map[uint32]bool{0: true}
	wantStatus := map[uint32]bool{0: true}
	for _, conv := range ref.Conversions {
		switch conv.Function {
		case "omx_unlikely_return_from_mx":
			for _, p := range conv.Pairs {
				wantReturn[uint32(p.From.Value)] = true
			}
			for _, p := range conv.Passthrough {
				wantReturn[uint32(p.Value)] = true
			}
		case "omx_unlikely_status_code_from_mx":
			for _, p := range conv.Pairs {
				wantStatus[uint32(p.From.Value)] = true
			}
		}
	}
	gotReturn := make(map[uint32]bool)
	gotStatus := make(map[uint32]bool)
	for v := uint32(0); v < 300; v++ {
		if MXKnownReturn(v) {
			gotReturn[v] = true
		}
		if MXKnownStatus(v) {
			gotStatus[v] = true
		}
	}
	if diff := cmp.Diff(wantReturn, gotReturn); diff != "" {
		t.Errorf("MXKnownReturn mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantStatus, gotStatus); diff != "" {
		t.Errorf("MXKnownStatus mismatch (-want +got):\n%s", diff)
	}
	// Named cases, in case the reference file changes shape.
	for v, want := range map[uint32]bool{2: false, 40: true, 41: true, 43: false, 95: true, 100: false} {
		if got := MXKnownReturn(v); got != want {
			t.Errorf("MXKnownReturn(%d) = %v, want %v", v, got, want)
		}
	}
	for v, want := range map[uint32]bool{1: false, 5: true, 7: false, 15: false, 16: true} {
		if got := MXKnownStatus(v); got != want {
			t.Errorf("MXKnownStatus(%d) = %v, want %v", v, got, want)
		}
	}
}
