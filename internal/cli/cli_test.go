package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestHelpEverywhere runs --help on every command.
func TestHelpEverywhere(t *testing.T) {
	var paths [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		paths = append(paths, path)
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string{}, path...), sub.Name()))
		}
	}
	walk(newRoot(), nil)
	if len(paths) < 40 {
		t.Fatalf("only %d commands", len(paths))
	}
	for _, p := range paths {
		t.Run(strings.Join(append([]string{"acre"}, p...), " "), func(t *testing.T) {
			code, out, errOut := run(t, "", append(p, "--help")...)
			if code != 0 || !strings.Contains(out, "Usage:") {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
		})
	}
	if code, out, _ := run(t, "", "completion", "bash"); code != 0 || !strings.Contains(out, "bash completion") {
		t.Fatalf("completion: %d", code)
	}
}

// TestCommands drives the CLI against a real in-process server.
func TestCommands(t *testing.T) {
	ts := startServer(t)
	dir := filepath.Dir(os.Getenv("ACRE_CONFIG_DIR"))

	if code, _, errOut := run(t, "", "list"); code != exitAuth || !strings.Contains(errOut, "not signed in") {
		t.Fatalf("before sign-in: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "wrong\n", "account", "login", "--server", ts.URL, "-u", "owner", "--password-stdin"); code != exitAuth {
		t.Fatalf("wrong password: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "owner-password-1\n", "account", "login", "--server", ts.URL, "-u", "owner", "--password-stdin"); code != 0 {
		t.Fatalf("sign in: exit %d %s", code, errOut)
	}
	fi, err := os.Stat(filepath.Join(dir, "acre", "profile.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("profile: %v %v", fi, err)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"create", "-n", "prodreg", "--sku", "Premium"}, 0, `"loginServer": "prodreg.localhost"`},
		{[]string{"show", "-n", "prodreg", "--query", "sku.name", "-o", "tsv"}, 0, "Premium"},
		{[]string{"show", "-n", "nope"}, exitNotFound, ""},
		{[]string{"list", "--query", "[].name", "-o", "tsv"}, 0, "acre\nprodreg"},
		{[]string{"list", "-o", "table"}, 0, "LOGIN SERVER"},
		{[]string{"list", "-o", "yaml"}, 0, "loginServer: prodreg.localhost"},
		{[]string{"list", "-o", "xml"}, exitUsage, ""},
		{[]string{"list", "--query", "[[["}, exitUsage, ""},
		{[]string{"show"}, exitUsage, ""},
		{[]string{"bogus"}, exitUsage, ""},
		{[]string{"update", "-n", "prodreg", "--admin-enabled", "maybe"}, exitUsage, ""},
		{[]string{"update", "-n", "prodreg", "--admin-enabled", "true", "--query", "adminUserEnabled"}, 0, "true"},
		{[]string{"credential", "renew", "-n", "prodreg", "--password-name", "password2", "--query", "passwords[0].name", "-o", "tsv"}, 0, "password2"},
		{[]string{"identity", "create", "-n", "ci", "--password", "ci-password-123", "--query", "name", "-o", "tsv"}, 0, "ci"},
		{[]string{"role", "assignment", "create", "--assignee", "ci", "--role", "acrpush", "--scope", "/registries/prodreg", "--query", "role", "-o", "tsv"}, 0, "AcrPush"},
		{[]string{"role", "assignment", "create", "--assignee", "ci", "--role", "Boss"}, exitError, ""},
		{[]string{"role", "assignment", "list", "--assignee", "ci", "--query", "[0].scope", "-o", "tsv"}, 0, "/registries/prodreg"},
		{[]string{"scope-map", "create", "-r", "prodreg", "-n", "vendor", "--repository", "vendor/app=content/read,metadata/read"}, 0, "repositories/vendor/app/content/read"},
		{[]string{"scope-map", "create", "-r", "prodreg", "-n", "broken", "--repository", "vendor/app"}, exitUsage, ""},
		{[]string{"token", "create", "-r", "prodreg", "-n", "vendor-token", "--scope-map", "vendor", "--query", "length(credentials.passwords)"}, 0, "2"},
		{[]string{"token", "update", "-r", "prodreg", "-n", "vendor-token", "--status", "disabled", "--query", "status", "-o", "tsv"}, 0, "disabled"},
		{[]string{"token", "credential", "generate", "-r", "prodreg", "-n", "vendor-token", "--password2", "--query", "passwords[0].name", "-o", "tsv"}, 0, "password2"},
		{[]string{"webhook", "create", "-r", "prodreg", "-n", "deploy", "--uri", "https://hooks.example/acr", "--actions", "push", "delete", "--scope", "api:*", "--headers", "Authorization=Bearer x"}, 0, `"delete"`},
		{[]string{"webhook", "get-config", "-r", "prodreg", "-n", "deploy", "--query", "customHeaders.Authorization", "-o", "tsv"}, 0, "Bearer x"},
		{[]string{"webhook", "create", "-r", "prodreg", "-n", "selfhook", "--uri", ts.URL + "/api/v1/registries", "--actions", "push"}, exitError, ""},
		{[]string{"show-usage", "-n", "prodreg", "--query", "value[?name=='Webhooks'].currentValue | [0]"}, 0, "1"},
		{[]string{"repository", "list", "-n", "prodreg"}, 0, "[]"},
		{[]string{"login", "--name", "prodreg", "--expose-token", "--query", "username", "-o", "tsv"}, 0, "00000000-0000-0000-0000-000000000000"},
		{[]string{"login", "--name", "acre"}, 0, "Login Succeeded"},
		{[]string{"audit", "list", "-r", "acre", "--category", "login", "--query", "[0].operationName", "-o", "tsv"}, 0, "exchange"},
		{[]string{"delete", "-n", "prodreg"}, 0, ""}, // answered no (end of input),
		{[]string{"delete", "-n", "prodreg", "--yes"}, 0, ""},
		{[]string{"account", "show", "--query", "name", "-o", "tsv"}, 0, "owner"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := run(t, "", tt.args...)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d (want %d), output %q (want %q); stderr %s", code, tt.code, out, tt.want, errOut)
			}
		})
	}
	b, err := os.ReadFile(filepath.Join(dir, "docker", "config.json"))
	var dc struct{ Auths map[string]any }
	if err != nil || json.Unmarshal(b, &dc) != nil || len(dc.Auths) == 0 {
		t.Fatalf("docker config after acre login: %v %s", err, b)
	}
}
