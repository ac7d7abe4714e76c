package compat

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStrerrorCoversEnum(t *testing.T) {
	for _, c := range enumConstants(t, "open-mx.json", "omx_return") {
		s, known := Strerror(Code(c.Value))
		if !known || s == "" || s == UnknownCodeText {
			t.Errorf("Strerror(%s) = %q, %v; want a known text", c.Name, s, known)
		}
	}
}

func TestStrerrorTexts(t *testing.T) {
	tests := []struct {
		code Code
		want string
	}{
		{Success, "Success"},
		{NoDriver, "Unusable device file (driver loaded?)"},
		{BadMatchMask, "Bad match mask."},
		{BadRequest, "This Function cannot be applied to this Request"},
		{RemoteEndpointBadConnectionKey, "Connection Key to Remote Endpoint is Invalid"},
		{BadKernelABI, "Kernel ABI too old, did you rebuild/reload the new driver?"},
		{MessageTruncated, "Message Truncated"},
		{NotSupportedInHandler, "Operation not supported in the handler"},
		{ReturnCodeMax, "Maximum return code"},
	}
	for _, tt := range tests {
		got, known := Strerror(tt.code)
		if got != tt.want || !known {
			t.Errorf("Strerror(%v) = %q, %v; want %q, true", tt.code, got, known, tt.want)
		}
	}
	for _, c := range []Code{2, 10, 43, 98, 101, 102, 106, 1 << 31} {
		got, known := Strerror(c)
		if got != "Unknown Return Code" || known {
			t.Errorf("Strerror(%d) = %q, %v; want \"Unknown Return Code\", false", uint32(c), got, known)
		}
	}
}

func TestMXStrerror(t *testing.T) {
	// Every mx_return_code constant gives a text: the Open-MX text of its
	// translation, or "Unknown Return Code" for codes Open-MX never uses.
	unknown := map[string]bool{
		"MX_FAILURE": true, "MX_BAD_SEG_LIST": true, "MX_BAD_SEG_MEM": true,
		"MX_BAD_ADDR_LIST": true, "MX_BAD_ADDR_COUNT": true, "MX_BAD_ROOT": true,
		"MX_NOT_COMPLETED": true, "MX_BAD_NIC": true, "MX_BAD_HOSTNAME_ARGS": true,
		"MX_REQUEST_PENDING": true, "MX_NO_MATCH": true, "MX_NIC_DEAD": true,
		"MX_NOT_SUPPORTED_WITH_CONTEXT_ID": true,
	}
	for _, c := range enumConstants(t, "myriexpress.json", "mx_return_code") {
		got := MXStrerror(uint32(c.Value))
		if unknown[c.Name] {
			if got != UnknownCodeText {
				t.Errorf("MXStrerror(%s) = %q, want %q", c.Name, got, UnknownCodeText)
			}
			continue
		}
		want, _ := Strerror(ReturnFromMX(uint32(c.Value)))
		if got != want || got == UnknownCodeText {
			t.Errorf("MXStrerror(%s) = %q, want %q", c.Name, got, want)
		}
	}
	for mx, want := range map[uint32]string{
		0:   "Success",
		1:   "Bad error",
		33:  "Remote Endpoint is Closed",
		40:  "This Function cannot be applied to this Request",
		41:  "Operation not supported in the handler",
		95:  "Message Truncated", // lenient pass-through seen by MX handlers
		100: UnknownCodeText,
		999: UnknownCodeText,
	} {
		if got := MXStrerror(mx); got != want {
			t.Errorf("MXStrerror(%d) = %q, want %q", mx, got, want)
		}
	}
}

func TestMXStrstatus(t *testing.T) {
	want := map[string]string{
		"MX_STATUS_SUCCESS":              "Success",
		"MX_STATUS_PENDING":              UnknownCodeText,
		"MX_STATUS_BUFFERED":             UnknownCodeText,
		"MX_STATUS_REJECTED":             UnknownCodeText,
		"MX_STATUS_TIMEOUT":              "Command Timeout",
		"MX_STATUS_TRUNCATED":            "Message Truncated",
		"MX_STATUS_CANCELLED":            "Cancelled",
		"MX_STATUS_ENDPOINT_UNKNOWN":     UnknownCodeText,
		"MX_STATUS_ENDPOINT_CLOSED":      "Remote Endpoint is Closed",
		"MX_STATUS_ENDPOINT_UNREACHABLE": "Remote Endpoint Unreachable",
		"MX_STATUS_BAD_SESSION":          "Wrong Remote Endpoint Session",
		"MX_STATUS_BAD_KEY":              "Connection Key to Remote Endpoint is Invalid",
		"MX_STATUS_BAD_ENDPOINT":         "Remote Endpoint Id is Wrong",
		"MX_STATUS_BAD_RDMAWIN":          "Remote Window Id is Invalid",
		"MX_STATUS_ABORTED":              "Message Aborted",
		"MX_STATUS_EVENTQ_FULL":          UnknownCodeText,
		"MX_STATUS_NO_RESOURCES":         "No resources available",
	}
	got := make(map[string]string)
	for _, c := range enumConstants(t, "myriexpress.json", "mx_status_code") {
		got[c.Name] = MXStrstatus(uint32(c.Value))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MXStrstatus mismatch (-want +got):\n%s", diff)
	}
	if got := MXStrstatus(95); got != UnknownCodeText {
		t.Errorf("MXStrstatus(95) = %q, want %q (95 is not an MX status)", got, UnknownCodeText)
	}
}
