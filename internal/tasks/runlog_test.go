package tasks

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/acre-project/acre/internal/meta"
)

// TestRunLogMasksSplitSecrets: a secret is masked wherever the writes cut
// it (one byte at a time, across flushes to the store), in a line longer
// than the log holds back (cut at the hold-back size), in its JSON-quoted
// form, and when added while the log runs; the chunks in the store and the
// final log never hold it.
func TestRunLogMasksSplitSecrets(t *testing.T) {
	const secret = `s3cr"t-value-that-is-long`
	s, m, reg := newTestService(t, nil)
	r, err := s.Submit(t.Context(), reg, 0, "", "Manual", RunSpec{Kind: KindBuild, Context: "/dev/null"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := newRunLog(meta.Within(s.o.Meta, func(q Store) meta.RunLogs { return q }), r.ID, t.TempDir(), []string{secret, "ab"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []byte("byte by byte: " + secret + "\n") {
		if _, err := l.Write([]byte{c}); err != nil {
			t.Fatal(err)
		}
		if err := l.flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A line longer than maxLine with the secret across the point where
	// the first piece is let through.
	for off := -len(secret); off <= 0; off += 7 {
		long := strings.Repeat("x", maxLine+1+off) + secret + strings.Repeat("y", 10)
		half := len(long) - 12
		_, _ = l.Write([]byte(long[:half]))
		_ = l.flush(ctx)
		_, _ = l.Write([]byte(long[half:] + "\n"))
	}
	_, _ = io.WriteString(l, `ENV TOKEN="s3cr\"t-value-that-is-long"`+"\n")
	l.mask("added-later-secret")
	_, _ = io.WriteString(l, "then added-later-secret and short ab stays\n")
	var chunks []byte
	_ = l.flush(ctx)
	cs, err := m.Read().RunLog(ctx, r.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		chunks = append(chunks, c.Data...)
	}
	spool, _, _, err := l.finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer spool.Close()
	final, _ := io.ReadAll(spool)
	for what, text := range map[string][]byte{"store chunks": chunks, "final log": final} {
		for _, leak := range []string{"t-value-that", `t-value-that`, "added-later"} {
			if bytes.Contains(text, []byte(leak)) {
				t.Errorf("%s: %q leaked", what, leak)
			}
		}
		if !bytes.Contains(text, []byte("byte by byte: *****")) || !bytes.Contains(text, []byte("ENV TOKEN=\"*****\"")) ||
			!bytes.Contains(text, []byte("short ab stays")) {
			t.Errorf("%s: not masked as expected (len %d): %.300q", what, len(text), text)
		}
	}
	if got := l.Redact("error: " + secret); got != "error: *****" {
		t.Errorf("Redact: %q", got)
	}
}
