package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/cron"
	"github.com/acre-project/acre/internal/meta"
)

// TaskSpec is a saved task: what it runs and what triggers it. It is
// stored as JSON in the task's row.
type TaskSpec struct {
	Context          string            `json:"context"`
	File             string            `json:"file,omitempty"` // a Dockerfile, or a task YAML (.yaml/.yml)
	Cmd              string            `json:"cmd,omitempty"`  // a single command step instead
	Images           []string          `json:"images,omitempty"`
	Schedules        []string          `json:"schedules,omitempty"`
	CommitTrigger    bool              `json:"commitTrigger"`
	BaseImageTrigger bool              `json:"baseImageTrigger"`
	Identity         string            `json:"identity"`
	AuthMode         string            `json:"authMode,omitempty"`
	GitToken         string            `json:"gitToken,omitempty"` // secret
	BuildArgs        map[string]string `json:"buildArgs,omitempty"`
	SecretArgs       map[string]string `json:"secretArgs,omitempty"`   // secret
	SecretValues     map[string]string `json:"secretValues,omitempty"` // secret
	Values           map[string]string `json:"values,omitempty"`
	Platform         string            `json:"platform,omitempty"`
	Timeout          int               `json:"timeout,omitempty"`
	NoPush           bool              `json:"noPush,omitempty"`
	HostNetwork      bool              `json:"hostNetwork,omitempty"`
	Enabled          bool              `json:"enabled"`
	WebhookSecret    string            `json:"webhookSecret,omitempty"` // secret: authenticates the commit webhook
	LastCommit       string            `json:"lastCommit,omitempty"`    // the head last built (commit polling)
	// Credentials log in to other registries (by login server) for base images.
	Credentials map[string]RegistryCredential `json:"credentials,omitempty"` // secret
}

// TaskInput is a task as created or updated: absent fields keep their value.
type TaskInput struct {
	Name             string             `json:"name"`
	Context          *string            `json:"context"`
	File             *string            `json:"file"`
	Cmd              *string            `json:"cmd"`
	Images           *[]string          `json:"images"`
	Schedules        *[]string          `json:"schedules"`
	CommitTrigger    *bool              `json:"commitTrigger"`
	BaseImageTrigger *bool              `json:"baseImageTrigger"`
	Identity         *string            `json:"identity"`
	AuthMode         *string            `json:"authMode"`
	GitToken         *string            `json:"gitToken"`
	BuildArgs        *map[string]string `json:"buildArgs"`
	SecretArgs       *map[string]string `json:"secretArgs"`
	SecretValues     *map[string]string `json:"secretValues"`
	Values           *map[string]string `json:"values"`
	Platform         *string            `json:"platform"`
	Timeout          *int               `json:"timeout"`
	NoPush           *bool              `json:"noPush"`
	HostNetwork      *bool              `json:"hostNetwork"`
	Status           *string            `json:"status"`
}

func (in TaskInput) apply(sp *TaskSpec) error {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&sp.Context, in.Context)
	set(&sp.File, in.File)
	set(&sp.Cmd, in.Cmd)
	set(&sp.Identity, in.Identity)
	set(&sp.AuthMode, in.AuthMode)
	set(&sp.GitToken, in.GitToken)
	set(&sp.Platform, in.Platform)
	for _, p := range []struct {
		dst *[]string
		v   *[]string
	}{{&sp.Images, in.Images}, {&sp.Schedules, in.Schedules}} {
		if p.v != nil {
			*p.dst = *p.v
		}
	}
	for _, p := range []struct {
		dst *map[string]string
		v   *map[string]string
	}{{&sp.BuildArgs, in.BuildArgs}, {&sp.SecretArgs, in.SecretArgs}, {&sp.Values, in.Values},
		{&sp.SecretValues, in.SecretValues}} {
		if p.v != nil {
			*p.dst = *p.v
		}
	}
	for _, p := range []struct {
		dst *bool
		v   *bool
	}{{&sp.CommitTrigger, in.CommitTrigger}, {&sp.BaseImageTrigger, in.BaseImageTrigger}, {&sp.NoPush, in.NoPush},
		{&sp.HostNetwork, in.HostNetwork}} {
		if p.v != nil {
			*p.dst = *p.v
		}
	}
	if in.Timeout != nil {
		sp.Timeout = *in.Timeout
	}
	if in.Status != nil {
		switch strings.ToLower(*in.Status) {
		case "enabled":
			sp.Enabled = true
		case "disabled":
			sp.Enabled = false
		default:
			return invalid("status %q: use Enabled or Disabled", *in.Status)
		}
	}
	switch strings.ToLower(sp.AuthMode) {
	case "", "default", "none":
	default:
		return invalid("auth mode %q: use Default or None", sp.AuthMode)
	}
	for _, c := range sp.Schedules {
		if _, err := cron.Parse(c); err != nil {
			return invalid("schedule %q: %v", c, err)
		}
	}
	if sp.CommitTrigger && !IsGitURL(sp.Context) {
		return invalid("a commit trigger needs a git context")
	}
	return nil
}

// runSpec is what a run of the task does.
func (sp TaskSpec) runSpec() RunSpec {
	rs := RunSpec{Kind: KindBuild, Identity: sp.Identity, Context: sp.Context, GitToken: sp.GitToken, Dockerfile: sp.File,
		Images: sp.Images, NoPush: sp.NoPush, BuildArgs: sp.BuildArgs, SecretArgs: sp.SecretArgs, SecretValues: sp.SecretValues, Platform: sp.Platform,
		Timeout: sp.Timeout, HostNetwork: sp.HostNetwork, Values: sp.Values, Credentials: sp.Credentials}
	switch {
	case sp.Cmd != "":
		rs.Kind, rs.Dockerfile, rs.YAML = KindSteps, "", "steps:\n  - cmd: "+yamlQuote(sp.Cmd)+"\n"
	case strings.HasSuffix(sp.File, ".yaml") || strings.HasSuffix(sp.File, ".yml"):
		rs.Kind, rs.Dockerfile, rs.File = KindSteps, "", sp.File
	}
	return rs
}

func yamlQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// nextTimer is the earliest next firing of the task's schedules after t.
func (sp TaskSpec) nextTimer(t time.Time) time.Time {
	var next time.Time
	for _, c := range sp.Schedules {
		s, err := cron.Parse(c)
		if err != nil {
			continue
		}
		if n := s.Next(t); next.IsZero() || n.Before(next) {
			next = n
		}
	}
	return next
}

// Task is a task with its decoded spec.
type Task struct {
	meta.Task
	Spec TaskSpec
}

// CreateTask saves a new task; creator is its identity unless the input names one.
func (s *Service) CreateTask(ctx context.Context, reg *meta.Registry, creator string, in TaskInput) (*Task, error) {
	if err := validTaskName(in.Name); err != nil {
		return nil, err
	}
	sp := TaskSpec{Identity: creator, Enabled: true, WebhookSecret: newSecret()}
	if err := in.apply(&sp); err != nil {
		return nil, err
	}
	if err := s.checkTask(ctx, sp); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	t := &meta.Task{RegistryID: reg.ID, Name: in.Name, Enabled: sp.Enabled, CreatedAt: now, UpdatedAt: now,
		NextTimerAt: sp.nextTimer(now)}
	var err error
	if t.Spec, err = s.encodeTaskSpec(sp); err != nil {
		return nil, err
	}
	err = s.o.Meta.Tx(ctx, func(q Store) error { return q.PutTask(ctx, t) })
	if errors.Is(err, meta.ErrConflict) {
		return nil, invalid("a task named %q exists", in.Name)
	}
	if err != nil {
		return nil, err
	}
	return &Task{Task: *t, Spec: sp}, nil
}

func (s *Service) checkTask(ctx context.Context, sp TaskSpec) error {
	rs := sp.runSpec()
	if sp.Context == "" {
		return invalid("a task needs a context (a git URL, a tarball URL, or /dev/null for cmd steps)")
	}
	return s.Validate(ctx, &rs)
}

func validTaskName(n string) error {
	if n == "" || len(n) > 50 {
		return invalid("task name: 1 to 50 letters, digits, - and _")
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return invalid("task name %q: use letters, digits, - and _", n)
		}
	}
	return nil
}

func newSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// UpdateTask changes a task.
func (s *Service) UpdateTask(ctx context.Context, reg *meta.Registry, name string, in TaskInput) (*Task, error) {
	var out *Task
	err := s.o.Meta.Tx(ctx, func(q Store) error {
		mt, err := q.GetTask(ctx, reg.ID, name)
		if err != nil {
			return err
		}
		t, err := s.decodeTask(mt)
		if err != nil {
			return err
		}
		if err := in.apply(&t.Spec); err != nil {
			return err
		}
		if err := s.checkTask(ctx, t.Spec); err != nil {
			return err
		}
		now := time.Now().UTC()
		t.Task.Enabled, t.Task.UpdatedAt, t.Task.NextTimerAt = t.Spec.Enabled, now, t.Spec.nextTimer(now)
		if t.Task.Spec, err = s.encodeTaskSpec(t.Spec); err != nil {
			return err
		}
		out = t
		return q.PutTask(ctx, &t.Task)
	})
	return out, err
}

// GetTask loads a task.
func (s *Service) GetTask(ctx context.Context, reg *meta.Registry, name string) (*Task, error) {
	mt, err := s.o.Meta.Read().GetTask(ctx, reg.ID, name)
	if err != nil {
		return nil, err
	}
	return s.decodeTask(mt)
}

// ListTasks lists a registry's tasks.
func (s *Service) ListTasks(ctx context.Context, reg *meta.Registry) ([]Task, error) {
	mts, err := s.o.Meta.Read().ListTasks(ctx, reg.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Task, 0, len(mts))
	for i := range mts {
		t, err := s.decodeTask(&mts[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, nil
}

// DeleteTask deletes a task (its runs stay in the history).
func (s *Service) DeleteTask(ctx context.Context, reg *meta.Registry, name string) error {
	return s.o.Meta.Tx(ctx, func(q Store) error {
		t, err := q.GetTask(ctx, reg.ID, name)
		if err != nil {
			return err
		}
		return q.DeleteTask(ctx, t.ID)
	})
}

// RunTask queues a run of the task.
func (s *Service) RunTask(ctx context.Context, reg *meta.Registry, t *Task, trigger string) (*meta.Run, error) {
	return s.Submit(ctx, reg, t.ID, t.Name, trigger, t.Spec.runSpec())
}

// TaskView is a task as the API shows it (ACR's task resource, flattened;
// secrets redacted).
type TaskView struct {
	Name       string            `json:"name"`
	Status     string            `json:"status"`
	Context    string            `json:"context"`
	File       string            `json:"file,omitempty"`
	Cmd        string            `json:"cmd,omitempty"`
	Images     []string          `json:"images,omitempty"`
	Identity   string            `json:"identity"`
	AuthMode   string            `json:"authMode,omitempty"`
	Platform   Platform          `json:"platform"`
	Timeout    int               `json:"timeout"`
	BuildArgs  map[string]string `json:"buildArgs,omitempty"`
	SecretArgs []string          `json:"secretArgs,omitempty"`
	// SecretValues are the names of the secret values (never their contents).
	SecretValues []string          `json:"secretValues,omitempty"`
	Values       map[string]string `json:"values,omitempty"`
	Triggers     TriggersView      `json:"trigger"`
	// Credentials are the custom registry logins (user names only).
	Credentials  map[string]CredentialView `json:"credentials,omitempty"`
	CreationDate time.Time                 `json:"creationDate"`
}

// TriggersView shows a task's triggers.
type TriggersView struct {
	Timers     []string `json:"timerTriggers,omitempty"`
	Commit     bool     `json:"sourceTriggerEnabled"`
	WebhookURL string   `json:"sourceTriggerWebhook,omitempty"` // path of the push webhook (with its token)
	BaseImage  bool     `json:"baseImageTriggerEnabled"`
	NextTimer  string   `json:"nextTimer,omitempty"`
	LastCommit string   `json:"lastCommit,omitempty"` // the head the commit trigger last saw
}

// ViewTask returns the API view of a task; with secrets, the commit
// webhook's URL (which holds its token) is included.
func (s *Service) ViewTask(reg *meta.Registry, t *Task, withSecrets bool) TaskView {
	sp := t.Spec
	v := TaskView{Name: t.Name, Status: "Disabled", Context: sp.Context, File: sp.File, Cmd: sp.Cmd, Images: sp.Images,
		Identity: sp.Identity, AuthMode: sp.AuthMode, Timeout: int(RunSpec{Timeout: sp.Timeout}.timeout().Seconds()),
		BuildArgs: sp.BuildArgs, Values: sp.Values, CreationDate: t.CreatedAt,
		Triggers: TriggersView{Timers: sp.Schedules, Commit: sp.CommitTrigger, BaseImage: sp.BaseImageTrigger,
			LastCommit: sp.LastCommit}}
	if sp.Enabled {
		v.Status = "Enabled"
	}
	plat := sp.Platform
	if plat == "" {
		plat = s.o.Platform
	}
	v.Platform.OS, v.Platform.Architecture = splitPlatform(plat)
	v.SecretArgs, v.SecretValues = sortedKeys(sp.SecretArgs), sortedKeys(sp.SecretValues)
	if len(sp.Credentials) > 0 {
		v.Credentials = credentialViews(sp.Credentials)
	}
	if !t.NextTimerAt.IsZero() {
		v.Triggers.NextTimer = t.NextTimerAt.Format(time.RFC3339)
	}
	if sp.CommitTrigger && withSecrets {
		v.Triggers.WebhookURL = "/api/v1/registries/" + reg.Name + "/tasks/" + t.Name + "/webhook?token=" + sp.WebhookSecret
	}
	return v
}
