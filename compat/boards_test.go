package compat

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeIfs is a host with loopback, two usable NICs, a down NIC, a non-
// Ethernet tunnel, a VLAN sharing its parent's MAC and a small-MTU NIC,
// listed out of index order.
var fakeIfs = []netInterface{
	{Index: 5, Name: "eth2", MAC: []byte{0x0a, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0}, MTU: 9000, Up: true, Type: 1, NUMANode: 1, Driver: "ixgbe"},
	{Index: 1, Name: "lo", MAC: nil, MTU: 65536, Up: true, Loopback: true, Type: 772, NUMANode: -1},
	{Index: 2, Name: "eth0", MAC: []byte{1, 2, 3, 4, 5, 6}, MTU: 1500, Up: true, Type: 1, NUMANode: 0, Driver: "virtio_net"},
	{Index: 3, Name: "eth1", MAC: []byte{1, 2, 3, 4, 5, 7}, MTU: 1500, Up: false, Type: 1, NUMANode: -1},
	{Index: 4, Name: "wg0", MTU: 1420, Up: true, Type: 65534, NUMANode: -1},
	{Index: 6, Name: "eth2.10", MAC: []byte{0x0a, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0}, MTU: 9000, Up: true, Type: 1, NUMANode: -1},
	{Index: 7, Name: "tiny0", MAC: []byte{2, 0, 0, 0, 0, 9}, MTU: 1000, Up: true, Type: 1, NUMANode: -1},
	{Index: 8, Name: "zero0", MAC: []byte{0, 0, 0, 0, 0, 0}, MTU: 1500, Up: true, Type: 1, NUMANode: -1},
	{Index: 10, Name: "mon0", MAC: []byte{2, 0, 0, 0, 0, 0x11}, MTU: 1500, Up: true, Type: 803, NUMANode: -1}, // radiotap
	{Index: 9, Name: "jumbo1", MAC: []byte{2, 0, 0, 0, 0, 0x10}, MTU: 1400, Up: true, Type: -1, NUMANode: -1},
}

var (
	boardEth0 = Board{Index: 0, NICID: 0x010203040506, IfName: "eth0", Hostname: "node1:0", MTU: 1500, NUMANode: 0, Up: true, Driver: "virtio_net"}
	boardEth2 = Board{Index: 1, NICID: 0x0ab0c0d0e0f0, IfName: "eth2", Hostname: "node1:1", MTU: 9000, NUMANode: 1, Up: true, Driver: "ixgbe"}
	boardJmb1 = Board{Index: 2, NICID: 0x020000000010, IfName: "jumbo1", Hostname: "node1:2", MTU: 1400, NUMANode: -1, Up: true}
	loopBoard = Board{Index: 0, NICID: 0, IfName: "lo", Hostname: "localhost", MTU: 65536, NUMANode: -1, Loopback: true, Up: true}
)

func TestSelectBoards(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		ifs     []netInterface
		want    []Board
		skipped []string // names expected in the error; nil: no error
	}{
		{
			name: "no interface gives the loopback board",
			want: []Board{loopBoard},
		},
		{
			name: "only loopback",
			ifs:  []netInterface{{Index: 1, Name: "lo", MTU: 16384, Up: true, Loopback: true, Type: 772, NUMANode: -1}},
			want: []Board{{Index: 0, IfName: "lo", Hostname: "localhost", MTU: 16384, NUMANode: -1, Loopback: true, Up: true}},
		},
		{
			name: "automatic: UP Ethernet in index order, no lo, no duplicate MAC, MTU fits",
			ifs:  fakeIfs,
			want: []Board{boardEth0, boardEth2, boardJmb1},
		},
		{
			name: "automatic, MX wire mode needs jumbo frames",
			cfg:  Config{WireCompat: true},
			ifs:  fakeIfs,
			want: []Board{func() Board { b := boardEth2; b.Index, b.Hostname = 0, "node1:0"; return b }()},
		},
		{
			name: "automatic, nothing usable",
			ifs:  []netInterface{fakeIfs[1], fakeIfs[3], fakeIfs[4]},
			want: []Board{loopBoard},
		},
		{
			name: "named, in the given order, down and loopback included",
			cfg:  Config{IfNames: []string{"eth2", "eth1", "lo", "eth2"}},
			ifs:  fakeIfs,
			want: []Board{
				{Index: 0, NICID: 0x0ab0c0d0e0f0, IfName: "eth2", Hostname: "node1:0", MTU: 9000, NUMANode: 1, Up: true, Driver: "ixgbe"},
				{Index: 1, NICID: 0x010203040507, IfName: "eth1", Hostname: "node1:1", MTU: 1500, NUMANode: -1},
				{Index: 2, IfName: "lo", Hostname: "localhost", MTU: 65536, NUMANode: -1, Loopback: true, Up: true},
			},
		},
		{
			name:    "named, missing and non-Ethernet skipped",
			cfg:     Config{IfNames: []string{"nothere", "eth0", "wg0", "mon0"}},
			ifs:     fakeIfs,
			want:    []Board{boardEth0},
			skipped: []string{"nothere (not found)", "wg0 (not Ethernet)", "mon0 (not Ethernet)"},
		},
		{
			name:    "named, all missing gives the loopback board",
			cfg:     Config{IfNames: []string{"eth9"}},
			ifs:     fakeIfs,
			want:    []Board{loopBoard},
			skipped: []string{"eth9 (not found)"},
		},
		{
			name: "named small MTU is taken anyway",
			cfg:  Config{IfNames: []string{"tiny0"}},
			ifs:  fakeIfs,
			want: []Board{{Index: 0, NICID: 0x020000000009, IfName: "tiny0", Hostname: "node1:0", MTU: 1000, NUMANode: -1, Up: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := selectBoards(tt.cfg, tt.ifs, "node1")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("boards (-want +got):\n%s", diff)
			}
			if tt.skipped == nil {
				if err != nil {
					t.Errorf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInterfaceSkipped) {
				t.Fatalf("error %v does not wrap ErrInterfaceSkipped", err)
			}
			for _, s := range tt.skipped {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestSelectBoardsDoesNotReorderCallerSlice(t *testing.T) {
	ifs := append([]netInterface(nil), fakeIfs...)
	selectBoards(Config{}, ifs, "h")
	if diff := cmp.Diff(fakeIfs, ifs); diff != "" {
		t.Errorf("caller slice modified (-want +got):\n%s", diff)
	}
}

func TestSelectBoardsLimit(t *testing.T) {
	var ifs []netInterface
	var names []string
	for i := 40; i > 0; i-- { // reverse order: selection must sort by index
		name := fmt.Sprintf("eth%d", i)
		ifs = append(ifs, netInterface{Index: i + 1, Name: name, MAC: []byte{2, 0, 0, 0, 0, byte(i)}, MTU: 1500, Up: true, Type: 1, NUMANode: -1})
		names = append(names, name)
	}
	for _, cfg := range []Config{{}, {IfNames: names}} {
		got, err := selectBoards(cfg, ifs, "h")
		if err != nil {
			t.Fatalf("IfNames %v: %v", cfg.IfNames != nil, err)
		}
		if len(got) != 32 {
			t.Fatalf("IfNames %v: %d boards, want 32", cfg.IfNames != nil, len(got))
		}
		for i, b := range got {
			if b.Index != i || b.Hostname != fmt.Sprintf("h:%d", i) {
				t.Errorf("board %d: index %d hostname %q", i, b.Index, b.Hostname)
			}
		}
		wantFirst := "eth1"
		if cfg.IfNames != nil {
			wantFirst = "eth40" // the given order
		}
		if got[0].IfName != wantFirst {
			t.Errorf("IfNames %v: first board %s, want %s", cfg.IfNames != nil, got[0].IfName, wantFirst)
		}
	}
}

func TestDiscoverBoardsHostname(t *testing.T) {
	oldList, oldHost := listInterfaces, osHostname
	t.Cleanup(func() { listInterfaces, osHostname = oldList, oldHost })
	listInterfaces = func() ([]netInterface, error) { return fakeIfs[2:3], nil } // eth0

	tests := []struct {
		name   string
		cfg    Config
		host   func() (string, error)
		wantBH string
	}{
		{"configured", Config{Hostname: "node7"}, func() (string, error) { return "sys", nil }, "node7:0"},
		{"system", Config{}, func() (string, error) { return "sys", nil }, "sys:0"},
		{"system fails", Config{}, func() (string, error) { return "", errors.New("no") }, "localhost:0"},
		{"too long", Config{Hostname: strings.Repeat("x", 100)}, nil, strings.Repeat("x", 77) + ":0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			osHostname = tt.host
			got, err := DiscoverBoards(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Hostname != tt.wantBH {
				t.Errorf("boards %+v, want one with hostname %q", got, tt.wantBH)
			}
			if len(got[0].Hostname) > 79 {
				t.Errorf("hostname has %d characters, max 79", len(got[0].Hostname))
			}
		})
	}
}

func TestDiscoverBoardsListError(t *testing.T) {
	old := listInterfaces
	t.Cleanup(func() { listInterfaces = old })
	boom := errors.New("netlink unavailable")
	listInterfaces = func() ([]netInterface, error) { return nil, boom }
	got, err := DiscoverBoards(Config{})
	if !errors.Is(err, boom) || got != nil {
		t.Errorf("DiscoverBoards = %v, %v; want nil, error wrapping %v", got, err, boom)
	}
}

func TestNICID(t *testing.T) {
	tests := []struct {
		mac  []byte
		id   uint64
		text string
	}{
		{[]byte{0, 0, 0, 0, 0, 0}, 0, "00:00:00:00:00:00"},
		{[]byte{1, 2, 3, 4, 5, 6}, 0x010203040506, "01:02:03:04:05:06"},
		{[]byte{0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0}, 0xa0b0c0d0e0f0, "a0:b0:c0:d0:e0:f0"},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0xffffffffffff, "ff:ff:ff:ff:ff:ff"},
	}
	for _, tt := range tests {
		if got := nicIDFromMAC(tt.mac); got != tt.id {
			t.Errorf("nicIDFromMAC(% x) = %#x, want %#x", tt.mac, got, tt.id)
		}
		if got := FormatNICID(tt.id); got != tt.text {
			t.Errorf("FormatNICID(%#x) = %q, want %q", tt.id, got, tt.text)
		}
		if got, err := ParseNICID(tt.text); err != nil || got != tt.id {
			t.Errorf("ParseNICID(%q) = %#x, %v; want %#x", tt.text, got, err, tt.id)
		}
	}
	if got := nicIDFromMAC([]byte{1, 2, 3}); got != 0 {
		t.Errorf("nicIDFromMAC of 3 bytes = %#x, want 0", got)
	}
	if got := FormatNICID(0xffff_0102_0304_0506); got != "01:02:03:04:05:06" {
		t.Errorf("FormatNICID ignores bits above 48: got %q", got)
	}
	if got, err := ParseNICID("A0:b:C0:d0:E0:F"); err != nil || got != 0xa00bc0d0e00f {
		t.Errorf("ParseNICID mixed case/short bytes = %#x, %v", got, err)
	}
	for _, bad := range []string{"", "01:02:03:04:05", "01:02:03:04:05:06:07", "01:02:03:04:05:", "001:02:03:04:05:06", "0g:02:03:04:05:06", "01-02-03-04-05-06", "+1:02:03:04:05:06"} {
		if got, err := ParseNICID(bad); err == nil {
			t.Errorf("ParseNICID(%q) = %#x, want an error", bad, got)
		}
	}
}

func TestReadSysfsNet(t *testing.T) {
	root := t.TempDir()
	mk := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk(filepath.Join(root, "eth0", "type"), "1\n")
	mk(filepath.Join(root, "eth0", "device", "numa_node"), "1\n")
	if err := os.MkdirAll(filepath.Join(root, "drivers", "e1000e"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", "..", "drivers", "e1000e"), filepath.Join(root, "eth0", "device", "driver")); err != nil {
		t.Fatal(err)
	}
	mk(filepath.Join(root, "eth1", "type"), "1\n")
	mk(filepath.Join(root, "eth1", "device", "numa_node"), "-1\n")
	mk(filepath.Join(root, "lo", "type"), "772\n")
	mk(filepath.Join(root, "junk", "type"), "ether\n")

	tests := []struct {
		name      string
		typ, numa int
		driver    string
	}{
		{"eth0", 1, 1, "e1000e"},
		{"eth1", 1, -1, ""},
		{"lo", 772, -1, ""},
		{"junk", -1, -1, ""},
		{"missing", -1, -1, ""},
	}
	for _, tt := range tests {
		typ, numa, drv := readSysfsNet(root, tt.name)
		if typ != tt.typ || numa != tt.numa || drv != tt.driver {
			t.Errorf("readSysfsNet(%s) = %d, %d, %q; want %d, %d, %q", tt.name, typ, numa, drv, tt.typ, tt.numa, tt.driver)
		}
	}
}

// TestDiscoverBoardsHost runs on the real interfaces of this machine and
// checks invariants only.
func TestDiscoverBoardsHost(t *testing.T) {
	boards, err := DiscoverBoards(Config{})
	if err != nil {
		t.Fatalf("DiscoverBoards: %v", err)
	}
	if len(boards) < 1 || len(boards) > 32 {
		t.Fatalf("%d boards, want 1..32", len(boards))
	}
	host, _ := os.Hostname()
	ids := make(map[uint64]bool)
	for i, b := range boards {
		t.Logf("board %d: %s %s %s mtu %d numa %d driver %q", b.Index, b.IfName, FormatNICID(b.NICID), b.Hostname, b.MTU, b.NUMANode, b.Driver)
		if b.Index != i {
			t.Errorf("board %d has index %d", i, b.Index)
		}
		if b.NUMANode < -1 {
			t.Errorf("board %s: NUMA node %d", b.IfName, b.NUMANode)
		}
		if b.Loopback {
			if len(boards) != 1 || b.NICID != 0 || b.Hostname != "localhost" || b.IfName != "lo" {
				t.Errorf("loopback board %+v among %d boards", b, len(boards))
			}
			continue
		}
		if b.NICID == 0 || ids[b.NICID] {
			t.Errorf("board %s: nic id %s zero or duplicated", b.IfName, FormatNICID(b.NICID))
		}
		ids[b.NICID] = true
		if host != "" && b.Hostname != fmt.Sprintf("%s:%d", host, i) && len(b.Hostname) < 79 {
			t.Errorf("board %s: hostname %q, want %s:%d", b.IfName, b.Hostname, host, i)
		}
		if !b.Up || b.IfName == "lo" {
			t.Errorf("automatic selection took %+v", b)
		}
		ifi, err := net.InterfaceByName(b.IfName)
		if err != nil {
			t.Errorf("board %s: %v", b.IfName, err)
			continue
		}
		if ifi.HardwareAddr.String() != FormatNICID(b.NICID) || ifi.MTU != b.MTU {
			t.Errorf("board %s: nic id %s mtu %d, interface has %s mtu %d", b.IfName, FormatNICID(b.NICID), b.MTU, ifi.HardwareAddr, ifi.MTU)
		}
	}
	if runtime.GOOS == "linux" {
		lo, err := DiscoverBoards(Config{IfNames: []string{"lo"}})
		if err != nil {
			t.Fatalf("IfNames lo: %v", err)
		}
		if len(lo) != 1 || !lo[0].Loopback || lo[0].Hostname != "localhost" || lo[0].NICID != 0 || lo[0].IfName != "lo" {
			t.Errorf("IfNames lo gives %+v, want the loopback board", lo)
		}
	}
}
