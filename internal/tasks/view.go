package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// ErrInvalid marks a request the caller must fix.
var ErrInvalid = errors.New("invalid")

// invalidError is a message that wraps ErrInvalid without repeating it.
type invalidError struct{ msg string }

func (e invalidError) Error() string { return e.msg }
func (e invalidError) Unwrap() error { return ErrInvalid }

func invalid(format string, args ...any) error {
	return invalidError{fmt.Sprintf(format, args...)}
}

// RunView is a run as the API shows it (ACR's Run resource, flattened).
type RunView struct {
	RunID           string     `json:"runId"`
	Status          string     `json:"status"`
	RunType         string     `json:"runType"`
	Task            string     `json:"task,omitempty"`
	Trigger         string     `json:"trigger"`
	Platform        Platform   `json:"platform"`
	CreateTime      time.Time  `json:"createTime"`
	StartTime       *time.Time `json:"startTime,omitempty"`
	FinishTime      *time.Time `json:"finishTime,omitempty"`
	OutputImages    []ImageRef `json:"outputImages,omitempty"`
	RunErrorMessage string     `json:"runErrorMessage,omitempty"`
	Output          *RunOutput `json:"output,omitempty"`
	Spec            *RunSpec   `json:"spec,omitempty"`
}

// Platform is ACR's platform object.
type Platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
}

// View returns the API view of a run (secrets redacted).
func (s *Service) View(r *meta.Run) RunView {
	v := RunView{RunID: RunName(r.ID), Status: r.State, Task: r.TaskName, Trigger: r.Trigger, CreateTime: r.CreatedAt,
		RunErrorMessage: r.Reason}
	var spec RunSpec
	if json.Unmarshal(r.Spec, &spec) == nil {
		red := spec.Redacted()
		v.Spec = &red
	}
	switch {
	case r.TaskID != 0:
		v.RunType = "AutoRun"
	case spec.Kind == KindSteps:
		v.RunType = "QuickRun"
	default:
		v.RunType = "QuickBuild"
	}
	plat := spec.Platform
	if plat == "" {
		plat = s.o.Platform
	}
	v.Platform.OS, v.Platform.Architecture = splitPlatform(plat)
	if !r.StartedAt.IsZero() {
		t := r.StartedAt
		v.StartTime = &t
	}
	if !r.FinishedAt.IsZero() {
		t := r.FinishedAt
		v.FinishTime = &t
	}
	var out RunOutput
	if len(r.Output) > 0 && json.Unmarshal(r.Output, &out) == nil {
		v.OutputImages, v.Output = out.Images, &out
	}
	return v
}

func splitPlatform(p string) (string, string) {
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			return p[:i], p[i+1:]
		}
	}
	return p, ""
}
