package azure

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/blob/blobtest"
	"github.com/opencontainers/go-digest"
)

// Azurite's well-known development account.
const (
	devAccount = "devstoreaccount1"
	devKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// azuriteBin finds azurite-blob under $ACRE_TOOLS_AZURITE or the module's
// .tools/azurite, where scripts/install-test-deps.sh puts it.
func azuriteBin(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ACRE_TOOLS_AZURITE")
	if dir == "" {
		if root := moduleRoot(); root != "" {
			dir = filepath.Join(root, ".tools", "azurite")
		}
	}
	bin := filepath.Join(dir, "node_modules", ".bin", "azurite-blob")
	if dir == "" || !isExecutable(bin) {
		t.Skip("azurite not installed (run scripts/install-test-deps.sh)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("azurite installed but node is missing (run scripts/install-test-deps.sh)")
	}
	return bin
}

func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a child's output safely across goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// startAzurite runs a fresh Azurite blob service for the test and returns
// its service URL; it is stopped when the test ends.
func startAzurite(t *testing.T) string {
	t.Helper()
	bin := azuriteBin(t)
	port := freePort(t)
	out := &syncBuffer{}
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
		"--location", t.TempDir(), "--silent", "--skipApiVersionCheck")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start azurite: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// Killed outright: its data goes with the test's temporary
		// directory, and a graceful close would wait out the idle
		// keep-alive connections of the SDK's shared HTTP client.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("azurite exited at start:\n%s", out)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("azurite did not listen on %s within 60s:\n%s", addr, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "http://" + addr + "/" + devAccount
}

var containerSeq atomic.Int64

// testOptions returns options for a fresh container on the Azurite at url.
func testOptions(url, prefix string) Options {
	return Options{
		ServiceURL:  url,
		AccountName: devAccount,
		AccountKey:  devKey,
		Container:   fmt.Sprintf("acre-test-%d", containerSeq.Add(1)),
		Prefix:      prefix,
	}
}

func newTestStore(t *testing.T, o Options) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := New(ctx, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	url := startAzurite(t)
	blobtest.Run(t, func(t *testing.T) blobtest.Backend {
		return newTestStore(t, testOptions(url, ""))
	})
}

// TestConformanceSmallBlocks runs the suite again with tiny blocks and a
// prefix, so appends stage many blocks and commits copy many ranges.
func TestConformanceSmallBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	url := startAzurite(t)
	blobtest.Run(t, func(t *testing.T) blobtest.Backend {
		s := newTestStore(t, testOptions(url, "tenant/acre/"))
		s.stageBlock = 4 << 10
		s.copyBlock = 10 << 10
		if strings.HasSuffix(t.Name(), "LargeStreaming") {
			s.stageBlock, s.copyBlock = 1<<20, 5<<20 // keep the block count sane
		}
		return s
	})
}

// TestTwoNodes begins an upload through one Store and continues and commits
// it through another, as two servers behind a load balancer would.
func TestTwoNodes(t *testing.T) {
	url := startAzurite(t)
	o := testOptions(url, "acre/")
	a, b := newTestStore(t, o), newTestStore(t, o)
	ctx := t.Context()
	id := blobtest.NewID()
	must(t, a.Start(ctx, id))
	parts := []string{"begun on node a, ", "continued on node b, ", "and finished on a"}
	if n, err := a.Append(ctx, id, 0, strings.NewReader(parts[0])); err != nil || n != int64(len(parts[0])) {
		t.Fatalf("a.Append = %d, %v", n, err)
	}
	off, err := b.Size(ctx, id)
	if err != nil || off != int64(len(parts[0])) {
		t.Fatalf("b.Size = %d, %v; want %d", off, err, len(parts[0]))
	}
	if off, err = b.Append(ctx, id, off, strings.NewReader(parts[1])); err != nil {
		t.Fatalf("b.Append: %v", err)
	}
	if _, err := a.Append(ctx, id, 0, strings.NewReader("stale")); err == nil {
		t.Fatal("a.Append at a stale offset succeeded")
	}
	if off, err = a.Append(ctx, id, off, strings.NewReader(parts[2])); err != nil {
		t.Fatalf("a.Append: %v", err)
	}
	all := strings.Join(parts, "")
	if off != int64(len(all)) {
		t.Fatalf("size = %d, want %d", off, len(all))
	}
	// The hash state travelled with the upload: b commits without reading it.
	p, err := b.blockBlob(b.prefix+"uploads/"+id).GetProperties(ctx, nil)
	must(t, err)
	if loadHash(p.Metadata, off) == nil {
		t.Fatalf("no usable sha256 state on the upload blob: %v", p.Metadata)
	}
	d := digest.FromString(all)
	if n, err := b.Commit(ctx, id, d); err != nil || n != off {
		t.Fatalf("b.Commit = %d, %v", n, err)
	}
	if got := readAll(t, a, d, 0); got != all {
		t.Fatalf("a reads %q, want %q", got, all)
	}
	if _, err := a.Size(ctx, id); err == nil {
		t.Fatal("upload still there for node a after b committed it")
	}
}

func readAll(t *testing.T, s *Store, d digest.Digest, off int64) string {
	t.Helper()
	rc, err := s.Open(t.Context(), d, off)
	if err != nil {
		t.Fatalf("Open(%s, %d): %v", d, off, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", d, err)
	}
	return string(b)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
