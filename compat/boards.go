package compat

// Board enumeration (DESIGN.md §4, spec/api.md §2.2). In Open-MX the kernel
// module attached interfaces given by its ifnames parameter; here each
// process enumerates the host's interfaces itself, with the same rules, so
// that every process of the host numbers boards identically.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Board is an attached Ethernet interface.
type Board struct {
	Index    int    // board index, 0..n-1 in attach order
	NICID    uint64 // MAC address as a 48-bit integer, first byte in bits 40..47; 0 for loopback
	IfName   string // interface name ("eth0", "lo")
	Hostname string // "<host>:<index>", or "localhost" for a loopback board
	MTU      int    // interface MTU (IP MTU, without the Ethernet header)
	NUMANode int    // NUMA node of the device, -1 when unknown
	Loopback bool   // the loopback interface (only frames to ourselves)
	Up       bool   // interface administratively up (omx_info warns when not)
	Driver   string // kernel driver of the device, "" when unknown
}

// ErrInterfaceSkipped is wrapped by the error DiscoverBoards returns, next
// to a usable board list, when an interface named in Config.IfNames does not
// exist or is not an Ethernet interface.
var ErrInterfaceSkipped = errors.New("interface skipped")

// Limits and constants of board discovery.
const (
	boardLimit        = 32  // board_max of the original
	boardHostnameMax  = 79  // OMX_HOSTNAMELEN_MAX - 1
	arphrdEther       = 1   // ARPHRD_ETHER, /sys/class/net/<if>/type
	arphrdLoopback    = 772 // ARPHRD_LOOPBACK
	ethHeaderLen      = 14
	minMTUNative      = 1280 // native frames follow the MTU; below the IPv6 minimum link MTU a link is not worth using
	minFrameMXWire    = 4144 // OMX_MTU of the mx-wire mode (spec/wire.md §1.4)
	loopbackHostname  = "localhost"
	loopbackIfName    = "lo"
	loopbackMTUAssume = 65536
)

// netInterface is what the OS reports about one network interface.
type netInterface struct {
	Index    int    // kernel interface index
	Name     string // interface name
	MAC      []byte // hardware address
	MTU      int
	Up       bool // IFF_UP
	Loopback bool // IFF_LOOPBACK
	Type     int  // ARPHRD_* link type, -1 when unknown
	NUMANode int  // -1 when unknown
	Driver   string
}

// Hooks replaced by tests; listInterfaces is defined per OS
// (boards_linux.go, boards_other.go).
var (
	listInterfaces = osInterfaces
	osHostname     = os.Hostname
)

// DiscoverBoards lists the boards of this host for cfg.
//
// With cfg.IfNames set, the named interfaces are attached in that order
// (down ones too; names that do not exist or are not Ethernet are skipped,
// and "lo" gives a loopback board). Otherwise every UP Ethernet interface
// (ARPHRD_ETHER with a 6-byte, non-zero, not yet used MAC) except loopback
// whose MTU fits the wire mode is attached, in interface index order. At
// most 32 boards. When no interface qualifies, the single loopback board
// {Index 0, IfName "lo", NICID 0, Hostname "localhost", Loopback true} is
// returned.
//
// The board list is always usable when err is nil or wraps
// ErrInterfaceSkipped (the error then names the skipped interfaces); other
// errors (interfaces cannot be listed) come with a nil list.
func DiscoverBoards(cfg Config) ([]Board, error) {
	ifs, err := listInterfaces()
	if err != nil {
		return nil, fmt.Errorf("discover boards: %w", err)
	}
	ifs = append(ifs, serviceInterfaces(cfg, ifs)...)
	host := cfg.Hostname
	if host == "" {
		if h, err := osHostname(); err == nil && h != "" {
			host = h
		} else {
			host = loopbackHostname
		}
	}
	return selectBoards(cfg, ifs, host)
}

// selectBoards applies the selection rules of DiscoverBoards to ifs.
func selectBoards(cfg Config, ifs []netInterface, host string) ([]Board, error) {
	ifs = append([]netInterface(nil), ifs...)
	sort.SliceStable(ifs, func(i, j int) bool { return ifs[i].Index < ifs[j].Index })

	var boards []Board
	var skipped []string
	add := func(ni netInterface, loopback bool) {
		b := Board{
			Index:    len(boards),
			IfName:   ni.Name,
			MTU:      ni.MTU,
			NUMANode: ni.NUMANode,
			Loopback: loopback,
			Up:       ni.Up,
			Driver:   ni.Driver,
		}
		if loopback {
			b.Hostname = loopbackHostname
		} else {
			b.NICID = nicIDFromMAC(ni.MAC)
			b.Hostname = boardHostname(host, b.Index)
		}
		boards = append(boards, b)
	}

	if len(cfg.IfNames) > 0 {
		seen := make(map[string]bool)
		for _, name := range cfg.IfNames {
			if seen[name] || len(boards) == boardLimit {
				continue
			}
			seen[name] = true
			ni, ok := findInterface(ifs, name)
			switch {
			case !ok:
				skipped = append(skipped, name+" (not found)")
			case isLoopback(ni):
				add(ni, true)
			case isEthernet(ni):
				add(ni, false)
			default:
				skipped = append(skipped, name+" (not Ethernet)")
			}
		}
	} else {
		minMTU := minMTUNative
		if cfg.WireCompat {
			minMTU = minFrameMXWire - ethHeaderLen
		}
		used := make(map[uint64]bool)
		for _, ni := range ifs {
			if len(boards) == boardLimit {
				break
			}
			if isLoopback(ni) || !ni.Up || !isEthernet(ni) || ni.MTU < minMTU {
				continue
			}
			id := nicIDFromMAC(ni.MAC)
			if id == 0 || used[id] {
				continue // a nic_id must name one board (VLANs, bond slaves share MACs)
			}
			used[id] = true
			add(ni, false)
		}
	}

	if len(boards) == 0 {
		lo := netInterface{Name: loopbackIfName, MTU: loopbackMTUAssume, NUMANode: -1, Up: true}
		if ni, ok := findInterface(ifs, loopbackIfName); ok {
			lo.MTU, lo.Up, lo.Driver = ni.MTU, ni.Up, ni.Driver
		}
		add(lo, true)
	}
	if len(skipped) > 0 {
		return boards, fmt.Errorf("discover boards: %w: %s", ErrInterfaceSkipped, strings.Join(skipped, ", "))
	}
	return boards, nil
}

func findInterface(ifs []netInterface, name string) (netInterface, bool) {
	for _, ni := range ifs {
		if ni.Name == name {
			return ni, true
		}
	}
	return netInterface{}, false
}

func isLoopback(ni netInterface) bool {
	return ni.Loopback || ni.Type == arphrdLoopback || ni.Name == loopbackIfName
}

func isEthernet(ni netInterface) bool {
	if len(ni.MAC) != 6 {
		return false
	}
	return ni.Type == arphrdEther || ni.Type < 0
}

// boardHostname returns "<host>:<index>", shortening host so that the
// result fits the 79 characters of an Open-MX host name.
func boardHostname(host string, index int) string {
	suffix := ":" + strconv.Itoa(index)
	if len(host)+len(suffix) > boardHostnameMax {
		host = host[:boardHostnameMax-len(suffix)]
	}
	return host + suffix
}

// nicIDFromMAC returns the nic_id of a 6-byte MAC (0 for another length).
func nicIDFromMAC(mac []byte) uint64 {
	if len(mac) != 6 {
		return 0
	}
	var id uint64
	for _, b := range mac {
		id = id<<8 | uint64(b)
	}
	return id
}

// FormatNICID returns the textual form of a nic_id: its low 48 bits as
// "xx:xx:xx:xx:xx:xx", lower-case hex, most significant byte first.
func FormatNICID(id uint64) string {
	const hex = "0123456789abcdef"
	var buf [17]byte
	for i := 0; i < 6; i++ {
		b := byte(id >> (40 - 8*i))
		if i > 0 {
			buf[3*i-1] = ':'
		}
		buf[3*i] = hex[b>>4]
		buf[3*i+1] = hex[b&0xf]
	}
	return string(buf[:])
}

// ParseNICID parses "xx:xx:xx:xx:xx:xx" (six groups of one or two hex
// digits, either case) into a nic_id.
func ParseNICID(s string) (uint64, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return 0, fmt.Errorf("parse nic id %q: want 6 colon-separated bytes", s)
	}
	var id uint64
	for _, p := range parts {
		if len(p) < 1 || len(p) > 2 {
			return 0, fmt.Errorf("parse nic id %q: bad byte %q", s, p)
		}
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return 0, fmt.Errorf("parse nic id %q: bad byte %q", s, p)
		}
		id = id<<8 | v
	}
	return id, nil
}

// readSysfsNet reads what /sys/class/net/<name> (under root) tells about an
// interface: its ARPHRD link type, the NUMA node and the driver name of its
// device. Missing data gives -1, -1 and "".
func readSysfsNet(root, name string) (linkType, numaNode int, driver string) {
	dir := filepath.Join(root, name)
	linkType, numaNode = -1, -1
	if v, ok := readIntFile(filepath.Join(dir, "type")); ok {
		linkType = v
	}
	if v, ok := readIntFile(filepath.Join(dir, "device", "numa_node")); ok && v >= 0 {
		numaNode = v
	}
	if target, err := os.Readlink(filepath.Join(dir, "device", "driver")); err == nil {
		driver = filepath.Base(target)
	}
	return linkType, numaNode, driver
}

func readIntFile(path string) (int, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, false
	}
	return v, true
}
