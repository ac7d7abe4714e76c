// Package node holds the state of a host that the Open-MX kernel module
// used to keep for every process (DESIGN.md §4): the endpoint registry and
// the peer table, kept as files in the node state directory (the run
// directory, compat.Config.RunDir), plus the static peers file
// (compat.Config.PeersFile).
//
// It is pure Go, imports neither "C" nor the engine, and does no network
// I/O. The library opens endpoints through it; the tools (omx_endpoint_info,
// omx_init_peers, omxoed, omx_info) read and write the same files.
//
// # Run directory
//
//	<run dir>/endpoints/<board>.<index>   one file per open endpoint (Registry)
//	<run dir>/endpoints/<board>.raw       the raw endpoint of a board
//	<run dir>/counters/                   live counters (CreateCounters)
//	<run dir>/shm/                        shared-memory inboxes (engine/link/shm)
//	<run dir>/peers                       the published peer table (WritePeerTable)
//	<run dir>/users/<uid>/                a user's own endpoints (MakeUserDir)
//
// Several users share a host, so every directory is checked before use
// (safedir.go): owned by the caller or root, not writable by group or
// others, not a symbolic link, else refused with ErrUnsafeDir naming it;
// never chmod-ed unless just created. A missing run directory is created
// 0755 by root and 0700 by any other user (a per-user directory); its
// endpoints and counters directories follow its mode, shm is always 0700.
// Files are 0644 or 0600. A user who does not own the run directory keeps
// its endpoints in users/<uid>, or in a private per-user directory
// (StateDirFor).
//
// # Endpoint registry
//
// Registry.Acquire holds a slot (board, endpoint index) with flock on the
// slot's file for as long as the Claim lives: indexes are exclusive across
// all processes using the run directory, and a process that dies, even by
// SIGKILL, frees its slots without any clean-up step. A file whose lock is
// free is stale; Acquire reuses it and List removes it. The file records
// who holds the slot as "key=value" lines (format documented next to
// marshalInfo in registry.go), for omx_endpoint_info. MX_ANY_ENDPOINT is
// implemented by the caller, trying Acquire on indexes 0, 1, ... until one
// does not fail with ErrBusy. Linux only (other systems: ErrNotSupported).
//
// # Peers
//
// ParsePeersFile and LoadPeersFile read the static peers file of
// omx_init_peers ("<mac> <hostname>" lines). PeerTable numbers local boards
// first and then peers, in insertion order (spec/wire.md §6.3), and maps
// addresses, indexes and host names to each other. WritePeerTable publishes
// a table in the run directory atomically, in the peers file format;
// ReadPeerTable reads it back, and a Watcher tells cheaply (one stat)
// whether it changed so that a library can reload it about once a second.
//
// # Concurrency
//
// Registry, Claim, PeerTable and Watcher are safe for concurrent use.
// Cross-process consistency comes from flock (registry) and atomic renames
// (published peer table); nothing here starts goroutines.
package node
