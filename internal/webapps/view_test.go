package webapps

import "github.com/acre-project/acre/internal/meta"

// storeView is the whole store seen through this package's Store, as the
// server wires it.
func storeView(m meta.Store) meta.View[Store] {
	return meta.Narrow(m, func(q meta.Queries) Store { return q })
}
