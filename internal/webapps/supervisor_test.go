package webapps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/meta/sqlstore"
)

// fakeRuntime runs each instance as an in-process HTTP server, so the
// supervisor's logic is tested fast and without root (beside the runc tests).
type fakeRuntime struct {
	mu      sync.Mutex
	port    int // the port instances listen on
	started []*fakeInstance
}

type fakeInstance struct {
	id   string
	env  []string
	port int
	srv  *httptest.Server
	done chan struct{}
	once sync.Once
}

func (f *fakeRuntime) Start(_ context.Context, s InstanceSpec) (Instance, error) {
	in := &fakeInstance{id: s.ID, env: s.Env, done: make(chan struct{})}
	f.mu.Lock()
	in.port = f.port
	f.started = append(f.started, in)
	f.mu.Unlock()
	in.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", in.id, r.URL.Path)
	}))
	return in, nil
}

func (in *fakeInstance) ID() string            { return in.id }
func (in *fakeInstance) PID() int              { return 0 }
func (in *fakeInstance) Done() <-chan struct{} { return in.done }
func (in *fakeInstance) Err() error            { return errors.New("killed") }
func (in *fakeInstance) Listening() []int      { return []int{in.port} }
func (in *fakeInstance) Dial(ctx context.Context, port int) (net.Conn, error) {
	if port != in.port {
		return nil, errors.New("connection refused")
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", in.srv.Listener.Addr().String())
}
func (in *fakeInstance) Stop(context.Context) error { in.kill(); return nil }
func (in *fakeInstance) kill() {
	in.once.Do(func() { in.srv.Close(); close(in.done) })
}

type fakePuller struct {
	mu  sync.Mutex
	err error
}

func (p *fakePuller) setErr(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
}

func (p *fakePuller) Pull(_ context.Context, ref ImageRef, _ Credentials) (*Image, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return nil, p.err
	}
	return &Image{Digest: "sha256:00", Dir: "/nonexistent", Config: ImageConfig{Cmd: []string{"/server"}}}, nil
}

func newTestService(t *testing.T, rt Runtime, p ImagePuller) (*Service, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	m, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "meta.db"), sqlstore.Options{Synchronous: "normal"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	s := New(Options{Meta: storeView(m), Runtime: rt, Puller: p, Dir: dir, Domain: "localhost", Log: slog.New(slog.DiscardHandler),
		Probe: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, StartTimeout: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	door := httptest.NewServer(s.FrontDoor(false))
	t.Cleanup(door.Close)
	if _, err := s.CreatePlan(ctx, "plan", "B1", 1); err != nil {
		t.Fatal(err)
	}
	return s, door
}

func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		ok, info := cond()
		if ok {
			return
		}
		last = info
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s: not after 60s; last: %s", what, last)
}

func body(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSupervisorDeploysRestartsAndReports(t *testing.T) {
	rt := &fakeRuntime{port: 8080}
	s, door := newTestService(t, rt, &fakePuller{})
	ctx := context.Background()
	cfg := Config{Image: "h.io/app:v1", AppSettings: map[string]string{"K": "v"},
		ConnectionStrings: map[string]ConnString{"db": {Value: "x", Type: "MySql"}}}
	if _, err := s.CreateApp(ctx, "app", "plan", cfg); err != nil {
		t.Fatal(err)
	}
	// Traffic goes to 80 by default; the instance listens on 8080.
	waitFor(t, "a port mismatch is reported", func() (bool, string) {
		v, _ := s.App(ctx, "app")
		return v.Status.State == "Failed" && strings.Contains(v.Status.Message, "WEBSITES_PORT=8080"), v.Status.Message
	})
	if _, err := s.Configure(ctx, "app", ConfigPatch{AppSettings: map[string]*string{"WEBSITES_PORT": ptr("8080")}}.Apply); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the app serves by path", func() (bool, string) {
		code, b := body(door.URL + "/app/x")
		return code == 200 && strings.HasSuffix(b, " /x"), b
	})
	rt.mu.Lock()
	first := rt.started[len(rt.started)-1]
	rt.mu.Unlock()
	for _, want := range []string{"K=v", "MYSQLCONNSTR_db=x", "WEBSITES_PORT=8080", "WEBSITE_SITE_NAME=app", "WEBSITE_INSTANCE_ID=" + first.id} {
		if !strings.Contains(strings.Join(first.env, "\n"), want) {
			t.Errorf("the instance's environment lacks %s:\n%s", want, strings.Join(first.env, "\n"))
		}
	}
	// A crashed instance is replaced and counted.
	first.kill()
	waitFor(t, "a crashed instance is replaced", func() (bool, string) {
		v, _ := s.App(ctx, "app")
		code, b := body(door.URL + "/app/")
		return v.Status.Restarts == 1 && code == 200 && !strings.HasPrefix(b, first.id), fmt.Sprintf("%+v %s", v.Status, b)
	})
	// Stopped: answered at once; deleted: not found.
	if _, err := s.SetStopped(ctx, "app", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a stopped app answers 503", func() (bool, string) {
		code, b := body(door.URL + "/app/")
		return code == 503 && strings.Contains(b, "stopped"), b
	})
	if err := s.DeleteApp(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if code, _ := body(door.URL + "/app/"); code != 404 {
		t.Errorf("a deleted app answers %d", code)
	}
}

func TestSupervisorRetriesAFailedPull(t *testing.T) {
	p := &fakePuller{}
	p.setErr(fmt.Errorf("%w: the registry answered 401", ErrPullDenied))
	s, _ := newTestService(t, &fakeRuntime{port: 80}, p)
	ctx := context.Background()
	if _, err := s.CreateApp(ctx, "app", "plan", Config{Image: "h.io/app:v1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the denied pull is reported", func() (bool, string) {
		v, _ := s.App(ctx, "app")
		return v.Status.State == "Failed" && strings.Contains(v.Status.Message, "pull denied"), v.Status.Message
	})
	p.setErr(nil)
	waitFor(t, "the retry succeeds", func() (bool, string) {
		v, _ := s.App(ctx, "app")
		return v.Status.State == "Running" && v.Status.Digest == "sha256:00", fmt.Sprintf("%+v", v.Status)
	})
}

func TestCreateAppRefusesBadInput(t *testing.T) {
	s, _ := newTestService(t, &fakeRuntime{port: 80}, &fakePuller{})
	ctx := context.Background()
	for _, tc := range []struct {
		name, plan string
		cfg        Config
	}{
		{"Bad_Name", "plan", Config{Image: "h.io/a:v1"}},
		{"app", "noplan", Config{Image: "h.io/a:v1"}},
		{"app", "plan", Config{}},
		{"app", "plan", Config{Image: "nginx"}},
		{"app", "plan", Config{Image: "h.io/a:v1", HealthCheckPath: "health"}},
		{"app", "plan", Config{Image: "h.io/a:v1", ConnectionStrings: map[string]ConnString{"x": {Type: "Oracle"}}}},
	} {
		if _, err := s.CreateApp(ctx, tc.name, tc.plan, tc.cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateApp(%q, %q, %+v) = %v, want ErrInvalid", tc.name, tc.plan, tc.cfg, err)
		}
	}
	if apps, _ := s.Apps(ctx); len(apps) != 0 {
		t.Errorf("refused apps were stored: %+v", apps)
	}
}

func ptr[T any](v T) *T { return &v }
