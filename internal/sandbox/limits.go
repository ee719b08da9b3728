package sandbox

import (
	"runtime"
	"strconv"
	"time"
)

// Limits are the resource limits (setrlimit, soft and hard) of every
// process of the command, set by prlimit from util-linux. Zero fields get
// the defaults below.
type Limits struct {
	FileSize int64 // RLIMIT_FSIZE, bytes: the largest file it may write
	Files    int   // RLIMIT_NOFILE: open files per process
	CPU      int   // RLIMIT_CPU, seconds per process
	// Procs is RLIMIT_NPROC, processes of the user: best effort only, as
	// the kernel counts every process of the user (in or out of the
	// sandbox) and does not apply it to root.
	Procs int
	// AddressSpace is RLIMIT_AS, bytes of virtual memory per process: it
	// bounds what one process can take of the host's memory (and swap).
	AddressSpace int64
}

// Defaults: a build writes binaries and cache files well under 2 GiB and
// keeps a few hundred files open; CPU is bounded by the time limit too.
const (
	DefaultFileSize = 2 << 30
	DefaultFiles    = 4096
	DefaultProcs    = 8192
	// DefaultAddressSpace: the compiler and linker of a large program
	// use a few GiB of memory, and the Go runtime reserves some more
	// address space than it uses.
	DefaultAddressSpace = 16 << 30
)

// DefaultCPU is the CPU time limit for a command with the time limit d:
// a process cannot use more than every core for all that time.
func DefaultCPU(d time.Duration) int {
	return int(d.Seconds())*runtime.NumCPU() + 1
}

// args are prlimit's arguments. Core dumps are always off: a crashing
// build must not write its memory anywhere.
func (l Limits) args() []string {
	or := func(v, def int64) string {
		if v <= 0 {
			v = def
		}
		return strconv.FormatInt(v, 10)
	}
	cpu := int64(l.CPU)
	if cpu <= 0 {
		cpu = int64(DefaultCPU(2 * time.Hour))
	}
	return []string{
		"--core=0",
		"--fsize=" + or(l.FileSize, DefaultFileSize),
		"--nofile=" + or(int64(l.Files), DefaultFiles),
		"--cpu=" + strconv.FormatInt(cpu, 10),
		"--nproc=" + or(int64(l.Procs), DefaultProcs),
		"--as=" + or(l.AddressSpace, DefaultAddressSpace),
		"--",
	}
}
