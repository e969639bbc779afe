package webapps

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"time"
)

// logBuffer keeps an app's recent output (a ring of lines), appends it to
// a file for download, and feeds live followers. Lines from instances and
// from the platform are stamped and tagged with their source.
type logBuffer struct {
	mu      sync.Mutex
	lines   []string
	next    int
	full    bool
	file    *os.File
	follows map[chan string]struct{}
}

const logLines = 1000

func newLogBuffer(path string) *logBuffer {
	f, _ := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	return &logBuffer{lines: make([]string, logLines), file: f, follows: map[chan string]struct{}{}}
}

func (l *logBuffer) add(source, line string) {
	s := time.Now().UTC().Format(time.RFC3339Nano) + " [" + source + "] " + line
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines[l.next] = s
	l.next = (l.next + 1) % logLines
	l.full = l.full || l.next == 0
	if l.file != nil {
		_, _ = l.file.WriteString(s + "\n")
	}
	for ch := range l.follows {
		select {
		case ch <- s:
		default: // a slow follower misses lines rather than stall the app
		}
	}
}

func (l *logBuffer) platform(format string, args ...any) {
	l.add("platform", fmt.Sprintf(format, args...))
}

// recent returns the lines kept, oldest first.
func (l *logBuffer) recent() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.full {
		return append([]string(nil), l.lines[:l.next]...)
	}
	return append(append([]string(nil), l.lines[l.next:]...), l.lines[:l.next]...)
}

// follow returns the recent lines and a channel of the next ones; stop
// ends the subscription.
func (l *logBuffer) follow() ([]string, <-chan string, func()) {
	ch := make(chan string, 256)
	rec := l.recent()
	l.mu.Lock()
	l.follows[ch] = struct{}{}
	l.mu.Unlock()
	return rec, ch, func() {
		l.mu.Lock()
		delete(l.follows, ch)
		l.mu.Unlock()
	}
}

func (l *logBuffer) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file != nil {
		l.file.Close()
		l.file = nil
	}
}

// lineWriter turns an instance's output into log lines.
type lineWriter struct {
	l      *logBuffer
	source string
	mu     sync.Mutex
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.l.add(w.source, string(bytes.TrimRight(w.buf[:i], "\r")))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 16<<10 {
		w.l.add(w.source, string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(p), nil
}
