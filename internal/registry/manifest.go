package registry

import (
	"encoding/json"
	"strings"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/reference"
	"github.com/opencontainers/go-digest"
)

// Manifest media types acre stores.
const (
	MediaTypeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeOCIIndex       = "application/vnd.oci.image.index.v1+json"
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeOCIConfig      = "application/vnd.oci.image.config.v1+json"
	MediaTypeDockerConfig   = "application/vnd.docker.container.image.v1+json"
	MediaTypeEmpty          = "application/vnd.oci.empty.v1+json"
)

// IsManifestMediaType reports whether mt is a manifest type acre accepts.
func IsManifestMediaType(mt string) bool {
	switch mt {
	case MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerList:
		return true
	}
	return false
}

func isIndex(mt string) bool { return mt == MediaTypeOCIIndex || mt == MediaTypeDockerList }

// descriptor is the subset of an OCI descriptor acre reads.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Platform     *struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
	} `json:"platform,omitempty"`
}

// envelope covers every manifest kind acre accepts.
type envelope struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *descriptor       `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Manifests     []descriptor      `json:"manifests"`
	Subject       *descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// ParsedManifest is what PutManifest learns from a manifest body.
type ParsedManifest struct {
	MediaType    string
	ArtifactType string
	Config       *descriptor
	Blobs        []descriptor // config and distributable layers, which must be present
	Children     []descriptor // index entries, which must be present
	Subject      digest.Digest
	Annotations  map[string]string
	ImageSize    int64
}

// ParseManifest validates a manifest body sent with the given Content-Type
// and says what it references. It never panics on hostile input.
func ParseManifest(contentType string, body []byte) (*ParsedManifest, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, errcode.Errorf(errcode.ManifestInvalid, "manifest is not valid JSON: %v", err)
	}
	if env.SchemaVersion == nil || *env.SchemaVersion != 2 {
		return nil, errcode.Errorf(errcode.ManifestInvalid, "manifest schemaVersion must be 2")
	}
	ct := strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0])
	mt := env.MediaType
	switch {
	case mt != "" && ct != "" && ct != mt:
		return nil, errcode.Errorf(errcode.ManifestInvalid, "Content-Type %q does not match the manifest's mediaType %q", ct, mt)
	case mt == "" && ct != "":
		mt = ct
	case mt == "" && env.Manifests != nil:
		mt = MediaTypeOCIIndex
	case mt == "":
		mt = MediaTypeOCIManifest
	}
	if !IsManifestMediaType(mt) {
		return nil, errcode.Errorf(errcode.ManifestInvalid, "unsupported manifest media type %q", mt)
	}
	p := &ParsedManifest{MediaType: mt, ArtifactType: env.ArtifactType, Annotations: env.Annotations, ImageSize: int64(len(body))}
	if isIndex(mt) {
		if env.Config != nil || env.Layers != nil {
			return nil, errcode.Errorf(errcode.ManifestInvalid, "an index has no config or layers")
		}
		for _, d := range env.Manifests {
			if err := checkDescriptor(d); err != nil {
				return nil, err
			}
			p.Children = append(p.Children, d)
		}
	} else {
		if env.Config == nil {
			return nil, errcode.Errorf(errcode.ManifestInvalid, "an image manifest needs a config descriptor")
		}
		if env.Manifests != nil {
			return nil, errcode.Errorf(errcode.ManifestInvalid, "an image manifest has no manifests list")
		}
		if err := checkDescriptor(*env.Config); err != nil {
			return nil, err
		}
		p.Config = env.Config
		p.Blobs = append(p.Blobs, *env.Config)
		p.ImageSize += env.Config.Size
		for _, d := range env.Layers {
			if err := checkDescriptor(d); err != nil {
				return nil, err
			}
			if p.ImageSize += d.Size; p.ImageSize < 0 {
				return nil, errcode.Errorf(errcode.ManifestInvalid, "the layers' sizes add up to more than any image can hold")
			}
			if isNonDistributable(d) {
				continue
			}
			p.Blobs = append(p.Blobs, d)
		}
	}
	if env.Subject != nil {
		if err := checkDescriptor(*env.Subject); err != nil {
			return nil, err
		}
		p.Subject = digest.Digest(env.Subject.Digest)
	}
	return p, nil
}

// maxDescriptorSize bounds a descriptor's size (64 TiB), so that a sum of
// sizes that overflows is caught as a negative number.
const maxDescriptorSize = 1 << 46

func checkDescriptor(d descriptor) error {
	if _, err := reference.ParseDigest(d.Digest); err != nil {
		return errcode.Errorf(errcode.ManifestInvalid, "descriptor digest %q is invalid", d.Digest)
	}
	if d.Size < 0 || d.Size > maxDescriptorSize {
		return errcode.Errorf(errcode.ManifestInvalid, "descriptor %s has an impossible size %d", d.Digest, d.Size)
	}
	if d.MediaType == "" {
		return errcode.Errorf(errcode.ManifestInvalid, "descriptor %s has no mediaType", d.Digest)
	}
	return nil
}

// isNonDistributable reports layers the registry need not hold: the OCI
// non-distributable types and Docker's foreign layers.
func isNonDistributable(d descriptor) bool {
	return strings.Contains(d.MediaType, ".nondistributable.") ||
		d.MediaType == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
}

// refs lists what a stored manifest references, for GC and retention.
func (p *ParsedManifest) refs() []meta.Ref {
	var out []meta.Ref
	for _, b := range p.Blobs {
		out = append(out, meta.Ref{Digest: digest.Digest(b.Digest), Kind: meta.RefBlob})
	}
	for _, c := range p.Children {
		out = append(out, meta.Ref{Digest: digest.Digest(c.Digest), Kind: meta.RefManifest})
	}
	return out
}

// imageConfig is the platform part of an image config.
type imageConfig struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}
