package cli

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// taskFlags are the settable fields of a task.
type taskFlags struct {
	context, file, identity, authMode, gitToken, platform, status, cmdLine string
	images, schedules, buildArgs, secretArgs, set, setSecret               []string
	commitTrigger, baseTrigger, hostNetwork, noPush                        bool
	timeout                                                                int
}

func (f *taskFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.context, "context", "c", "", "git URL (https://host/org/repo.git#branch:folder), tarball URL, or /dev/null")
	fl.StringVarP(&f.file, "file", "f", "", "the Dockerfile, or a task YAML (.yaml/.yml), relative to the context")
	fl.StringArrayVarP(&f.images, "image", "t", nil, "image to build and push, e.g. app:{{.Run.ID}} (repeatable)")
	fl.StringArrayVar(&f.schedules, "schedule", nil, "timer trigger: a cron expression (repeatable)")
	fl.BoolVar(&f.commitTrigger, "commit-trigger-enabled", false, "run on pushes to the context's repository (webhook, or polling)")
	fl.BoolVar(&f.baseTrigger, "base-image-trigger-enabled", false, "run when a base image of the last run moves")
	fl.StringVar(&f.identity, "assign-identity", "", "the identity the task pulls and pushes as (needs AcrPush); default: its creator")
	fl.StringVar(&f.authMode, "auth-mode", "", "Default (the task's identity logs in to the registry) or None")
	fl.StringVar(&f.gitToken, "git-access-token", "", "token for a private git repository")
	fl.StringArrayVar(&f.buildArgs, "arg", nil, "build argument KEY=VALUE (repeatable)")
	fl.StringArrayVar(&f.secretArgs, "secret-arg", nil, "secret build argument KEY=VALUE (repeatable)")
	fl.StringArrayVar(&f.set, "set", nil, "value KEY=VALUE for {{.Values.KEY}} (repeatable)")
	fl.StringArrayVar(&f.setSecret, "set-secret", nil, "secret value KEY=VALUE for {{.Values.KEY}}, never shown (repeatable)")
	fl.StringVar(&f.cmdLine, "cmd", "", "a single command to run in a container (instead of a Dockerfile or YAML)")
	fl.StringVar(&f.platform, "platform", "", "platform (only the server's own)")
	fl.StringVar(&f.status, "status", "", "Enabled or Disabled")
	fl.IntVar(&f.timeout, "timeout", 0, "run timeout in seconds (default 3600)")
	fl.BoolVar(&f.hostNetwork, "allow-host-network", false, "RUN steps use the host's network (if the server allows it)")
	fl.BoolVar(&f.noPush, "no-push", false, "build without pushing")
}

// body builds the request from the flags that were set.
func (f *taskFlags) body(cmd *cobra.Command) (map[string]any, error) {
	b := map[string]any{}
	fl := cmd.Flags()
	set := func(flag, key string, v any) {
		if fl.Changed(flag) {
			b[key] = v
		}
	}
	set("context", "context", f.context)
	set("file", "file", f.file)
	set("image", "images", f.images)
	set("schedule", "schedules", f.schedules)
	set("commit-trigger-enabled", "commitTrigger", f.commitTrigger)
	set("base-image-trigger-enabled", "baseImageTrigger", f.baseTrigger)
	set("assign-identity", "identity", f.identity)
	set("auth-mode", "authMode", f.authMode)
	set("git-access-token", "gitToken", f.gitToken)
	set("cmd", "cmd", f.cmdLine)
	set("platform", "platform", f.platform)
	set("status", "status", f.status)
	set("timeout", "timeout", f.timeout)
	set("allow-host-network", "hostNetwork", f.hostNetwork)
	set("no-push", "noPush", f.noPush)
	for _, kv := range []struct {
		flag, key string
		vals      []string
	}{{"arg", "buildArgs", f.buildArgs}, {"secret-arg", "secretArgs", f.secretArgs}, {"set", "values", f.set},
		{"set-secret", "secretValues", f.setSecret}} {
		if fl.Changed(kv.flag) {
			m, err := parseKV(kv.flag, kv.vals)
			if err != nil {
				return nil, err
			}
			b[kv.key] = m
		}
	}
	return b, nil
}

func newTaskCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "task", Short: "Manage tasks (saved builds with triggers) and their runs"}
	var reg, name, runID string
	var f taskFlags
	var top int
	base := func() string { return "/api/v1/registries/" + pathEscape(reg) }
	one := func() string { return base() + "/tasks/" + pathEscape(name) }
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a task",
		Example: `  acre task create -r acre -n app --context https://git.example/org/app.git#main --file Dockerfile \
      --image app:{{.Run.ID}} --commit-trigger-enabled --base-image-trigger-enabled --schedule "0 3 * * *"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := f.body(cmd)
			if err != nil {
				return err
			}
			b["name"] = name
			return g.call(cmd, http.MethodPost, base()+"/tasks", b)
		},
	}
	f.add(create)
	update := &cobra.Command{Use: "update", Short: "Update a task", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		b, err := f.body(cmd)
		if err != nil {
			return err
		}
		return g.call(cmd, http.MethodPatch, one(), b)
	}}
	f.add(update)
	simple := g.simpleCmd
	list := simple("list", "List tasks", http.MethodGet, func() string { return base() + "/tasks" })
	show := simple("show", "Show a task (with its commit webhook URL)", http.MethodGet, one)
	del := simple("delete", "Delete a task", http.MethodDelete, one)
	var noLogs, noFollow bool
	run := &cobra.Command{Use: "run", Short: "Run a task now and stream its log", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			var rv runView
			if err := c.do(cmd.Context(), http.MethodPost, one()+"/run", map[string]any{}, &rv); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Queued a run with ID: %s\n", rv.RunID)
			if noLogs {
				return nil
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Waiting for an agent...")
			return g.followRun(cmd, c, base(), rv.RunID)
		}}
	run.Flags().BoolVar(&noLogs, "no-logs", false, "do not stream the log")
	listRuns := &cobra.Command{Use: "list-runs", Short: "List runs, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			path := fmt.Sprintf("%s/runs?top=%d", base(), top)
			if name != "" {
				path += "&task=" + pathEscape(name)
			}
			var runs []map[string]any
			if err := c.do(cmd.Context(), http.MethodGet, path, nil, &runs); err != nil {
				return err
			}
			if g.out.format == "table" && g.out.query == "" {
				return runsTable(cmd.OutOrStdout(), runs)
			}
			return g.out.print(cmd.OutOrStdout(), runs)
		}}
	listRuns.Flags().IntVar(&top, "top", 15, "how many runs")
	logs := &cobra.Command{Use: "logs", Short: "Show a run's log (following it while it runs)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if runID == "" {
				if name == "" {
					return usageError{fmt.Errorf("give --run-id, or --name for the task's last run")}
				}
				var runs []runView
				if err := c.do(cmd.Context(), http.MethodGet, base()+"/runs?top=1&task="+pathEscape(name), nil, &runs); err != nil {
					return err
				}
				if len(runs) == 0 {
					return fmt.Errorf("task %s has no runs", name)
				}
				runID = runs[0].RunID
			}
			if noFollow {
				return c.stream(cmd.Context(), base()+"/runs/"+pathEscape(runID)+"/logs", cmd.OutOrStdout())
			}
			return g.followRun(cmd, c, base(), runID)
		}}
	logs.Flags().BoolVar(&noFollow, "no-follow", false, "print the log so far and return")
	showRun := simple("show-run", "Show a run", http.MethodGet, func() string { return base() + "/runs/" + pathEscape(runID) })
	cancel := simple("cancel-run", "Cancel a queued or running run", http.MethodPost,
		func() string { return base() + "/runs/" + pathEscape(runID) + "/cancel" })
	for _, c := range []*cobra.Command{create, update, list, show, del, run, listRuns, logs, showRun, cancel} {
		c.Flags().StringVarP(&reg, "registry", "r", "", "registry name")
		required(c, "registry")
		switch c {
		case list, showRun, cancel:
		case listRuns, logs:
			c.Flags().StringVarP(&name, "name", "n", "", "task name")
		default:
			c.Flags().StringVarP(&name, "name", "n", "", "task name")
			required(c, "name")
		}
		switch c {
		case logs, showRun, cancel:
			c.Flags().StringVar(&runID, "run-id", "", "run ID (e.g. ca1)")
			if c != logs {
				required(c, "run-id")
			}
		}
	}
	cmd.AddCommand(create, update, list, show, del, run, listRuns, logs, showRun, cancel, newTaskCredentialCmd(g))
	return cmd
}

// runsTable prints runs as az acr task list-runs -o table does.
func runsTable(w io.Writer, runs []map[string]any) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	heads := []string{"RUN ID", "TASK", "PLATFORM", "STATUS", "TRIGGER", "STARTED", "DURATION"}
	fmt.Fprintln(tw, strings.Join(heads, "\t"))
	dashes := make([]string, len(heads))
	for i, h := range heads {
		dashes[i] = strings.Repeat("-", max(len(h), 8))
	}
	fmt.Fprintln(tw, strings.Join(dashes, "\t"))
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	for _, r := range runs {
		plat := ""
		if p, ok := r["platform"].(map[string]any); ok {
			plat = str(p, "os")
		}
		started, dur := "", ""
		if st, err := time.Parse(time.RFC3339Nano, str(r, "startTime")); err == nil {
			started = st.UTC().Format("2006-01-02T15:04:05Z")
			end := time.Now()
			if ft, err := time.Parse(time.RFC3339Nano, str(r, "finishTime")); err == nil {
				end = ft
			}
			d := end.Sub(st).Round(time.Second)
			dur = fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
		}
		fmt.Fprintln(tw, strings.Join([]string{str(r, "runId"), str(r, "task"), plat, str(r, "status"), str(r, "trigger"), started, dur}, "\t"))
	}
	return tw.Flush()
}

// simpleCmd is a command without arguments that sends one request without
// a body to path() and prints the answer.
func (g *globals) simpleCmd(use, short, method string, path func() string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		return g.call(cmd, method, path(), nil)
	}}
}
