package registry

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// An upload session that holds no bytes holds no state either. Starting
// one (POST) writes nothing: its id carries when it was issued and a MAC
// that binds it to its registry and repository. The session takes state
// when bytes first arrive: a PUT with the whole blob stores it as a
// monolithic upload does, and a first PATCH opens a stored session (a
// record and a file, counted against the caps on open sessions) whose id
// the answer's Location gives, as the spec has clients follow. So the
// common push of a blob (POST, then PUT with the bytes) costs one metadata
// transaction, not three, and an abandoned POST costs nothing.
//
// Such a session ends only when its id expires: cancelling it (DELETE)
// has nothing to remove, and completing it (PUT) stores the blob, after
// which the same id could store it again, harmlessly.

// freshLen is the length of a fresh session's id: 32 bytes in unpadded
// base64url (issued time 8, random 8, MAC 16). A stored session's id is a
// UUID (36 characters), so the two never collide.
const freshLen = 43

// sessionKeys issues and checks the ids of fresh sessions.
type sessionKeys struct {
	key []byte
	ttl time.Duration
}

func newSessionKeys(key []byte, ttl time.Duration) sessionKeys {
	if len(key) == 0 {
		key = make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails
	}
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return sessionKeys{key: key, ttl: ttl}
}

// issue returns the id of a new fresh session in r, issued at now.
func (k sessionKeys) issue(r Repo, now time.Time) string {
	var b [32]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.Unix()))
	_, _ = rand.Read(b[8:16])
	copy(b[16:], k.mac(r, b[:16]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// check tells whether id has a fresh session's form (fresh false: any
// other id, left to the stored sessions); for one that has, it returns
// BLOB_UPLOAD_UNKNOWN unless r issued it (in this registry, under this
// key) less than the TTL before now.
func (k sessionKeys) check(r Repo, id string, now time.Time) (fresh bool, err error) {
	if len(id) != freshLen {
		return false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) != 32 {
		return true, uploadUnknown(id)
	}
	if !hmac.Equal(b[16:], k.mac(r, b[:16])) {
		return true, uploadUnknown(id)
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	if now.Sub(issued) > k.ttl || issued.Sub(now) > time.Minute {
		return true, uploadUnknown(id)
	}
	return true, nil
}

// mac binds a session's issued time and random part to its registry and
// repository.
func (k sessionKeys) mac(r Repo, head []byte) []byte {
	m := hmac.New(sha256.New, k.key)
	var reg [8]byte
	binary.BigEndian.PutUint64(reg[:], uint64(r.Registry.ID))
	m.Write([]byte("acre upload session\x00"))
	m.Write(reg[:])
	m.Write([]byte(r.Name))
	m.Write([]byte{0})
	m.Write(head)
	return m.Sum(nil)[:16]
}
