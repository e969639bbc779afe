package meta

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
)

// Task is a saved build definition (ACR's task) with its trigger state. Its
// definition is opaque here: package tasks owns the JSON in Spec.
type Task struct {
	ID          int64
	RegistryID  int64
	Name        string
	Spec        []byte
	Enabled     bool
	NextTimerAt time.Time // the next cron firing; zero: no timer
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TaskBase is a base image a task's last successful run used: the task
// runs again when Ref (host/repository:tag) moves off Digest.
type TaskBase struct {
	TaskID int64
	Ref    string
	Digest string
}

// Run states, as ACR names them.
const (
	RunQueued    = "Queued"
	RunRunning   = "Running"
	RunSucceeded = "Succeeded"
	RunFailed    = "Failed"
	RunCanceled  = "Canceled"
)

// Run is one execution of a quick build, a quick run or a task: a durable
// job. A node leases a queued run and renews the lease while it works; a
// run whose lease expires (the node died) ends Failed.
type Run struct {
	ID         int64
	RegistryID int64
	TaskID     int64 // 0 for quick builds and runs
	TaskName   string
	Trigger    string // Manual, Commit, Image Update, Timer
	Spec       []byte // the request, as package tasks wrote it
	Source     string // digest of the uploaded source tarball blob, if any
	State      string
	Reason     string // why it failed or was canceled
	Output     []byte // images and dependencies, as package tasks wrote them
	LogDigest  string // the whole log as a blob, once finished
	Node       string // lease owner
	LeaseUntil time.Time
	Cancel     bool // cancellation requested
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
}

// Finished reports whether the run is over.
func (r *Run) Finished() bool {
	return r.State == RunSucceeded || r.State == RunFailed || r.State == RunCanceled
}

// Tasks stores task definitions. Names are unique per registry.
type Tasks interface {
	// PutTask creates (ID 0) or updates a task; ErrConflict when the name is taken.
	PutTask(ctx context.Context, t *Task) error
	GetTask(ctx context.Context, registryID int64, name string) (*Task, error)
	GetTaskByID(ctx context.Context, id int64) (*Task, error)
	ListTasks(ctx context.Context, registryID int64) ([]Task, error) // 0: every registry
	// DeleteTask removes a task with its recorded bases.
	DeleteTask(ctx context.Context, id int64) error
}

// TaskTriggers stores what the triggers of tasks need across nodes: timer
// firings, the base images of each task's last run and named event
// cursors. Every change is a compare-and-set, so one node acts on a firing.
type TaskTriggers interface {
	// SetTaskTimer moves the task's next timer firing from was to next;
	// false when another node moved it first.
	SetTaskTimer(ctx context.Context, id int64, was, next time.Time) (bool, error)
	// SetTaskBases replaces the base images recorded for a task.
	SetTaskBases(ctx context.Context, taskID int64, bases []TaskBase) error
	// TasksWithBase lists the recorded bases with this ref (host/repository:tag).
	TasksWithBase(ctx context.Context, ref string) ([]TaskBase, error)
	// TaskCursor and SetTaskCursor keep named positions (the event cursor
	// of base-image triggers); SetTaskCursor is a compare-and-set.
	TaskCursor(ctx context.Context, name string) (int64, error)
	SetTaskCursor(ctx context.Context, name string, was, now int64) (bool, error)
	// ListTaskBases lists every recorded base image, by task and ref (the
	// polling of bases kept in other registries).
	ListTaskBases(ctx context.Context) ([]TaskBase, error)
	// MoveTaskBase changes a recorded base's digest from was to now; false
	// when it is no longer was (another node moved it, or a run recorded
	// another base meanwhile).
	MoveTaskBase(ctx context.Context, taskID int64, ref, was, now string) (bool, error)
}

// Runs stores runs as a leased job queue: a node claims a queued run and
// renews its lease while it works; a run whose lease lapsed is stale.
type Runs interface {
	CreateRun(ctx context.Context, r *Run) error
	GetRun(ctx context.Context, id int64) (*Run, error)
	// ListRuns lists a registry's runs (of one task when taskName is set),
	// newest first, with ID below before (0: from the newest).
	ListRuns(ctx context.Context, registryID int64, taskName string, before int64, n int) ([]Run, error)
	// ClaimRun moves the oldest queued run to Running, leased to owner
	// until until; ErrNotFound when none is queued.
	ClaimRun(ctx context.Context, owner string, now, until time.Time) (*Run, error)
	// RenewRun extends owner's lease; it reports whether cancellation was
	// requested, and ErrNotFound when owner no longer holds the run.
	RenewRun(ctx context.Context, id int64, owner string, until time.Time) (cancel bool, err error)
	// FinishRun records a run's end (state, reason, output, log digest)
	// and its spec (which the caller has wiped of secret values).
	FinishRun(ctx context.Context, r *Run) error
	// StaleRuns lists running runs whose lease expired before now.
	StaleRuns(ctx context.Context, now time.Time) ([]Run, error)
	// RequestCancel marks a run for cancellation; a queued one ends Canceled at once.
	RequestCancel(ctx context.Context, id int64, reason string, at time.Time) error
}

// RunHistory expires finished runs and tells which blobs runs still use
// (their uploaded sources and finished logs).
type RunHistory interface {
	// RunsFinishedBefore lists up to n runs that finished before t (for expiry).
	RunsFinishedBefore(ctx context.Context, t time.Time, n int) ([]Run, error)
	DeleteRun(ctx context.Context, id int64) error
	// RunsUsingBlob counts runs whose source or log is the blob.
	RunsUsingBlob(ctx context.Context, digest string) (int, error)
}

// TaskSources records which registry uploaded each build context, so that
// a run builds only from its own registry's uploads.
type TaskSources interface {
	// RecordSource notes that the registry uploaded the recorded blob d as
	// a build context; recording it again is a no-op.
	RecordSource(ctx context.Context, registryID int64, d digest.Digest, at time.Time) error
	// SourceRecorded tells whether the registry uploaded d as a build context.
	SourceRecorded(ctx context.Context, registryID int64, d digest.Digest) (bool, error)
}

// RunLogs stores the log of a run in progress, in chunks (any node can
// follow it); the finished log moves to a blob.
type RunLogs interface {
	AppendRunLog(ctx context.Context, runID, seq int64, data []byte) error
	// RunLog returns the chunks after seq, in order.
	RunLog(ctx context.Context, runID, after int64) ([]RunLogChunk, error)
	DeleteRunLog(ctx context.Context, runID int64) error
}

// RunLogChunk is one piece of a log in progress.
type RunLogChunk struct {
	Seq  int64
	Data []byte
}
