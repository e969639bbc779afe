package tasks

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/meta"
)

// ErrDenied is returned when a trigger's credentials are wrong.
var ErrDenied = errors.New("denied")

// CommitWebhook handles a push event (GitHub or Gitea shape) for a task's
// commit trigger. The caller proves itself with the task's webhook token,
// or a X-Hub-Signature-256 / X-Gitea-Signature HMAC of the body keyed with
// it. A push to another branch is ignored (nil run).
func (s *Service) CommitWebhook(ctx context.Context, reg *meta.Registry, name, token string, hdr http.Header, body []byte) (*meta.Run, error) {
	t, err := s.GetTask(ctx, reg, name)
	if err != nil {
		return nil, ErrDenied // no oracle for task names
	}
	if !webhookAuthentic(t.Spec.WebhookSecret, token, hdr, body) || !t.Spec.CommitTrigger {
		return nil, ErrDenied
	}
	var ev struct {
		Ref   string `json:"ref"`
		After string `json:"after"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, invalid("push event: %v", err)
	}
	_, branch, _ := SplitGitURL(t.Spec.Context)
	if !t.Spec.Enabled || !strings.HasPrefix(ev.Ref, "refs/heads/") || (branch != "" && ev.Ref != "refs/heads/"+branch) {
		return nil, nil
	}
	var run *meta.Run
	err = s.o.Meta.Tx(ctx, func(q Store) error {
		// The polling trigger need not run this head again.
		if ev.After != "" {
			t.Spec.LastCommit = ev.After
			b, err := s.encodeTaskSpec(t.Spec)
			if err != nil {
				return err
			}
			t.Task.Spec, t.Task.UpdatedAt = b, time.Now().UTC()
			if err := q.PutTask(ctx, &t.Task); err != nil {
				return err
			}
		}
		run, err = s.newRun(ctx, q, reg.ID, t.ID, t.Name, "Commit", t.Spec.runSpec())
		return err
	})
	if err != nil {
		return nil, err
	}
	s.Kick()
	return run, nil
}

func webhookAuthentic(secret, token string, hdr http.Header, body []byte) bool {
	if secret == "" {
		return false
	}
	if token != "" {
		return subtle.ConstantTimeCompare([]byte(token), []byte(secret)) == 1
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	for _, h := range []string{"X-Hub-Signature-256", "X-Gitea-Signature"} {
		if got := strings.TrimPrefix(hdr.Get(h), "sha256="); got != "" {
			return hmac.Equal([]byte(got), []byte(want))
		}
	}
	return false
}

// pollCommits looks (git ls-remote) for a new head of the git context of
// each enabled task with a commit trigger, and queues a run when it moved.
// The head seen is kept in the task, set by compare-and-set on the task's
// update time, so with several nodes each new head runs once. The first
// look only records the head.
func (s *Service) pollCommits(ctx context.Context) {
	mts, err := s.o.Meta.Read().ListTasks(ctx, 0)
	if err != nil {
		return
	}
	for i := range mts {
		t, err := s.decodeTask(&mts[i])
		if err != nil || !t.Spec.Enabled || !t.Spec.CommitTrigger || !IsGitURL(t.Spec.Context) {
			continue
		}
		repo, ref, _ := SplitGitURL(t.Spec.Context)
		head, err := gitHead(ctx, repo, ref, t.Spec.GitToken, s.o.GitProxy)
		if err != nil || head == "" || head == t.Spec.LastCommit {
			continue
		}
		queued := false
		err = s.o.Meta.Tx(ctx, func(q Store) error {
			cur, err := q.GetTaskByID(ctx, t.ID)
			if err != nil || !cur.UpdatedAt.Equal(t.UpdatedAt) {
				return err // changed meanwhile: the next poll looks again
			}
			first := t.Spec.LastCommit == ""
			t.Spec.LastCommit = head
			if cur.Spec, err = s.encodeTaskSpec(t.Spec); err != nil {
				return err
			}
			cur.UpdatedAt = time.Now().UTC()
			if err := q.PutTask(ctx, cur); err != nil || first {
				return err
			}
			queued = true
			_, err = s.newRun(ctx, q, cur.RegistryID, cur.ID, cur.Name, "Commit", t.Spec.runSpec())
			return err
		})
		if err != nil && ctx.Err() == nil {
			s.o.Log.Warn("commit poll", "task", t.Name, "err", err)
		}
		if err == nil && queued {
			s.Kick()
		}
	}
}
