package auth

import "syscall"

// lowerThreadPriority gives the calling OS thread the lowest scheduling
// priority (nice 19); on Linux, nice is per thread.
func lowerThreadPriority() {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
}
