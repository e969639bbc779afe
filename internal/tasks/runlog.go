package tasks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// logFlush is how often a run's log goes to the store while it runs.
const logFlush = 250 * time.Millisecond

// runLog is a run's log as it is written: whole lines, with secret values
// replaced by *****, go to the store in chunks (so any node can follow
// it) and to a spool file that becomes the log blob at the end.
type runLog struct {
	m       meta.View[meta.RunLogs]
	runID   int64
	secrets []string
	longest int // the longest secret's length

	mu      sync.Mutex
	partial []byte // an unfinished line
	pending bytes.Buffer
	seq     int64
	spool   *os.File
	sum     hash.Hash
	size    int64
	stop    chan struct{}
	done    chan struct{}
}

func newRunLog(m meta.View[meta.RunLogs], runID int64, spoolDir string, secrets []string) (*runLog, error) {
	f, err := os.CreateTemp(spoolDir, "log-*")
	if err != nil {
		return nil, err
	}
	l := &runLog{m: m, runID: runID, spool: f, sum: sha256.New(), stop: make(chan struct{}), done: make(chan struct{})}
	for _, s := range secrets {
		l.addSecret(s)
	}
	go l.flusher()
	return l, nil
}

// mask adds values to hide from the rest of the log.
func (l *runLog) mask(secrets ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range secrets {
		l.addSecret(s)
	}
}

// addSecret adds a value and, when it differs, the form it takes quoted in
// JSON or a Dockerfile (as BuildKit echoes an ENV instruction). Values
// shorter than 3 bytes are not masked: they would mask too much.
func (l *runLog) addSecret(s string) {
	if len(s) < 3 {
		return
	}
	b, _ := json.Marshal(s)
	for _, v := range []string{s, string(b[1 : len(b)-1])} {
		if !slices.Contains(l.secrets, v) {
			l.secrets = append(l.secrets, v)
			l.longest = max(l.longest, len(v))
		}
	}
}

// Redact replaces every secret value in s (for text outside the log, such
// as the run's error message).
func (l *runLog) Redact(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.redact(s)
}

// redact is Redact with l.mu held.
func (l *runLog) redact(s string) string {
	for _, sec := range l.secrets {
		s = strings.ReplaceAll(s, sec, "*****")
	}
	return s
}

// maxLine is the longest unfinished line the log holds back.
const maxLine = 64 << 10

// Write implements io.Writer; lines are redacted whole, so a value split
// across writes (or chunks of the engine's output) is still masked.
func (l *runLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	if i := bytes.LastIndexByte(l.partial, '\n'); i >= 0 {
		l.emit(l.partial[:i+1])
		l.partial = append(l.partial[:0], l.partial[i+1:]...)
	}
	if len(l.partial) > maxLine {
		// A very long line goes through in pieces, redacted first; the
		// tail that may begin a secret the next write completes stays.
		masked := l.redact(string(l.partial))
		cut := max(len(masked)-(l.longest-1), 0)
		l.write(masked[:cut])
		l.partial = append(l.partial[:0], masked[cut:]...)
	}
	return len(p), nil
}

// Printf writes one line in ACR's agent format ("2006/01/02 15:04:05 msg").
func (l *runLog) Printf(format string, args ...any) {
	fmt.Fprintf(l, "%s %s\n", time.Now().UTC().Format("2006/01/02 15:04:05"), fmt.Sprintf(format, args...))
}

func (l *runLog) emit(b []byte) { l.write(l.redact(string(b))) }

// write appends redacted text to the log.
func (l *runLog) write(s string) {
	l.pending.WriteString(s)
	_, _ = l.spool.WriteString(s)
	l.sum.Write([]byte(s))
	l.size += int64(len(s))
}

func (l *runLog) flusher() {
	defer close(l.done)
	t := time.NewTicker(logFlush)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			_ = l.flush(context.Background())
		}
	}
}

// flush writes the pending bytes as the next chunk.
func (l *runLog) flush(ctx context.Context) error {
	l.mu.Lock()
	if l.pending.Len() == 0 {
		l.mu.Unlock()
		return nil
	}
	data := bytes.Clone(l.pending.Bytes())
	l.pending.Reset()
	l.seq++
	seq := l.seq
	l.mu.Unlock()
	return l.m.Tx(ctx, func(q meta.RunLogs) error { return q.AppendRunLog(ctx, l.runID, seq, data) })
}

// finish stops flushing, writes what is left and returns the spool (the
// whole log) positioned at its start with its digest and size. The caller
// removes the spool file.
func (l *runLog) finish(ctx context.Context) (*os.File, digest.Digest, int64, error) {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	if len(l.partial) > 0 {
		l.partial = append(l.partial, '\n')
		l.emit(l.partial)
		l.partial = nil
	}
	l.mu.Unlock()
	err := l.flush(ctx)
	d := digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(l.sum.Sum(nil)))
	if _, serr := l.spool.Seek(0, io.SeekStart); err == nil {
		err = serr
	}
	return l.spool, d, l.size, err
}

// errLogGone is returned when a run's log expired with its history.
var errLogGone = errors.New("the run's log is no longer kept")
