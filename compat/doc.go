// Package compat holds the semantics shared by the MX and Open-MX APIs that
// sit between the C boundary (capi) and the protocol engine (engine): the
// library state and error handlers, the translation of engine errors into
// Open-MX codes, the MX <-> Open-MX code, status and argument conversions,
// the environment configuration, and the discovery of the host's boards.
// Mirrors libopen-mx's omx_init.c, omx_error.c, omx__mx_compat.c and
// omx_get_info.c.
//
// It is pure Go and never imports "C": capi converts C arguments to Go
// values, makes one call into this package and converts the result back.
// It does not move messages (that is the engine) and does not print unless
// the configuration enables messages (library output goes to stderr, and
// only when asked: the library lives inside MPI jobs).
//
// # Tables
//
// Code is omx_return_t. ReturnToMX/ReturnFromMX and StatusToMX/StatusFromMX
// implement the tables of spec/api.md §3 with the lenient rule everywhere:
// values without a counterpart pass through unchanged instead of aborting
// the process. Strerror, MXStrerror and MXStrstatus give the texts of
// omx_strerror, mx_strerror and mx_strstatus.
//
// # Configuration
//
// LoadConfig reads every OMX_* variable (and its MX_* alias) and the
// optional config file in one place, through an injected getenv, so that the
// library reads the environment at init/open time rather than at load time.
// Config.Knobs documents every variable read.
//
// # Boards
//
// DiscoverBoards enumerates the Ethernet interfaces that become boards (all
// UP Ethernet interfaces, or the OMX_IFNAMES list), falling back to a single
// loopback board; the Linux part reads net.Interfaces and /sys/class/net.
//
// # Concurrency
//
// The tables, Strerror and the conversion functions are read-only and safe
// for concurrent use. LoadConfig and DiscoverBoards keep no state. See the
// Library type for the locking of the library state.
package compat
