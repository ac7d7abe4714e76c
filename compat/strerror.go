package compat

// UnknownCodeText is what Strerror, MXStrerror and MXStrstatus return for a
// value they cannot name.
const UnknownCodeText = "Unknown Return Code"

// codeTexts holds the omx_strerror text of every Code (spec/api.md §3.1,
// column 3). The internal codes 102..106 of the original never reach the
// application and have no entry.
var codeTexts = map[Code]string{
	Success:                        "Success",
	BadError:                       "Bad error",
	AlreadyInitialized:             "Already initialized",
	NotInitialized:                 "Not initialized",
	NoDeviceFile:                   "No device file",
	NoDriver:                       "Unusable device file (driver loaded?)",
	AccessDenied:                   "Access denied",
	BoardNotFound:                  "Board Not Found",
	BadEndpoint:                    "Bad Endpoint",
	SegmentsBadCount:               "Multiple Segments Count Invalid",
	BadRequest:                     "This Function cannot be applied to this Request",
	BadMatchMask:                   "Bad match mask.",
	NoResources:                    "No resources available",
	Busy:                           "Resource Busy",
	BadInfoKey:                     "Bad Info Key",
	BadInfoAddress:                 "Bad Info Value Address",
	EndpointParamsBadList:          "Bad Endpoint Parameter List",
	EndpointParamBadKey:            "Bad Endpoint Parameter Key",
	EndpointParamBadValue:          "Bad Endpoint Parameter Value",
	PeerNotFound:                   "Peer Not Found in the Table",
	Timeout:                        "Command Timeout",
	RemoteEndpointBadID:            "Remote Endpoint Id is Wrong",
	RemoteEndpointClosed:           "Remote Endpoint is Closed",
	RemoteEndpointBadConnectionKey: "Connection Key to Remote Endpoint is Invalid",
	BadInfoLength:                  "Bad Info Value Length",
	NICIDNotFound:                  "Nic ID not Found in Peer Table",
	BadKernelABI:                   "Kernel ABI too old, did you rebuild/reload the new driver?",
	BadLibABI:                      "Library ABI too old, did you relink your program with the new library?",
	BadMatchingForContextIDMask:    "Matching info does not respect context id mask",
	Cancelled:                      "Cancelled",
	RemoteRDMAWindowBadID:          "Remote Window Id is Invalid",
	RemoteEndpointUnreachable:      "Remote Endpoint Unreachable",
	RemoteEndpointBadSession:       "Wrong Remote Endpoint Session",
	MessageAborted:                 "Message Aborted",
	MessageTruncated:               "Message Truncated",
	NotSupportedInHandler:          "Operation not supported in the handler",
	NoSystemResources:              "No resources available in the system",
	NotImplemented:                 "Not implemented",
	ReturnCodeMax:                  "Maximum return code",
}

// Strerror returns the omx_strerror text of c and true, or
// ("Unknown Return Code", false) when c is not an Open-MX code. On false the
// caller (omx_strerror) prints
// "<prefix>WARNING: Failed to stringify unknown return value <n>" when
// messages are enabled; Strerror itself prints nothing.
//
// The returned strings are constants: capi may keep one C copy of each.
func Strerror(c Code) (s string, known bool) {
	if s, ok := codeTexts[c]; ok {
		return s, true
	}
	return UnknownCodeText, false
}

// MXStrerror is mx_strerror: the text of an mx_return_t value, obtained by
// converting it with ReturnFromMX. Values that are not known MX return codes
// (MXKnownReturn), such as MX_FAILURE, give "Unknown Return Code".
//
// Divergence: the original aborts on unknown values (spec/api.md §3.3).
func MXStrerror(mx uint32) string {
	if !MXKnownReturn(mx) {
		return UnknownCodeText
	}
	s, _ := Strerror(ReturnFromMX(mx))
	return s
}

// MXStrstatus is mx_strstatus: the text of an mx_status_code_t value, e.g.
// MX_STATUS_TRUNCATED (5) → "Message Truncated". Statuses Open-MX never
// produces (MX_STATUS_PENDING, ...) give "Unknown Return Code".
func MXStrstatus(mx uint32) string {
	if !MXKnownStatus(mx) {
		return UnknownCodeText
	}
	s, _ := Strerror(StatusFromMX(mx))
	return s
}
