package main

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Version, when set at build time with -ldflags "-X main.Version=…", is
// the version steward reports; left empty, the build info says it.
var Version = ""

// versionLine describes the build: the version (from -ldflags, else the
// module's, which go install and go build in a checkout record), the VCS
// commit and time it was built from and whether it had local changes, and
// the Go version. Without build info it says "dev".
func versionLine(ldflags string, info *debug.BuildInfo) string {
	v := ldflags
	if v == "" && info != nil && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	if v == "" {
		v = "dev"
	}
	if info == nil {
		return "steward " + v
	}
	var revision, at string
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var parts []string
	if revision != "" {
		c := "commit " + revision[:min(len(revision), 12)]
		if at != "" {
			c += " of " + at
		}
		if modified {
			c += " with local changes"
		}
		parts = append(parts, c)
	}
	if info.GoVersion != "" {
		parts = append(parts, info.GoVersion)
	}
	if len(parts) == 0 {
		return "steward " + v
	}
	return fmt.Sprintf("steward %s (%s)", v, strings.Join(parts, ", "))
}

// version prints the version line of this binary.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = nil
	}
	return versionLine(Version, info)
}
