package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time:
//
//	go build -ldflags "-X main.version=1.2.0 -X main.commit=$(git rev-parse HEAD)" ./cmd/ssms
//
// Reproducible builds pin -buildvcs=false, so the commit cannot come from
// the build information there; a build with VCS stamping fills it in.
var (
	version = "devel"
	commit  = ""
)

// versionLine is what "ssms --version" prints: the version, the commit
// and the Go toolchain that built this binary.
func versionLine() string {
	c, goVersion := commit, runtime.Version()
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("ssms %s (commit %s, %s)\n", version, c, goVersion)
}
