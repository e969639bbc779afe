package webapps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// ErrNotRunning is an operation that needs a running instance.
var ErrNotRunning = errors.New("the web app has no running instance")

// Shell checks that the app has a running instance that can run a shell,
// records who opens it in the audit log, and returns a function that runs
// the shell with the given streams (the caller must already be authorised).
func (s *Service) Shell(ctx context.Context, name, who, clientIP string) (func(ctx context.Context, in io.Reader, out io.Writer) error, error) {
	if _, err := s.o.Meta.Read().GetWebApp(ctx, name); err != nil {
		return nil, err
	}
	c := s.lookup(name)
	if c == nil {
		return nil, ErrNotRunning
	}
	l := c.live.Load()
	if l == nil || len(l.insts) == 0 {
		return nil, ErrNotRunning
	}
	in := l.insts[0]
	ex, ok := in.Instance.(Execer)
	if !ok {
		return nil, fmt.Errorf("%w: its runtime cannot run a shell", ErrNotRunning)
	}
	if _, err := shellIn(in.Instance); err != nil {
		return nil, err
	}
	e := &meta.AuditEntry{At: time.Now().UTC(), Category: "webapp", Operation: "ssh", Identity: who, Repository: name,
		Tag: in.ID(), CallerIP: clientIP, UserAgent: "acre webapp ssh", Result: "Success"}
	if err := s.o.Meta.Tx(ctx, func(q Store) error { return q.AppendAudit(ctx, e) }); err != nil {
		return nil, err
	}
	c.logs.platform("%s opened a shell in %s", who, in.ID())
	s.o.Log.Info("webapp ssh", "app", name, "instance", in.ID(), "identity", who, "client", clientIP)
	args, _ := shellIn(in.Instance)
	return func(ctx context.Context, r io.Reader, w io.Writer) error { return ex.Exec(ctx, args, r, w) }, nil
}

// shellIn picks the shell of an instance's image: /bin/sh, else busybox's.
func shellIn(in Instance) ([]string, error) {
	r, ok := in.(interface{ RootFS() string })
	if !ok {
		return []string{"/bin/sh", "-i"}, nil
	}
	for _, sh := range [][]string{{"/bin/sh", "-i"}, {"/bin/busybox", "sh", "-i"}} {
		if _, err := os.Lstat(filepath.Join(r.RootFS(), sh[0])); err == nil {
			return sh, nil
		}
	}
	return nil, fmt.Errorf("%w: the image has no shell (/bin/sh or /bin/busybox)", ErrNotRunning)
}
