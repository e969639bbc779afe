package cli

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Configure registry policies"}
	ret := &cobra.Command{Use: "retention", Short: "The retention policy for untagged manifests (and acre's extra rules)"}
	var reg, status, typ, keepFilter string
	var days, keepTags, notPulled int
	show := g.simpleCmd("show", "Show the retention policy", http.MethodGet, func() string { return "/api/v1/registries/" + pathEscape(reg) + "/retention" })
	update := &cobra.Command{
		Use:   "update",
		Short: "Change the retention policy",
		Example: `  acre config retention update --registry myreg --status enabled --days 30 --type UntaggedManifests
  acre config retention update --registry myreg --keep-tags 10 --keep-tags-filter '^v' --not-pulled-days 180`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b := map[string]any{}
			f := cmd.Flags()
			if f.Changed("status") {
				switch status {
				case "enabled", "disabled":
					b["enabled"] = status == "enabled"
				default:
					return usageError{fmt.Errorf("--status must be enabled or disabled")}
				}
			}
			if f.Changed("days") {
				b["days"] = days
			}
			if f.Changed("type") {
				b["type"] = typ
			}
			if f.Changed("keep-tags") {
				b["keepTags"] = keepTags
			}
			if f.Changed("keep-tags-filter") {
				b["keepTagsFilter"] = keepFilter
			}
			if f.Changed("not-pulled-days") {
				b["notPulledDays"] = notPulled
			}
			return g.call(cmd, http.MethodPut, "/api/v1/registries/"+pathEscape(reg)+"/retention", b)
		},
	}
	f := update.Flags()
	f.StringVar(&status, "status", "", "enabled or disabled")
	f.IntVar(&days, "days", 7, "days after losing its last tag that an untagged manifest goes (0-365)")
	f.StringVar(&typ, "type", "UntaggedManifests", "policy type (UntaggedManifests)")
	f.IntVar(&keepTags, "keep-tags", 0, "keep only the newest N tags per repository (0: off)")
	f.StringVar(&keepFilter, "keep-tags-filter", "", "regular expression of the tags --keep-tags counts")
	f.IntVar(&notPulled, "not-pulled-days", 0, "delete tagged images not pulled for this many days (0: off)")
	for _, c := range []*cobra.Command{show, update} {
		c.Flags().StringVarP(&reg, "registry", "r", "", "registry name")
		required(c, "registry")
	}
	withTable("policy", show, update)
	ret.AddCommand(show, update)
	cmd.AddCommand(ret)
	return cmd
}

func newPurgeCmd(g *globals) *cobra.Command {
	var reg, ago, notPulled, schedule, name string
	var filters []string
	var untagged, dry, locked bool
	var keep, conc, timeout int
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Delete old tags and untagged manifests, as acr purge does (now, or on a schedule)",
		Long: `Deletes the tags the filters name that were last updated longer ago than --ago (and, with
--untagged, manifests left without tags), as acr purge does. Filters are
<repository regex>:<tag regex> in acr purge's syntax (github.com/dlclark/regexp2,
so lookahead works); the repository expression must match the whole name. Each
match stops after --filter-timeout-seconds. Without --output it prints acr
purge's text summary; with --output, the JSON result.`,
		Example: `  acre purge --registry myreg --filter 'api:.*' --filter 'web:^dev-' --ago 30d --untagged --keep 5 --dry-run
  acre purge --registry myreg --filter '.*:.*' --ago 90d --untagged --schedule '0 1 * * *' --name nightly`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if conc < 1 || conc > 32 {
				return usageError{fmt.Errorf("--concurrency must be between 1 and 32")}
			}
			opts := map[string]any{"filters": filters, "ago": ago, "untagged": untagged, "keep": keep, "dryRun": dry,
				"includeLocked": locked, "concurrency": conc, "notPulledFor": notPulled, "filterTimeout": timeout}
			if schedule != "" {
				if name == "" {
					return usageError{fmt.Errorf("--schedule needs --name")}
				}
				delete(opts, "dryRun")
				return g.call(cmd, http.MethodPut, "/api/v1/registries/"+pathEscape(reg)+"/purgeSchedules/"+pathEscape(name),
					map[string]any{"schedule": schedule, "options": opts})
			}
			if cmd.Flags().Changed("output") || g.out.query != "" {
				return g.call(cmd, http.MethodPost, "/api/v1/registries/"+pathEscape(reg)+"/purge", opts)
			}
			return purgeSummary(cmd, g, reg, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&reg, "registry", "r", "", "registry name")
	f.StringArrayVarP(&filters, "filter", "f", nil, "repoRegex:tagRegex (repeatable), in acr purge's syntax (regexp2: lookahead works)")
	f.StringVar(&ago, "ago", "", "only tags last updated longer ago than this: [N]d plus a Go duration, e.g. 2d3h6m, 0d for all")
	f.BoolVar(&untagged, "untagged", false, "also delete manifests left without tags")
	f.IntVar(&keep, "keep", 0, "keep the newest N of the tags that would go")
	f.BoolVar(&dry, "dry-run", false, "list what would be deleted, delete nothing")
	f.BoolVar(&locked, "include-locked", false, "unlock and delete locked tags and manifests too")
	f.IntVar(&conc, "concurrency", 4, "repositories purged at once (1-32)")
	f.StringVar(&notPulled, "not-pulled-for", "", "only tags not pulled for this long, e.g. 90d")
	f.IntVar(&timeout, "filter-timeout-seconds", 60, "how long the filters may take")
	f.StringVar(&schedule, "schedule", "", "run on this cron schedule (UTC) instead of now")
	f.StringVar(&name, "name", "", "the scheduled purge's name (with --schedule)")
	required(cmd, "registry", "filter", "ago")

	sched := &cobra.Command{Use: "schedule", Short: "Scheduled purges"}
	var sreg, sname string
	list := &cobra.Command{Use: "list", Short: "List scheduled purges", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodGet, "/api/v1/registries/"+pathEscape(sreg)+"/purgeSchedules", nil)
		}}
	del := &cobra.Command{Use: "delete", Short: "Delete a scheduled purge", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodDelete, "/api/v1/registries/"+pathEscape(sreg)+"/purgeSchedules/"+pathEscape(sname), nil)
		}}
	for _, c := range []*cobra.Command{list, del} {
		c.Flags().StringVarP(&sreg, "registry", "r", "", "registry name")
		required(c, "registry")
	}
	del.Flags().StringVarP(&sname, "name", "n", "", "schedule name")
	required(del, "name")
	sched.AddCommand(list, del)
	cmd.AddCommand(sched)
	return cmd
}

// purgeSummary runs a purge and prints acr purge's text summary.
func purgeSummary(cmd *cobra.Command, g *globals, reg string, opts map[string]any) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	var r struct {
		LoginServer string `json:"loginServer"`
	}
	if err := c.do(cmd.Context(), http.MethodGet, "/api/v1/registries/"+pathEscape(reg), nil, &r); err != nil {
		return err
	}
	type deletion struct{ Repository, Tag, Digest string }
	var res struct {
		DryRun    bool       `json:"dryRun"`
		Tags      []deletion `json:"tags"`
		Manifests []deletion `json:"manifests"`
	}
	if err := c.do(cmd.Context(), http.MethodPost, "/api/v1/registries/"+pathEscape(reg)+"/purge", opts, &res); err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	byRepo := func(ds []deletion) {
		sort.SliceStable(ds, func(i, j int) bool { return ds[i].Repository < ds[j].Repository })
	}
	byRepo(res.Tags)
	byRepo(res.Manifests)
	list := func(noun string, ds []deletion, ref func(deletion) string) {
		repo := ""
		for _, d := range ds {
			if d.Repository != repo {
				repo = d.Repository
				if res.DryRun {
					fmt.Fprintf(w, "%s for this repository would be deleted: %s\n", strings.ToUpper(noun[:1])+noun[1:], repo)
				} else {
					fmt.Fprintf(w, "Deleting %s for repository: %s\n", noun, repo)
				}
			}
			fmt.Fprintf(w, "%s/%s%s\n", r.LoginServer, d.Repository, ref(d))
		}
	}
	list("tags", res.Tags, func(d deletion) string { return ":" + d.Tag })
	list("manifests", res.Manifests, func(d deletion) string { return "@" + d.Digest })
	fmt.Fprintln(w)
	if res.DryRun {
		fmt.Fprintf(w, "Number of tags to be deleted: %d\nNumber of manifests to be deleted: %d\n", len(res.Tags), len(res.Manifests))
	} else {
		fmt.Fprintf(w, "Number of deleted tags: %d\nNumber of deleted manifests: %d\n", len(res.Tags), len(res.Manifests))
	}
	return nil
}
