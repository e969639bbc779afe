package fs

import (
	"sync"

	"github.com/opencontainers/go-digest"
)

// keyLock is a mutex per digest, held only while someone uses it: the map
// holds the digests being committed and nothing else.
type keyLock struct {
	mu    sync.Mutex
	locks map[digest.Digest]*keyLockEntry
}

type keyLockEntry struct {
	mu    sync.Mutex
	users int // holders and waiters, under keyLock.mu
}

// lock locks d and returns its unlock.
func (k *keyLock) lock(d digest.Digest) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[digest.Digest]*keyLockEntry{}
	}
	e := k.locks[d]
	if e == nil {
		e = &keyLockEntry{}
		k.locks[d] = e
	}
	e.users++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.users--; e.users == 0 {
			delete(k.locks, d)
		}
		k.mu.Unlock()
	}
}

// held reports how many digests are locked or waited for.
func (k *keyLock) held() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.locks)
}
