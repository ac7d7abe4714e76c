package engine

import "errors"

// Status is the completion code of a request, with the numeric values of
// Open-MX's omx_return_t (common/open-mx.h), so that it crosses the C
// boundary unchanged.
type Status uint32

// Completion codes a request can end with (spec/api.md §7.19).
const (
	StatusSuccess                   Status = 0
	StatusNoResources               Status = 15
	StatusRemoteEndpointBadID       Status = 32
	StatusRemoteEndpointClosed      Status = 33
	StatusRemoteEndpointBadKey      Status = 34
	StatusCancelled                 Status = 90
	StatusRemoteRDMAWindowBadID     Status = 91
	StatusRemoteEndpointUnreachable Status = 92
	StatusRemoteEndpointBadSession  Status = 93
	StatusMessageAborted            Status = 94
	StatusMessageTruncated          Status = 95
)

// Errors returned by Engine and Endpoint methods. The compat package maps
// each to its Open-MX return code (one function, compat.CodeOf).
var (
	ErrNotInitialized     = errors.New("not initialized")
	ErrBadEndpoint        = errors.New("bad endpoint")
	ErrBadRequest         = errors.New("request cannot be used here")
	ErrBadMatchMask       = errors.New("match info has bits outside the match mask")
	ErrCtxIDMask          = errors.New("match mask does not cover the context id bits")
	ErrSegmentsCount      = errors.New("too many segments")
	ErrBoardNotFound      = errors.New("board not found")
	ErrBusy               = errors.New("endpoint busy")
	ErrNoResources        = errors.New("no resources")
	ErrParamBadValue      = errors.New("bad endpoint parameter value")
	ErrNICIDNotFound      = errors.New("nic id not found in the peer table")
	ErrPeerNotFound       = errors.New("peer not found")
	ErrInHandler          = errors.New("not supported inside the unexpected handler")
	ErrTimeout            = errors.New("timed out")
	ErrRemoteBadID        = errors.New("remote endpoint id is wrong")
	ErrRemoteClosed       = errors.New("remote endpoint is closed")
	ErrRemoteBadKey       = errors.New("connection key to remote endpoint is invalid")
	ErrRemoteUnreachable  = errors.New("remote endpoint unreachable")
	ErrNotImplemented     = errors.New("not implemented")
	ErrNoDriver           = errors.New("no driver")
	ErrEndpointClosedHere = errors.New("endpoint closed while waiting")
)

// statusError converts a connect status into the error omx_connect returns.
func statusError(s Status) error {
	switch s {
	case StatusSuccess:
		return nil
	case StatusRemoteEndpointBadID:
		return ErrRemoteBadID
	case StatusRemoteEndpointClosed:
		return ErrRemoteClosed
	case StatusRemoteEndpointBadKey:
		return ErrRemoteBadKey
	default:
		return ErrTimeout
	}
}
