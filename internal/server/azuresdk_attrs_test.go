package server

import (
	"fmt"
	"slices"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/containers/azcontainerregistry"
)

// attrs renders changeable attributes; a missing one shows as "?".
func attrs(del, write, read, list *bool) string {
	b := func(p *bool) string {
		if p == nil {
			return "?"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("delete=%s write=%s read=%s list=%s", b(del), b(write), b(read), b(list))
}

const allEnabled = "delete=true write=true read=true list=true"

func repoAttrs(p *azcontainerregistry.RepositoryWriteableProperties) string {
	if p == nil {
		return "<no changeableAttributes>"
	}
	return attrs(p.CanDelete, p.CanWrite, p.CanRead, p.CanList)
}

func tagAttrs(p *azcontainerregistry.TagWriteableProperties) string {
	if p == nil {
		return "<no changeableAttributes>"
	}
	return attrs(p.CanDelete, p.CanWrite, p.CanRead, p.CanList)
}

func manifestAttrs(p *azcontainerregistry.ManifestWriteableProperties) string {
	if p == nil {
		return "<no changeableAttributes>"
	}
	return attrs(p.CanDelete, p.CanWrite, p.CanRead, p.CanList)
}

// change is a partial update of changeable attributes; nil leaves one as is.
type change struct{ del, write, read, list *bool }

func (c change) repo() *azcontainerregistry.RepositoryWriteableProperties {
	return &azcontainerregistry.RepositoryWriteableProperties{CanDelete: c.del, CanWrite: c.write, CanRead: c.read, CanList: c.list}
}

func (c change) tag() *azcontainerregistry.TagWriteableProperties {
	return &azcontainerregistry.TagWriteableProperties{CanDelete: c.del, CanWrite: c.write, CanRead: c.read, CanList: c.list}
}

func (c change) manifest() *azcontainerregistry.ManifestWriteableProperties {
	return &azcontainerregistry.ManifestWriteableProperties{CanDelete: c.del, CanWrite: c.write, CanRead: c.read, CanList: c.list}
}

var (
	yes = to.Ptr(true)
	no  = to.Ptr(false)
)

// attributeChanges is applied in order: each a partial update, with the
// attributes expected afterwards; the last one restores the defaults.
var attributeChanges = []struct {
	name string
	set  change
	want string
}{
	{"lock writes", change{write: no}, "delete=true write=false read=true list=true"},
	{"lock deletes, unlock writes", change{del: no, write: yes}, "delete=false write=true read=true list=true"},
	{"hide and lock reads", change{read: no, list: no}, "delete=false write=true read=false list=false"},
	{"all four at once", change{del: yes, write: no, read: yes, list: yes}, "delete=true write=false read=true list=true"},
	{"restore", change{yes, yes, yes, yes}, allEnabled},
}

// allPages fetches every page of a pager.
func allPages[T any](t *testing.T, e *sdkEnv, p *runtime.Pager[T]) []T {
	t.Helper()
	var out []T
	for p.More() {
		page, err := p.NextPage(t.Context())
		e.ok(t, err, fmt.Sprintf("page %d", len(out)+1))
		out = append(out, page)
		if len(out) > 50 {
			t.Fatal("the pager does not end")
		}
	}
	return out
}

// permuted returns n names fmt.Sprintf(format, i) in a push order that is
// neither lexical nor its reverse, so that time order tells from name order.
func permuted(format string, n int) []string {
	out := make([]string, n)
	for i := range n {
		out[i] = fmt.Sprintf(format, (i*7)%n)
	}
	return out
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

func sorted(s []string) []string {
	r := slices.Clone(s)
	slices.Sort(r)
	return r
}
