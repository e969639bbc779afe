//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkWebAppCreateToFirst200 measures the time from `acre webapp
// create` (the CLI call included) to the first 200 through the front door,
// for a busybox httpd image (1 MiB) pulled anonymously from acre. The first
// iteration pulls and unpacks the image; later ones find it unpacked.
//
//	go test -tags e2e -run XXX -bench WebAppCreateToFirst200 -benchtime 5x ./test/e2e/
func BenchmarkWebAppCreateToFirst200(b *testing.B) {
	needWebApps(b)
	a, door := webAppsServer(b, "")
	home := b.TempDir()
	env := []string{"ACRE_CONFIG_DIR=" + filepath.Join(home, "acre"), "DOCKER_CONFIG=" + filepath.Join(home, "docker"), "HOME=" + home}
	Run(b, env, "sh", "-c", "echo "+a.Password+" | "+acreBin+" account login --server http://"+a.Addr+" --username owner --password-stdin")
	Run(b, env, acreBin, "update", "-n", "acre", "--anonymous-pull-enabled", "true")
	crane := Tool(b, "crane")
	Run(b, env, crane, "auth", "login", a.Addr, "-u", a.User, "-p", a.Password)
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		b.Fatal(err)
	}
	ref := a.Addr + "/busy:v1"
	Run(b, env, crane, "append", "-f", layerTar(b, map[string][]byte{"bin/busybox": bb, "www/index.html": []byte("hi\n")}), "-t", ref)
	Run(b, env, crane, "mutate", ref, "--entrypoint", "/bin/busybox,httpd,-f,-p,80,-h,/www")
	Run(b, env, acreBin, "appservice", "plan", "create", "-n", "plan", "--sku", "B1")
	var first, rest time.Duration
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("app%d", i)
		t0 := time.Now()
		Run(b, env, acreBin, "webapp", "create", "-n", name, "-p", "plan", "-i", ref)
		for {
			resp, err := http.Get(door + "/" + name + "/")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Since(t0) > 2*time.Minute {
				b.Fatalf("%s did not answer 200 within 2m", name)
			}
			time.Sleep(5 * time.Millisecond)
		}
		d := time.Since(t0)
		if i == 0 {
			first = d
		} else {
			rest += d
		}
		b.StopTimer()
		Run(b, env, acreBin, "webapp", "delete", "-n", name)
		b.StartTimer()
	}
	b.ReportMetric(float64(first.Milliseconds()), "first-ms")
	if b.N > 1 {
		b.ReportMetric(float64(rest.Milliseconds())/float64(b.N-1), "cached-ms")
	}
}
