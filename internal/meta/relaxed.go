package meta

import "context"

type relaxedKey struct{}

// Relaxed marks ctx so that a transaction run with it (Store.Tx, View.Tx)
// may be answered before its commit is durable. Such a commit survives a
// crash of the process once it returned, but a power loss may lose it
// together with other relaxed commits made after the last durable one;
// it is never lost while a durable commit made after it survives (every
// commit is written after the ones before it). It is meant for writes that
// are cheap to lose and that nothing durable depends on, such as an upload
// session's record: a client that loses one starts the upload again.
// Stores that cannot relax a commit make it durable as usual.
func Relaxed(ctx context.Context) context.Context {
	return context.WithValue(ctx, relaxedKey{}, true)
}

// IsRelaxed reports whether ctx was marked by Relaxed.
func IsRelaxed(ctx context.Context) bool {
	v, _ := ctx.Value(relaxedKey{}).(bool)
	return v
}
