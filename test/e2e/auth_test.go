//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// acreCLI runs the acre command line with a private profile and Docker config.
type acreCLI struct {
	env []string
}

func newAcreCLI(t *testing.T) acreCLI {
	dir := t.TempDir()
	return acreCLI{env: []string{"ACRE_CONFIG_DIR=" + filepath.Join(dir, "acre"), "DOCKER_CONFIG=" + filepath.Join(dir, "docker"),
		"HOME=" + dir}}
}

// login signs the CLI in to a as its owner.
func (c acreCLI) login(t *testing.T, a *Acre) {
	t.Helper()
	Run(t, c.env, "sh", "-c", "echo "+a.Password+" | "+acreBin+" account login --server http://"+a.Addr+" --username owner --password-stdin")
}

func (c acreCLI) run(t *testing.T, args ...string) string {
	t.Helper()
	return Run(t, c.env, acreBin, args...)
}

func (c acreCLI) json(t *testing.T, v any, args ...string) {
	t.Helper()
	out := c.run(t, append(args, "--output", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("acre %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestAccessWithRealClients signs in with the CLI, creates a push-only
// identity, a repository-scoped token and the admin user, and checks that
// crane, oras, regctl and Docker push and pull with each; that `acre login`
// logs them in through the Docker config; and that wrong credentials get a
// clear error and write nothing.
func TestAccessWithRealClients(t *testing.T) {
	a := StartAcre(t, "")
	cli := newAcreCLI(t)
	cli.login(t, a)

	cli.run(t, "identity", "create", "--name", "ci", "--password", "ci-password-123")
	cli.run(t, "role", "assignment", "create", "--assignee", "ci", "--role", "AcrPush", "--scope", "/registries/acre")
	cli.run(t, "scope-map", "create", "-r", "acre", "-n", "vendor-a", "--repository", "vendor/app=content/read,content/write",
		"--repository", "vendor/db=content/read")
	var tok struct {
		Credentials struct {
			Passwords []struct{ Value string } `json:"passwords"`
		} `json:"credentials"`
	}
	cli.json(t, &tok, "token", "create", "-r", "acre", "-n", "vendor-token", "--scope-map", "vendor-a")
	cli.run(t, "update", "-n", "acre", "--admin-enabled", "true")
	var admin struct {
		Passwords []struct{ Value string } `json:"passwords"`
	}
	cli.json(t, &admin, "credential", "renew", "-n", "acre", "--password-name", "password")

	identities := []struct {
		name, user, pass, repo string
	}{
		{"user", "ci", "ci-password-123", "ci/app"},
		{"token", "vendor-token", tok.Credentials.Passwords[0].Value, "vendor/app"},
		{"admin", "acre", admin.Passwords[0].Value, "admin/app"},
	}
	dir := t.TempDir()
	layer := mustWriteFile(t, filepath.Join(dir, "layer.tar"), tarOf(t, map[string][]byte{"hello.txt": randText(t, 32)}))
	for _, id := range identities {
		t.Run(id.name, func(t *testing.T) {
			crane := newCLITool(t, "crane", dir)
			crane.run(t, "auth", "login", a.Addr, "-u", id.user, "-p", id.pass)
			ref := a.Addr + "/" + id.repo + ":crane"
			crane.run(t, "append", "-f", layer, "-t", ref)
			dg := crane.line(t, "digest", ref)

			oras := newCLITool(t, "oras", dir)
			oras.run(t, "login", "--plain-http", "-u", id.user, "-p", id.pass, a.Addr)
			oras.run(t, "cp", "--from-plain-http", "--to-plain-http", ref, a.Addr+"/"+id.repo+":oras")

			regctl := newCLITool(t, "regctl", dir)
			_, _, _ = regctl.exec("registry", "set", "--tls", "disabled", a.Addr)
			regctl.run(t, "registry", "login", a.Addr, "-u", id.user, "-p", id.pass)
			if got := regctl.line(t, "image", "digest", a.Addr+"/"+id.repo+":oras"); got != dg {
				t.Fatalf("regctl digest %s, want %s", got, dg)
			}
		})
	}

	t.Run("token is limited to its repositories", func(t *testing.T) {
		crane := newCLITool(t, "crane", dir)
		crane.run(t, "auth", "login", a.Addr, "-u", "vendor-token", "-p", tok.Credentials.Passwords[0].Value)
		if out := crane.fails(t, "append", "-f", layer, "-t", a.Addr+"/vendor/db:x"); !strings.Contains(out, "UNAUTHORIZED") && !strings.Contains(out, "DENIED") {
			t.Fatalf("push to a read-only repository: %s", out)
		}
		crane.fails(t, "digest", a.Addr+"/ci/app:crane")
	})

	t.Run("wrong credentials", func(t *testing.T) {
		crane := newCLITool(t, "crane", dir)
		crane.run(t, "auth", "login", a.Addr, "-u", "ci", "-p", "wrong-password")
		out := crane.fails(t, "append", "-f", layer, "-t", a.Addr+"/wrong/app:x")
		if !strings.Contains(out, "UNAUTHORIZED") {
			t.Fatalf("push with a wrong password: %s", out)
		}
		oras := newCLITool(t, "oras", dir)
		if out := oras.fails(t, "login", "--plain-http", "-u", "ci", "-p", "wrong-password", a.Addr); !strings.Contains(strings.ToLower(out), "unauthorized") {
			t.Fatalf("oras login with a wrong password: %s", out)
		}
		regctl := newCLITool(t, "regctl", dir)
		_, _, _ = regctl.exec("registry", "set", "--tls", "disabled", a.Addr)
		regctl.fails(t, "registry", "login", a.Addr, "-u", "vendor-token", "-p", "wrong-password")
		owner := newCLITool(t, "crane", dir)
		owner.login(t, a)
		if cat := owner.run(t, "catalog", a.Addr); strings.Contains(cat, "wrong/") {
			t.Fatalf("a refused push left a repository: %s", cat)
		}
	})

	t.Run("acre login writes the Docker config", func(t *testing.T) {
		out := cli.run(t, "login", "--name", "acre")
		if !strings.Contains(out, "Login Succeeded") {
			t.Fatalf("acre login: %s", out)
		}
		cfg, err := os.ReadFile(filepath.Join(strings.TrimPrefix(cli.env[1], "DOCKER_CONFIG="), "config.json"))
		if err != nil || !strings.Contains(string(cfg), a.Addr) {
			t.Fatalf("docker config: %v %s", err, cfg)
		}
		crane := newCLITool(t, "crane", dir)
		crane.env = append(crane.env, cli.env[1]) // the Docker config acre login wrote
		crane.run(t, "append", "-f", layer, "-t", a.Addr+"/via/login:v1")
		var exposed struct{ AccessToken, Username string }
		cli.json(t, &exposed, "login", "--name", "acre", "--expose-token")
		oras := newCLITool(t, "oras", dir)
		oras.run(t, "login", "--plain-http", "-u", exposed.Username, "-p", exposed.AccessToken, a.Addr)
		oras.run(t, "manifest", "fetch", "--plain-http", a.Addr+"/via/login:v1")
	})

	t.Run("docker", func(t *testing.T) {
		d := startDockerd(t)
		if out, err := RunErr(d.env, "docker", "login", a.Addr, "-u", "ci", "-p", "wrong-password"); err == nil || !strings.Contains(strings.ToLower(out), "unauthorized") {
			t.Fatalf("docker login with a wrong password: %v %s", err, out)
		}
		rootfs := mustWriteFile(t, filepath.Join(t.TempDir(), "rootfs.tar"), tarOf(t, map[string][]byte{"bin/busybox": mustReadFile(t, "/bin/busybox")}))
		for _, id := range identities {
			ref := a.Addr + "/" + id.repo + ":docker"
			d.run(t, "login", a.Addr, "-u", id.user, "-p", id.pass)
			d.run(t, "import", rootfs, ref)
			d.run(t, "push", ref)
			d.run(t, "rmi", ref)
			d.run(t, "pull", ref)
		}
	})
}
