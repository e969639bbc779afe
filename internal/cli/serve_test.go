package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/config"
)

// TestPrintBootstrap checks that a generated password is shown on a
// terminal only; elsewhere the output names the file that holds it.
func TestPrintBootstrap(t *testing.T) {
	cfg := config.Default()
	cfg.Data = "/srv/acre"
	b := auth.BootstrapResult{Created: true, User: "owner", Password: "generated-secret"}
	for _, tt := range []struct {
		tty      bool
		shown    bool
		mentions string
	}{{true, true, "/srv/acre/bootstrap-owner.txt"}, {false, false, "/srv/acre/bootstrap-owner.txt"}} {
		var out bytes.Buffer
		printBootstrap(&out, tt.tty, cfg, b)
		if strings.Contains(out.String(), b.Password) != tt.shown || !strings.Contains(out.String(), tt.mentions) {
			t.Errorf("terminal=%v:\n%s", tt.tty, out.String())
		}
	}
}
