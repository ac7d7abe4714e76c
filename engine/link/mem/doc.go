// Package mem is an in-memory implementation of link.Link: a Hub joins any
// number of boards (MAC addresses) and carries frames between the links
// opened on it, with knobs to drop, duplicate, reorder, corrupt and delay
// frames so the engine's retransmit, ack and duplicate paths run in tests.
//
// It is not a network emulator: there is no bandwidth model, and frames
// addressed to a MAC no link serves simply vanish (counted as unrouted).
//
// # Routing
//
// Send pads the frame to link.MinFrame, applies the faults (in this order:
// oversize check, drop, corrupt, duplicate, reorder), then copies it into the
// bounded queue of every open link whose link.Filter accepts it. A full
// queue drops the frame (counted as overflow). Delivery is immediate unless
// HubConfig.Delay is set, in which case Recv returns a frame only once its
// delay has elapsed (time comes from time.Now, so testing/synctest bubbles
// control it).
//
// # Concurrency
//
// A Hub and its links are safe for concurrent use. Lock order: Hub.mu →
// memLink.mu. No goroutine is ever started: Wait blocks the caller on a
// channel, Wake and delivery signal it. Fault decisions come from one
// seeded generator under Hub.mu, so a given sequence of Send calls from one
// goroutine always meets the same faults.
package mem
