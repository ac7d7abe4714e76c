package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-mx-go/open-mx-go/compat"
	"github.com/open-mx-go/open-mx-go/compat/node"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo"
	"github.com/open-mx-go/open-mx-go/tools/internal/nodeinfo/nodeinfotest"
)

func writeFile(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func published(t *testing.T, h *nodeinfotest.Host) []node.Peer {
	t.Helper()
	ps, _, err := node.ReadPeerTable(h.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestInitPeersFile(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_init_peers")
	info := nodeinfotest.Build(t, "omx_info")
	h := nodeinfotest.NewHost(t)
	file := writeFile(t, t.TempDir(), "peers", "# Open-MX static peers\n00:60:dd:47:c4:75 node1:0\n\n00:60:DD:47:C4:76\tnode2:0 trailing words\r\n")
	r := h.Run(t, bin, file)
	if r.ExitCode != 0 || r.Stdout != "Adding peers from file "+file+"...\n" || r.Stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
	want := []node.Peer{{NICID: 0x0060dd47c475, Hostname: "node1:0"}, {NICID: 0x0060dd47c476, Hostname: "node2:0"}}
	if diff := cmp.Diff(want, published(t, h)); diff != "" {
		t.Errorf("published table (-want +got):\n%s", diff)
	}
	// Appending the same file again changes nothing; -v tells each add.
	r = h.Run(t, bin, "-v", file)
	const verbose = "Trying to adding peer node1:0 address 00:60:dd:47:c4:75\nTrying to adding peer node2:0 address 00:60:dd:47:c4:76\n"
	if r.ExitCode != 0 || !strings.HasSuffix(r.Stdout, verbose) {
		t.Errorf("-v: exit %d, stdout %q", r.ExitCode, r.Stdout)
	}
	if diff := cmp.Diff(want, published(t, h)); diff != "" {
		t.Errorf("table after a second load (-want +got):\n%s", diff)
	}
	r = h.Run(t, info)
	const table = "\nPeer table is not configured yet\n================================================\n" +
		"  0) 00:00:00:00:00:00 localhost\n  1) 00:60:dd:47:c4:75 node1:0\n  2) 00:60:dd:47:c4:76 node2:0\n"
	if !strings.HasSuffix(r.Stdout, table) {
		t.Errorf("omx_info:\n%s\nwant it to end with:\n%s", r.Stdout, table)
	}
}

func TestInitPeersClearDoneAndOne(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_init_peers")
	info := nodeinfotest.Build(t, "omx_info")
	h := nodeinfotest.NewHost(t)
	if err := node.WritePeerTable(h.RunDir, []node.Peer{{NICID: 1, Hostname: "old:0"}}); err != nil {
		t.Fatal(err)
	}
	if err := nodeinfo.WriteState(h.RunDir, nodeinfo.TableState{Full: true}); err != nil {
		t.Fatal(err)
	}
	r := h.Run(t, bin, "-c", "-d", "02:00:00:00:AA:01", "nodea:0")
	const out = "Clearing peers...\nMarking the peer table configured as done...\nAdding peer nodea:0 address 02:00:00:00:AA:01\n"
	if r.ExitCode != 0 || r.Stdout != out || r.Stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.ExitCode, r.Stdout, r.Stderr)
	}
	if diff := cmp.Diff([]node.Peer{{NICID: 0x02000000aa01, Hostname: "nodea:0"}}, published(t, h)); diff != "" {
		t.Errorf("published table (-want +got):\n%s", diff)
	}
	st, err := nodeinfo.ReadState(h.RunDir)
	if want := (nodeinfo.TableState{Configured: true, MapperID: 1<<48 - 1}); err != nil || st != want {
		t.Errorf("state %+v, %v; want %+v", st, err, want)
	}
	r = h.Run(t, info)
	if !strings.Contains(r.Stdout, "\nPeer table is ready, mapper is ff:ff:ff:ff:ff:ff\n") ||
		!strings.HasSuffix(r.Stdout, "  1) 02:00:00:00:aa:01 nodea:0\n") || r.Stderr != "" {
		t.Errorf("omx_info:\n%s\nstderr %q", r.Stdout, r.Stderr)
	}
	// Same address again: only the name changes. -a cancels -c.
	r = h.Run(t, bin, "-c", "-a", "02:00:00:00:aa:01", "renamed:0")
	if r.ExitCode != 0 || strings.Contains(r.Stdout, "Clearing") {
		t.Errorf("-c -a: exit %d, stdout %q", r.ExitCode, r.Stdout)
	}
	if ps := published(t, h); len(ps) != 1 || ps[0].Hostname != "renamed:0" {
		t.Errorf("after renaming: %+v", ps)
	}
	// Nothing to add.
	if r = h.Run(t, bin); r.ExitCode != 0 || r.Stdout != "Not adding any peer\n" {
		t.Errorf("no argument: exit %d, stdout %q", r.ExitCode, r.Stdout)
	}
}

func TestInitPeersLocalBoard(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_init_peers")
	h := nodeinfotest.NewHost(t)
	// The address of a local board renames the board.
	r := h.Run(t, bin, "00:00:00:00:00:00", "me:0")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	if name, err := compat.ReadBoardHostname(h.RunDir, "lo"); err != nil || name != "me:0" {
		t.Errorf("board host name %q, %v; want me:0", name, err)
	}
}

func TestInitPeersErrors(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_init_peers")
	h := nodeinfotest.NewHost(t)
	dir := t.TempDir()

	r := h.Run(t, bin, "00:11:22", "x:0")
	if r.ExitCode != 255 || r.Stderr != "Unrecognized address '00:11:22'\n" {
		t.Errorf("bad address: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	missing := filepath.Join(dir, "missing")
	r = h.Run(t, bin, missing)
	if r.ExitCode != 1 || r.Stderr != "Cannot open file '"+missing+"'\n" {
		t.Errorf("missing file: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	// A bad line stops the processing; the lines before it are added.
	bad := writeFile(t, dir, "bad", "00:00:00:00:00:0a a:0\n   \n00:00:00:00:00:0b b:0\n")
	r = h.Run(t, bin, bad)
	if r.ExitCode != 1 || r.Stderr != "Unrecognized peer line '   '\n" {
		t.Errorf("bad line: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	if diff := cmp.Diff([]node.Peer{{NICID: 0x0a, Hostname: "a:0"}}, published(t, h)); diff != "" {
		t.Errorf("after a bad line (-want +got):\n%s", diff)
	}
	r = h.Run(t, bin, "00:00:00:00:00:0c", "with blank")
	if r.ExitCode != int(compat.BadRequest) || !strings.HasPrefix(r.Stderr, "Failed to add new peer with blank address 00:00:00:00:00:0c (") {
		t.Errorf("name with a blank: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
}

func TestInitPeersTableFull(t *testing.T) {
	bin := nodeinfotest.Build(t, "omx_init_peers")
	h := nodeinfotest.NewHost(t)
	// The local board and 1023 peers fill the table.
	peers := make([]node.Peer, node.PeerMax-1)
	for i := range peers {
		peers[i] = node.Peer{NICID: 0x020000000000 + uint64(i) + 1, Hostname: "n:0"}
	}
	if err := node.WritePeerTable(h.RunDir, peers); err != nil {
		t.Fatal(err)
	}
	r := h.Run(t, bin, "04:00:00:00:00:01", "extra:0")
	if r.ExitCode != int(compat.NoResources) || r.Stderr != "Failed to add new peer extra:0 address 04:00:00:00:00:01 (No resources available)\n" {
		t.Errorf("exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	if st, _ := nodeinfo.ReadState(h.RunDir); !st.Full {
		t.Error("full flag not recorded")
	}
	if ps := published(t, h); len(ps) != node.PeerMax-1 {
		t.Errorf("%d peers published, want %d", len(ps), node.PeerMax-1)
	}
	// Clearing forgets the flag.
	if r = h.Run(t, bin, "-c"); r.ExitCode != 0 {
		t.Fatalf("-c: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	if st, _ := nodeinfo.ReadState(h.RunDir); st.Full || len(published(t, h)) != 0 {
		t.Errorf("after -c: state %+v, %d peers", st, len(published(t, h)))
	}
}

func TestInitPeersAccessDenied(t *testing.T) {
	nodeinfotest.NeedRoot(t)
	bin := nodeinfotest.Build(t, "omx_init_peers")
	h := nodeinfotest.NewHost(t)
	file := writeFile(t, t.TempDir(), "peers", "00:00:00:00:00:0a a:0\n")
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	r := h.RunAs(t, nodeinfotest.Nobody, bin, "00:00:00:00:00:0a", "a:0")
	if r.ExitCode != int(compat.AccessDenied) || r.Stderr != "Failed to add new peer a:0 address 00:00:00:00:00:0a (Access denied)\n" {
		t.Errorf("add: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	r = h.RunAs(t, nodeinfotest.Nobody, bin, "-c")
	if r.ExitCode != 255 || r.Stderr != "Failed to clear peers (Access denied)\n" {
		t.Errorf("-c: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	r = h.RunAs(t, nodeinfotest.Nobody, bin, "-d")
	if r.ExitCode != 255 || r.Stderr != "Failed to set peer table state (Access denied)\n" {
		t.Errorf("-d: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	if _, err := os.Stat(filepath.Join(h.RunDir, node.PeerTableFile)); err == nil {
		t.Error("an unprivileged user published a peer table")
	}
}

func TestInitPeersOptions(t *testing.T) {
	nodeinfotest.CheckOptions(t, nodeinfotest.Build(t, "omx_init_peers"), "Usage: omx_init_peers [options] [<file> | <mac> <hostname>]", []nodeinfotest.OptionCase{
		{Args: []string{"-h"}, Diag: ""},
		{Args: []string{"--help"}, Diag: ""},
		{Args: []string{"-b"}, Diag: "omx_init_peers: invalid option -- 'b'\nUnknown option -?\n"},
	})
}
