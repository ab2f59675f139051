package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArticleCommands keeps the knowledge base from the command line
// (issue 20): Alex writes an article from a file and publishes it; Dana
// may do neither but reads it once published, not before.
func TestArticleCommands(t *testing.T) {
	must, refuse := demoCLI(t)
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
