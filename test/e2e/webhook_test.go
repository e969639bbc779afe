//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiverEnv makes the test binary a webhook receiver (see runReceiver).
const receiverEnv = "ACRE_E2E_WEBHOOK_RECEIVER"

// runReceiver serves as a separate webhook receiver process: it listens on
// the address in $ACRE_E2E_WEBHOOK_RECEIVER and appends each body it is
// sent, as one JSON line, to the file named by $ACRE_E2E_WEBHOOK_OUT.
func runReceiver() int {
	out, err := os.OpenFile(os.Getenv("ACRE_E2E_WEBHOOK_OUT"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var mu sync.Mutex
	err = http.ListenAndServe(os.Getenv(receiverEnv), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		_, _ = out.Write(append(bytes.ReplaceAll(b, []byte("\n"), nil), '\n'))
	}))
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// startReceiver starts the receiver process on addr and stops it at the end.
func startReceiver(t *testing.T, addr, out string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), receiverEnv+"="+addr, "ACRE_E2E_WEBHOOK_OUT="+out)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return cmd
		}
	}
	t.Fatal("receiver did not start")
	return nil
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestWebhooksSurviveKills pushes from several clients while the server is
// killed with SIGKILL again and again, with the receiver (a separate
// process) down at first, and then finds every acknowledged push delivered.
func TestWebhooksSurviveKills(t *testing.T) {
	data := t.TempDir()
	recvAddr, recvOut := freeAddr(t), filepath.Join(t.TempDir(), "received.jsonl")

	// The receiver listens on loopback, which deliveries may reach only when allowed.
	cfg := mustWriteFile(t, filepath.Join(t.TempDir(), "acre.yaml"), []byte("webhooks: {allow: [\""+recvAddr+"\"]}\n"))
	a := StartAcre(t, data, "--config", cfg)
	body, _ := json.Marshal(map[string]any{"name": "deploy", "serviceUri": "http://" + recvAddr + "/hook", "actions": []string{"push"}})
	req, _ := http.NewRequest(http.MethodPost, a.URL("/api/v1/registries/acre/webhooks"), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create webhook: %v %v", resp, err)
	}
	resp.Body.Close()

	acked := map[string]bool{} // repo:tag
	for round := range 4 {
		if round > 0 {
			a = StartAcre(t, data, "--config", cfg)
		}
		if round == 2 {
			startReceiver(t, recvAddr, recvOut) // down for the first rounds
		}
		for _, img := range (killLoad{
			clients: []*pushClient{newPushClient(a)},
			writers: 4,
			image: func(w, i int) testImage {
				return randomImage(fmt.Sprintf("hooked/w%d", w), fmt.Sprintf("r%d-%d", round, i), 1, 4096)
			},
			before: 4,
			kill:   a.Kill,
		}.run(t)) {
			acked[img.Repo+":"+img.Tag] = true
		}
	}
	a = StartAcre(t, data, "--config", cfg)
	t.Logf("%d acknowledged pushes; waiting for their events", len(acked))

	deadline := time.Now().Add(loadDeadline)
	var missing []string
	for {
		seen, ids := readReceived(t, recvOut)
		missing = missing[:0]
		for k := range acked {
			if !seen[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			t.Logf("all delivered: %d deliveries, %d distinct event ids", ids.total, ids.distinct)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged pushes never delivered, e.g. %v", len(missing), len(acked), missing[:min(5, len(missing))])
		}
		time.Sleep(250 * time.Millisecond)
	}
}

type idCount struct{ total, distinct int }

func readReceived(t *testing.T, path string) (map[string]bool, idCount) {
	seen := map[string]bool{}
	ids := map[string]bool{}
	var c idCount
	f, err := os.Open(path)
	if err != nil {
		return seen, c
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			ID     string
			Action string
			Target struct{ Repository, Tag string }
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil || !strings.EqualFold(e.Action, "push") {
			continue
		}
		c.total++
		ids[e.ID] = true
		seen[e.Target.Repository+":"+e.Target.Tag] = true
	}
	c.distinct = len(ids)
	return seen, c
}
