package registry

import (
	"strings"
	"testing"
	"time"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
)

func TestFreshSessionIDs(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	k := newSessionKeys([]byte("k1"), time.Hour)
	other := newSessionKeys([]byte("k2"), time.Hour)
	r := Repo{Registry: &meta.Registry{ID: 1}, Name: "app"}
	id := k.issue(r, now)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, tc := range []struct {
		name      string
		k         sessionKeys
		r         Repo
		id        string
		at        time.Time
		fresh, ok bool
	}{
		{"issued here, in time", k, r, id, now.Add(59 * time.Minute), true, true},
		{"a UUID is a stored session's", k, r, "0b7e4a52-3c1f-4d0e-9f6a-2b8c5d1e7a90", now, false, false},
		{"another length is a stored session's", k, r, id[:42], now, false, false},
		{"expired", k, r, id, now.Add(61 * time.Minute), true, false},
		{"issued in the future", k, r, id, now.Add(-2 * time.Minute), true, false},
		{"another repository", k, Repo{Registry: r.Registry, Name: "app2"}, id, now, true, false},
		{"another registry", k, Repo{Registry: &meta.Registry{ID: 2}, Name: "app"}, id, now, true, false},
		{"another key", other, r, id, now, true, false},
		{"time changed", k, r, flip(id, 3), now, true, false},
		{"MAC changed", k, r, flip(id, 40), now, true, false},
		{"not base64url", k, r, strings.Repeat("!", freshLen), now, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fresh, err := tc.k.check(tc.r, tc.id, tc.at)
			if fresh != tc.fresh {
				t.Fatalf("fresh = %v, want %v", fresh, tc.fresh)
			}
			if !fresh {
				return
			}
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && errcode.CodeOf(err) != errcode.BlobUploadUnknown {
				t.Fatalf("err = %v, want BLOB_UPLOAD_UNKNOWN", err)
			}
		})
	}
	if a, b := k.issue(r, now), k.issue(r, now); a == b || len(a) != freshLen {
		t.Fatalf("two ids issued at once: %q, %q", a, b)
	}
}
