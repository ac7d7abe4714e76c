package compat

import "strconv"

// Code is an Open-MX return or status code: a value of the C enum
// omx_return_t (common/open-mx.h; spec/api.md §3.1). The same type carries
// what omx_* functions return and what omx_status_t.code holds.
//
// MX programs see other numbers: ReturnToMX and StatusToMX translate a Code
// into mx_return_t and mx_status_code_t values, ReturnFromMX and
// StatusFromMX go back.
type Code uint32

// Open-MX codes, values from enum omx_return (abi/open-mx.json).
const (
	Success                        Code = 0
	BadError                       Code = 1
	AlreadyInitialized             Code = 3
	NotInitialized                 Code = 4
	NoDeviceFile                   Code = 5
	NoDriver                       Code = 6
	AccessDenied                   Code = 7
	BoardNotFound                  Code = 8
	BadEndpoint                    Code = 9
	SegmentsBadCount               Code = 12
	BadRequest                     Code = 13
	BadMatchMask                   Code = 14
	NoResources                    Code = 15
	Busy                           Code = 20
	BadInfoKey                     Code = 21
	BadInfoAddress                 Code = 22
	EndpointParamsBadList          Code = 24
	EndpointParamBadKey            Code = 25
	EndpointParamBadValue          Code = 26
	PeerNotFound                   Code = 28
	Timeout                        Code = 30
	RemoteEndpointBadID            Code = 32
	RemoteEndpointClosed           Code = 33
	RemoteEndpointBadConnectionKey Code = 34
	BadInfoLength                  Code = 35
	NICIDNotFound                  Code = 36
	BadKernelABI                   Code = 37
	BadLibABI                      Code = 38
	BadMatchingForContextIDMask    Code = 42
	Cancelled                      Code = 90
	RemoteRDMAWindowBadID          Code = 91
	RemoteEndpointUnreachable      Code = 92
	RemoteEndpointBadSession       Code = 93
	MessageAborted                 Code = 94
	MessageTruncated               Code = 95
	NotSupportedInHandler          Code = 96
	NoSystemResources              Code = 97
	NotImplemented                 Code = 99
	ReturnCodeMax                  Code = 100
)

// codeNames holds the C enumerator name of every Code constant.
var codeNames = map[Code]string{
	Success:                        "OMX_SUCCESS",
	BadError:                       "OMX_BAD_ERROR",
	AlreadyInitialized:             "OMX_ALREADY_INITIALIZED",
	NotInitialized:                 "OMX_NOT_INITIALIZED",
	NoDeviceFile:                   "OMX_NO_DEVICE_FILE",
	NoDriver:                       "OMX_NO_DRIVER",
	AccessDenied:                   "OMX_ACCESS_DENIED",
	BoardNotFound:                  "OMX_BOARD_NOT_FOUND",
	BadEndpoint:                    "OMX_BAD_ENDPOINT",
	SegmentsBadCount:               "OMX_SEGMENTS_BAD_COUNT",
	BadRequest:                     "OMX_BAD_REQUEST",
	BadMatchMask:                   "OMX_BAD_MATCH_MASK",
	NoResources:                    "OMX_NO_RESOURCES",
	Busy:                           "OMX_BUSY",
	BadInfoKey:                     "OMX_BAD_INFO_KEY",
	BadInfoAddress:                 "OMX_BAD_INFO_ADDRESS",
	EndpointParamsBadList:          "OMX_ENDPOINT_PARAMS_BAD_LIST",
	EndpointParamBadKey:            "OMX_ENDPOINT_PARAM_BAD_KEY",
	EndpointParamBadValue:          "OMX_ENDPOINT_PARAM_BAD_VALUE",
	PeerNotFound:                   "OMX_PEER_NOT_FOUND",
	Timeout:                        "OMX_TIMEOUT",
	RemoteEndpointBadID:            "OMX_REMOTE_ENDPOINT_BAD_ID",
	RemoteEndpointClosed:           "OMX_REMOTE_ENDPOINT_CLOSED",
	RemoteEndpointBadConnectionKey: "OMX_REMOTE_ENDPOINT_BAD_CONNECTION_KEY",
	BadInfoLength:                  "OMX_BAD_INFO_LENGTH",
	NICIDNotFound:                  "OMX_NIC_ID_NOT_FOUND",
	BadKernelABI:                   "OMX_BAD_KERNEL_ABI",
	BadLibABI:                      "OMX_BAD_LIB_ABI",
	BadMatchingForContextIDMask:    "OMX_BAD_MATCHING_FOR_CONTEXT_ID_MASK",
	Cancelled:                      "OMX_CANCELLED",
	RemoteRDMAWindowBadID:          "OMX_REMOTE_RDMA_WINDOW_BAD_ID",
	RemoteEndpointUnreachable:      "OMX_REMOTE_ENDPOINT_UNREACHABLE",
	RemoteEndpointBadSession:       "OMX_REMOTE_ENDPOINT_BAD_SESSION",
	MessageAborted:                 "OMX_MESSAGE_ABORTED",
	MessageTruncated:               "OMX_MESSAGE_TRUNCATED",
	NotSupportedInHandler:          "OMX_NOT_SUPPORTED_IN_HANDLER",
	NoSystemResources:              "OMX_NO_SYSTEM_RESOURCES",
	NotImplemented:                 "OMX_NOT_IMPLEMENTED",
	ReturnCodeMax:                  "OMX_RETURN_CODE_MAX",
}

// String returns the C enumerator name ("OMX_MESSAGE_TRUNCATED"), or
// "Code(<n>)" for a value that is not an omx_return_t constant. For the
// user-facing text use Strerror.
func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return "Code(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// returnToMX mirrors the switch of omx_unlikely_return_to_mx
// (libopen-mx/omx__mx_compat.c) plus the SUCCESS fast path of the inline
// omx_return_to_mx (omx__mx_compat.h).
var returnToMX = map[Code]uint32{
	Success:                        0,  // MX_SUCCESS
	BadError:                       1,  // MX_BAD_BAD_BAD
	AlreadyInitialized:             3,  // MX_ALREADY_INITIALIZED
	NotInitialized:                 4,  // MX_NOT_INITIALIZED
	NoDeviceFile:                   5,  // MX_NO_DEV
	NoDriver:                       6,  // MX_NO_DRIVER
	AccessDenied:                   7,  // MX_NO_PERM
	BoardNotFound:                  8,  // MX_BOARD_UNKNOWN
	BadEndpoint:                    9,  // MX_BAD_ENDPOINT
	SegmentsBadCount:               12, // MX_BAD_SEG_CNT
	BadRequest:                     13, // MX_BAD_REQUEST
	BadMatchMask:                   14, // MX_BAD_MATCH_MASK
	NoResources:                    15, // MX_NO_RESOURCES
	Busy:                           20, // MX_BUSY
	BadInfoKey:                     21, // MX_BAD_INFO_KEY
	BadInfoAddress:                 22, // MX_BAD_INFO_VAL
	EndpointParamsBadList:          24, // MX_BAD_PARAM_LIST
	EndpointParamBadKey:            25, // MX_BAD_PARAM_NAME
	EndpointParamBadValue:          26, // MX_BAD_PARAM_VAL
	PeerNotFound:                   28, // MX_HOST_NOT_FOUND
	Timeout:                        30, // MX_TIMEOUT
	RemoteEndpointBadID:            32, // MX_BAD_ENDPOINT_ID
	RemoteEndpointClosed:           33, // MX_CONNECTION_FAILED
	RemoteEndpointBadConnectionKey: 34, // MX_BAD_CONNECTION_KEY
	BadInfoLength:                  35, // MX_BAD_INFO_LENGTH
	NICIDNotFound:                  36, // MX_NIC_NOT_FOUND
	BadKernelABI:                   37, // MX_BAD_KERNEL_VERSION
	BadLibABI:                      38, // MX_BAD_LIB_VERSION
	NotSupportedInHandler:          41, // MX_CLOSE_IN_HANDLER
	BadMatchingForContextIDMask:    42, // MX_BAD_MATCHING_FOR_CONTEXT_ID_MASK
}

// returnFromMX mirrors omx_unlikely_return_from_mx: the inverse of
// returnToMX, plus MX_CANCEL_NOT_SUPPORTED, which Open-MX folds into
// OMX_BAD_REQUEST.
var returnFromMX = func() map[uint32]Code {
	m := make(map[uint32]Code, len(returnToMX)+1)
	for omx, mx := range returnToMX {
		m[mx] = omx
	}
	m[40] = BadRequest // MX_CANCEL_NOT_SUPPORTED
	return m
}()

// returnPassthrough lists the Open-MX codes that have no MX return code.
// The original passes them through unchanged only on the error-handler path
// (non-strict) and aborts otherwise; we always pass them through
// (spec/api.md §3.3 [Decision]).
var returnPassthrough = map[Code]bool{
	Cancelled:                 true,
	RemoteRDMAWindowBadID:     true,
	RemoteEndpointUnreachable: true,
	RemoteEndpointBadSession:  true,
	MessageAborted:            true,
	MessageTruncated:          true,
	NoSystemResources:         true,
	NotImplemented:            true,
}

// statusToMX mirrors omx_unlikely_status_code_to_mx plus the SUCCESS fast
// path of omx_status_code_to_mx.
var statusToMX = map[Code]uint32{
	Success:                        0,  // MX_STATUS_SUCCESS
	Timeout:                        4,  // MX_STATUS_TIMEOUT
	MessageTruncated:               5,  // MX_STATUS_TRUNCATED
	Cancelled:                      6,  // MX_STATUS_CANCELLED
	RemoteEndpointClosed:           8,  // MX_STATUS_ENDPOINT_CLOSED
	RemoteEndpointUnreachable:      9,  // MX_STATUS_ENDPOINT_UNREACHABLE
	RemoteEndpointBadSession:       10, // MX_STATUS_BAD_SESSION
	RemoteEndpointBadConnectionKey: 11, // MX_STATUS_BAD_KEY
	RemoteEndpointBadID:            12, // MX_STATUS_BAD_ENDPOINT
	RemoteRDMAWindowBadID:          13, // MX_STATUS_BAD_RDMAWIN
	MessageAborted:                 14, // MX_STATUS_ABORTED
	NoResources:                    16, // MX_STATUS_NO_RESOURCES
}

// statusFromMX mirrors omx_unlikely_status_code_from_mx (the exact inverse
// of statusToMX).
var statusFromMX = func() map[uint32]Code {
	m := make(map[uint32]Code, len(statusToMX))
	for omx, mx := range statusToMX {
		m[mx] = omx
	}
	return m
}()

// ReturnToMX converts an Open-MX return code into the mx_return_t value an
// mx_* function returns (e.g. NotSupportedInHandler → MX_CLOSE_IN_HANDLER
// (41)). A code with no MX equivalent (Cancelled, MessageTruncated,
// NoSystemResources, ..., or any unknown value) is returned unchanged.
//
// Divergence: the original aborts on those in strict mode; we use the
// lenient rule everywhere (spec/api.md §3.3 [Decision]).
func ReturnToMX(c Code) uint32 {
	if mx, ok := returnToMX[c]; ok {
		return mx
	}
	return uint32(c)
}

// ReturnFromMX converts an mx_return_t value into an Open-MX code (e.g.
// MX_CANCEL_NOT_SUPPORTED (40) → BadRequest, MX_CLOSE_IN_HANDLER (41) →
// NotSupportedInHandler). Unknown values (including MX codes Open-MX never
// produces, such as MX_FAILURE) are returned unchanged, so the round trip
// through ReturnToMX of a pass-through code is the identity.
func ReturnFromMX(mx uint32) Code {
	if c, ok := returnFromMX[mx]; ok {
		return c
	}
	return Code(mx)
}

// StatusToMX converts an Open-MX completion code into the mx_status_code_t
// value stored in mx_status_t.code (e.g. MessageTruncated →
// MX_STATUS_TRUNCATED (5)). Unmapped values are returned unchanged.
//
// Divergence: the original aborts on unmapped values (spec/api.md §3.3).
func StatusToMX(c Code) uint32 {
	if mx, ok := statusToMX[c]; ok {
		return mx
	}
	return uint32(c)
}

// StatusFromMX converts an mx_status_code_t value into an Open-MX code
// (MX_STATUS_TRUNCATED (5) → MessageTruncated). Unmapped values are
// returned unchanged.
func StatusFromMX(mx uint32) Code {
	if c, ok := statusFromMX[mx]; ok {
		return c
	}
	return Code(mx)
}

// MXKnownReturn reports whether ReturnFromMX gives a meaningful Open-MX code
// for mx: MX_SUCCESS, every MX return code of the conversion table, and the
// Open-MX-only codes that the lenient rule passes through (90..99, which an
// MX error handler may see and hand back). mx_strerror prints
// "Unknown Return Code" for anything else.
func MXKnownReturn(mx uint32) bool {
	if _, ok := returnFromMX[mx]; ok {
		return true
	}
	return returnPassthrough[Code(mx)]
}

// MXKnownStatus reports whether mx is an mx_status_code_t value of the
// status conversion table (MX_STATUS_SUCCESS included). MX-only statuses such
// as MX_STATUS_PENDING are not known: Open-MX never produces them.
func MXKnownStatus(mx uint32) bool {
	_, ok := statusFromMX[mx]
	return ok
}
