// Package engine is the Open-MX protocol engine: endpoints, partners,
// requests, matching and the message state machines, in pure Go.
//
// It knows nothing of C, cgo, the MX ABI or sockets: the capi package turns C
// calls into calls on an Engine, and the compat package translates codes and
// reads the configuration. Mirrors libopen-mx (omx_endpoint.c, omx_partner.c,
// omx_send.c, omx_recv.c, omx_large.c, omx_request.c, omx_test.c).
//
// # Data paths
//
// This version moves messages between endpoints of one process:
//
//   - self: a send to the sending endpoint's own address is matched against
//     that endpoint's receives without any copy until a receive matches; the
//     send completes when the receive does (spec/api.md §7.1).
//   - local: a send to another endpoint of this process (or to itself when
//     self communication is disabled) behaves like a network message: eager
//     messages (at most the rendezvous threshold) are copied at posting time
//     and the send completes early; larger and synchronous messages are
//     rendezvous: the receiver copies the data straight from the sender's
//     buffer when it matches, then notifies the sender.
//
// Incoming messages wait in the destination endpoint's inbox until that
// endpoint progresses (inside an API call on it), so the unexpected handler
// always runs in an API call of the receiving endpoint, as in Open-MX.
//
// # Concurrency
//
// An Engine and its Endpoints are safe for concurrent use. Lock order:
// Engine.mu → Endpoint.mu → (inbox.mu | signal.mu | largeSend.mu |
// handle-table locks). Leaf locks never call out. No lock is held while an
// application callback (unexpected handler, error handler) runs.
package engine
