// Package auth is acre's identity and access model, after ACR's: identities
// (users, service principals, managed identities, repository-scoped tokens,
// admin users), roles and scope maps that reduce to repository actions,
// signed short-lived tokens (ES256 JWTs: registry access and refresh
// tokens, management sessions), the one sign-in path every entry point
// calls (SignIn: password check, throttling, audit), the Gate the /v2/ and
// /acr/v1/ handlers call (an Identity with Grants, or the token flow's 401
// challenge), and the management permissions (Management) of the API.
package auth

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Actions is a set of ACR repository actions.
type Actions uint8

// ACR's repository actions.
const (
	ContentRead    Actions = 1 << iota // pull
	ContentWrite                       // push
	ContentDelete                      // delete manifests, tags and blobs
	MetadataRead                       // list tags and manifests, read attributes
	MetadataWrite                      // change attributes, untag
	SignatureWrite                     // push signatures (manifests with a subject) and their blobs

	AllActions = ContentRead | ContentWrite | ContentDelete | MetadataRead | MetadataWrite | SignatureWrite
)

var actionNames = []struct {
	a    Actions
	name string
}{
	{ContentRead, "content/read"},
	{ContentWrite, "content/write"},
	{ContentDelete, "content/delete"},
	{MetadataRead, "metadata/read"},
	{MetadataWrite, "metadata/write"},
	{SignatureWrite, "signature/write"},
}

// Has reports whether every action of b is in a.
func (a Actions) Has(b Actions) bool { return a&b == b }

func (a Actions) String() string {
	var s []string
	for _, n := range actionNames {
		if a.Has(n.a) {
			s = append(s, n.name)
		}
	}
	return strings.Join(s, ",")
}

// ParseAction parses one ACR action name such as "content/read".
func ParseAction(s string) (Actions, error) {
	for _, n := range actionNames {
		if n.name == s {
			return n.a, nil
		}
	}
	return 0, fmt.Errorf("unknown action %q", s)
}

// Docker token scope actions (the "actions" of a repository scope).
var dockerActions = map[string]Actions{
	"pull":           ContentRead,
	"push":           ContentWrite,
	"delete":         ContentDelete,
	"metadata_read":  MetadataRead,
	"metadata_write": MetadataWrite,
	"sign":           SignatureWrite, // acre's own: push signatures only (AcrImageSigner)
	"*":              AllActions,
}

// FromDocker maps Docker scope actions to ACR actions; unknown ones are ignored.
func FromDocker(names []string) Actions {
	var a Actions
	for _, n := range names {
		a |= dockerActions[n]
	}
	return a
}

// ToDocker lists the Docker scope actions a grants, among those asked.
func ToDocker(a Actions, asked []string) []string {
	out := []string{}
	for _, n := range asked {
		if d, ok := dockerActions[n]; ok && d != 0 && a.Has(d) && !contains(out, n) {
			out = append(out, n)
		} else if n == "push" && a.Has(SignatureWrite) && !contains(out, "sign") {
			// A signer asking to push gets to push signatures only.
			out = append(out, "sign")
		}
	}
	sort.Strings(out)
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Role names, with ACR's meaning.
const (
	RoleOwner          = "Owner"
	RoleContributor    = "Contributor"
	RoleReader         = "Reader"
	RoleAcrPull        = "AcrPull"
	RoleAcrPush        = "AcrPush"
	RoleAcrDelete      = "AcrDelete"
	RoleAcrImageSigner = "AcrImageSigner"
)

// roleActions is what each role allows on repositories in its scope.
var roleActions = map[string]Actions{
	RoleOwner:          AllActions,
	RoleContributor:    AllActions,
	RoleReader:         ContentRead | MetadataRead,
	RoleAcrPull:        ContentRead | MetadataRead,
	RoleAcrPush:        ContentRead | ContentWrite | MetadataRead,
	RoleAcrDelete:      ContentDelete | MetadataRead,
	RoleAcrImageSigner: ContentRead | MetadataRead | SignatureWrite,
}

// Management permissions beyond the data plane.
type Management uint8

const (
	// ManageRead reads registries, settings, identities and assignments.
	ManageRead Management = 1 << iota
	// ManageWrite changes registries and settings (Owner, Contributor).
	ManageWrite
	// ManageAccess creates identities and role assignments (Owner).
	ManageAccess
)

var roleManagement = map[string]Management{
	RoleOwner:       ManageRead | ManageWrite | ManageAccess,
	RoleContributor: ManageRead | ManageWrite,
	RoleReader:      ManageRead,
}

// ValidRole reports whether name is a known role, returning its canonical spelling.
func ValidRole(name string) (string, bool) {
	for r := range roleActions {
		if strings.EqualFold(r, name) {
			return r, true
		}
	}
	return "", false
}

// Roles lists every role name.
func Roles() []string {
	out := make([]string, 0, len(roleActions))
	for r := range roleActions {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// System scope maps, as ACR defines them.
var systemScopeMaps = map[string][]string{
	"_repositories_pull":               {"repositories/*/content/read"},
	"_repositories_pull_metadata_read": {"repositories/*/content/read", "repositories/*/metadata/read"},
	"_repositories_push":               {"repositories/*/content/read", "repositories/*/content/write"},
	"_repositories_push_metadata_write": {"repositories/*/content/read", "repositories/*/content/write",
		"repositories/*/metadata/read", "repositories/*/metadata/write"},
	"_repositories_admin": {"repositories/*/content/read", "repositories/*/content/write", "repositories/*/content/delete",
		"repositories/*/metadata/read", "repositories/*/metadata/write"},
}

// SystemScopeMap returns the actions of a built-in scope map.
func SystemScopeMap(name string) ([]string, bool) {
	a, ok := systemScopeMaps[name]
	return a, ok
}

// ParseScopeMapAction parses "repositories/<repo>/<action>" where repo may
// end in a wildcard ("samples/*", or "*" for every repository).
func ParseScopeMapAction(s string) (repo string, a Actions, err error) {
	rest, ok := strings.CutPrefix(s, "repositories/")
	if !ok {
		return "", 0, fmt.Errorf("scope map action %q: want repositories/<repo>/<action>", s)
	}
	i := strings.LastIndex(rest, "/")
	j := strings.LastIndex(rest[:max(i, 0)], "/")
	if i <= 0 || j <= 0 {
		return "", 0, fmt.Errorf("scope map action %q: want repositories/<repo>/<action>", s)
	}
	repo, name := rest[:j], rest[j+1:]
	a, err = ParseAction(name)
	if err != nil {
		return "", 0, fmt.Errorf("scope map action %q: %w", s, err)
	}
	if strings.Contains(strings.TrimSuffix(repo, "*"), "*") {
		return "", 0, fmt.Errorf("scope map action %q: a wildcard may only end the repository", s)
	}
	if _, err := path.Match(repo, ""); err != nil {
		return "", 0, fmt.Errorf("scope map action %q: %w", s, err)
	}
	return repo, a, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
