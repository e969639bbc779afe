package meta

import "context"

// View is a Store seen through V, the narrow interface one consumer uses
// (V is composed of the per-aggregate views this package defines, such as
// Outbox and Webhooks). A consumer takes a View of its own V, so the
// compiler shows what each component may read and change; only the wiring
// in package server sees the whole Queries.
type View[V any] interface {
	// Read returns V for reads outside a transaction; writes through it fail.
	Read() V
	// Tx runs fn in one transaction, as Store.Tx does (fn may run more than once).
	Tx(ctx context.Context, fn func(q V) error) error
	// Ping checks that the store answers.
	Ping(ctx context.Context) error
}

// Narrow returns s seen through V. narrow converts the store's Queries to
// V and is normally the identity, `func(q meta.Queries) V { return q }`,
// which the compiler checks.
func Narrow[V any](s Store, narrow func(Queries) V) View[V] {
	return view[V]{s: s, narrow: narrow}
}

type view[V any] struct {
	s      Store
	narrow func(Queries) V
}

func (v view[V]) Read() V { return v.narrow(v.s.Read()) }

func (v view[V]) Tx(ctx context.Context, fn func(q V) error) error {
	return v.s.Tx(ctx, func(q Queries) error { return fn(v.narrow(q)) })
}

func (v view[V]) Ping(ctx context.Context) error { return v.s.Ping(ctx) }

// Within returns v seen through W, an interface narrower than V: a
// component hands one of its parts only what that part uses (a run's log
// writer gets RunLogs out of the task service's view). narrow is normally
// the identity, `func(q V) W { return q }`.
func Within[V, W any](v View[V], narrow func(V) W) View[W] {
	return within[V, W]{v: v, narrow: narrow}
}

type within[V, W any] struct {
	v      View[V]
	narrow func(V) W
}

func (w within[V, W]) Read() W { return w.narrow(w.v.Read()) }

func (w within[V, W]) Tx(ctx context.Context, fn func(q W) error) error {
	return w.v.Tx(ctx, func(q V) error { return fn(w.narrow(q)) })
}

func (w within[V, W]) Ping(ctx context.Context) error { return w.v.Ping(ctx) }
