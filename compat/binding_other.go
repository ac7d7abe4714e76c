//go:build !linux

package compat

import (
	"fmt"
	"runtime"
)

func bindThread([]int) error {
	return fmt.Errorf("process binding is not supported on %s", runtime.GOOS)
}
