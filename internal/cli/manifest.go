package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/spf13/cobra"
)

// manifestAccept lists the manifest types `acre manifest show` accepts.
const manifestAccept = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, " +
	"application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, " +
	"application/vnd.oci.artifact.manifest.v1+json"

// manifestSpec reads what a manifest command names, as az takes it: a
// positional fully qualified <login server>/<repo>[:tag|@digest] (the
// registry is the login server's first label), or -r REG -n REPO[:TAG].
func manifestSpec(args []string, reg, name string) (registry, spec string, err error) {
	switch {
	case len(args) == 1 && name == "":
		fq := strings.TrimPrefix(args[0], "https://")
		host, rest, ok := strings.Cut(fq, "/")
		if !ok || rest == "" || !strings.Contains(host, ".") {
			return "", "", usageError{fmt.Errorf("%q: want a fully qualified name such as myreg.example.com/hello-world:latest", args[0])}
		}
		registry, _, _ = strings.Cut(host, ".")
		return registry, rest, nil
	case len(args) == 0 && reg != "" && name != "":
		return reg, name, nil
	}
	return "", "", usageError{fmt.Errorf("give a fully qualified name such as myreg.example.com/hello-world:latest, or -r MyRegistry -n hello-world:latest")}
}

func newManifestCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "manifest", Short: "Manage manifests: show them, their metadata and referrers, delete them"}
	var reg, name, order, artifactType string
	var top int
	var raw, yes, recursive bool
	var write, del, read, list string
	// resolve names the repository and the manifest's digest (a tag resolved).
	resolve := func(cmd *cobra.Command, args []string) (*dataPlane, string, string, error) {
		r, spec, err := manifestSpec(args, reg, name)
		if err != nil {
			return nil, "", "", err
		}
		repo, tag, dg, err := splitImage(spec)
		if err != nil {
			return nil, "", "", err
		}
		d, err := g.dataPlane(cmd.Context(), r)
		if err != nil {
			return nil, "", "", err
		}
		if dg == "" {
			var t struct{ Tag struct{ Digest string } }
			if _, err := d.do(cmd.Context(), http.MethodGet, "/acr/v1/"+url.PathEscape(repo)+"/_tags/"+url.PathEscape(tag), "repository:"+repo+":metadata_read", nil, &t); err != nil {
				return nil, "", "", err
			}
			dg = t.Tag.Digest
		}
		return d, repo, dg, nil
	}
	show := &cobra.Command{
		Use:   "show [MANIFEST_ID]",
		Short: "Show a manifest (--raw: its bytes as stored, so they hash to its digest)",
		Example: `  acre manifest show -r myreg -n hello-world:latest
  acre manifest show myreg.example.com/hello-world@sha256:... --raw | sha256sum`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, repo, dg, err := resolve(cmd, args)
			if err != nil {
				return err
			}
			b, _, err := d.raw(cmd.Context(), "/v2/"+repo+"/manifests/"+dg, "repository:"+repo+":pull", manifestAccept)
			if err != nil {
				return err
			}
			if raw {
				_, err := cmd.OutOrStdout().Write(b)
				return err
			}
			var m any
			if err := json.Unmarshal(b, &m); err != nil {
				return fmt.Errorf("manifest %s is not JSON: %w", dg, err)
			}
			return g.print(cmd, m)
		},
	}
	show.Flags().BoolVar(&raw, "raw", false, "print the manifest's bytes as stored")
	showMeta := &cobra.Command{
		Use:   "show-metadata [MANIFEST_ID]",
		Short: "Show a manifest's (or a tag's) properties",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, spec, err := manifestSpec(args, reg, name)
			if err != nil {
				return err
			}
			return g.attributes(cmd, r, "", spec, nil)
		},
	}
	updateMeta := &cobra.Command{
		Use:     "update-metadata [MANIFEST_ID]",
		Short:   "Lock or unlock a manifest (or a tag)",
		Example: "  acre manifest update-metadata -r myreg -n hello-world:latest --write-enabled false",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, spec, err := manifestSpec(args, reg, name)
			if err != nil {
				return err
			}
			patch, err := attributePatch(map[string]string{"writeEnabled": write, "deleteEnabled": del, "readEnabled": read, "listEnabled": list})
			if err != nil {
				return err
			}
			if len(patch) == 0 {
				patch = nil // nothing to change: show, as az does
			}
			return g.attributes(cmd, r, "", spec, patch)
		},
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"write-enabled", &write}, {"delete-enabled", &del}, {"read-enabled", &read}, {"list-enabled", &list}} {
		updateMeta.Flags().StringVar(f.v, f.name, "", "true or false")
	}
	listMeta := &cobra.Command{
		Use:   "list-metadata [REPO_ID]",
		Short: "List a repository's manifests with their properties",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, repo, err := manifestSpec(args, reg, name)
			if err != nil {
				return err
			}
			if strings.ContainsAny(repo, ":@") {
				return usageError{fmt.Errorf("%q: name a repository, without a tag or digest", repo)}
			}
			o, err := orderby(order)
			if err != nil {
				return err
			}
			d, err := g.dataPlane(cmd.Context(), r)
			if err != nil {
				return err
			}
			out, err := collect[any](cmd.Context(), d, "/acr/v1/"+url.PathEscape(repo)+"/_manifests?n=100&orderby="+o, "repository:"+repo+":metadata_read", "manifests", top)
			if err != nil {
				return err
			}
			return g.print(cmd, out)
		},
	}
	listMeta.Flags().IntVar(&top, "top", 0, "at most this many")
	listMeta.Flags().StringVar(&order, "orderby", "", "time_desc or time_asc")
	referrers := &cobra.Command{
		Use:   "list-referrers [MANIFEST_ID]",
		Short: "List the artifacts that refer to a manifest (signatures, SBOMs...)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, repo, dg, err := resolve(cmd, args)
			if err != nil {
				return err
			}
			all := []any{}
			queue := []string{dg}
			for len(queue) > 0 {
				path := "/v2/" + repo + "/referrers/" + queue[0]
				if artifactType != "" {
					path += "?artifactType=" + url.QueryEscape(artifactType)
				}
				queue = queue[1:]
				var idx struct {
					Manifests []map[string]any `json:"manifests"`
				}
				if _, err := d.do(cmd.Context(), http.MethodGet, path, "repository:"+repo+":pull", nil, &idx); err != nil {
					return err
				}
				for _, m := range idx.Manifests {
					all = append(all, m)
					if s, _ := m["digest"].(string); recursive && s != "" {
						queue = append(queue, s)
					}
				}
			}
			return g.print(cmd, map[string]any{"manifests": all})
		},
	}
	referrers.Flags().StringVar(&artifactType, "artifact-type", "", "only referrers of this artifact type")
	referrers.Flags().BoolVar(&recursive, "recursive", false, "also the referrers of the referrers")
	deleteCmd := &cobra.Command{
		Use:   "delete [MANIFEST_ID]",
		Short: "Delete a manifest and every tag of it (asks first unless --yes)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, repo, dg, err := resolve(cmd, args)
			if err != nil {
				return err
			}
			if ok, err := confirm(cmd, yes, fmt.Sprintf("Are you sure you want to delete the artifact '%s' and all manifests that refer to it?", dg)); !ok {
				return err
			}
			_, err = d.do(cmd.Context(), http.MethodDelete, "/v2/"+repo+"/manifests/"+dg, "repository:"+repo+":delete", nil, nil)
			return err
		},
	}
	deleteCmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	for _, c := range []*cobra.Command{show, showMeta, updateMeta, listMeta, referrers, deleteCmd} {
		c.Flags().StringVarP(&reg, "registry", "r", "", "registry name (or give a fully qualified name)")
		c.Flags().StringVarP(&name, "name", "n", "", "REPO[:TAG] or REPO@DIGEST (a bare REPO means REPO:latest; list-metadata: REPO)")
	}
	cmd.AddCommand(show, showMeta, updateMeta, listMeta, referrers, deleteCmd)
	return cmd
}

// attributePatch turns the --*-enabled flags that were given into a PATCH body.
func attributePatch(flags map[string]string) (map[string]bool, error) {
	patch := map[string]bool{}
	for field, v := range flags {
		if v == "" {
			continue
		}
		b, err := parseBool(field, v)
		if err != nil {
			return nil, err
		}
		patch[field] = b
	}
	return patch, nil
}
