//go:build e2e

package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWebAppIdleStop checks that an app without Always On stops when idle
// and starts again on the next request, and that Always On keeps it.
func TestWebAppIdleStop(t *testing.T) {
	needWebApps(t)
	a, door := webAppsServer(t, "  idle_timeout: 1s\n")
	cli := newAcreCLI(t)
	cli.login(t, a)
	cli.run(t, "update", "-n", "acre", "--anonymous-pull-enabled", "true")
	busyboxApp(t, a, cli, "sleepy", "awake")
	eventually(t, "the app serves", bodyIs(door+"/sleepy/", "", "awake"))
	eventually(t, "the idle app stops", func() (bool, string) {
		s := showApp(t, cli, "sleepy")
		return len(s.Status.Instances) == 0 && strings.Contains(s.Status.Message, "idle"), fmt.Sprintf("%+v", s.Status)
	})
	if code, body := get(door+"/sleepy/", ""); code != 200 || !strings.Contains(body, "awake") {
		t.Fatalf("the request that wakes the app: %d %s", code, body)
	}
	cli.run(t, "webapp", "config", "set", "-n", "sleepy", "--always-on", "true")
	var first string
	eventually(t, "Always On is applied", func() (bool, string) {
		s := showApp(t, cli, "sleepy")
		var sc struct{ AlwaysOn bool }
		cli.json(t, &sc, "webapp", "config", "show", "-n", "sleepy")
		ok := sc.AlwaysOn && s.Status.State == "Running" && len(s.Status.Instances) == 1 && s.Status.Message == ""
		if ok {
			first = s.Status.Instances[0]
		}
		return ok, fmt.Sprintf("%+v", s.Status)
	})
	// Several idle timeouts later the instance still runs (this can only
	// pass wrongly on a slow machine, never fail wrongly).
	time.Sleep(4 * time.Second)
	if s := showApp(t, cli, "sleepy"); len(s.Status.Instances) != 1 || s.Status.Instances[0] != first {
		t.Errorf("an Always On app was stopped: %+v", s.Status)
	}
}

// TestWebAppsTLS runs web apps on a server with TLS: the app pulls from it
// over HTTPS (its own certificate trusted) and the front door serves HTTPS.
func TestWebAppsTLS(t *testing.T) {
	needWebApps(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeSelfSigned(t, certFile, keyFile)
	a, door := webAppsServer(t, "", "--tls-cert", certFile, "--tls-key", keyFile)
	door = strings.Replace(door, "http://", "https://", 1)
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	api := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, "https://"+a.Addr+path, strings.NewReader(body))
		req.SetBasicAuth(a.User, a.Password)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	api(http.MethodPatch, "/api/v1/registries/acre", `{"anonymousPullEnabled": true}`)
	home := t.TempDir()
	env := []string{"HOME=" + home, "DOCKER_CONFIG=" + home}
	crane := Tool(t, "crane")
	Run(t, env, crane, "auth", "login", "--insecure", a.Addr, "-u", a.User, "-p", a.Password)
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	ref := a.Addr + "/busy:v1"
	Run(t, env, crane, "append", "--insecure", "-f", layerTar(t, map[string][]byte{"bin/busybox": bb, "www/index.html": []byte("over tls\n")}), "-t", ref)
	Run(t, env, crane, "mutate", "--insecure", ref, "--entrypoint", "/bin/busybox,httpd,-f,-p,80,-h,/www")
	api(http.MethodPost, "/api/v1/serverfarms", `{"name": "plan", "sku": "B1"}`)
	api(http.MethodPost, "/api/v1/webapps", `{"name": "secure", "plan": "plan", "image": "`+ref+`"}`)
	eventually(t, "the app serves over HTTPS", func() (bool, string) {
		resp, err := hc.Get(door + "/secure/")
		if err != nil {
			return false, err.Error()
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200 && resp.TLS != nil && strings.Contains(string(b), "over tls"), fmt.Sprintf("%d %s", resp.StatusCode, b)
	})
}

// TestWebAppsSurviveAKilledServer kills acre (SIGKILL) while an app runs:
// the next start removes the container the dead process left and runs the
// app again, once.
func TestWebAppsSurviveAKilledServer(t *testing.T) {
	needWebApps(t)
	data := t.TempDir()
	a, door := webAppsServer(t, "", "--data", data)
	cli := newAcreCLI(t)
	cli.login(t, a)
	cli.run(t, "update", "-n", "acre", "--anonymous-pull-enabled", "true")
	busyboxApp(t, a, cli, "durable", "still here")
	eventually(t, "the app serves", bodyIs(door+"/durable/", "", "still here"))
	a.Kill()
	root := filepath.Join(data, "webapps", "runc")
	if out, _ := RunErr(nil, "runc", "--root", root, "list", "-q"); len(strings.Fields(out)) != 1 {
		t.Fatalf("containers after the kill: %q", out)
	}

	// The registry address changes with the restart; the image reference
	// names the old one, so point the app at the new address.
	b, door := webAppsServer(t, "", "--data", data)
	cli.login(t, b)
	cli.run(t, "webapp", "config", "container", "set", "-n", "durable", "-i", b.Addr+"/busy:v1")
	eventually(t, "the app serves after the restart", bodyIs(door+"/durable/", "", "still here"))
	out, _ := RunErr(nil, "runc", "--root", root, "list", "-q")
	if ids := strings.Fields(out); len(ids) != 1 {
		t.Errorf("containers after the restart: %q (want exactly the new one)", out)
	}
}

// busyboxApp pushes an image serving body at / with busybox httpd and
// creates web app name from it (on a new plan "plan").
func busyboxApp(t *testing.T, a *Acre, cli acreCLI, name, body string) {
	t.Helper()
	crane := newCLITool(t, "crane", t.TempDir())
	crane.login(t, a)
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	ref := a.Addr + "/busy:v1"
	crane.run(t, "append", "-f", layerTar(t, map[string][]byte{"bin/busybox": bb, "www/index.html": []byte(body + "\n")}), "-t", ref)
	crane.run(t, "mutate", ref, "--entrypoint", "/bin/busybox,httpd,-f,-p,80,-h,/www")
	cli.run(t, "appservice", "plan", "create", "-n", "plan", "--sku", "B1")
	cli.run(t, "webapp", "create", "-n", name, "-p", "plan", "-i", ref)
}
