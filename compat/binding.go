package compat

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// DefaultBindingFile is read by OMX_PROCESS_BINDING=file.
const DefaultBindingFile = "/tmp/open-mx.bindings.dat"

// BindingCPUs interprets OMX_PROCESS_BINDING for an endpoint (spec/api.md
// §8): it returns the CPUs to bind the process to, nil for no binding.
// readFile reads binding files; a file that cannot be read is an error
// (fatal for the library, as in Open-MX).
func BindingCPUs(value string, nicID uint64, endpoint uint32, readFile func(string) ([]byte, error)) ([]int, error) {
	switch {
	case value == "":
		return nil, nil
	case value == "file" || strings.HasPrefix(value, "file:"):
		path := DefaultBindingFile
		if rest, ok := strings.CutPrefix(value, "file:"); ok {
			path = rest
		}
		data, err := readFile(path)
		if err != nil {
			return nil, fmt.Errorf("opening binding file %s: %w", path, err)
		}
		return bindingFromFile(data, nicID, endpoint), nil
	case strings.HasPrefix(value, "all:"):
		return []int{atoi(value[len("all:"):])}, nil
	}
	list := strings.Split(value, ",")
	if int(endpoint) >= len(list) {
		return nil, nil
	}
	return []int{atoi(list[endpoint])}, nil
}

// bindingFromFile finds the line "board <mac> ep <n> irq <n> mask <hex>" of
// an endpoint and returns the CPUs of its mask.
func bindingFromFile(data []byte, nicID uint64, endpoint uint32) []int {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[0] != "board" || f[2] != "ep" || f[6] != "mask" {
			continue
		}
		mac, err := ParseNICID(f[1])
		if err != nil || mac != nicID || atoi(f[3]) != int(endpoint) {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimPrefix(f[7], "0x"), 16, 64)
		if err != nil {
			continue
		}
		var cpus []int
		for i := 0; i < 64; i++ {
			if mask&(1<<i) != 0 {
				cpus = append(cpus, i)
			}
		}
		return cpus
	}
	return nil
}
