package mgmt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/auth"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/webapps"
)

// appSSH opens a shell in the app's running instance: the request asks
// to upgrade the connection to "acre-exec"; after 101 Switching Protocols
// the connection carries the shell's input one way and its output the
// other, until the shell exits. It needs the write permission at server
// scope and is written to the audit log (category webapp).
func (h *Handler) appSSH(q *req, _ none) (written, error) {
	return written{}, h.shell(q.w, q.Request, q.caller)
}

func (h *Handler) shell(w http.ResponseWriter, r *http.Request, caller *meta.Principal) error {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "acre-exec") {
		return errorf(http.StatusBadRequest, "BadRequest", "use acre webapp ssh (a request with Upgrade: acre-exec)")
	}
	run, err := h.apps.Shell(r.Context(), r.PathValue("name"), caller.Name, auth.ClientIP(r))
	if errors.Is(err, webapps.ErrNotRunning) {
		return errorf(http.StatusConflict, "Conflict", "%v", err)
	}
	if err != nil {
		return err
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Time{})
	fmt.Fprint(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: acre-exec\r\n\r\n")
	if err := brw.Flush(); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 12*time.Hour)
	defer cancel()
	if err := run(ctx, brw.Reader, conn); err != nil {
		fmt.Fprintf(conn, "\nacre: the shell ended: %v\n", err)
	}
	return nil
}
