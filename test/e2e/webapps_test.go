//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestWebApps deploys a static Go server image and a busybox httpd image
// from acre with each app's managed identity and drives them through the
// front door: a missing AcrPull (clear message) then granted, the
// WEBSITES_PORT mismatch then fixed, settings and connection strings as
// variables, forwarded headers, a killed process restarted, /home kept
// across restarts, and a CD push swapped in with zero failed requests.
func TestWebApps(t *testing.T) {
	needWebApps(t)
	a, door := webAppsServer(t, "")
	cli := newAcreCLI(t)
	cli.login(t, a)
	crane := newCLITool(t, "crane", t.TempDir())
	crane.login(t, a)

	goLayer := layerTar(t, map[string][]byte{"server": buildGoServer(t)})
	goRef := a.Addr + "/shop:v1"
	crane.run(t, "append", "-f", goLayer, "-t", goRef)
	crane.run(t, "mutate", goRef, "--entrypoint", "/server", "--env", "VERSION=v1")
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	bbLayer := layerTar(t, map[string][]byte{"bin/busybox": bb, "www/index.html": []byte("hello from busybox httpd\n")})
	bbRef := a.Addr + "/busy:v1"
	crane.run(t, "append", "-f", bbLayer, "-t", bbRef)
	crane.run(t, "mutate", bbRef, "--entrypoint", "/bin/busybox,httpd,-f,-p,80,-h,/www")

	cli.run(t, "appservice", "plan", "create", "-n", "plan", "--is-linux", "--sku", "B1")
	var plans []struct{ Name string }
	cli.json(t, &plans, "appservice", "plan", "list")
	if len(plans) != 1 || plans[0].Name != "plan" {
		t.Fatalf("plans: %+v", plans)
	}

	// Without AcrPull the deployment fails with a clear message, and
	// succeeds once the role is granted, without recreating the app.
	cli.run(t, "webapp", "create", "-n", "shop", "-p", "plan", "--container-image-name", goRef)
	var id struct{ PrincipalID string }
	cli.json(t, &id, "webapp", "identity", "assign", "-n", "shop")
	cli.run(t, "webapp", "config", "set", "-n", "shop", "--acr-use-identity", "true")
	eventually(t, "show reports the missing AcrPull", func() (bool, string) {
		s := showApp(t, cli, "shop")
		return s.Status.State == "Failed" && strings.Contains(s.Status.Message, "AcrPull") && strings.Contains(s.Status.Message, id.PrincipalID), s.Status.Message
	})
	if logs := cli.run(t, "webapp", "log", "download", "-n", "shop"); !strings.Contains(logs, "AcrPull") {
		t.Errorf("the log does not explain the failed pull:\n%s", logs)
	}
	cli.run(t, "role", "assignment", "create", "--assignee", id.PrincipalID, "--role", "AcrPull", "--scope", "/registries/acre")
	shopIdentity := id.PrincipalID

	// The image listens on 8080, traffic goes to 80: reported clearly.
	eventually(t, "show reports the port mismatch", func() (bool, string) {
		s := showApp(t, cli, "shop")
		return strings.Contains(s.Status.Message, "WEBSITES_PORT=8080"), s.Status.State + ": " + s.Status.Message
	})
	cli.run(t, "webapp", "config", "appsettings", "set", "-n", "shop", "--settings", "WEBSITES_PORT=8080", "GREETING=hello")
	eventually(t, "the app serves through the front door", bodyIs(door+"/shop/", "", "go-server version=v1 path=/"))
	eventually(t, "show reports the running digest", func() (bool, string) {
		s := showApp(t, cli, "shop")
		return s.Status.State == "Running" && strings.HasPrefix(s.Status.Digest, "sha256:") && s.DefaultHostName == "shop.localhost" &&
			s.Identity.PrincipalID == shopIdentity, fmt.Sprintf("%+v", s)
	})
	eventually(t, "settings are variables", bodyIs(door+"/shop/env/GREETING", "", "hello"))
	eventually(t, "host routing", bodyIs(door+"/env/WEBSITE_SITE_NAME", "shop.localhost", "shop"))

	// A settings change restarts the app with the new values.
	cli.run(t, "webapp", "config", "appsettings", "set", "-n", "shop", "--settings", "GREETING=changed")
	cli.run(t, "webapp", "config", "connection-string", "set", "-n", "shop", "-t", "PostgreSQL", "--settings", "db=host=pg;user=app")
	cli.run(t, "webapp", "config", "connection-string", "set", "-n", "shop", "-t", "Custom", "--settings", "other=x")
	eventually(t, "a changed setting reaches the app", bodyIs(door+"/shop/env/GREETING", "", "changed"))
	eventually(t, "PostgreSQL connection string", bodyIs(door+"/shop/env/POSTGRESQLCONNSTR_db", "", "host=pg;user=app"))
	eventually(t, "custom connection string", bodyIs(door+"/shop/env/CUSTOMCONNSTR_other", "", "x"))
	_, hdr := get(door+"/shop/headers", "")
	for _, want := range []string{"X-Forwarded-For=127.0.0.1", "X-Forwarded-Proto=http", "X-Forwarded-Prefix=/shop", "X-Forwarded-Host=127.0.0.1:"} {
		if !strings.Contains(hdr, want) {
			t.Errorf("forwarded headers lack %q:\n%s", want, hdr)
		}
	}

	// A busybox httpd image, created with the identity already granted.
	cli.run(t, "webapp", "create", "-n", "busy", "-p", "plan", "-i", bbRef)
	cli.json(t, &id, "webapp", "identity", "assign", "-n", "busy")
	cli.run(t, "role", "assignment", "create", "--assignee", id.PrincipalID, "--role", "AcrPull", "--scope", "/registries/acre")
	cli.run(t, "webapp", "config", "set", "-n", "busy", "--acr-use-identity", "true")
	eventually(t, "busybox httpd serves", bodyIs(door+"/busy/", "", "hello from busybox httpd"))

	t.Run("KilledProcessRestarts", func(t *testing.T) {
		before := showApp(t, cli, "busy")
		if len(before.Status.Instances) != 1 {
			t.Fatalf("instances: %v", before.Status.Instances)
		}
		st := Run(t, nil, "runc", "--root", filepath.Join(a.Data, "webapps", "runc"), "state", before.Status.Instances[0])
		var state struct{ Pid int }
		if err := json.Unmarshal([]byte(st), &state); err != nil || state.Pid == 0 {
			t.Fatalf("runc state: %v %s", err, st)
		}
		if err := syscallKill(state.Pid); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the app is restarted", func() (bool, string) {
			s := showApp(t, cli, "busy")
			code, _ := get(door+"/busy/", "")
			return s.Status.RestartCount >= 1 && code == 200 && len(s.Status.Instances) == 1 && s.Status.Instances[0] != before.Status.Instances[0],
				fmt.Sprintf("%+v %d", s.Status, code)
		})
	})

	t.Run("UnhealthyInstanceRestarts", func(t *testing.T) {
		first := showApp(t, cli, "shop")
		cli.run(t, "webapp", "config", "set", "-n", "shop", "--generic-configurations", `{"healthCheckPath":"/health"}`)
		var sc struct{ HealthCheckPath string }
		cli.json(t, &sc, "webapp", "config", "show", "-n", "shop")
		if sc.HealthCheckPath != "/health" {
			t.Fatalf("config show: %+v", sc)
		}
		eventually(t, "an instance with the health check serves", func() (bool, string) {
			s := showApp(t, cli, "shop")
			code, _ := get(door+"/shop/health", "")
			return s.Status.State == "Running" && len(s.Status.Instances) == 1 && s.Status.Instances[0] != first.Status.Instances[0] && code == 200,
				fmt.Sprintf("%+v", s.Status)
		})
		before := showApp(t, cli, "shop")
		eventually(t, "the instance turns sick", func() (bool, string) {
			code, _ := get(door+"/shop/sick", "")
			c2, _ := get(door+"/shop/health", "")
			return code == 200 && c2 == 500, ""
		})
		eventually(t, "the unhealthy instance is replaced", func() (bool, string) {
			s := showApp(t, cli, "shop")
			code, _ := get(door+"/shop/health", "")
			return s.Status.RestartCount > before.Status.RestartCount && code == 200 && len(s.Status.Instances) == 1 && s.Status.Instances[0] != before.Status.Instances[0],
				fmt.Sprintf("%+v %d\n%s", s.Status, code, tail(cli.run(t, "webapp", "log", "download", "-n", "shop"), 15))
		})
		logs := cli.run(t, "webapp", "log", "download", "-n", "shop")
		if !strings.Contains(logs, "health check of") || !strings.Contains(logs, "is unhealthy") {
			t.Errorf("the log does not tell of the failed health checks:\n%s", tail(logs, 20))
		}
	})

	t.Run("LogTail", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cmd := exec.CommandContext(ctx, acreBin, "webapp", "log", "tail", "-n", "shop")
		cmd.Env = append(os.Environ(), cli.env...)
		var out syncBuffer
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cancel(); _ = cmd.Wait() }()
		eventually(t, "the tail shows recent lines", func() (bool, string) {
			return strings.Contains(out.String(), "go-server listening on 8080"), ""
		})
		cli.run(t, "webapp", "restart", "-n", "shop")
		eventually(t, "the tail shows the restart live", func() (bool, string) {
			return strings.Contains(out.String(), "the configuration changed"), tail(out.String(), 5)
		})
	})

	t.Run("HomePersists", func(t *testing.T) {
		cli.run(t, "webapp", "config", "appsettings", "set", "-n", "shop", "--settings", "WEBSITES_ENABLE_APP_SERVICE_STORAGE=true")
		eventually(t, "/home is writable", bodyIs(door+"/shop/visit", "", "1"))
		cli.run(t, "webapp", "restart", "-n", "shop")
		eventually(t, "/home survives a restart", bodyIs(door+"/shop/visit", "", "3")) // 2 may be seen by the old instance
	})

	t.Run("KeyVaultReference", func(t *testing.T) {
		cli.run(t, "keyvault", "create", "-n", "kv-shop")
		var sec struct{ ID string }
		cli.json(t, &sec, "keyvault", "secret", "set", "--vault-name", "kv-shop", "-n", "dbpass", "--value", "secret-1")
		byName := "@Microsoft.KeyVault(VaultName=kv-shop;SecretName=dbpass)"
		cli.run(t, "webapp", "config", "appsettings", "set", "-n", "shop", "--settings", "DB_PASS="+byName,
			"PINNED=@Microsoft.KeyVault(SecretUri="+sec.ID+")")
		// Without the role the literal text stays and show says why.
		eventually(t, "an unresolved reference stays literal", bodyIs(door+"/shop/env/DB_PASS", "", byName))
		eventually(t, "show says why the references did not resolve", func() (bool, string) {
			s := showApp(t, cli, "shop")
			var refs []struct{ Setting, Status string }
			b, _ := json.Marshal(s.Status.KeyVaultReferences)
			_ = json.Unmarshal(b, &refs)
			return len(refs) == 2 && strings.Contains(refs[0].Status, "Key Vault Secrets User"), string(b)
		})
		cli.run(t, "role", "assignment", "create", "--assignee", shopIdentity, "--role", "Key Vault Secrets User", "--scope", "/vaults/kv-shop")
		eventually(t, "the reference resolves once the role is granted", bodyIs(door+"/shop/env/DB_PASS", "", "secret-1"))
		eventually(t, "a reference by URI with a version", bodyIs(door+"/shop/env/PINNED", "", "secret-1"))
		// A rotated secret reaches the app without a redeploy; the pinned version stays.
		cli.run(t, "keyvault", "secret", "set", "--vault-name", "kv-shop", "-n", "dbpass", "--value", "secret-2")
		eventually(t, "a rotated secret reaches the app", bodyIs(door+"/shop/env/DB_PASS", "", "secret-2"))
		if code, body := get(door+"/shop/env/PINNED", ""); code != 200 || body != "secret-1" {
			t.Errorf("the pinned version: %d %q", code, body)
		}
	})

	t.Run("DeniedWithoutRole", func(t *testing.T) {
		cli.run(t, "identity", "create", "--name", "viewer", "--password", "viewer-password-123")
		cli.run(t, "role", "assignment", "create", "--assignee", "viewer", "--role", "Reader", "--scope", "/")
		other := newAcreCLI(t)
		Run(t, other.env, "sh", "-c", "echo viewer-password-123 | "+acreBin+" account login --server http://"+a.Addr+" --username viewer --password-stdin")
		other.run(t, "webapp", "list")
		for _, args := range [][]string{
			{"webapp", "create", "-n", "evil", "-p", "plan", "-i", goRef},
			{"webapp", "config", "appsettings", "list", "-n", "shop"},
			{"webapp", "log", "download", "-n", "shop"},
			{"webapp", "restart", "-n", "shop"},
			{"webapp", "ssh", "-n", "shop"},
			{"keyvault", "secret", "show", "--vault-name", "kv-shop", "-n", "dbpass"},
			{"role", "assignment", "create", "--assignee", "viewer", "--role", "Key Vault Secrets User", "--scope", "/vaults/kv-shop"},
		} {
			out, err := RunErr(other.env, acreBin, args...)
			if err == nil || !strings.Contains(out, "lacks the role") {
				t.Errorf("acre %s as a Reader: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
	})

	t.Run("ContinuousDeploymentSwapsWithoutErrors", func(t *testing.T) {
		var cd struct{ CI_CD_URL string }
		cli.json(t, &cd, "webapp", "deployment", "container", "config", "-n", "shop", "--enable-cd", "true")
		if !strings.Contains(cd.CI_CD_URL, "/shop.scm/") {
			t.Fatalf("CD URL: %q", cd.CI_CD_URL)
		}
		cli.run(t, "webhook", "create", "-r", "acre", "-n", "shopcd", "--uri", cd.CI_CD_URL, "--actions", "push", "--scope", "shop:v1")
		var ok, failed atomic.Int64
		var lastErr atomic.Value
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, body := get(door+"/shop/", "")
				if code == 200 && strings.Contains(body, "go-server") {
					ok.Add(1)
				} else {
					failed.Add(1)
					lastErr.Store(fmt.Sprintf("%d %s", code, body))
				}
			}
		}()
		crane.run(t, "mutate", goRef, "--env", "VERSION=v2")
		eventually(t, "the new image serves", bodyIs(door+"/shop/", "", "version=v2"))
		close(stop)
		<-done
		if failed.Load() != 0 {
			t.Errorf("%d of %d requests failed during the swap; last: %v", failed.Load(), failed.Load()+ok.Load(), lastErr.Load())
		}
		t.Logf("requests during the swap: %d, failed: %d", ok.Load()+failed.Load(), failed.Load())
	})

	t.Run("ScaleOut", func(t *testing.T) {
		cli.run(t, "appservice", "plan", "update", "-n", "plan", "--number-of-workers", "2")
		eventually(t, "two instances share the requests", func() (bool, string) {
			seen := map[string]bool{}
			for range 10 {
				if code, body := get(door+"/shop/env/WEBSITE_INSTANCE_ID", ""); code == 200 {
					seen[body] = true
				}
			}
			s := showApp(t, cli, "shop")
			return len(seen) == 2 && len(s.Status.Instances) == 2, fmt.Sprintf("%v %v", seen, s.Status.Instances)
		})
		cli.run(t, "appservice", "plan", "update", "-n", "plan", "--number-of-workers", "1")
		eventually(t, "back to one instance", func() (bool, string) {
			s := showApp(t, cli, "shop")
			return len(s.Status.Instances) == 1, fmt.Sprint(s.Status.Instances)
		})
	})

	t.Run("OtherRegistryWithCredentials", func(t *testing.T) {
		other := StartAcre(t, "")
		oc := newCLITool(t, "crane", t.TempDir())
		oc.login(t, other)
		ref := other.Addr + "/ext:v1"
		oc.run(t, "append", "-f", bbLayer, "-t", ref)
		oc.run(t, "mutate", ref, "--entrypoint", "/bin/busybox,httpd,-f,-p,80,-h,/www")
		cli.run(t, "webapp", "create", "-n", "ext", "-p", "plan", "-i", ref)
		cli.run(t, "webapp", "config", "container", "set", "-n", "ext", "-r", "http://"+other.Addr, "-u", other.User, "-w", "wrong-password")
		eventually(t, "wrong credentials are reported", func() (bool, string) {
			s := showApp(t, cli, "ext")
			return s.Status.State == "Failed" && strings.Contains(s.Status.Message, "pull denied"), s.Status.Message
		})
		cli.run(t, "webapp", "config", "container", "set", "-n", "ext", "-w", other.Password)
		eventually(t, "an image of another registry serves", bodyIs(door+"/ext/", "", "hello from busybox httpd"))
		cli.run(t, "webapp", "delete", "-n", "ext")
	})

	t.Run("Isolation", func(t *testing.T) {
		if code, body := get(door+"/shop/stat/etc/hostname", ""); code != 200 {
			t.Fatalf("stat: %d %s", code, body)
		}
		for _, p := range []string{a.Data, filepath.Join(a.Data, "webapps")} {
			if _, body := get(door+"/shop/stat"+p, ""); body != "false" {
				t.Errorf("the app sees acre's data directory %s", p)
			}
		}
		for _, addr := range []string{a.Addr, strings.TrimPrefix(door, "http://")} {
			if _, body := get(door+"/shop/dial/"+addr, ""); body != "false" {
				t.Errorf("the app reaches acre's listener %s", addr)
			}
		}
	})

	t.Run("StartupFile", func(t *testing.T) {
		cli.run(t, "webapp", "config", "set", "-n", "busy", "--startup-file", "/bin/busybox httpd -f -p 8081 -h /")
		cli.run(t, "webapp", "config", "appsettings", "set", "-n", "busy", "--settings", "WEBSITES_PORT=8081")
		eventually(t, "the startup command replaces the image's", bodyIs(door+"/busy/www/index.html", "", "hello from busybox httpd"))
		cli.run(t, "webapp", "config", "set", "-n", "busy", "--startup-file", "")
		cli.run(t, "webapp", "config", "appsettings", "delete", "-n", "busy", "--setting-names", "WEBSITES_PORT")
		eventually(t, "the image's command again", bodyIs(door+"/busy/", "", "hello from busybox httpd"))
	})

	t.Run("SSH", func(t *testing.T) {
		cmd := exec.Command(acreBin, "webapp", "ssh", "-n", "busy")
		cmd.Env = append(os.Environ(), cli.env...)
		cmd.Stdin = strings.NewReader("echo inside-$(hostname); /bin/busybox cat /proc/1/cmdline; echo; exit\n")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "inside-busy") || !strings.Contains(string(out), "httpd") {
			t.Fatalf("acre webapp ssh: %v\n%s", err, out)
		}
		if !strings.Contains(a.Logs(), `"msg":"webapp ssh","app":"busy"`) {
			t.Errorf("the shell is not in the server's log")
		}
		if logs := cli.run(t, "webapp", "log", "download", "-n", "busy"); !strings.Contains(logs, "owner opened a shell") {
			t.Errorf("the shell is not in the app's log")
		}
	})

	t.Run("StopStartDelete", func(t *testing.T) {
		cli.run(t, "webapp", "stop", "-n", "busy")
		eventually(t, "a stopped app does not serve", func() (bool, string) {
			code, body := get(door+"/busy/", "")
			return code == 503, fmt.Sprintf("%d %s", code, body)
		})
		cli.run(t, "webapp", "start", "-n", "busy")
		eventually(t, "a started app serves", bodyIs(door+"/busy/", "", "hello from busybox httpd"))
		cli.run(t, "webapp", "delete", "-n", "busy")
		if code, _ := get(door+"/busy/", ""); code != 404 {
			t.Errorf("a deleted app answers %d", code)
		}
		var apps []struct{ Name string }
		cli.json(t, &apps, "webapp", "list")
		if len(apps) != 1 || apps[0].Name != "shop" {
			t.Errorf("apps: %+v", apps)
		}
	})
}

func syscallKill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
