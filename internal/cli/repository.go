package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// orderby maps az's --orderby values to the API's.
func orderby(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "none":
		return "", nil
	case "time_desc", "timedesc":
		return "timedesc", nil
	case "time_asc", "timeasc":
		return "timeasc", nil
	}
	return "", usageError{fmt.Errorf("--orderby must be time_desc or time_asc")}
}

func newRepositoryCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "repository", Short: "Manage repositories, tags and manifests of a registry"}
	var reg, repo, image, order string
	var top int
	var detail, yes bool
	var write, del, read, list string

	listCmd := &cobra.Command{
		Use:   "list",
		Short: "List repositories",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := g.dataPlane(cmd.Context(), reg)
			if err != nil {
				return err
			}
			names, err := collect[string](cmd.Context(), d, "/acr/v1/_catalog?n=100", "registry:catalog:*", "repositories", top)
			if err != nil {
				return err
			}
			return g.print(cmd, names)
		},
	}
	listCmd.Flags().IntVar(&top, "top", 0, "at most this many")

	// listRepo lists a repository's _tags or _manifests, shaping each item.
	listRepo := func(cmd *cobra.Command, noun string, shape func(item map[string]any) any) error {
		o, err := orderby(order)
		if err != nil {
			return err
		}
		d, err := g.dataPlane(cmd.Context(), reg)
		if err != nil {
			return err
		}
		path := "/acr/v1/" + url.PathEscape(repo) + "/_" + noun + "?n=100&orderby=" + o
		items, err := collect[map[string]any](cmd.Context(), d, path, "repository:"+repo+":metadata_read", noun, top)
		if err != nil {
			return err
		}
		out := make([]any, 0, len(items))
		for _, item := range items {
			out = append(out, shape(item))
		}
		return g.print(cmd, out)
	}
	showTags := &cobra.Command{
		Use:     "show-tags",
		Short:   "List a repository's tags",
		Example: "  acre repository show-tags -n myreg --repository app --orderby time_desc --top 5 --detail",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listRepo(cmd, "tags", func(t map[string]any) any {
				if detail {
					return t
				}
				return t["name"]
			})
		},
	}
	showManifests := &cobra.Command{
		Use:   "show-manifests",
		Short: "List a repository's manifests with their tags",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return listRepo(cmd, "manifests", func(m map[string]any) any {
				if detail {
					return m
				}
				return map[string]any{"digest": m["digest"], "tags": m["tags"], "timestamp": m["lastUpdateTime"]}
			})
		},
	}
	for _, c := range []*cobra.Command{showTags, showManifests} {
		c.Flags().StringVar(&repo, "repository", "", "repository name")
		c.Flags().StringVar(&order, "orderby", "", "time_desc or time_asc")
		c.Flags().IntVar(&top, "top", 0, "at most this many")
		c.Flags().BoolVar(&detail, "detail", false, "show every property")
		required(c, "repository")
	}

	show := &cobra.Command{
		Use:   "show",
		Short: "Show a repository's, tag's or manifest's properties (--image REPO means REPO:latest)",
		Example: `  acre repository show -n myreg --repository app
  acre repository show -n myreg --image app:1.0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.attributes(cmd, reg, repo, image, nil)
		},
	}
	show.Flags().BoolVar(&detail, "detail", false, "accepted as az has it (every property is shown)")
	update := &cobra.Command{
		Use:     "update",
		Short:   "Lock or unlock a repository, tag or manifest",
		Example: "  acre repository update -n myreg --image app:1.0 --write-enabled false --delete-enabled false",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			patch, err := attributePatch(map[string]string{"writeEnabled": write, "deleteEnabled": del, "readEnabled": read, "listEnabled": list})
			if err != nil {
				return err
			}
			if len(patch) == 0 {
				return usageError{fmt.Errorf("give at least one of --write-enabled, --delete-enabled, --read-enabled, --list-enabled")}
			}
			return g.attributes(cmd, reg, repo, image, patch)
		},
	}
	update.Flags().StringVar(&write, "write-enabled", "", "true or false")
	update.Flags().StringVar(&del, "delete-enabled", "", "true or false")
	update.Flags().StringVar(&read, "read-enabled", "", "true or false")
	update.Flags().StringVar(&list, "list-enabled", "", "true or false")

	untag := &cobra.Command{
		Use:   "untag",
		Short: "Remove a tag; the manifest stays",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, tag, _, err := splitImage(image)
			if err != nil || tag == "" {
				return usageError{fmt.Errorf("--image: want REPOSITORY:TAG")}
			}
			d, err := g.dataPlane(cmd.Context(), reg)
			if err != nil {
				return err
			}
			_, err = d.do(cmd.Context(), http.MethodDelete, "/acr/v1/"+url.PathEscape(r)+"/_tags/"+url.PathEscape(tag), "repository:"+r+":delete", nil, nil)
			return err
		},
	}
	deleteCmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a repository, or an image (the manifest and every tag of it)",
		Example: `  acre repository delete -n myreg --image app:1.0 --yes
  acre repository delete -n myreg --repository app --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ok, err := confirm(cmd, yes, "This operation will delete the content for good. Are you sure you want to continue?"); !ok {
				return err
			}
			d, err := g.dataPlane(cmd.Context(), reg)
			if err != nil {
				return err
			}
			if image == "" {
				if repo == "" {
					return usageError{fmt.Errorf("give --repository or --image")}
				}
				var out any
				_, err := d.do(cmd.Context(), http.MethodDelete, "/acr/v1/"+url.PathEscape(repo), "repository:"+repo+":delete", nil, &out)
				if err != nil {
					return err
				}
				return g.print(cmd, out)
			}
			r, tag, dg, err := splitImage(image)
			if err != nil {
				return err
			}
			if tag != "" {
				var t struct {
					Tag struct{ Digest string }
				}
				if _, err := d.do(cmd.Context(), http.MethodGet, "/acr/v1/"+url.PathEscape(r)+"/_tags/"+url.PathEscape(tag), "repository:"+r+":metadata_read", nil, &t); err != nil {
					return err
				}
				dg = t.Tag.Digest
			}
			_, err = d.do(cmd.Context(), http.MethodDelete, "/v2/"+r+"/manifests/"+dg, "repository:"+r+":delete", nil, nil)
			return err
		},
	}
	deleteCmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	for _, c := range []*cobra.Command{show, update, untag, deleteCmd} {
		c.Flags().StringVar(&image, "image", "", "REPOSITORY:TAG or REPOSITORY@DIGEST")
		if c != untag {
			c.Flags().StringVar(&repo, "repository", "", "repository name")
		}
	}
	for _, c := range []*cobra.Command{listCmd, showTags, showManifests, show, update, untag, deleteCmd} {
		c.Flags().StringVarP(&reg, "name", "n", "", "registry name")
		required(c, "name")
	}
	cmd.AddCommand(listCmd, showTags, showManifests, show, update, untag, deleteCmd)
	return cmd
}

// attributes shows (patch nil) or changes the properties of a repository
// (repo), or of a tag or a manifest (image, REPO[:TAG] or REPO@DIGEST),
// and prints the object itself, not the answer's wrapper, as az does.
func (g *globals) attributes(cmd *cobra.Command, reg, repo, image string, patch map[string]bool) error {
	var path, index string
	switch {
	case image != "" && repo != "":
		return usageError{fmt.Errorf("give --repository or --image, not both")}
	case image != "":
		r, tag, dg, err := splitImage(image)
		if err != nil {
			return err
		}
		repo, path, index = r, "/acr/v1/"+url.PathEscape(r)+"/_tags/"+url.PathEscape(tag), "tag"
		if dg != "" {
			path, index = "/acr/v1/"+url.PathEscape(r)+"/_manifests/"+dg, "manifest"
		}
	case repo != "":
		path = "/acr/v1/" + url.PathEscape(repo)
	default:
		return usageError{fmt.Errorf("give --repository or --image")}
	}
	d, err := g.dataPlane(cmd.Context(), reg)
	if err != nil {
		return err
	}
	method, scope := http.MethodGet, "repository:"+repo+":metadata_read"
	if patch != nil {
		method, scope = http.MethodPatch, "repository:"+repo+":metadata_write"
	}
	var out map[string]any
	if _, err := d.do(cmd.Context(), method, path, scope, patch, &out); err != nil {
		return err
	}
	if inner, ok := out[index]; ok && index != "" {
		return g.print(cmd, inner)
	}
	return g.print(cmd, out)
}
