package tasks

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Reap kills and deletes the runc containers a previous buildkitd under
// Root left running (acre was killed, and buildkitd with it, but the
// containers of its RUN steps live on), and unmounts their root
// filesystems. acre calls it at start and before starting a daemon.
func (b *BuildKit) Reap(ctx context.Context) {
	b.reap(ctx, b.Root)
}

func (b *BuildKit) reap(ctx context.Context, under string) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "runc", "list", "--format", "json").Output()
	if err != nil {
		return
	}
	var cs []struct {
		ID     string `json:"id"`
		Bundle string `json:"bundle"`
	}
	if json.Unmarshal(out, &cs) != nil {
		return
	}
	prefix := filepath.Clean(under) + string(filepath.Separator)
	for _, c := range cs {
		if !strings.HasPrefix(c.Bundle, prefix) {
			continue
		}
		_ = exec.CommandContext(ctx, "runc", "kill", "--all", c.ID, "KILL").Run()
		_ = exec.CommandContext(ctx, "runc", "delete", "--force", c.ID).Run()
		_ = syscall.Unmount(filepath.Join(c.Bundle, "rootfs"), syscall.MNT_DETACH)
		if b.Log != nil {
			b.Log.Warn("removed a build container left by a stopped buildkitd", "id", c.ID)
		}
	}
}
