//go:build !linux

// Command omxoed is the node service of open-mx-go; it needs Linux
// (AF_PACKET sockets and flock).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "omxoed: only supported on Linux")
	os.Exit(1)
}
