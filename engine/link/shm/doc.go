// Package shm is a link.Link between endpoints of different processes of
// one host, over shared memory (issue 5, first slice). The engine carries
// its ordinary Open-MX frames through it: seqnums, acks and pulls work as on
// the wire; only the medium changes.
//
// # Files
//
// Every open endpoint owns an inbox: a file named
// "omx-<Namespace>-<Board>-<Endpoint>" in Config.Dir (a private directory),
// mode 0600, mapped shared by its owner and by every sender. Open builds
// the file under a temporary name and renames it into place, so a sender
// never sees a half-initialised inbox and always a new inode after a
// restart. An inbox left by a dead owner is marked closed and replaced; one
// whose owner is alive makes Open fail (ErrBusy). Close marks the inbox
// closed, unmaps it and removes the file if it is still its own. A process
// that dies without closing (SIGKILL, exit without omx_finalize) leaves its
// inbox and bell behind: Open and Close of any link sweep their directory
// (Sweep) and remove the inboxes and bells whose owner pid is dead and the
// temporary files of Opens that died half-way; nothing else is touched.
//
// # Ring
//
// The file is a 256-byte header followed by the data area (Config.RingBytes,
// a multiple of 8). Header fields (little-endian, 8-byte aligned where
// accessed atomically):
//
//	0   magic "OMXS" (u32)     4  version (u32)
//	8   capacity (u64)         16 MTU (u32)      20 owner pid (u32)
//	24  state (u32: 1 open, 2 closed)
//	40  sleepers (u32)          44 rung (u32)   (see Waiting)
//	64  producer lock (u64: pid of the holder, 0 = free)
//	128 tail (u64, byte count written, producers only)
//	192 head (u64, byte count read, owner only)
//
// Records are [u32 length][u32 length^tag][frame] padded to 8 bytes; a
// length of 0xFFFFFFFF is a wrap marker (the rest of the area is skipped).
// The ring has many producers (any process, serialised by the lock word,
// taken with compare-and-swap) and one consumer (the owner). A producer
// publishes a record by storing tail after writing it, so a producer that
// dies mid-write leaves nothing visible. A lock held by a dead pid for more
// than 2 ms, or by anyone for more than 200 ms (a stopped process, or
// garbage), is stolen.
//
// # Trust
//
// Nothing read from shared memory is trusted: capacity and MTU are read
// once and checked against the file size; head, tail, lengths and tags are
// checked on every record. A bad record counts in Stats.BadRecords and the
// consumer resynchronises (drops what is pending and resets the ring);
// it never panics nor reads out of bounds.
//
// A file mapped by another process must not shrink under the mapping (the
// reader would die of SIGBUS). An inbox is sized once, before it gets its
// name (ftruncate of the temporary file, then rename), and never resized;
// it is mapped only when it belongs to the mapping process's user (fstat
// after open: a sender maps only inboxes of its own user, Open retires
// only an inbox of its own user) and is 0600, so only that user's own
// processes (or root) could shrink it. The directory must be one that no
// other user can change (Config.Dir, checked with lstat by Open), so
// nobody else can take an inbox name either. Frame payloads carry no
// checksum: a process of the same user can alter pending data undetected.
//
// # Routing and flow control
//
// Send picks the destination endpoint as link.Filter.Accept does (byte 17,
// byte 25 for NACK_LIB, the pull magic for PULL_REPLY), refuses a frame
// whose destination MAC is not Config.MAC, and silently drops HOST_* and
// unknown frames (there is no endpoint to deliver them to) as well as frames
// for endpoints that have no inbox. A full inbox is retried for about 1 ms,
// then the frame is dropped (the engine retransmits).
//
// # Waiting
//
// Wait spins briefly, then sleeps on the inbox's bell: a FIFO named
// "<inbox>.bell-<owner pid>" (mode 0600), created before the inbox becomes
// visible and opened for reading and writing by the owner, for writing by
// every sender. A sleeping owner counts itself in the header word at 40
// (sleepers, u32) and then looks at the ring once more; a sender that
// stored a record reads that word and, if it is not zero, writes one byte
// to the bell, unless the word at 44 (rung, u32) says somebody already did
// since the owner last drained it. Both sides use sequentially consistent
// atomics, so either the owner sees the record or the sender rings: no
// frame is slept on. Wake rings the own bell, Close rings it and then
// closes it. Because the bell is a descriptor, another link's Wait can
// watch it too (link.Doorbell, link.FDWaiter): an endpoint with a network
// link and a shared-memory link sleeps on both at once. Sweep removes the
// bells of dead owners.
package shm
