package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAzSafety checks where acre stays as safe as az or safer: deletes ask
// (and refuse without a terminal), ACR's name and SKU rules hold, admin
// passwords are never shown again, and bad purge options are refused.
func TestAzSafety(t *testing.T) {
	ts := startServer(t)
	if code, _, errOut := run(t, ownerPassword+"\n", "account", "login", "--server", ts.URL, "-u", "owner", "--password-stdin"); code != 0 {
		t.Fatalf("sign in: %s", errOut)
	}
	setup := [][]string{
		{"create", "-n", "safereg", "--sku", "Basic", "--admin-enabled"},
		{"scope-map", "create", "-r", "safereg", "-n", "keepmap", "--repository", "app", "content/read"},
		{"token", "create", "-r", "safereg", "-n", "keeptoken", "--scope-map", "keepmap"},
	}
	for _, args := range setup {
		if code, _, errOut := run(t, "", args...); code != 0 {
			t.Fatalf("%v: %s", args, errOut)
		}
	}
	noTTY, err := os.Create(filepath.Join(t.TempDir(), "stdin"))
	if err != nil {
		t.Fatal(err)
	}
	defer noTTY.Close()
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  string // in stderr (or stdout on success)
	}{
		{"token delete answered no keeps the token", []string{"token", "delete", "-r", "safereg", "-n", "keeptoken"}, "n\n", 0, ""},
		{"scope-map delete answered no keeps it", []string{"scope-map", "delete", "-r", "safereg", "-n", "keepmap"}, "\n", 0, ""},
		{"registry delete answered no keeps it", []string{"delete", "-n", "safereg"}, "no\n", 0, ""},
		{"the token is still there", []string{"token", "show", "-r", "safereg", "-n", "keeptoken", "--query", "name", "-o", "tsv"}, "", 0, "keeptoken"},
		{"admin passwords are not shown again", []string{"credential", "show", "-n", "safereg", "--query", "passwords[?value] | length(@)"}, "", 0, "0"},
		{"credential show says why", []string{"credential", "show", "-n", "safereg", "--query", "note", "-o", "tsv"}, "", 0, "hashed"},
		{"token passwords are not shown again", []string{"token", "show", "-r", "safereg", "-n", "keeptoken", "--query", "credentials.passwords[?value] | length(@)"}, "", 0, "0"},
		{"a name of 4 characters", []string{"create", "-n", "abcd"}, "", exitError, "5-50"},
		{"a name with a dash", []string{"check-name", "-n", "my-registry", "--query", "reason", "-o", "tsv"}, "", 0, "Invalid"},
		{"anonymous pull on Basic", []string{"update", "-n", "safereg", "--anonymous-pull-enabled"}, "", exitError, "Basic"},
		{"anonymous pull on a new Basic registry", []string{"create", "-n", "basicanon", "--sku", "Basic", "--anonymous-pull-enabled", "true"}, "", exitError, "Basic"},
		{"purge without --ago", []string{"purge", "-r", "safereg", "-f", "app:.*"}, "", exitUsage, "ago"},
		{"purge with --concurrency 33", []string{"purge", "-r", "safereg", "-f", "app:.*", "--ago", "1d", "--concurrency", "33"}, "", exitUsage, "1 and 32"},
		{"purge with a broken filter", []string{"purge", "-r", "safereg", "-f", "app:(", "--ago", "1d"}, "", exitError, "tag expression"},
		{"a token's id as a role scope", []string{"role", "assignment", "create", "--assignee", "owner", "--role", "AcrPull", "--scope",
			"/subscriptions/x/resourceGroups/y/providers/Microsoft.ContainerRegistry/registries/safereg/tokens/keeptoken"}, "", exitError, "registry's id"},
		{"gateway actions", []string{"token", "create", "-r", "safereg", "-n", "gwtoken", "--repository", "app", "content/read", "--gateway", "gw", "config/read"}, "", exitUsage, "connected registries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.stdin, tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Fatalf("exit %d (want %d); output %q, stderr %q (want %q)", code, tt.code, out, errOut, tt.want)
			}
		})
	}
	// Without a terminal a delete without --yes is refused, and nothing goes.
	var out, errb strings.Builder
	if code := Execute(context.Background(), []string{"token", "delete", "-r", "safereg", "-n", "keeptoken"}, noTTY, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "--yes") {
		t.Fatalf("delete without a terminal: exit %d %s", code, errb.String())
	}
	if code, _, errOut := run(t, "", "token", "show", "-r", "safereg", "-n", "keeptoken"); code != 0 {
		t.Fatalf("the token went: %s", errOut)
	}
}
