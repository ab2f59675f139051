package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// Issue 17, item 15: `steward version` always said "dev". It says the
// module's version and the commit it was built from, from the build info;
// an -ldflags version wins.
func TestVersionFromBuildInfo(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, c := range []struct {
		name, ldflags string
		info          *debug.BuildInfo
		want          string
	}{
		{"no build info", "", nil, "steward dev"},
		{"go install of a release", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}},
			"steward v1.4.0 (go1.26.8)"},
		{"go build in a clean checkout", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201100000-0123456789ab"},
			Settings: settings("vcs", "git", "vcs.revision", "0123456789abcdef0123456789abcdef01234567", "vcs.time", "2026-12-01T10:00:00Z", "vcs.modified", "false")},
			"steward v0.0.0-20261201100000-0123456789ab (commit 0123456789ab of 2026-12-01T10:00:00Z, go1.26.8)"},
		{"go build with local changes, no module version", "", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: settings("vcs.revision", "0123456789abcdef0123456789abcdef01234567", "vcs.time", "2026-12-01T10:00:00Z", "vcs.modified", "true")},
			"steward dev (commit 0123456789ab of 2026-12-01T10:00:00Z with local changes, go1.26.8)"},
		{"-ldflags -X main.Version", "v2.0.0-rc1", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: settings("vcs.revision", "abc")},
			"steward v2.0.0-rc1 (commit abc, go1.26.8)"},
	} {
		if got := versionLine(c.ldflags, c.info); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	// The test binary has build info: the command prints it, not a bare "dev".
	out, err := cli(t, func(string) string { return "" }, "", "version")
	if err != nil || !strings.HasPrefix(out, "steward ") || !strings.Contains(out, "go1.") {
		t.Errorf("steward version: %v %q", err, out)
	}
}
