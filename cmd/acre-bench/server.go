package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is an acre process started by the benchmark.
type server struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}

	mu      sync.Mutex
	tail    []string // last log lines
	errLogs []string // first ERROR-level lines
	nErr    int
	nWarn   int
}

const (
	tailLines   = 40
	keepErrLogs = 20
)

// startServer runs `acre serve` on a free loopback port with data as its
// data directory, env added to its environment, and waits until it logs
// that it listens.
func startServer(bin, data string, extra, env []string) (*server, error) {
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--log-format", "json"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = os.Stderr
	// Through an io.Pipe, Wait returns only once every line was copied.
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	addrc := make(chan string, 1)
	logsDone := make(chan struct{})
	go func() { s.readLogs(pr, addrc); close(logsDone) }()
	go func() {
		_ = cmd.Wait()
		pw.Close()
		<-logsDone
		close(s.done)
	}()
	select {
	case s.addr = <-addrc:
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("acre exited before listening:\n%s", s.logTail())
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, fmt.Errorf("acre did not log \"listening\" within 30s (it is logged at level info):\n%s", s.logTail())
	}
}

// readLogs drains the server's stderr, finds the listening address and
// keeps a tail and the first error lines. Lines are parsed as JSON only
// until the address is known, to keep the benchmark's own CPU use low.
func (s *server) readLogs(r io.Reader, addrc chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	found := false
	for sc.Scan() {
		line := sc.Bytes()
		if !found {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
				found = true
				addrc <- rec.Addr
			}
		}
		isErr := bytes.Contains(line, []byte(`"level":"ERROR"`))
		isWarn := bytes.Contains(line, []byte(`"level":"WARN"`))
		s.mu.Lock()
		if len(s.tail) == tailLines {
			s.tail = append(s.tail[:0], s.tail[1:]...)
		}
		s.tail = append(s.tail, string(line))
		if isErr {
			s.nErr++
			if len(s.errLogs) < keepErrLogs {
				s.errLogs = append(s.errLogs, string(line))
			}
		}
		if isWarn {
			s.nWarn++
		}
		s.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r)
}

func (s *server) logTail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.tail, "\n")
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// logSummary counts the ERROR and WARN lines logged so far.
func (s *server) logSummary() *ServerLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &ServerLog{ErrorLines: s.nErr, WarnLines: s.nWarn, FirstErrors: append([]string(nil), s.errLogs...)}
}

// stop sends SIGTERM, waiting up to 30s before SIGKILL.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// proc reads a process's CPU time and memory from /proc.
type proc struct {
	pid int
	hz  float64 // clock ticks per second
}

// clockTicks returns CLK_TCK from `getconf CLK_TCK`, or 100.
func clockTicks() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
}

// cpu returns utime+stime in seconds (fields 14 and 15 of /proc/<pid>/stat).
func (p *proc) cpu() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", p.pid)
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", p.pid)
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", p.pid)
	}
	return float64(ut+st) / p.hz, nil
}

// mem returns VmRSS and VmHWM in bytes from /proc/<pid>/status.
func (p *proc) mem() (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v) // "1234 kB"
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
	}
	return rss, hwm, nil
}

// sampler polls VmRSS and keeps the maximum since the last reset.
type sampler struct {
	p    *proc
	mu   sync.Mutex
	max  int64 // since the last reset
	all  int64 // since the start
	stop chan struct{}
	once sync.Once
}

func startSampler(p *proc, every time.Duration) *sampler {
	s := &sampler{p: p, stop: make(chan struct{})}
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) sample() {
	rss, _, err := s.p.mem()
	if err != nil {
		return
	}
	s.mu.Lock()
	s.max = max(s.max, rss)
	s.all = max(s.all, rss)
	s.mu.Unlock()
}

// reset returns the maximum VmRSS seen (including a sample taken now) and
// starts a new window.
func (s *sampler) reset() int64 {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.max
	s.max = 0
	return m
}

// peak returns the maximum VmRSS seen since the start.
func (s *sampler) peak() int64 {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all
}

func (s *sampler) close() { s.once.Do(func() { close(s.stop) }) }

// cpuSelf returns this process's user+system CPU seconds.
func cpuSelf() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
