package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's Password Storage Cheat Sheet lists
// m=19 MiB t=2, m=12 MiB t=3, m=9 MiB t=4 and m=7 MiB t=5 as equal
// defences that trade memory for passes; acre takes the smallest work area,
// which keeps a sign-in from adding 19 MiB to the server's resident memory
// and hashes in about the same time (it fits the CPU's caches better).
// Hashes keep their parameters, so those made with others still verify.
const (
	argonTime    = 5
	argonMemory  = 7 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
)

// NewSecret returns a random secret of n bytes of entropy, URL-safe.
func NewSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret returns an argon2id PHC string for secret. Its work memory
// is returned to the operating system before it returns.
func HashSecret(secret string) string {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(secret), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	returnHashMemory()
	return hashPrefix() + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
}

var errHash = errors.New("malformed secret hash")

// hashCurrent reports whether hash was made with the parameters HashSecret
// uses now.
func hashCurrent(hash string) bool { return strings.HasPrefix(hash, hashPrefix()) }

// hashPrefix is the PHC string's algorithm and parameters, up to the salt.
func hashPrefix() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2.Version, argonMemory, argonTime, argonThreads)
}

// VerifySecret compares secret with a PHC hash in constant time.
func VerifySecret(hash, secret string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, errHash
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || m > 1<<20 || t > 16 || p == 0 {
		return false, errHash
	}
	got := argon2.IDKey([]byte(secret), salt, t, m, p, uint32(len(want)))
	releaseHashMemory()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// releaseHashMemory collects the argon2 work area (argonMemory, 7 MiB)
// right after a hash instead of when the heap next doubles, so that the
// next hash reuses it: otherwise a few sign-ins in a row leave several
// work areas in the heap and the server's resident memory peaks at
// several times what it serves with. A collection on a heap of a few MiB
// costs far less than the hash.
func releaseHashMemory() { runtime.GC() }

// returnHashMemory collects the argon2 work area and gives the memory back
// to the operating system at once, rather than as the runtime's scavenger
// gets to it, seconds later: after the last hash of a burst (see
// hashLimiter.run) and after hashing a new secret (creating credentials is
// rare), the server's resident memory falls back to what it serves with.
// It costs a collection and returning some 7 MiB of pages, a few
// milliseconds, less than the hash.
func returnHashMemory() { debug.FreeOSMemory() }
