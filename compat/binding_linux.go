package compat

import "golang.org/x/sys/unix"

// bindThread binds the calling thread to cpus (sched_setaffinity on the
// caller, as Open-MX does at endpoint open).
func bindThread(cpus []int) error {
	var set unix.CPUSet
	for _, c := range cpus {
		set.Set(c)
	}
	return unix.SchedSetaffinity(0, &set)
}
