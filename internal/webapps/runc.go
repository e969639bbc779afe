package webapps

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Runc is the Runtime on an OCI runtime binary (Debian's runc): each
// instance is a bundle under Dir whose rootfs is an overlay of the
// unpacked image (read only, shared) and a writable layer of its own, so
// the filesystem is ephemeral; runc keeps its state under Root.
type Runc struct {
	Binary string // default "runc"
	Root   string // runc's state directory (--root)
	Dir    string // bundles
	Grace  time.Duration
}

func (r *Runc) binary() string {
	if r.Binary == "" {
		return "runc"
	}
	return r.Binary
}

func (r *Runc) run(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, r.binary(), append([]string{"--root", r.Root}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("runc %s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Cleanup removes containers and bundles left by an earlier process that
// ended without stopping them.
func (r *Runc) Cleanup(ctx context.Context) {
	out, _ := exec.CommandContext(ctx, r.binary(), "--root", r.Root, "list", "-q").Output()
	for _, id := range strings.Fields(string(out)) {
		_ = r.run(ctx, "delete", "--force", id)
	}
	ents, _ := os.ReadDir(r.Dir)
	for _, e := range ents {
		b := filepath.Join(r.Dir, e.Name())
		_ = unix.Unmount(filepath.Join(b, "rootfs"), unix.MNT_DETACH)
		_ = os.RemoveAll(b)
	}
}

// Start implements Runtime.
func (r *Runc) Start(ctx context.Context, s InstanceSpec) (Instance, error) {
	bundle := filepath.Join(r.Dir, s.ID)
	rootfs := filepath.Join(bundle, "rootfs")
	for _, d := range []string{rootfs, filepath.Join(bundle, "upper"), filepath.Join(bundle, "work")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	in := &runcInstance{r: r, id: s.ID, bundle: bundle, done: make(chan struct{}), netns: -1}
	opts := "lowerdir=" + s.Image + ",upperdir=" + filepath.Join(bundle, "upper") + ",workdir=" + filepath.Join(bundle, "work")
	if err := unix.Mount("overlay", rootfs, "overlay", 0, opts); err != nil {
		in.release()
		return nil, fmt.Errorf("mount the image: %w", err)
	}
	if err := writeOCISpec(bundle, newOCISpec(s, "/acre-webapps/"+s.ID)); err != nil {
		in.release()
		return nil, err
	}
	pidFile := filepath.Join(bundle, "pid")
	cmd := exec.Command(r.binary(), "--root", r.Root, "run", "--bundle", bundle, "--pid-file", pidFile, s.ID)
	cmd.Stdout, cmd.Stderr = s.Output, s.Output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		in.release()
		return nil, err
	}
	go func() {
		err := cmd.Wait()
		if err != nil {
			in.err = fmt.Errorf("the process exited: %w", err)
		} else {
			in.err = errors.New("the process exited with status 0")
		}
		close(in.done)
	}()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(pidFile); err == nil && len(b) > 0 {
			in.pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			break
		}
		select {
		case <-in.done:
			in.release()
			return nil, fmt.Errorf("the container did not start: %w", in.err)
		case <-ctx.Done():
			_ = in.Stop(context.Background())
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", in.pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = in.Stop(context.Background())
		return nil, fmt.Errorf("open the network namespace: %w", err)
	}
	in.netns = fd
	return in, nil
}

type runcInstance struct {
	r      *Runc
	id     string
	bundle string
	pid    int
	netns  int
	done   chan struct{}
	err    error
	stop   sync.Once
}

func (in *runcInstance) ID() string            { return in.id }
func (in *runcInstance) RootFS() string        { return filepath.Join(in.bundle, "rootfs") }
func (in *runcInstance) PID() int              { return in.pid }
func (in *runcInstance) Done() <-chan struct{} { return in.done }
func (in *runcInstance) Err() error            { return in.err }

// Dial creates the socket inside the instance's network namespace (on a
// thread switched into it for the call), so it reaches the instance's
// loopback and nothing else.
func (in *runcInstance) Dial(ctx context.Context, port int) (net.Conn, error) {
	runtime.LockOSThread()
	self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer unix.Close(self)
	if err := unix.Setns(in.netns, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("enter the network namespace: %w", err)
	}
	var d net.Dialer
	c, derr := d.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		// The thread stays locked, so Go ends it with the goroutine.
		if c != nil {
			c.Close()
		}
		return nil, fmt.Errorf("leave the network namespace: %w", err)
	}
	runtime.UnlockOSThread()
	return c, derr
}

// Listening reads the instance's /proc/<pid>/net/tcp{,6}, which describe
// its own network namespace.
func (in *runcInstance) Listening() []int {
	var ports []int
	seen := map[int]bool{}
	for _, f := range []string{"tcp", "tcp6"} {
		fh, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", in.pid, f))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 4 || fs[3] != "0A" { // TCP_LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fs[1], ":")
			p, err := strconv.ParseInt(hexPort, 16, 32)
			if ok && err == nil && !seen[int(p)] {
				seen[int(p)] = true
				ports = append(ports, int(p))
			}
		}
		fh.Close()
	}
	return ports
}

// Stop implements Instance.
func (in *runcInstance) Stop(ctx context.Context) error {
	in.stop.Do(func() {
		grace := in.r.Grace
		if grace <= 0 {
			grace = 10 * time.Second
		}
		_ = in.r.run(ctx, "kill", in.id, "TERM")
		select {
		case <-in.done:
		case <-time.After(grace):
			_ = in.r.run(ctx, "kill", in.id, "KILL")
		case <-ctx.Done():
			_ = in.r.run(context.Background(), "kill", in.id, "KILL")
		}
		select {
		case <-in.done:
		case <-time.After(30 * time.Second):
			_ = in.r.run(context.Background(), "delete", "--force", in.id)
			<-in.done
		}
		in.release()
	})
	return nil
}

func (in *runcInstance) release() {
	if in.netns >= 0 {
		unix.Close(in.netns)
		in.netns = -1
	}
	_ = unix.Unmount(filepath.Join(in.bundle, "rootfs"), unix.MNT_DETACH)
	_ = os.RemoveAll(in.bundle)
}

// Exec implements Execer with runc exec (no terminal: stdin and stdout are
// streams, stderr goes with stdout).
func (in *runcInstance) Exec(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	cmd := exec.CommandContext(ctx, in.r.binary(), append([]string{"--root", in.r.Root, "exec", in.id}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stdout
	cmd.WaitDelay = time.Second
	return cmd.Run()
}
