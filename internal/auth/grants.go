package auth

import "strings"

// Grants says which actions an identity has on which repositories of one
// registry. The zero value grants nothing.
type Grants struct {
	all      Actions            // on every repository
	exact    map[string]Actions // on one repository
	prefixes map[string]Actions // on repositories under "prefix/" (from "prefix/*")
	catalog  bool               // may list the catalog (filtered to readable repositories)
	manage   Management         // management permissions in the registry
}

// Add grants a on repo, where repo may be "*" (every repository) or end in "/*".
func (g *Grants) Add(repo string, a Actions) {
	switch {
	case repo == "*" || repo == "":
		g.all |= a
	case strings.HasSuffix(repo, "/*"):
		if g.prefixes == nil {
			g.prefixes = map[string]Actions{}
		}
		g.prefixes[strings.TrimSuffix(repo, "*")] |= a
	case strings.HasSuffix(repo, "*"):
		if g.prefixes == nil {
			g.prefixes = map[string]Actions{}
		}
		g.prefixes[strings.TrimSuffix(repo, "*")] |= a
	default:
		if g.exact == nil {
			g.exact = map[string]Actions{}
		}
		g.exact[repo] |= a
	}
	if a.Has(ContentRead) || a.Has(MetadataRead) {
		g.catalog = true
	}
}

// On returns the actions granted on a repository.
func (g Grants) On(repo string) Actions {
	a := g.all | g.exact[repo]
	for p, pa := range g.prefixes {
		if strings.HasPrefix(repo, p) {
			a |= pa
		}
	}
	return a
}

// Allows reports whether every action of want is granted on repo.
func (g Grants) Allows(repo string, want Actions) bool { return g.On(repo).Has(want) }

// Catalog reports whether the identity may list repositories.
func (g Grants) Catalog() bool { return g.catalog }

// Manage returns the management permissions.
func (g Grants) Manage() Management { return g.manage }

// Empty reports whether nothing is granted.
func (g Grants) Empty() bool {
	return g.all == 0 && len(g.exact) == 0 && len(g.prefixes) == 0 && g.manage == 0
}
