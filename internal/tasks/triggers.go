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
	return s.RunTask(ctx, reg, t, "Commit")
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
