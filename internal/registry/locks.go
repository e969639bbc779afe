package registry

import (
	"context"
	"fmt"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/opencontainers/go-digest"
)

// Locks are ACR's changeable attributes, enforced here so that every path
// (OCI /v2/, ACR's /acr/v1/, the CLI, lifecycle jobs) obeys them:
// writeEnabled=false refuses overwrite and delete, deleteEnabled=false
// refuses delete, readEnabled=false refuses pull, listEnabled=false hides
// from listings (in the metadata queries).

func locked(what, attr string) *errcode.Error {
	return errcode.Errorf(errcode.Denied, "%s is locked (%s=false): change its attributes to allow this", what, attr)
}

// checkRead refuses a pull from a repository, tag or manifest with readEnabled=false.
func checkRead(repo *meta.Repository, tag *meta.Tag, m *meta.Manifest) error {
	switch {
	case repo != nil && !repo.Attributes.ReadEnabled:
		return locked("repository "+repo.Name, "readEnabled")
	case tag != nil && !tag.Attributes.ReadEnabled:
		return locked(fmt.Sprintf("tag %s:%s", repo.Name, tag.Name), "readEnabled")
	case m != nil && !m.Attributes.ReadEnabled:
		return locked(fmt.Sprintf("manifest %s@%s", repo.Name, m.Digest), "readEnabled")
	}
	return nil
}

// checkRepoWrite refuses changes to a repository with writeEnabled=false.
func checkRepoWrite(repo *meta.Repository) error {
	if repo != nil && !repo.Attributes.WriteEnabled {
		return locked("repository "+repo.Name, "writeEnabled")
	}
	return nil
}

// CheckDelete refuses (DENIED) deleting what (a tag or manifest, named in
// the message) with attributes a in repo, when its own or the
// repository's attributes say no. Lifecycle jobs use it to skip locked
// content.
func CheckDelete(repo *meta.Repository, what string, a meta.Attributes) error {
	if err := checkRepoWrite(repo); err != nil {
		return err
	}
	if !repo.Attributes.DeleteEnabled {
		return locked("repository "+repo.Name, "deleteEnabled")
	}
	if !a.WriteEnabled {
		return locked(what, "writeEnabled")
	}
	if !a.DeleteEnabled {
		return locked(what, "deleteEnabled")
	}
	return nil
}

// checkManifestDelete refuses deleting a manifest that, or any tag of
// which, is locked against deletion.
func checkManifestDelete(ctx context.Context, q Store, repo *meta.Repository, m *meta.Manifest) error {
	if err := CheckDelete(repo, fmt.Sprintf("manifest %s@%s", repo.Name, m.Digest), m.Attributes); err != nil {
		return err
	}
	tags, err := q.TagsOf(ctx, m.ID)
	if err != nil {
		return err
	}
	for _, t := range tags {
		if err := CheckDelete(repo, fmt.Sprintf("tag %s:%s", repo.Name, t.Name), t.Attributes); err != nil {
			return err
		}
	}
	return nil
}

// checkTagMove refuses pointing a write-locked tag at another manifest.
func checkTagMove(ctx context.Context, q Store, repo *meta.Repository, tag string, to digest.Digest) error {
	t, err := q.GetTag(ctx, repo.ID, tag)
	if err != nil {
		return nil // a new tag
	}
	if !t.Attributes.WriteEnabled && t.Digest != to {
		return locked(fmt.Sprintf("tag %s:%s", repo.Name, tag), "writeEnabled")
	}
	return nil
}
