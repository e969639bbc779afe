package cli

import (
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Configure registry policies"}
	ret := &cobra.Command{Use: "retention", Short: "The retention policy for untagged manifests (and acre's extra rules)"}
	var reg, status, typ, keepFilter string
	var days, keepTags, notPulled int
	show := &cobra.Command{
		Use:   "show",
		Short: "Show the retention policy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, http.MethodGet, "/api/v1/registries/"+pathEscape(reg)+"/retention", nil)
		},
	}
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
		Example: `  acre purge --registry myreg --filter 'api:.*' --filter 'web:^dev-' --ago 30d --untagged --keep 5 --dry-run
  acre purge --registry myreg --filter '.*:.*' --ago 90d --untagged --schedule '0 1 * * *' --name nightly`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
			return g.call(cmd, http.MethodPost, "/api/v1/registries/"+pathEscape(reg)+"/purge", opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&reg, "registry", "r", "", "registry name")
	f.StringArrayVar(&filters, "filter", nil, "repoRegex:tagRegex (repeatable)")
	f.StringVar(&ago, "ago", "", "only tags last updated longer ago than this: [N]d plus a Go duration, e.g. 2d3h6m")
	f.BoolVar(&untagged, "untagged", false, "also delete manifests left without tags")
	f.IntVar(&keep, "keep", 0, "keep the newest N of the tags that would go")
	f.BoolVar(&dry, "dry-run", false, "list what would be deleted, delete nothing")
	f.BoolVar(&locked, "include-locked", false, "unlock and delete locked tags and manifests too")
	f.IntVar(&conc, "concurrency", 4, "repositories purged at once (1-32)")
	f.StringVar(&notPulled, "not-pulled-for", "", "only tags not pulled for this long, e.g. 90d")
	f.IntVar(&timeout, "filter-timeout-seconds", 60, "how long the filters may take")
	f.StringVar(&schedule, "schedule", "", "run on this cron schedule (UTC) instead of now")
	f.StringVar(&name, "name", "", "the scheduled purge's name (with --schedule)")
	required(cmd, "registry")

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
