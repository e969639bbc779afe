package server

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/containers/azcontainerregistry"
)

func TestAzureSDKRepositories(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t)
	ctx := t.Context()
	names := permuted("sdk/repo-%02d", 25)
	for _, n := range names {
		e.push(t, n, "v1", newImage(n, nil))
	}
	all := sorted(names)

	t.Run("list", func(t *testing.T) {
		tests := []struct {
			name  string
			opts  *azcontainerregistry.ClientListRepositoriesOptions
			pages []int // sizes; nil: any
			want  []string
		}{
			{"page size 10", &azcontainerregistry.ClientListRepositoriesOptions{MaxNum: to.Ptr[int32](10)}, []int{10, 10, 5}, all},
			{"page size 7", &azcontainerregistry.ClientListRepositoriesOptions{MaxNum: to.Ptr[int32](7)}, []int{7, 7, 7, 4}, all},
			{"after last", &azcontainerregistry.ClientListRepositoriesOptions{Last: to.Ptr("sdk/repo-19"), MaxNum: to.Ptr[int32](10)}, []int{5}, all[20:]},
			{"default page size", nil, nil, all},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var got []string
				var sizes []int
				for _, p := range allPages(t, e, e.client.NewListRepositoriesPager(tt.opts)) {
					got = append(got, strs(p.Names)...)
					sizes = append(sizes, len(p.Names))
				}
				if tt.pages != nil && !slices.Equal(sizes, tt.pages) {
					t.Fatalf("page sizes %v, want %v", sizes, tt.pages)
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("repositories\n%q\nwant\n%q", got, tt.want)
				}
			})
		}
	})

	t.Run("properties", func(t *testing.T) {
		p, err := e.client.GetRepositoryProperties(ctx, "sdk/repo-03", nil)
		e.ok(t, err, "GetRepositoryProperties")
		if str(p.Name) != "sdk/repo-03" || str(p.RegistryLoginServer) != sdkLoginServer {
			t.Fatalf("imageName %q registry %q", str(p.Name), str(p.RegistryLoginServer))
		}
		if p.ManifestCount == nil || *p.ManifestCount != 1 || p.TagCount == nil || *p.TagCount != 1 {
			t.Fatalf("manifestCount %v tagCount %v, want 1 and 1", p.ManifestCount, p.TagCount)
		}
		e.checkTime(t, "createdTime", p.CreatedOn)
		e.checkTime(t, "lastUpdateTime", p.LastUpdatedOn)
		if got := repoAttrs(p.ChangeableAttributes); got != allEnabled {
			t.Fatalf("changeableAttributes %s", got)
		}
		_, err = e.client.GetRepositoryProperties(ctx, "sdk/no-such-repo", nil)
		wantStatus(t, err, http.StatusNotFound, "GetRepositoryProperties of an unknown repository")
	})

	t.Run("update", func(t *testing.T) {
		for _, tt := range attributeChanges {
			t.Run(tt.name, func(t *testing.T) {
				p, err := e.client.UpdateRepositoryProperties(ctx, "sdk/repo-04", &azcontainerregistry.ClientUpdateRepositoryPropertiesOptions{Value: tt.set.repo()})
				e.ok(t, err, "UpdateRepositoryProperties")
				if got := repoAttrs(p.ChangeableAttributes); got != tt.want || str(p.Name) != "sdk/repo-04" {
					t.Fatalf("answer %q: %s, want %s", str(p.Name), got, tt.want)
				}
				g, err := e.client.GetRepositoryProperties(ctx, "sdk/repo-04", nil)
				e.ok(t, err, "GetRepositoryProperties")
				if got := repoAttrs(g.ChangeableAttributes); got != tt.want {
					t.Fatalf("stored %s, want %s", got, tt.want)
				}
			})
		}
	})

	listed := func(t *testing.T) []string {
		var got []string
		for _, p := range allPages(t, e, e.client.NewListRepositoriesPager(&azcontainerregistry.ClientListRepositoriesOptions{MaxNum: to.Ptr[int32](10)})) {
			got = append(got, strs(p.Names)...)
		}
		return got
	}

	t.Run("listEnabled=false hides from the list", func(t *testing.T) {
		_, err := e.client.UpdateRepositoryProperties(ctx, "sdk/repo-05", &azcontainerregistry.ClientUpdateRepositoryPropertiesOptions{Value: change{list: no}.repo()})
		e.ok(t, err, "UpdateRepositoryProperties")
		if got := listed(t); slices.Contains(got, "sdk/repo-05") || len(got) != 24 {
			t.Fatalf("hidden repository listed: %q", got)
		}
		_, err = e.client.GetRepositoryProperties(ctx, "sdk/repo-05", nil)
		e.ok(t, err, "GetRepositoryProperties of a hidden repository")
		_, err = e.client.UpdateRepositoryProperties(ctx, "sdk/repo-05", &azcontainerregistry.ClientUpdateRepositoryPropertiesOptions{Value: change{list: yes}.repo()})
		e.ok(t, err, "UpdateRepositoryProperties")
		if got := listed(t); !slices.Equal(got, all) {
			t.Fatalf("after unhiding: %q", got)
		}
	})

	t.Run("delete", func(t *testing.T) {
		const repo = "sdk/repo-06"
		_, err := e.client.UpdateRepositoryProperties(ctx, repo, &azcontainerregistry.ClientUpdateRepositoryPropertiesOptions{Value: change{del: no}.repo()})
		e.ok(t, err, "UpdateRepositoryProperties")
		_, err = e.client.DeleteRepository(ctx, repo, nil)
		wantRefused(t, err, "DeleteRepository with deleteEnabled=false")
		_, err = e.client.GetRepositoryProperties(ctx, repo, nil)
		e.ok(t, err, "GetRepositoryProperties after a refused delete")
		_, err = e.client.UpdateRepositoryProperties(ctx, repo, &azcontainerregistry.ClientUpdateRepositoryPropertiesOptions{Value: change{del: yes}.repo()})
		e.ok(t, err, "UpdateRepositoryProperties")

		m := e.rec.mark()
		_, err = e.client.DeleteRepository(ctx, repo, nil)
		e.ok(t, err, "DeleteRepository")
		if got := e.rec.since(m); !slices.Contains(got, "DELETE /acr/v1/sdk%2Frepo-06 202") {
			t.Fatalf("DeleteRepository: requests %q, want a 202", got)
		}
		_, err = e.client.GetRepositoryProperties(ctx, repo, nil)
		wantStatus(t, err, http.StatusNotFound, "GetRepositoryProperties after delete")
		_, err = e.client.GetManifest(ctx, repo, "v1", nil)
		wantStatus(t, err, http.StatusNotFound, "GetManifest after delete")
		if got := listed(t); slices.Contains(got, repo) || len(got) != 24 {
			t.Fatalf("deleted repository listed: %q", got)
		}
		_, err = e.client.DeleteRepository(ctx, repo, nil)
		e.ok(t, err, "DeleteRepository again (404 is success to the SDK)")
	})
}

func TestAzureSDKTags(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t)
	ctx := t.Context()
	const repo = "sdk/tags"
	pushed := permuted("t%02d", 25) // push order = time order
	digests := map[string]string{}
	for _, tag := range pushed {
		img := newImage(tag, nil)
		e.push(t, repo, tag, img)
		digests[tag] = img.digest.String()
	}

	t.Run("list", func(t *testing.T) {
		tests := []struct {
			name  string
			order *azcontainerregistry.ArtifactTagOrderBy
			last  *string
			pages []int
			want  []string
		}{
			{"no order", nil, nil, []int{10, 10, 5}, sorted(pushed)},
			{"orderby none", to.Ptr(azcontainerregistry.ArtifactTagOrderByNone), nil, []int{10, 10, 5}, sorted(pushed)},
			{"orderby timeasc", to.Ptr(azcontainerregistry.ArtifactTagOrderByLastUpdatedOnAscending), nil, []int{10, 10, 5}, pushed},
			{"orderby timedesc", to.Ptr(azcontainerregistry.ArtifactTagOrderByLastUpdatedOnDescending), nil, []int{10, 10, 5}, reversed(pushed)},
			{"after last", nil, to.Ptr("t19"), []int{5}, sorted(pushed)[20:]},
			{"timeasc after last", to.Ptr(azcontainerregistry.ArtifactTagOrderByLastUpdatedOnAscending), to.Ptr(pushed[9]), []int{10, 5}, pushed[10:]},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				opts := &azcontainerregistry.ClientListTagsOptions{MaxNum: to.Ptr[int32](10), OrderBy: tt.order, Last: tt.last}
				var got []string
				var sizes []int
				var prev *time.Time
				for _, p := range allPages(t, e, e.client.NewListTagsPager(repo, opts)) {
					if str(p.Repository) != repo || str(p.RegistryLoginServer) != sdkLoginServer {
						t.Fatalf("page of imageName %q registry %q", str(p.Repository), str(p.RegistryLoginServer))
					}
					sizes = append(sizes, len(p.Tags))
					for _, a := range p.Tags {
						name := str(a.Name)
						got = append(got, name)
						if str(a.Digest) != digests[name] {
							t.Fatalf("tag %s: digest %s, want %s", name, str(a.Digest), digests[name])
						}
						e.checkTime(t, name+" createdTime", a.CreatedOn)
						e.checkTime(t, name+" lastUpdateTime", a.LastUpdatedOn)
						if got := tagAttrs(a.ChangeableAttributes); got != allEnabled {
							t.Fatalf("tag %s: %s", name, got)
						}
						if tt.order != nil && prev != nil {
							asc := *tt.order == azcontainerregistry.ArtifactTagOrderByLastUpdatedOnAscending
							desc := *tt.order == azcontainerregistry.ArtifactTagOrderByLastUpdatedOnDescending
							if (asc && a.LastUpdatedOn.Before(*prev)) || (desc && a.LastUpdatedOn.After(*prev)) {
								t.Fatalf("tag %s: lastUpdateTime %v out of %s order (previous %v)", name, a.LastUpdatedOn, *tt.order, prev)
							}
						}
						prev = a.LastUpdatedOn
					}
				}
				if !slices.Equal(sizes, tt.pages) {
					t.Fatalf("page sizes %v, want %v", sizes, tt.pages)
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("tags\n%q\nwant\n%q", got, tt.want)
				}
			})
		}
	})

	t.Run("digest filter", func(t *testing.T) {
		const repo = "sdk/tags-digest"
		shared, other := newImage("shared", nil), newImage("other", nil)
		for _, tag := range []string{"c", "a", "b"} {
			e.push(t, repo, tag, shared)
		}
		e.push(t, repo, "d", other)
		tests := []struct {
			digest string
			n      int32
			pages  []int
			want   []string
		}{
			{shared.digest.String(), 10, []int{3}, []string{"a", "b", "c"}},
			{shared.digest.String(), 2, []int{2, 1}, []string{"a", "b", "c"}},
			{other.digest.String(), 10, []int{1}, []string{"d"}},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s n=%d", tt.digest[:15], tt.n), func(t *testing.T) {
				var got []string
				var sizes []int
				for _, p := range allPages(t, e, e.client.NewListTagsPager(repo, &azcontainerregistry.ClientListTagsOptions{Digest: to.Ptr(tt.digest), MaxNum: to.Ptr(tt.n)})) {
					sizes = append(sizes, len(p.Tags))
					for _, a := range p.Tags {
						got = append(got, str(a.Name))
						if str(a.Digest) != tt.digest {
							t.Fatalf("tag %s has digest %s", str(a.Name), str(a.Digest))
						}
					}
				}
				if !slices.Equal(got, tt.want) || !slices.Equal(sizes, tt.pages) {
					t.Fatalf("tags %q in pages %v, want %q in %v", got, sizes, tt.want, tt.pages)
				}
			})
		}
	})

	t.Run("properties", func(t *testing.T) {
		for _, tag := range []string{"t00", "t13", "t24"} {
			p, err := e.client.GetTagProperties(ctx, repo, tag, nil)
			e.ok(t, err, "GetTagProperties "+tag)
			if str(p.RepositoryName) != repo || str(p.RegistryLoginServer) != sdkLoginServer || p.Tag == nil {
				t.Fatalf("%s: imageName %q registry %q tag %v", tag, str(p.RepositoryName), str(p.RegistryLoginServer), p.Tag)
			}
			if str(p.Tag.Name) != tag || str(p.Tag.Digest) != digests[tag] {
				t.Fatalf("%s: name %q digest %s, want %s", tag, str(p.Tag.Name), str(p.Tag.Digest), digests[tag])
			}
			e.checkTime(t, "createdTime", p.Tag.CreatedOn)
			e.checkTime(t, "lastUpdateTime", p.Tag.LastUpdatedOn)
			if got := tagAttrs(p.Tag.ChangeableAttributes); got != allEnabled {
				t.Fatalf("%s: %s", tag, got)
			}
		}
		_, err := e.client.GetTagProperties(ctx, repo, "no-such-tag", nil)
		wantStatus(t, err, http.StatusNotFound, "GetTagProperties of an unknown tag")
	})

	t.Run("update", func(t *testing.T) {
		for _, tt := range attributeChanges {
			t.Run(tt.name, func(t *testing.T) {
				p, err := e.client.UpdateTagProperties(ctx, repo, "t03", &azcontainerregistry.ClientUpdateTagPropertiesOptions{Value: tt.set.tag()})
				e.ok(t, err, "UpdateTagProperties")
				if p.Tag == nil || str(p.Tag.Name) != "t03" || str(p.Tag.Digest) != digests["t03"] {
					t.Fatalf("answer %+v", p.Tag)
				}
				if got := tagAttrs(p.Tag.ChangeableAttributes); got != tt.want {
					t.Fatalf("answer %s, want %s", got, tt.want)
				}
				g, err := e.client.GetTagProperties(ctx, repo, "t03", nil)
				e.ok(t, err, "GetTagProperties")
				if got := tagAttrs(g.Tag.ChangeableAttributes); got != tt.want {
					t.Fatalf("stored %s, want %s", got, tt.want)
				}
			})
		}
	})

	listed := func(t *testing.T) []string {
		var got []string
		for _, p := range allPages(t, e, e.client.NewListTagsPager(repo, &azcontainerregistry.ClientListTagsOptions{MaxNum: to.Ptr[int32](10)})) {
			for _, a := range p.Tags {
				got = append(got, str(a.Name))
			}
		}
		return got
	}

	t.Run("listEnabled=false hides from the list", func(t *testing.T) {
		_, err := e.client.UpdateTagProperties(ctx, repo, "t05", &azcontainerregistry.ClientUpdateTagPropertiesOptions{Value: change{list: no}.tag()})
		e.ok(t, err, "UpdateTagProperties")
		if got := listed(t); slices.Contains(got, "t05") || len(got) != 24 {
			t.Fatalf("hidden tag listed: %q", got)
		}
		_, err = e.client.GetTagProperties(ctx, repo, "t05", nil)
		e.ok(t, err, "GetTagProperties of a hidden tag")
		_, err = e.client.UpdateTagProperties(ctx, repo, "t05", &azcontainerregistry.ClientUpdateTagPropertiesOptions{Value: change{list: yes}.tag()})
		e.ok(t, err, "UpdateTagProperties")
		if got := listed(t); !slices.Equal(got, sorted(pushed)) {
			t.Fatalf("after unhiding: %q", got)
		}
	})

	t.Run("writeEnabled=false refuses moving and deleting", func(t *testing.T) {
		_, err := e.client.UpdateTagProperties(ctx, repo, "t06", &azcontainerregistry.ClientUpdateTagPropertiesOptions{Value: change{write: no}.tag()})
		e.ok(t, err, "UpdateTagProperties")
		if st := e.on(t).push(cred{user: "owner", pass: ownerPass}, repo, "t06", newImage("moved", nil)); st < 400 {
			t.Fatalf("moving a write-locked tag: %d", st)
		}
		_, err = e.client.DeleteTag(ctx, repo, "t06", nil)
		wantRefused(t, err, "DeleteTag with writeEnabled=false")
		p, err := e.client.GetTagProperties(ctx, repo, "t06", nil)
		e.ok(t, err, "GetTagProperties")
		if str(p.Tag.Digest) != digests["t06"] {
			t.Fatalf("locked tag moved to %s", str(p.Tag.Digest))
		}
		_, err = e.client.UpdateTagProperties(ctx, repo, "t06", &azcontainerregistry.ClientUpdateTagPropertiesOptions{Value: change{write: yes}.tag()})
		e.ok(t, err, "UpdateTagProperties")
	})

	t.Run("delete", func(t *testing.T) {
		m := e.rec.mark()
		_, err := e.client.DeleteTag(ctx, repo, "t07", nil)
		e.ok(t, err, "DeleteTag")
		if got := e.rec.since(m); !slices.Contains(got, "DELETE /acr/v1/sdk%2Ftags/_tags/t07 202") {
			t.Fatalf("DeleteTag: requests %q, want a 202", got)
		}
		_, err = e.client.GetTagProperties(ctx, repo, "t07", nil)
		wantStatus(t, err, http.StatusNotFound, "GetTagProperties after DeleteTag")
		_, err = e.client.GetManifest(ctx, repo, "t07", nil)
		wantStatus(t, err, http.StatusNotFound, "GetManifest by a deleted tag")
		if got := listed(t); slices.Contains(got, "t07") || len(got) != 24 {
			t.Fatalf("deleted tag listed: %q", got)
		}
		// Untagging keeps the manifest.
		mp, err := e.client.GetManifestProperties(ctx, repo, digests["t07"], nil)
		e.ok(t, err, "GetManifestProperties of the untagged manifest")
		if mp.Manifest == nil || len(mp.Manifest.Tags) != 0 {
			t.Fatalf("untagged manifest: %+v", mp.Manifest)
		}
		_, err = e.client.DeleteTag(ctx, repo, "t07", nil)
		e.ok(t, err, "DeleteTag again (404 is success to the SDK)")
	})
}
