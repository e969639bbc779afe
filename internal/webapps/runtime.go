package webapps

import (
	"context"
	"io"
	"net"
)

// Runtime starts instances of web apps. The runc implementation (Runc) runs
// each instance as an OCI container; another engine can be added by
// implementing this interface, without touching the supervisor.
type Runtime interface {
	// Start creates and starts an instance; it returns once the process
	// runs (not once it serves: the supervisor probes that).
	Start(ctx context.Context, spec InstanceSpec) (Instance, error)
}

// InstanceSpec is what one instance runs.
type InstanceSpec struct {
	ID       string   // unique among running instances: [a-z0-9-]
	Hostname string   // the container's host name
	Image    string   // directory of the unpacked image (read only: the runtime layers a writable copy over it)
	Args     []string // argv; Args[0] is resolved in the image's PATH by the runtime
	Env      []string // KEY=VALUE
	WorkDir  string   // "" for /
	UID, GID uint32
	Home     string // host directory mounted at /home; "" for none
	Memory   int64  // bytes; 0 for no limit
	Pids     int64  // 0 for no limit
	Output   io.Writer
}

// Instance is one running instance of an app.
type Instance interface {
	// ID is the instance's id (InstanceSpec.ID).
	ID() string
	// Dial connects to port on the instance's own loopback, inside its
	// network namespace.
	Dial(ctx context.Context, port int) (net.Conn, error)
	// Done is closed when the process has exited.
	Done() <-chan struct{}
	// Err is why the process exited (valid after Done).
	Err() error
	// PID is the instance's init process as the host sees it.
	PID() int
	// Listening lists the TCP ports the instance listens on.
	Listening() []int
	// Stop asks the process to end (SIGTERM), kills it after grace, and
	// releases everything the instance held.
	Stop(ctx context.Context) error
}

// Execer is implemented by instances that can run another process inside
// themselves (for acre webapp ssh).
type Execer interface {
	// Exec runs args in the instance's namespaces and root, with the
	// instance's environment, until it exits or ctx ends.
	Exec(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error
}
