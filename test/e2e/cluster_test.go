//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// startPostgres runs a throwaway PostgreSQL from Debian's packages and
// returns its DSN. PostgreSQL refuses root, so as root it runs as postgres.
func startPostgres(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(dirs) == 0 {
		t.Fatal("PostgreSQL is not installed: run scripts/install-test-deps.sh")
	}
	bin := filepath.Dir(dirs[len(dirs)-1])
	dir, err := os.MkdirTemp("", "pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	run := func(name string, args ...string) *exec.Cmd {
		path := filepath.Join(bin, name)
		if os.Geteuid() == 0 {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
		}
		return exec.Command(path, args...)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := run("initdb", "-D", data, "-U", "acre", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := strconv.Itoa(freePort(t))
	opts := "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
	if out, err := run("pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(dir, "log"), "-o", opts).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() { _ = run("pg_ctl", "stop", "-m", "immediate", "-D", data).Run() })
	return "postgres://acre@127.0.0.1:" + port + "/postgres?sslmode=disable"
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// s3Server is an S3-compatible server for the tests.
type s3Server struct {
	endpoint, access, secret string
}

// startS3 runs versitygw over a directory with a bucket "acre" (or, with
// ACRE_E2E_S3=minio, MinIO: scripts/test-minio.sh builds and runs it).
func startS3(t *testing.T) s3Server {
	t.Helper()
	root := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	srv := s3Server{endpoint: "http://" + addr, access: "AK", secret: "SK"}
	var cmd *exec.Cmd
	if os.Getenv("ACRE_E2E_S3") == "minio" {
		srv.access, srv.secret = "acreminio", "acreminio-secret"
		cmd = exec.Command(Tool(t, "minio"), "server", root, "--address", addr, "--quiet")
		cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+srv.access, "MINIO_ROOT_PASSWORD="+srv.secret)
	} else {
		if err := os.Mkdir(filepath.Join(root, "acre"), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd = exec.Command(Tool(t, "versitygw"), "--access", "AK", "--secret", "SK", "--port", addr, "--quiet", "posix", root)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			if os.Getenv("ACRE_E2E_S3") == "minio" {
				createBucket(t, srv, "acre")
			}
			return srv
		}
	}
	t.Fatalf("the S3 server did not start: %s", out.String())
	return srv
}

func createBucket(t *testing.T, srv s3Server, name string) {
	t.Helper()
	c := awss3.New(awss3.Options{BaseEndpoint: &srv.endpoint, Region: "us-east-1", UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.access, srv.secret, "")})
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := c.CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: &name}); err == nil {
			return
		}
	}
	t.Fatal("could not create the bucket")
}

// roundRobin is a load balancer that sends each request to the next node,
// so clients talk to both nodes alternately.
func roundRobin(t *testing.T, nodes ...*Acre) string {
	var n atomic.Int64
	proxy := &httputil.ReverseProxy{Director: func(r *http.Request) {
		a := nodes[int(n.Add(1))%len(nodes)]
		r.URL.Scheme, r.URL.Host = "http", a.Addr // r.Host stays: acre sees the address the client used
	}, FlushInterval: -1}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: proxy}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestTwoNodes runs two acre nodes on PostgreSQL and an S3 server as one
// registry: the conformance suite and crane go through a round-robin
// balancer (every request may land on either node, chunked uploads
// included); then one node is killed during pushes and the other carries
// on, with nothing acknowledged lost.
func TestTwoNodes(t *testing.T) {
	cfg := clusterConfig(t, startPostgres(t), startS3(t))
	a := StartAcre(t, "", "--config", cfg)
	b := StartAcre(t, "", "--config", cfg)
	lb := roundRobin(t, a, b)
	t.Run("conformance through both nodes", func(t *testing.T) {
		runConformance(t, &Acre{Addr: lb, User: a.User, Password: a.Password})
	})
	t.Run("crane through both nodes", func(t *testing.T) {
		crane := newCLITool(t, "crane", t.TempDir())
		crane.run(t, "auth", "login", lb, "-u", a.User, "-p", a.Password)
		layer := mustWriteFile(t, filepath.Join(t.TempDir(), "l.tar"), tarOf(t, map[string][]byte{"f": randBytes(t, 12<<20)}))
		crane.run(t, "append", "-f", layer, "-t", lb+"/two/nodes:v1")
		crane.run(t, "copy", lb+"/two/nodes:v1", lb+"/two/copy:v1")
		if crane.line(t, "digest", lb+"/two/nodes:v1") != crane.line(t, "digest", lb+"/two/copy:v1") {
			t.Fatal("copy changed the digest")
		}
		out := crane.run(t, "export", lb+"/two/copy:v1", "-")
		if len(out) < 12<<20 {
			t.Fatalf("exported %d bytes", len(out))
		}
	})
	t.Run("oras, regctl and docker through both nodes", func(t *testing.T) {
		dir := t.TempDir()
		mustWriteFile(t, filepath.Join(dir, "sbom.json"), randText(t, 4096))
		oras := newCLITool(t, "oras", dir)
		oras.run(t, "login", "--plain-http", "-u", a.User, "-p", a.Password, lb)
		oras.run(t, "push", "--plain-http", "--artifact-type", "application/vnd.example.sbom", lb+"/two/sbom:v1", "sbom.json")
		regctl := newCLITool(t, "regctl", dir)
		_, _, _ = regctl.exec("registry", "set", "--tls", "disabled", lb)
		regctl.run(t, "registry", "login", lb, "-u", a.User, "-p", a.Password)
		regctl.run(t, "image", "copy", lb+"/two/sbom:v1", lb+"/two/sbom-copy:v1")
		if got, want := regctl.line(t, "image", "digest", lb+"/two/sbom-copy:v1"), regctl.line(t, "image", "digest", lb+"/two/sbom:v1"); got != want {
			t.Fatalf("copy digest %s, want %s", got, want)
		}
		d := startDockerd(t)
		d.run(t, "login", lb, "-u", a.User, "-p", a.Password)
		rootfs := mustWriteFile(t, filepath.Join(dir, "rootfs.tar"), tarOf(t, map[string][]byte{"bin/busybox": mustReadFile(t, "/bin/busybox")}))
		ref := lb + "/two/docker:v1"
		d.run(t, "import", rootfs, ref)
		d.run(t, "push", ref)
		d.run(t, "rmi", ref)
		d.run(t, "pull", ref)
	})
	t.Run("one node killed during pushes and deliveries", func(t *testing.T) {
		recvAddr, recvOut := freeAddr(t), filepath.Join(t.TempDir(), "received.jsonl")
		startReceiver(t, recvAddr, recvOut)
		body := []byte(`{"name":"clusterhook","serviceUri":"http://` + recvAddr + `/hook","actions":["push"],"scope":"killed/*:*"}`)
		req, _ := http.NewRequest(http.MethodPost, b.URL("/api/v1/registries/acre/webhooks"), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
			t.Fatalf("create webhook: %v %v", resp, err)
		}
		ca, cb := newPushClient(a), newPushClient(b)
		acked := killLoad{
			clients: []*pushClient{ca, cb},
			writers: 4,
			image: func(w, i int) testImage {
				return randomImage(fmt.Sprintf("killed/w%d", w), fmt.Sprintf("t%d", i), 1, 2048)
			},
			before: 8, // through both nodes
			after:  4, // through node B alone
			kill:   a.Kill,
		}.run(t)
		t.Logf("%d pushes acknowledged by either node", len(acked))
		for _, img := range acked {
			if err := cb.verify(context.Background(), img); err != nil {
				t.Errorf("after node A died, node B lacks an acknowledged push: %v", err)
			}
		}
		// Node B takes over the webhook's queue once A's lease runs out.
		deadline := time.Now().Add(loadDeadline)
		for {
			seen, _ := readReceived(t, recvOut)
			missing := 0
			for _, img := range acked {
				if !seen[img.Repo+":"+img.Tag] {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d acknowledged pushes never delivered after a node died", missing, len(acked))
			}
			time.Sleep(250 * time.Millisecond)
		}
	})
}

// clusterConfig writes a configuration for PostgreSQL and S3.
func clusterConfig(t *testing.T, dsn string, s3 s3Server) string {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "acre.yaml")
	conf := fmt.Sprintf(`secret_key_file: %q # one key for every node
storage:
  postgres:
    dsn: %q
  blobs:
    type: s3
    s3: {endpoint: %q, bucket: acre, access_key: %q, secret_key: %q, path_style: true, part_size_mib: 5}
lifecycle: {interval: 1s, gc_grace: 30s} # GC runs all along; a push finishes well within the grace, even on a busy machine
webhooks: {allow: ["127.0.0.1/32"]} # the test's receivers listen on loopback
`, filepath.Join(dir, "secret.key"), dsn, s3.endpoint, s3.access, s3.secret)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestMigrate moves an embedded registry to PostgreSQL and S3 with acre
// migrate and finds everything there: images byte for byte, tags, the
// owner's password, webhooks, Key Vault secrets (still sealed: the key
// comes along), tasks, runs and their logs, web apps and their plans.
func TestMigrate(t *testing.T) {
	data := t.TempDir()
	srcCfg := filepath.Join(t.TempDir(), "acre.yaml")
	if err := os.WriteFile(srcCfg, []byte(webAppsOn(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	a := StartAcre(t, data, "--config", srcCfg)
	cli := newAcreCLI(t)
	cli.login(t, a)
	moved := seedMovedState(t, cli)
	c := newPushClient(a)
	var imgs []testImage
	for i := range 5 {
		img := randomImage(fmt.Sprintf("moved/r%d", i%2), fmt.Sprintf("v%d", i), 2, 8192)
		if err := c.push(context.Background(), img); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	a.Stop(t)
	cfg := clusterConfig(t, startPostgres(t), startS3(t))
	appendConfig(t, cfg, webAppsOn(t))
	out := cli.run(t, "migrate", "--from-data", data, "--config", cfg)
	if !bytes.Contains([]byte(out), []byte(`"status": "Succeeded"`)) {
		t.Fatalf("migrate: %s", out)
	}
	if out := cli.run(t, "migrate", "--from-data", data, "--config", cfg, "--verify-only"); !bytes.Contains([]byte(out), []byte("Succeeded")) {
		t.Fatalf("verify: %s", out)
	}
	b := StartAcre(t, "", "--config", cfg)
	cb := newPushClient(b)
	for _, img := range imgs {
		if err := cb.verify(context.Background(), img); err != nil {
			t.Errorf("after migrating: %v", err)
		}
	}
	if err := cb.push(context.Background(), randomImage("moved/new", "v1", 1, 1024)); err != nil {
		t.Fatalf("push after migrating: %v", err)
	}
	cli.login(t, b)
	moved.check(t, cli)
}
