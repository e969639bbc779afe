package s3

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/opencontainers/go-digest"
)

// versitygw finds the S3 server binary: in $ACRE_TOOLS, on PATH, or in the
// module's .tools/bin, where scripts/install-test-deps.sh installs it.
func versitygw() string {
	if d := os.Getenv("ACRE_TOOLS"); d != "" {
		if p, err := exec.LookPath(filepath.Join(d, "versitygw")); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	for d, _ := os.Getwd(); filepath.Dir(d) != d; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p, _ := exec.LookPath(filepath.Join(d, ".tools", "bin", "versitygw"))
			return p
		}
	}
	return ""
}

// gateway is a versitygw process serving a temporary directory.
type gateway struct {
	endpoint string
	client   *awss3.Client
}

func startGateway(t *testing.T) *gateway {
	t.Helper()
	bin := versitygw()
	if bin == "" {
		t.Skip("versitygw not installed (run scripts/install-test-deps.sh)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var out bytes.Buffer
	cmd := exec.Command(bin, "--access", "AK", "--secret", "SK", "--port", addr, "--quiet", "posix", t.TempDir())
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("versitygw exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not listen on %s: %s", addr, out.String())
		}
	}
	g := &gateway{endpoint: "http://" + addr}
	g.client = awss3.New(awss3.Options{
		BaseEndpoint: &g.endpoint, Region: "us-east-1", UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AK", "SK", ""),
	})
	return g
}

var bucketSeq atomic.Int64

// bucket creates an empty bucket.
func (g *gateway) bucket(t *testing.T) string {
	t.Helper()
	b := fmt.Sprintf("acre-test-%d", bucketSeq.Add(1))
	if _, err := g.client.CreateBucket(t.Context(), &awss3.CreateBucketInput{Bucket: &b}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (g *gateway) store(t *testing.T, bucket, prefix string, partSize int64) *Store {
	t.Helper()
	s, err := New(t.Context(), Options{
		Endpoint: g.endpoint, Bucket: bucket, Prefix: prefix, AccessKey: "AK", SecretKey: "SK",
		UsePathStyle: true, PartSize: partSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// keys lists the keys under prefix.
func (g *gateway) keys(t *testing.T, bucket, prefix string) []string {
	t.Helper()
	out, err := g.client.ListObjectsV2(t.Context(), &awss3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, *o.Key)
	}
	return keys
}

// pattern returns n bytes that differ from part to part.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i/4099)
	}
	return b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func appendAt(t *testing.T, s *Store, id string, off int64, b []byte) {
	t.Helper()
	n, err := s.Append(t.Context(), id, off, bytes.NewReader(b))
	if err != nil || n != off+int64(len(b)) {
		t.Fatalf("Append(%d, %d bytes) = %d, %v", off, len(b), n, err)
	}
}

func readAll(t *testing.T, s *Store, d digest.Digest) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), d, 0)
	must(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	must(t, err)
	return b
}
