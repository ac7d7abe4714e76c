//go:build linux

package afpacket

import (
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

func logStats(b testing.TB, name string, l *packetLink) {
	s, err := unix.GetsockoptTpacketStats(l.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	b.Logf("%s: packet stats %+v err %v", name, s, err)
}
func logIP(b testing.TB, p pair) {
	out, _ := exec.Command("ip", "-n", p.nsA, "-s", "link", "show", p.ifA).CombinedOutput()
	b.Logf("%s", out)
	out, _ = exec.Command("ip", "-n", p.nsB, "-s", "link", "show", p.ifB).CombinedOutput()
	b.Logf("%s", out)
}
