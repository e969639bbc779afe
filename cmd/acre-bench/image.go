package main

import (
	"encoding/json"
	"sync"
)

const (
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaConfig   = "application/vnd.oci.image.config.v1+json"
	mediaLayer    = "application/vnd.oci.image.layer.v1.tar"
)

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

type imageManifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

// configBlob returns a small image config naming the layers as diff ids.
func configBlob(layers []descriptor, name string) []byte {
	ids := make([]string, len(layers))
	for i, l := range layers {
		ids[i] = l.Digest
	}
	b, _ := json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"config":       map[string]any{"Labels": map[string]string{"org.opencontainers.image.title": name}},
		"rootfs":       map[string]any{"type": "layers", "diff_ids": ids},
	})
	return b
}

// manifestBlob returns the OCI image manifest for config and layers.
func manifestBlob(config descriptor, layers []descriptor) []byte {
	b, _ := json.Marshal(imageManifest{SchemaVersion: 2, MediaType: mediaManifest, Config: config, Layers: layers})
	return b
}

// pushedImage is what the pull and load phases need to know of an image.
type pushedImage struct {
	Repo, Tag string
	Digest    string // manifest digest
	Size      int64  // manifest size
	Blobs     []descriptor
}

// ledger records the distinct content pushed, for the disk usage ratio.
type ledger struct {
	mu        sync.Mutex
	blobs     map[string]int64
	manifests map[string]int64
}

func newLedger() *ledger {
	return &ledger{blobs: map[string]int64{}, manifests: map[string]int64{}}
}

func (l *ledger) blob(d string, size int64) {
	l.mu.Lock()
	l.blobs[d] = size
	l.mu.Unlock()
}

func (l *ledger) manifest(d string, size int64) {
	l.mu.Lock()
	l.manifests[d] = size
	l.mu.Unlock()
}

// unique returns the bytes of distinct blobs and manifests recorded.
func (l *ledger) unique() (blobs, manifests int64, nBlobs, nManifests int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range l.blobs {
		blobs += n
	}
	for _, n := range l.manifests {
		manifests += n
	}
	return blobs, manifests, len(l.blobs), len(l.manifests)
}
