package compat

import (
	"fmt"
	"net"
)

// sysfsNetDir is where Linux describes network interfaces.
var sysfsNetDir = "/sys/class/net"

// osInterfaces lists the network interfaces with net.Interfaces (netlink)
// and completes them from sysfs.
func osInterfaces() ([]netInterface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := make([]netInterface, 0, len(ifs))
	for _, ifi := range ifs {
		ni := netInterface{
			Index:    ifi.Index,
			Name:     ifi.Name,
			MAC:      ifi.HardwareAddr,
			MTU:      ifi.MTU,
			Up:       ifi.Flags&net.FlagUp != 0,
			Loopback: ifi.Flags&net.FlagLoopback != 0,
		}
		ni.Type, ni.NUMANode, ni.Driver = readSysfsNet(sysfsNetDir, ifi.Name)
		out = append(out, ni)
	}
	return out, nil
}
