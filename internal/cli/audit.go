package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read a registry's audit log (logins and repository operations)"}
	var reg, category string
	var after int64
	var top int
	list := &cobra.Command{
		Use:     "list",
		Short:   "List audit entries, oldest first",
		Example: "  acre audit list -r myreg --category login --top 20 -o table",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, err := g.auditPages(cmd, reg, category, after, top)
			if err != nil {
				return err
			}
			return g.print(cmd, entries)
		},
	}
	export := &cobra.Command{
		Use:     "export",
		Short:   "Write audit entries as JSON lines (for a log shipper)",
		Example: "  acre audit export -r myreg --after 1200 >> acre-audit.jsonl",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, err := g.auditPages(cmd, reg, category, after, top)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			for _, e := range entries {
				if err := enc.Encode(e); err != nil {
					return err
				}
			}
			return nil
		},
	}
	for _, c := range []*cobra.Command{list, export} {
		c.Flags().StringVarP(&reg, "registry", "r", "", "registry name")
		c.Flags().StringVar(&category, "category", "", "login or repository (default: both)")
		c.Flags().Int64Var(&after, "after", 0, "only entries with an id above this")
		c.Flags().IntVar(&top, "top", 0, "at most this many (0: all)")
		required(c, "registry")
	}
	cmd.AddCommand(list, export)
	return cmd
}

// auditPages reads audit entries page by page.
func (g *globals) auditPages(cmd *cobra.Command, reg, category string, after int64, top int) ([]map[string]any, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for {
		var page []map[string]any
		path := fmt.Sprintf("/api/v1/registries/%s/audit?n=500&after=%d&category=%s", pathEscape(reg), after, url.QueryEscape(category))
		if err := c.do(cmd.Context(), http.MethodGet, path, nil, &page); err != nil {
			return nil, err
		}
		for _, e := range page {
			if top > 0 && len(out) >= top {
				return out, nil
			}
			out = append(out, e)
			if id, ok := e["id"].(float64); ok {
				after = int64(id)
			}
		}
		if len(page) < 500 {
			return out, nil
		}
	}
}
