// Package nettest builds private test networks for the network tests: each
// host is a network namespace with one veth interface. Two hosts without a
// fault bridge share a veth pair. Otherwise every host's veth has its peer,
// Port(i), in a middle namespace, where either a Linux bridge joins any
// number of hosts, or the fault bridge (tests/faultbridge) joins two and
// drops, duplicates, reorders, corrupts or delays frames, loses them in
// bursts, and models a switch port (a tail-drop queue drained at a rate):
//
//	host0 veth0 <-> p0 [middle: br0 or faultbridge] p1 <-> veth0 host1
//
// Every host has its own Open-MX host name, node state directory and a
// peers file listing every host, and runs programs through Host.Command,
// Host.Run or Host.Start with those in its environment. Go code runs inside
// a host's namespace with Host.Do; Host.OpenRaw gives a raw AF_PACKET socket
// on its interface for sending and sniffing frames.
//
// What it is not: a general network emulator. Traffic never leaves the
// namespaces New made (their veths and loopbacks); no address is assigned
// and IPv6 is disabled in them, so the wire carries only what tests send.
//
// Lifetime: New registers a t.Cleanup that stops the bridge and every
// process still running in the namespaces, then deletes the namespaces (and
// with them the veths) and the temporary directories. Namespace names start
// with "omxt<pid>n", so a later New removes the leftovers of a test binary
// that died (panic, SIGKILL) before its cleanups ran, killing what still
// runs in them. Processes of Host.Start, Host.Run and the bridge also get
// SIGKILL as their parent-death signal, so they do not outlive a dead test
// binary (they are forked by one dedicated, permanently locked thread: the
// signal follows the forking thread, and the Go runtime destroys threads
// whose locked goroutine exits).
//
// Privileges: CAP_SYS_ADMIN (namespaces), CAP_NET_ADMIN and CAP_NET_RAW; in
// practice root. Without them, or without iproute2's ip, New skips through
// testlib.Skip, which fails instead under OMX_TEST_REQUIRE_PRIV=1.
//
// Concurrency: a Net is built and torn down by its test's goroutine. Host
// methods may be called from several goroutines; a Bridge serializes its own
// methods.
package nettest
