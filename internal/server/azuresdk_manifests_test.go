package server

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/containers/azcontainerregistry"
	"github.com/opencontainers/go-digest"
)

func TestAzureSDKManifests(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t)
	ctx := t.Context()
	const repo = "sdk/manifests"
	tags := permuted("m%02d", 25)
	images := map[string]image{} // by digest
	var pushed []string          // digests in push order
	tagOf := map[string]string{}
	for _, tag := range tags {
		img := newImage(tag, nil)
		e.push(t, repo, tag, img)
		images[img.digest.String()] = img
		pushed = append(pushed, img.digest.String())
		tagOf[img.digest.String()] = tag
	}

	checkAttributes := func(t *testing.T, a *azcontainerregistry.ManifestAttributes) {
		t.Helper()
		d := str(a.Digest)
		img, ok := images[d]
		if !ok {
			t.Fatalf("unknown digest %s", d)
		}
		if a.Size == nil || *a.Size != imageSize(img) {
			t.Fatalf("%s: imageSize %v, want %d", d, a.Size, imageSize(img))
		}
		if a.Architecture == nil || *a.Architecture != azcontainerregistry.ArtifactArchitectureAmd64 ||
			a.OperatingSystem == nil || *a.OperatingSystem != azcontainerregistry.ArtifactOperatingSystemLinux {
			t.Fatalf("%s: architecture %v os %v", d, a.Architecture, a.OperatingSystem)
		}
		if str(a.MediaType) != ociManifest || str(a.ConfigMediaType) != ociConfig {
			t.Fatalf("%s: mediaType %q configMediaType %q", d, str(a.MediaType), str(a.ConfigMediaType))
		}
		if got := strs(a.Tags); !slices.Equal(got, []string{tagOf[d]}) {
			t.Fatalf("%s: tags %q, want %q", d, got, tagOf[d])
		}
		e.checkTime(t, d+" createdTime", a.CreatedOn)
		e.checkTime(t, d+" lastUpdateTime", a.LastUpdatedOn)
		if got := manifestAttrs(a.ChangeableAttributes); got != allEnabled {
			t.Fatalf("%s: %s", d, got)
		}
	}

	t.Run("list", func(t *testing.T) {
		tests := []struct {
			name  string
			order *azcontainerregistry.ArtifactManifestOrderBy
			last  *string
			pages []int
			want  []string
		}{
			{"no order", nil, nil, []int{10, 10, 5}, sorted(pushed)},
			{"orderby none", to.Ptr(azcontainerregistry.ArtifactManifestOrderByNone), nil, []int{10, 10, 5}, sorted(pushed)},
			{"orderby timeasc", to.Ptr(azcontainerregistry.ArtifactManifestOrderByLastUpdatedOnAscending), nil, []int{10, 10, 5}, pushed},
			{"orderby timedesc", to.Ptr(azcontainerregistry.ArtifactManifestOrderByLastUpdatedOnDescending), nil, []int{10, 10, 5}, reversed(pushed)},
			{"after last", nil, to.Ptr(sorted(pushed)[19]), []int{5}, sorted(pushed)[20:]},
			{"timedesc after last", to.Ptr(azcontainerregistry.ArtifactManifestOrderByLastUpdatedOnDescending), to.Ptr(reversed(pushed)[6]), []int{10, 8}, reversed(pushed)[7:]},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				opts := &azcontainerregistry.ClientListManifestsOptions{MaxNum: to.Ptr[int32](10), OrderBy: tt.order, Last: tt.last}
				var got []string
				var sizes []int
				for _, p := range allPages(t, e, e.client.NewListManifestsPager(repo, opts)) {
					if str(p.Repository) != repo || str(p.RegistryLoginServer) != sdkLoginServer {
						t.Fatalf("page of imageName %q registry %q", str(p.Repository), str(p.RegistryLoginServer))
					}
					sizes = append(sizes, len(p.Attributes))
					for _, a := range p.Attributes {
						got = append(got, str(a.Digest))
						checkAttributes(t, a)
					}
				}
				if !slices.Equal(sizes, tt.pages) {
					t.Fatalf("page sizes %v, want %v", sizes, tt.pages)
				}
				if !slices.Equal(got, tt.want) {
					t.Fatalf("manifests\n%q\nwant\n%q", got, tt.want)
				}
			})
		}
	})

	t.Run("properties", func(t *testing.T) {
		d := pushed[3]
		p, err := e.client.GetManifestProperties(ctx, repo, d, nil)
		e.ok(t, err, "GetManifestProperties")
		if str(p.RepositoryName) != repo || str(p.RegistryLoginServer) != sdkLoginServer || p.Manifest == nil {
			t.Fatalf("imageName %q registry %q manifest %v", str(p.RepositoryName), str(p.RegistryLoginServer), p.Manifest)
		}
		if str(p.Manifest.Digest) != d {
			t.Fatalf("digest %s, want %s", str(p.Manifest.Digest), d)
		}
		checkAttributes(t, p.Manifest)
		_, err = e.client.GetManifestProperties(ctx, repo, digest.FromString("nothing").String(), nil)
		wantStatus(t, err, http.StatusNotFound, "GetManifestProperties of an unknown digest")
	})

	t.Run("index references", func(t *testing.T) {
		const repo = "sdk/index"
		amd, arm := platformImage("multi", "amd64", "linux", false), platformImage("multi", "arm64", "linux", false)
		e.push(t, repo, amd.digest.String(), amd)
		e.push(t, repo, arm.digest.String(), arm)
		body, d := e.pushIndex(t, repo, "multi", amd, arm)
		p, err := e.client.GetManifestProperties(ctx, repo, d.String(), nil)
		e.ok(t, err, "GetManifestProperties of an index")
		m := p.Manifest
		if m == nil || str(m.Digest) != d.String() || str(m.MediaType) != ociIndex || !slices.Equal(strs(m.Tags), []string{"multi"}) {
			t.Fatalf("index properties %+v", m)
		}
		if m.Size == nil || *m.Size != int64(len(body)) {
			t.Fatalf("index imageSize %v, want %d", m.Size, len(body))
		}
		var got []string
		for _, r := range m.RelatedArtifacts {
			a, o := "<nil>", "<nil>"
			if r.Architecture != nil {
				a = string(*r.Architecture)
			}
			if r.OperatingSystem != nil {
				o = string(*r.OperatingSystem)
			}
			got = append(got, str(r.Digest)+" "+a+"/"+o)
		}
		want := []string{amd.digest.String() + " amd64/linux", arm.digest.String() + " arm64/linux"}
		if !slices.Equal(got, want) {
			t.Fatalf("references %q, want %q", got, want)
		}
		g, err := e.client.GetManifest(ctx, repo, "multi", &azcontainerregistry.ClientGetManifestOptions{Accept: to.Ptr(ociIndex)})
		e.ok(t, err, "GetManifest of an index")
		b, _ := io.ReadAll(g.ManifestData)
		g.ManifestData.Close()
		if !bytes.Equal(b, body) || str(g.DockerContentDigest) != d.String() {
			t.Fatalf("index %s digest %s", b, str(g.DockerContentDigest))
		}
	})

	t.Run("update", func(t *testing.T) {
		d := pushed[4]
		for _, tt := range attributeChanges {
			t.Run(tt.name, func(t *testing.T) {
				p, err := e.client.UpdateManifestProperties(ctx, repo, d, &azcontainerregistry.ClientUpdateManifestPropertiesOptions{Value: tt.set.manifest()})
				e.ok(t, err, "UpdateManifestProperties")
				if p.Manifest == nil || str(p.Manifest.Digest) != d {
					t.Fatalf("answer %+v", p.Manifest)
				}
				if got := manifestAttrs(p.Manifest.ChangeableAttributes); got != tt.want {
					t.Fatalf("answer %s, want %s", got, tt.want)
				}
				g, err := e.client.GetManifestProperties(ctx, repo, d, nil)
				e.ok(t, err, "GetManifestProperties")
				if got := manifestAttrs(g.Manifest.ChangeableAttributes); got != tt.want {
					t.Fatalf("stored %s, want %s", got, tt.want)
				}
			})
		}
	})

	t.Run("get", func(t *testing.T) {
		d := pushed[5]
		tests := []struct {
			name, ref string
			accept    *string
		}{
			{"by tag", tagOf[d], nil},
			{"by digest", d, nil},
			{"by tag accepting OCI", tagOf[d], to.Ptr(ociManifest)},
			{"by digest accepting OCI and Docker", d, to.Ptr(ociManifest + ", " + dockerManifest)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				g, err := e.client.GetManifest(ctx, repo, tt.ref, &azcontainerregistry.ClientGetManifestOptions{Accept: tt.accept})
				e.ok(t, err, "GetManifest")
				b, err := io.ReadAll(g.ManifestData)
				g.ManifestData.Close()
				if err != nil || !bytes.Equal(b, images[d].manifest) {
					t.Fatalf("manifest %s (%v), want %s", b, err, images[d].manifest)
				}
				if str(g.DockerContentDigest) != d {
					t.Fatalf("Docker-Content-Digest %s, want %s", str(g.DockerContentDigest), d)
				}
			})
		}
		_, err := e.client.GetManifest(ctx, repo, "no-such-tag", nil)
		wantStatus(t, err, http.StatusNotFound, "GetManifest of an unknown tag")
	})

	t.Run("upload", func(t *testing.T) {
		const repo = "sdk/upload"
		tests := []struct {
			name  string
			img   image
			ct    azcontainerregistry.ContentType
			ref   func(image) string
			arch  azcontainerregistry.ArtifactArchitecture
			cfgMT string
		}{
			{"OCI by tag", platformImage("up1", "amd64", "linux", false), azcontainerregistry.ContentTypeApplicationVndOciImageManifestV1JSON,
				func(image) string { return "oci" }, azcontainerregistry.ArtifactArchitectureAmd64, ociConfig},
			{"OCI by digest", platformImage("up2", "arm64", "linux", false), azcontainerregistry.ContentTypeApplicationVndOciImageManifestV1JSON,
				func(i image) string { return i.digest.String() }, azcontainerregistry.ArtifactArchitectureArm64, ociConfig},
			{"Docker v2 by tag", platformImage("up3", "arm64", "linux", true), azcontainerregistry.ContentTypeApplicationVndDockerDistributionManifestV2JSON,
				func(image) string { return "docker" }, azcontainerregistry.ArtifactArchitectureArm64, dockerConfig},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				for d, b := range tt.img.blobs {
					resp, body := e.on(t).do(http.MethodPost, "/v2/"+repo+"/blobs/uploads/?digest="+d.String(), cred{user: "owner", pass: ownerPass}, b)
					if resp.StatusCode != http.StatusCreated {
						t.Fatalf("blob upload: %d %s", resp.StatusCode, body)
					}
				}
				ref := tt.ref(tt.img)
				up, err := e.client.UploadManifest(ctx, repo, ref, tt.ct, streaming.NopCloser(bytes.NewReader(tt.img.manifest)), nil)
				e.ok(t, err, "UploadManifest")
				if str(up.DockerContentDigest) != tt.img.digest.String() {
					t.Fatalf("Docker-Content-Digest %s, want %s", str(up.DockerContentDigest), tt.img.digest)
				}
				if !strings.Contains(str(up.Location), tt.img.digest.String()) {
					t.Fatalf("Location %q", str(up.Location))
				}
				g, err := e.client.GetManifest(ctx, repo, ref, &azcontainerregistry.ClientGetManifestOptions{Accept: to.Ptr(string(tt.ct))})
				e.ok(t, err, "GetManifest")
				b, _ := io.ReadAll(g.ManifestData)
				g.ManifestData.Close()
				if !bytes.Equal(b, tt.img.manifest) {
					t.Fatalf("stored manifest %s", b)
				}
				p, err := e.client.GetManifestProperties(ctx, repo, tt.img.digest.String(), nil)
				e.ok(t, err, "GetManifestProperties")
				m := p.Manifest
				if str(m.MediaType) != string(tt.ct) || str(m.ConfigMediaType) != tt.cfgMT || m.Architecture == nil || *m.Architecture != tt.arch {
					t.Fatalf("properties: mediaType %q configMediaType %q architecture %v", str(m.MediaType), str(m.ConfigMediaType), m.Architecture)
				}
				if m.Size == nil || *m.Size != imageSize(tt.img) {
					t.Fatalf("imageSize %v, want %d", m.Size, imageSize(tt.img))
				}
			})
		}
		bad := platformImage("up1", "amd64", "linux", false)
		_, err := e.client.UploadManifest(ctx, repo, digest.FromString("other").String(), azcontainerregistry.ContentTypeApplicationVndOciImageManifestV1JSON,
			streaming.NopCloser(bytes.NewReader(bad.manifest)), nil)
		wantStatus(t, err, http.StatusBadRequest, "UploadManifest under another digest")
	})

	t.Run("delete", func(t *testing.T) {
		d := pushed[6]
		_, err := e.client.UpdateManifestProperties(ctx, repo, d, &azcontainerregistry.ClientUpdateManifestPropertiesOptions{Value: change{del: no}.manifest()})
		e.ok(t, err, "UpdateManifestProperties")
		_, err = e.client.DeleteManifest(ctx, repo, d, nil)
		wantRefused(t, err, "DeleteManifest with deleteEnabled=false")
		_, err = e.client.UpdateManifestProperties(ctx, repo, d, &azcontainerregistry.ClientUpdateManifestPropertiesOptions{Value: change{del: yes}.manifest()})
		e.ok(t, err, "UpdateManifestProperties")

		m := e.rec.mark()
		_, err = e.client.DeleteManifest(ctx, repo, d, nil)
		e.ok(t, err, "DeleteManifest")
		if got := e.rec.since(m); !slices.Contains(got, "DELETE /v2/sdk%2Fmanifests/manifests/"+d+" 202") {
			t.Fatalf("DeleteManifest: requests %q, want a 202", got)
		}
		_, err = e.client.GetManifestProperties(ctx, repo, d, nil)
		wantStatus(t, err, http.StatusNotFound, "GetManifestProperties after delete")
		_, err = e.client.GetManifest(ctx, repo, d, nil)
		wantStatus(t, err, http.StatusNotFound, "GetManifest after delete")
		_, err = e.client.GetTagProperties(ctx, repo, tagOf[d], nil)
		wantStatus(t, err, http.StatusNotFound, "GetTagProperties of the deleted manifest's tag")
		var got []string
		for _, p := range allPages(t, e, e.client.NewListManifestsPager(repo, &azcontainerregistry.ClientListManifestsOptions{MaxNum: to.Ptr[int32](10)})) {
			for _, a := range p.Attributes {
				got = append(got, str(a.Digest))
			}
		}
		if slices.Contains(got, d) || len(got) != 24 {
			t.Fatalf("deleted manifest listed: %q", got)
		}
		_, err = e.client.DeleteManifest(ctx, repo, d, nil)
		e.ok(t, err, "DeleteManifest again (404 is success to the SDK)")
	})
}
