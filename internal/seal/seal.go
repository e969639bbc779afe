// Package seal encrypts small secrets at rest (Key Vault secret values,
// secret build arguments, git tokens of runs and tasks) with AES-256-GCM
// under one server key kept in a file outside the metadata store.
//
// Why this scheme: the metadata store may be a PostgreSQL server on
// another host, and its files, dumps and backups travel further than the
// data directory; a key in a separate 0600 file means none of those hold
// a usable secret. AES-GCM is authenticated, so a tampered or swapped
// value fails to open instead of decrypting to garbage: each value is
// sealed with a label (where it lives, as associated data), so a sealed
// value copied to another row does not open there. Nonces are random (96
// bits), safe far beyond the number of values acre seals under one key.
// Every node of a cluster must use the same key file (config
// secret_key_file); a value sealed under another key fails with a message
// that says so.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of a key file (AES-256).
const KeySize = 32

// prefix starts every sealed value: "acre-sealed:v1:<key id>:<base64>".
const prefix = "acre-sealed:v1:"

// ErrWrongKey is a value sealed under another key.
var ErrWrongKey = errors.New("the value was sealed under another key (is secret_key_file the same on every node?)")

// Box seals and opens values under one key. It is safe for concurrent use.
type Box struct {
	aead   cipher.AEAD
	keyID  string
	derive []byte // the key under which Derive's keys are made
}

// New returns a Box for a KeySize-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("seal: the key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("acre seal key id\x00"), key...))
	dk := hmac.New(sha256.New, key)
	dk.Write([]byte("acre derived keys\x00"))
	return &Box{aead: aead, keyID: hex.EncodeToString(sum[:4]), derive: dk.Sum(nil)}, nil
}

// Derive returns a 32-byte key for purpose, made from the box's key: the
// same on every node that shares the key file, and different for each
// purpose, so that no use of a derived key can stand for another.
func (b *Box) Derive(purpose string) []byte {
	m := hmac.New(sha256.New, b.derive)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// LoadOrCreate reads the key file at path, creating it (KeySize random
// bytes, mode 0600, its directory 0700) when it does not exist. A key file
// that others may read or write, or of the wrong size, is an error.
func LoadOrCreate(path string) (*Box, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = create(path)
	}
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret key file %s: mode %v lets others read it; chmod 600 it", path, fi.Mode().Perm())
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key file %s: %d bytes, want %d", path, len(key), KeySize)
	}
	return New(key)
}

// create writes a new key; when another process created the file first,
// that key is read instead.
func create(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret-key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	// A hard link never replaces an existing file: the first creator wins.
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	} else if err != nil {
		return nil, err
	}
	return key, nil
}

// IsSealed reports whether s is a sealed value.
func IsSealed(s string) bool { return strings.HasPrefix(s, prefix) }

// Seal encrypts plain; label names where the value is kept (it must be
// given again to Open). The empty string stays empty.
func (b *Box) Seal(plain, label string) (string, error) {
	if plain == "" {
		return "", nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	ct := b.aead.Seal(nonce, nonce, []byte(plain), []byte(label))
	return prefix + b.keyID + ":" + base64.RawStdEncoding.EncodeToString(ct), nil
}

// Open decrypts a value Seal made under the same label. A value that is
// not sealed (written before acre sealed values) comes back as it is.
func (b *Box) Open(sealed, label string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return sealed, nil
	}
	id, body, ok := strings.Cut(rest, ":")
	if !ok {
		return "", errors.New("seal: a malformed sealed value")
	}
	if id != b.keyID {
		return "", ErrWrongKey
	}
	ct, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil || len(ct) < b.aead.NonceSize() {
		return "", errors.New("seal: a malformed sealed value")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, ct[:n], ct[n:], []byte(label))
	if err != nil {
		return "", fmt.Errorf("seal: the value does not open under its label %q (tampered, or moved from another place)", label)
	}
	return string(plain), nil
}
