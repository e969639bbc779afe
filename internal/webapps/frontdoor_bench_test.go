package webapps

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

const benchServer = `package main

import "net/http"

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	http.ListenAndServe(":8080", nil)
}
`

// goServerImage is an unpacked image holding a static Go web server on 8080.
func goServerImage(b testing.TB) string {
	img := b.TempDir()
	src := b.TempDir()
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(benchServer), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module srv\ngo 1.22\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(img, "server"), ".")
	cmd.Dir, cmd.Env = src, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return img
}

// BenchmarkFrontDoorLatency measures, in one run, the median latency of a
// small GET straight to an instance (a keep-alive connection made inside
// its network namespace) and through the front door (a keep-alive
// connection to its listener, proxied to the instance), and reports both
// with the difference: what the front door adds.
func BenchmarkFrontDoorLatency(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		b.Skip("needs runc")
	}
	dir := b.TempDir()
	r := &Runc{Root: filepath.Join(dir, "state"), Dir: filepath.Join(dir, "bundles"), Grace: time.Second}
	defer r.Cleanup(context.Background())
	in, err := r.Start(context.Background(), InstanceSpec{ID: "bench-fd", Hostname: "bench", Image: goServerImage(b),
		Args: []string{"/server"}, Output: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Stop(context.Background())
	s := New(Options{Domain: "localhost", Log: slog.New(slog.DiscardHandler)})
	c := newController(s, "bench")
	defer c.logs.close()
	s.ctrls["bench"] = c
	inst := &instance{Instance: in, port: 8080, transport: &http.Transport{MaxIdleConnsPerHost: 16,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return in.Dial(ctx, 8080) }}}
	inst.proxy = newProxy(inst.transport, s.bufs)
	c.setLive(&liveSet{insts: []*instance{inst}, port: 8080})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: s.FrontDoor(false)}
	go hs.Serve(ln)
	defer hs.Close()

	direct := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return in.Dial(ctx, 8080) }}}
	viaDoor := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	get := func(c *http.Client, url string) {
		resp, err := c.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %s", url, resp.Status)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := in.Dial(context.Background(), 8080); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	median := func(c *http.Client, url string, n int) time.Duration {
		for range 100 { // warm the connections up
			get(c, url)
		}
		ds := make([]time.Duration, n)
		for i := range ds {
			t0 := time.Now()
			get(c, url)
			ds[i] = time.Since(t0)
		}
		slices.Sort(ds)
		return ds[n/2]
	}
	b.ResetTimer()
	var d, f time.Duration
	for range b.N {
		// Interleaved halves, so that a busy moment of the machine falls on both.
		d1 := median(direct, "http://instance/", 1000)
		f1 := median(viaDoor, "http://"+ln.Addr().String()+"/bench/", 1000)
		d2 := median(direct, "http://instance/", 1000)
		f2 := median(viaDoor, "http://"+ln.Addr().String()+"/bench/", 1000)
		d, f = (d1+d2)/2, (f1+f2)/2
	}
	b.ReportMetric(float64(d.Microseconds()), "direct-median-µs")
	b.ReportMetric(float64(f.Microseconds()), "frontdoor-median-µs")
	b.ReportMetric(float64((f - d).Microseconds()), "added-median-µs")
}
