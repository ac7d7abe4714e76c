package engine

import "sync/atomic"

// Counter indexes an endpoint's statistics. The order and labels are those
// of the original omx_counters output (spec/tools.md §12; Open-MX
// common/omx_io.h and libopen-mx/omx_get_info.c). Counters the engine never
// touches (DMA engine, socket-buffer and kernel queue events) stay 0; tools
// hide zero counters by default.
type Counter int

// The 85 counters, in spec/tools.md §12 order.
const (
	SendTiny           Counter = iota // Send Tiny
	SendSmall                         // Send Small
	SendMediumSQFrag                  // Send MediumSQ Frag
	SendMediumVAFrag                  // Send MediumVA Frag
	SendRndv                          // Send Rndv
	SendNotify                        // Send Notify
	SendConnectRequest                // Send Connect Request
	SendConnectReply                  // Send Connect Reply
	SendLibAck                        // Send LibAck
	SendNackLib                       // Send Nack Lib
	SendNackMCP                       // Send Nack MCP
	SendPullRequest                   // Send Pull Request
	SendPullReply                     // Send Pull Reply
	SendRaw                           // Send Raw
	SendHostQuery                     // Send Host Query
	SendHostReply                     // Send Host Reply

	RecvTiny           // Recv Tiny
	RecvSmall          // Recv Small
	RecvMediumFrag     // Recv Medium Frag
	RecvRndv           // Recv Rndv
	RecvNotify         // Recv Notify
	RecvConnectRequest // Recv Connect Request
	RecvConnectReply   // Recv Connect Reply
	RecvLibAck         // Recv LibAck
	RecvNackLib        // Recv Nack Lib
	RecvNackMCP        // Recv Nack MCP
	RecvPullRequest    // Recv Pull Request
	RecvPullReply      // Recv Pull Reply
	RecvRaw            // Recv Raw
	RecvHostQuery      // Recv Host Query
	RecvHostReply      // Recv Host Reply

	DMARecvMediumFrag            // DMA Recv Medium Frag
	DMARecvMediumFragOnlyPartial // DMA Recv Medium Frag Only Partial
	DMARecvPullReply             // DMA Recv Pull Reply
	DMARecvPullReplyOnlyPartial  // DMA Recv Pull Reply Only Partial
	DMARecvPullReplyDeferredWait // DMA Recv Pull Reply with Deferred Wait

	RecvNonLinearHeader                // Recv Open-MX Header as Non-Linear
	ExpEventQFull                      // Expected Event Queue Full
	UnexpEventQFull                    // Unexpected Event Queue Full
	SendSkbAllocFailed                 // Send Skbuff Alloc Failed
	SendMediumDeferredEventAllocFailed // Send Medium Deferred Event Alloc Failed
	MediumSQFragSentLinear             // MediumSQ Frag Sent as Linear
	PullNonFirstBlockDoneEarly         // Pull Non-First Block Done before First One
	PullRequestNotOnlyFirstBlock       // Pull Request for Not Only the First Block at Once
	PullTimeoutFirstBlock              // Pull Timeout Handler Requests First Block
	PullTimeoutNonFirstBlock           // Pull Timeout Handler Requests Non-First Block
	PullTimeoutAbort                   // Pull Timeout Abort
	PullReplySentLinear                // Pull Reply Sent as Linear
	PullReplyFillFailed                // Pull Reply Recv Fill Pages Failed

	DropBadHeaderDataLen          // Drop Bad Data Length for Headers
	DropBadDataLen                // Drop Bad Data Length
	DropBadSkbLen                 // Drop Bad Skbuff Length
	DropBadPeerAddr               // Drop Bad Peer Addr
	DropBadPeerIndex              // Drop Bad Peer Index
	DropBadEndpoint               // Drop Bad Endpoint
	DropBadSession                // Drop Bad Session
	DropPullBadReplies            // Drop Pull Bad Number of Replies
	DropPullBadRegion             // Drop Pull Bad Region
	DropPullBadOffsetLength       // Drop Pull Bad Offset or Length
	DropPullReplyBadMagicEndpoint // Drop Pull Reply Bad Endpoint in Magic
	DropPullReplyBadWireHandle    // Drop Pull Reply Bad Wire Handle
	DropPullReplyBadSeqnumWrap    // Drop Pull Reply Bad Frame SeqNum WrapAround
	DropPullReplyBadSeqnum        // Drop Pull Reply Bad Frame SeqNum
	DropPullReplyDuplicate        // Drop Pull Reply Duplicate
	DropNackMCPBadMagicEndpoint   // Drop Nack MCP Bad Endpoint in Magic
	DropNackMCPBadWireHandle      // Drop Nack MCP Bad Wire Handle
	DropHostReplyBadMagic         // Drop Host Reply with Bad Magic
	DropRawQueueFull              // Drop Raw Queue Full
	DropRawTooLarge               // Drop Raw Packet Too Large
	DropNotImplementedPacketType  // Drop Not Implemented Packet Type
	DropInvalidPacketType         // Drop Invalid Packet Type
	DropUnknownPacketType         // Drop Unknown Packet Type

	SharedTiny                // Shared Tiny
	SharedSmall               // Shared Small
	SharedMediumSQFrag        // Shared MediumSQ Frag
	SharedMediumVA            // Shared MediumVA
	SharedRndv                // Shared Rndv
	SharedNotify              // Shared Notify
	SharedConnectRequest      // Shared Connect Request
	SharedConnectReply        // Shared Connect Reply
	SharedLibAck              // Shared LibAck
	SharedPull                // Shared Pull
	DMASharedMediumFrag       // DMA Shared Medium Frag
	DMASharedLarge            // DMA Shared Large
	DMASharedLargeOnlyPartial // DMA Shared Large only Partial

	// NumCounters is the number of counters (OMX_INFO_COUNTER_MAX, 85).
	NumCounters
)

// counterLabels holds the omx_counters label of every Counter.
var counterLabels = [NumCounters]string{
	SendTiny:           "Send Tiny",
	SendSmall:          "Send Small",
	SendMediumSQFrag:   "Send MediumSQ Frag",
	SendMediumVAFrag:   "Send MediumVA Frag",
	SendRndv:           "Send Rndv",
	SendNotify:         "Send Notify",
	SendConnectRequest: "Send Connect Request",
	SendConnectReply:   "Send Connect Reply",
	SendLibAck:         "Send LibAck",
	SendNackLib:        "Send Nack Lib",
	SendNackMCP:        "Send Nack MCP",
	SendPullRequest:    "Send Pull Request",
	SendPullReply:      "Send Pull Reply",
	SendRaw:            "Send Raw",
	SendHostQuery:      "Send Host Query",
	SendHostReply:      "Send Host Reply",

	RecvTiny:           "Recv Tiny",
	RecvSmall:          "Recv Small",
	RecvMediumFrag:     "Recv Medium Frag",
	RecvRndv:           "Recv Rndv",
	RecvNotify:         "Recv Notify",
	RecvConnectRequest: "Recv Connect Request",
	RecvConnectReply:   "Recv Connect Reply",
	RecvLibAck:         "Recv LibAck",
	RecvNackLib:        "Recv Nack Lib",
	RecvNackMCP:        "Recv Nack MCP",
	RecvPullRequest:    "Recv Pull Request",
	RecvPullReply:      "Recv Pull Reply",
	RecvRaw:            "Recv Raw",
	RecvHostQuery:      "Recv Host Query",
	RecvHostReply:      "Recv Host Reply",

	DMARecvMediumFrag:            "DMA Recv Medium Frag",
	DMARecvMediumFragOnlyPartial: "DMA Recv Medium Frag Only Partial",
	DMARecvPullReply:             "DMA Recv Pull Reply",
	DMARecvPullReplyOnlyPartial:  "DMA Recv Pull Reply Only Partial",
	DMARecvPullReplyDeferredWait: "DMA Recv Pull Reply with Deferred Wait",

	RecvNonLinearHeader:                "Recv Open-MX Header as Non-Linear",
	ExpEventQFull:                      "Expected Event Queue Full",
	UnexpEventQFull:                    "Unexpected Event Queue Full",
	SendSkbAllocFailed:                 "Send Skbuff Alloc Failed",
	SendMediumDeferredEventAllocFailed: "Send Medium Deferred Event Alloc Failed",
	MediumSQFragSentLinear:             "MediumSQ Frag Sent as Linear",
	PullNonFirstBlockDoneEarly:         "Pull Non-First Block Done before First One",
	PullRequestNotOnlyFirstBlock:       "Pull Request for Not Only the First Block at Once",
	PullTimeoutFirstBlock:              "Pull Timeout Handler Requests First Block",
	PullTimeoutNonFirstBlock:           "Pull Timeout Handler Requests Non-First Block",
	PullTimeoutAbort:                   "Pull Timeout Abort",
	PullReplySentLinear:                "Pull Reply Sent as Linear",
	PullReplyFillFailed:                "Pull Reply Recv Fill Pages Failed",

	DropBadHeaderDataLen:          "Drop Bad Data Length for Headers",
	DropBadDataLen:                "Drop Bad Data Length",
	DropBadSkbLen:                 "Drop Bad Skbuff Length",
	DropBadPeerAddr:               "Drop Bad Peer Addr",
	DropBadPeerIndex:              "Drop Bad Peer Index",
	DropBadEndpoint:               "Drop Bad Endpoint",
	DropBadSession:                "Drop Bad Session",
	DropPullBadReplies:            "Drop Pull Bad Number of Replies",
	DropPullBadRegion:             "Drop Pull Bad Region",
	DropPullBadOffsetLength:       "Drop Pull Bad Offset or Length",
	DropPullReplyBadMagicEndpoint: "Drop Pull Reply Bad Endpoint in Magic",
	DropPullReplyBadWireHandle:    "Drop Pull Reply Bad Wire Handle",
	DropPullReplyBadSeqnumWrap:    "Drop Pull Reply Bad Frame SeqNum WrapAround",
	DropPullReplyBadSeqnum:        "Drop Pull Reply Bad Frame SeqNum",
	DropPullReplyDuplicate:        "Drop Pull Reply Duplicate",
	DropNackMCPBadMagicEndpoint:   "Drop Nack MCP Bad Endpoint in Magic",
	DropNackMCPBadWireHandle:      "Drop Nack MCP Bad Wire Handle",
	DropHostReplyBadMagic:         "Drop Host Reply with Bad Magic",
	DropRawQueueFull:              "Drop Raw Queue Full",
	DropRawTooLarge:               "Drop Raw Packet Too Large",
	DropNotImplementedPacketType:  "Drop Not Implemented Packet Type",
	DropInvalidPacketType:         "Drop Invalid Packet Type",
	DropUnknownPacketType:         "Drop Unknown Packet Type",

	SharedTiny:                "Shared Tiny",
	SharedSmall:               "Shared Small",
	SharedMediumSQFrag:        "Shared MediumSQ Frag",
	SharedMediumVA:            "Shared MediumVA",
	SharedRndv:                "Shared Rndv",
	SharedNotify:              "Shared Notify",
	SharedConnectRequest:      "Shared Connect Request",
	SharedConnectReply:        "Shared Connect Reply",
	SharedLibAck:              "Shared LibAck",
	SharedPull:                "Shared Pull",
	DMASharedMediumFrag:       "DMA Shared Medium Frag",
	DMASharedLarge:            "DMA Shared Large",
	DMASharedLargeOnlyPartial: "DMA Shared Large only Partial",
}

// Label returns the label omx_counters prints for c ("Send Tiny"), or
// "** Unknown **" when c is out of range.
func (c Counter) Label() string {
	if c < 0 || c >= NumCounters {
		return "** Unknown **"
	}
	return counterLabels[c]
}

// Shared reports whether c belongs to the "Shared" family (72..84), which
// the original accounts on the shared-communication pseudo-board rather than
// on the board that carried the packet (spec/tools.md §12).
func (c Counter) Shared() bool {
	return c >= SharedTiny && c < NumCounters
}

// Counters holds the statistics of one endpoint. The zero value is ready
// to use (all counters 0, kept in the Counters itself); NewCounters makes
// one whose values live in caller-provided memory, such as a file of the
// node state directory mapped by several processes. All methods are safe
// for concurrent use; they panic if given a Counter out of range (a
// programming error).
type Counters struct {
	ext *[NumCounters]atomic.Uint64 // nil: the values are in own
	own [NumCounters]atomic.Uint64
}

// NewCounters returns Counters whose values are kept in store (which must
// stay valid and 8-byte aligned for as long as the Counters is used; its
// current values are kept). A nil store gives Counters of their own, like
// the zero value.
func NewCounters(store *[NumCounters]atomic.Uint64) *Counters {
	return &Counters{ext: store}
}

// vals returns the storage of the values.
func (c *Counters) vals() *[NumCounters]atomic.Uint64 {
	if c.ext != nil {
		return c.ext
	}
	return &c.own
}

// Add adds n to counter k.
func (c *Counters) Add(k Counter, n uint64) { c.vals()[k].Add(n) }

// Inc adds 1 to counter k.
func (c *Counters) Inc(k Counter) { c.vals()[k].Add(1) }

// Get returns the current value of counter k.
func (c *Counters) Get(k Counter) uint64 { return c.vals()[k].Load() }

// Snapshot returns the values of every counter. Each value is read
// atomically, but the set is not a consistent cut: counters updated
// concurrently may be seen before or after the update.
func (c *Counters) Snapshot() [NumCounters]uint64 {
	var s [NumCounters]uint64
	v := c.vals()
	for i := range v {
		s[i] = v[i].Load()
	}
	return s
}

// Reset sets every counter to 0 (omx_counters -c).
func (c *Counters) Reset() {
	v := c.vals()
	for i := range v {
		v[i].Store(0)
	}
}
