package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// pgServer is a throwaway PostgreSQL server on 127.0.0.1.
type pgServer struct {
	bin  string // the directory of initdb, pg_ctl and postgres
	dir  string // data, socket and log
	user string // the OS user the server runs as ("" for the current one)
	port int
	dbs  atomic.Int64
	mu   sync.Mutex // CREATE DATABASE one at a time
	db   *sql.DB    // the maintenance database
}

// pgBinDir finds PostgreSQL's binaries: Debian's newest, or initdb on PATH.
func pgBinDir() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[j]))))
		return vi > vj
	})
	if len(dirs) > 0 {
		return filepath.Dir(dirs[0])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// startPostgres starts a server for the test and its subtests, stopped
// when the test ends; it skips the test when PostgreSQL is not installed.
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	bin := pgBinDir()
	if bin == "" {
		t.Skip("PostgreSQL not installed (run scripts/install-test-deps.sh)")
	}
	srv := &pgServer{bin: bin}
	base := "" // TMPDIR
	if os.Geteuid() == 0 {
		base = "/tmp" // TMPDIR may be closed to the postgres user
	}
	dir, err := os.MkdirTemp(base, "acre-pg-")
	if err != nil {
		t.Fatal(err)
	}
	srv.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("PostgreSQL not installed (run scripts/install-test-deps.sh): no postgres user to run it as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		srv.user = "postgres"
	}
	start := time.Now()
	if out, err := srv.cmd("initdb", "-D", srv.data(), "-U", "acre", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	// A free port can be taken between looking and listening: try a few.
	for try := 0; ; try++ {
		srv.port = freePort(t)
		opts := fmt.Sprintf("-p %d -h 127.0.0.1 -k %s -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200",
			srv.port, srv.dir)
		out, err := srv.cmd("pg_ctl", "start", "-w", "-t", "60", "-D", srv.data(), "-l", filepath.Join(srv.dir, "log"), "-o", opts).CombinedOutput()
		if err == nil {
			break
		}
		log, _ := os.ReadFile(filepath.Join(srv.dir, "log"))
		if try == 2 {
			t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
		}
	}
	t.Cleanup(func() {
		if srv.db != nil {
			srv.db.Close()
		}
		if out, err := srv.cmd("pg_ctl", "stop", "-m", "immediate", "-D", srv.data()).CombinedOutput(); err != nil {
			t.Errorf("pg_ctl stop: %v\n%s", err, out)
		}
	})
	srv.db, err = sql.Open("pgx", srv.dsn("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("PostgreSQL (%s) up on port %d in %v", bin, srv.port, time.Since(start).Round(time.Millisecond))
	return srv
}

func (s *pgServer) data() string { return filepath.Join(s.dir, "data") }

func (s *pgServer) cmd(name string, args ...string) *exec.Cmd {
	path := filepath.Join(s.bin, name)
	if s.user != "" {
		return exec.Command("runuser", append([]string{"-u", s.user, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
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

func (s *pgServer) dsn(db string) string {
	return fmt.Sprintf("postgres://acre@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// newDB creates an empty database, dropped when the test ends, and returns
// its DSN. Its default collation is linguistic (ICU's en-US) where the
// server has ICU, so that the suite sees the migrations' byte-order
// collation at work.
func (s *pgServer) newDB(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("acre_%d", s.dbs.Add(1))
	s.mu.Lock()
	defer s.mu.Unlock()
	create := `CREATE DATABASE ` + name + ` TEMPLATE template0 STRATEGY file_copy`
	_, err := s.db.ExecContext(context.Background(), create+` LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`)
	if err != nil {
		t.Logf("CREATE DATABASE with ICU: %v; using the server's default collation", err)
		_, err = s.db.ExecContext(context.Background(), create)
	}
	if err != nil {
		t.Fatalf("CREATE DATABASE: %v", err)
	}
	t.Cleanup(func() { s.db.ExecContext(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`) })
	return s.dsn(name)
}

func (s *pgServer) open(t *testing.T, dsn string) *Store {
	t.Helper()
	st, err := OpenPostgres(t.Context(), dsn, Options{})
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	return st
}
