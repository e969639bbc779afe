package seal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestSealOpen(t *testing.T) {
	b := newBox(t)
	for _, plain := range []string{"x", "s3cr3t-value", strings.Repeat("long ", 5000), "ünïcödé\x00bytes"} {
		s, err := b.Seal(plain, "keyvault:v/n/1")
		if err != nil {
			t.Fatal(err)
		}
		// A value of a few bytes may appear in the base64 text by chance.
		if !IsSealed(s) || (len(plain) >= 8 && strings.Contains(s, plain)) {
			t.Fatalf("sealed %q: %q", plain, s)
		}
		got, err := b.Open(s, "keyvault:v/n/1")
		if err != nil || got != plain {
			t.Fatalf("open: %q %v, want %q", got, err, plain)
		}
	}
	// Two seals of one value differ (random nonces).
	s1, _ := b.Seal("same", "l")
	s2, _ := b.Seal("same", "l")
	if s1 == s2 {
		t.Error("two seals of one value are equal")
	}
	if s, _ := b.Seal("", "l"); s != "" {
		t.Errorf("empty value sealed to %q", s)
	}
}

func TestOpenRefuses(t *testing.T) {
	b, other := newBox(t), newBox(t)
	s, err := b.Seal("value", "here")
	if err != nil {
		t.Fatal(err)
	}
	flip := []byte(s)
	flip[len(flip)-3] ^= 1
	for _, tc := range []struct {
		name, sealed, label string
		box                 *Box
		want                error
	}{
		{"another label", s, "there", b, nil},
		{"another key", s, "here", other, ErrWrongKey},
		{"tampered", string(flip), "here", b, nil},
		{"truncated", s[:len(prefix)+12], "here", b, nil},
		{"not base64", prefix + b.keyID + ":***", "here", b, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.box.Open(tc.sealed, tc.label)
			if err == nil {
				t.Fatalf("opened to %q", got)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
	// A value that was never sealed (stored before sealing) comes back as it is.
	if got, err := b.Open("plain-old", "here"); err != nil || got != "plain-old" {
		t.Errorf("plain value: %q %v", got, err)
	}
}

func TestKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "secret.key")
	// Created once, 0600, by whichever of several starters comes first.
	var wg sync.WaitGroup
	boxes := make([]*Box, 4)
	errs := make([]error, 4)
	for i := range boxes {
		wg.Add(1)
		go func() { defer wg.Done(); boxes[i], errs[i] = LoadOrCreate(path) }()
	}
	wg.Wait()
	for i := range boxes {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if boxes[i].keyID != boxes[0].keyID {
			t.Fatal("concurrent starters made different keys")
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Fatalf("key file: %v %v", fi, err)
	}
	s, _ := boxes[0].Seal("persisted", "l")
	again, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Open(s, "l"); err != nil || got != "persisted" {
		t.Errorf("after reload: %q %v", got, err)
	}
	// No stray temporary files.
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("data directory holds %d entries", len(ents))
	}

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	wide := filepath.Join(t.TempDir(), "wide.key")
	must(os.WriteFile(wide, bytes.Repeat([]byte{1}, KeySize), 0o644))
	must(os.Chmod(wide, 0o644))
	if _, err := LoadOrCreate(wide); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable key file: %v", err)
	}
	short := filepath.Join(t.TempDir(), "short.key")
	must(os.WriteFile(short, []byte("short"), 0o600))
	if _, err := LoadOrCreate(short); err == nil {
		t.Error("a short key file was accepted")
	}
}

func newBox(t *testing.T) *Box {
	t.Helper()
	b, err := LoadOrCreate(filepath.Join(t.TempDir(), "k"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDerive(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	other := bytes.Repeat([]byte{8}, KeySize)
	a, _ := New(key)
	b, _ := New(key)
	c, _ := New(other)
	for _, tc := range []struct {
		name string
		x, y []byte
		same bool
	}{
		{"same key, same purpose", a.Derive("p"), b.Derive("p"), true},
		{"same key, other purpose", a.Derive("p"), a.Derive("q"), false},
		{"other key, same purpose", a.Derive("p"), c.Derive("p"), false},
		{"not the key itself", a.Derive(""), key, false},
	} {
		if got := bytes.Equal(tc.x, tc.y); got != tc.same || len(tc.x) != 32 {
			t.Errorf("%s: equal=%v (len %d), want %v", tc.name, got, len(tc.x), tc.same)
		}
	}
}
