package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/app"
	"github.com/steward-itaas/steward/internal/demo"
	"github.com/steward-itaas/steward/internal/identity"
	"github.com/steward-itaas/steward/internal/sqldb/sqldbtest"
)

// TestArticleCommands keeps the knowledge base from the command line
// (issue 20): Alex writes an article from a file and publishes it; Dana
// may do neither but reads it once published, not before.
func TestArticleCommands(t *testing.T) {
	ctx := context.Background()
	cfg := sqldbtest.Config(t)
	a, err := app.New(ctx, app.Config{Database: cfg, Identity: identity.Options{Argon2: identity.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = demo.Seed(ctx, demo.Services{Identity: a.Identity, Catalog: a.Catalog, Orders: a.Orders, Metering: a.Metering, Billing: a.Billing})
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"STEWARD_DATA_DIR": cfg.DataDir, "STEWARD_DATABASE": cfg.URL}
	if cfg.URL != "" {
		vars["STEWARD_SECRET_KEY"] = testKey
	}
	getenv := func(k string) string { return vars[k] }
	must := func(want string, args ...string) string {
		t.Helper()
		out, err := cli(t, getenv, "", args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("steward %s: %v\n%s\nwant %q", strings.Join(args, " "), err, out, want)
		}
		return out
	}
	refuse := func(want string, args ...string) {
		t.Helper()
		out, err := cli(t, getenv, "", args...)
		if err == nil || !strings.Contains(out, want) {
			t.Fatalf("steward %s: %v\n%s\nwant it refused with %q", strings.Join(args, " "), err, out, want)
		}
	}
	md := filepath.Join(t.TempDir(), "vpn.md")
	if err := os.WriteFile(md, []byte("Open **GlobalProtect** and choose *Reset token*."), 0o600); err != nil {
		t.Fatal(err)
	}
	refuse("--as EMAIL", "article", "create", "--service", "network", "--title", "Reset your VPN token", "--file", md)
	refuse("title is required", "article", "create", "--as", "alex@it.contoso.example", "--service", "network", "--file", md)
	refuse("you may not work tickets", "article", "create", "--as", "dana@contoso.example", "--service", "network", "--title", "Reset your VPN token", "--file", md)
	out := must("as a draft", "article", "create", "--as", "alex@it.contoso.example", "--service", "network", "--title", "Reset your VPN token", "--file", md)
	ref := strings.Fields(out)[1]
	if !strings.HasPrefix(ref, "KB-") {
		t.Fatalf("create printed %q", out)
	}
	refuse("not found", "article", "show", ref, "--as", "dana@contoso.example")
	must(ref, "article", "list", "--state", "draft", "--as", "alex@it.contoso.example")
	refuse("not found", "article", "publish", ref, "--as", "dana@contoso.example")
	must("published "+ref, "article", "publish", ref, "--as", "alex@it.contoso.example")
	if show := must("GlobalProtect", "article", "show", ref, "--as", "dana@contoso.example"); !strings.Contains(show, "state      published") {
		t.Errorf("article show:\n%s", show)
	}
	if list := must(ref, "article", "list", "--q", "vpn token", "--as", "dana@contoso.example"); !strings.Contains(list, "Reset your VPN token") {
		t.Errorf("article list:\n%s", list)
	}
}
