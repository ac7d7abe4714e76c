package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-mx-go/open-mx-go/tests/nettest"
	"github.com/open-mx-go/open-mx-go/tests/testlib"
)

// txPackets returns the transmitted-packet counter of h's interface.
func txPackets(t *testing.T, h *nettest.Host) uint64 {
	t.Helper()
	out, err := exec.Command("ip", "-n", h.Name, "-j", "-s", "link", "show", "dev", h.IfName).Output()
	if err != nil {
		t.Fatalf("ip link show: %v", err)
	}
	var links []struct {
		Stats64 struct {
			TX struct {
				Packets uint64 `json:"packets"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		t.Fatalf("ip link show: %v\n%s", err, out)
	}
	return links[0].Stats64.TX.Packets
}

// TestNetSameHostDisableShared: with OMX_DISABLE_SHARED=1 two processes of
// one host (a namespace whose board is a veth) talk through the network
// path, as spec/api.md says: every size class of tests/c/pair.c
// (synchronous sends, truncation, unexpected messages) passes, the frames
// cross the interface (its transmit counter grows by thousands: pair moves
// tens of MiB) and no shared-memory inbox is made.
func TestNetSameHostDisableShared(t *testing.T) {
	n := nettest.New(t, nettest.Options{Hosts: 2, MTU: 9000})
	h := n.Hosts[0]
	bin := testlib.CompileTestC(t, "pair")
	env := []string{"OMX_DISABLE_SHARED=1"}
	before := txPackets(t, h)
	b := h.Start(t, env, bin, "b", "1", "2")
	res := h.Run(t, 120*time.Second, env, bin, "a", "2", "1")
	bres := b.Wait(60 * time.Second)
	if res.ExitCode != 0 || bres.ExitCode != 0 || !strings.Contains(res.Stdout, "pair: PASS") || !strings.Contains(bres.Stdout, "pair: PASS") {
		t.Fatalf("a: exit %d\n%s\n%s\nb: exit %d\n%s\n%s", res.ExitCode, res.Stdout, res.Stderr, bres.ExitCode, bres.Stdout, bres.Stderr)
	}
	if sent := txPackets(t, h) - before; sent < 2000 {
		t.Errorf("the interface sent %d frames; the network path was not used", sent)
	}
	ents, err := os.ReadDir(filepath.Join(h.RunDir, "shm"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "omx-") {
			t.Errorf("shared-memory file %s made with OMX_DISABLE_SHARED=1", e.Name())
		}
	}
	// Without the variable the same programs take shared memory: the
	// interface stays (almost) quiet.
	before = txPackets(t, h)
	b = h.Start(t, nil, bin, "b", "1", "2")
	res = h.Run(t, 120*time.Second, nil, bin, "a", "2", "1")
	bres = b.Wait(60 * time.Second)
	if res.ExitCode != 0 || bres.ExitCode != 0 {
		t.Fatalf("shared: a exit %d\n%s\nb exit %d\n%s", res.ExitCode, res.Stderr, bres.ExitCode, bres.Stderr)
	}
	if sent := txPackets(t, h) - before; sent > 100 {
		t.Errorf("with shared memory the interface sent %d frames", sent)
	}
}
