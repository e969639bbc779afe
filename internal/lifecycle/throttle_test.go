package lifecycle

import (
	"testing"

	"github.com/acre-project/acre/internal/errcode"
	"github.com/acre-project/acre/internal/meta"
	"github.com/acre-project/acre/internal/sku"
)

func TestThrottle(t *testing.T) {
	th := NewThrottle(func(*meta.Registry) sku.Limits { return sku.Limits{ReadOpsPerMinute: 2, WriteOpsPerMinute: 1} })
	on := &meta.Registry{ID: 1, Name: "on", Settings: meta.RegistrySettings{Throttling: true}}
	off := &meta.Registry{ID: 2, Name: "off"}
	tests := []struct {
		name  string
		reg   *meta.Registry
		write bool
		ok    bool
	}{
		{"first read", on, false, true},
		{"second read", on, false, true},
		{"third read is refused", on, false, false},
		{"writes have their own bucket", on, true, true},
		{"second write is refused", on, true, false},
		{"throttling off", off, false, true},
		{"throttling off, again", off, false, true},
		{"throttling off, once more", off, false, true},
	}
	for _, tt := range tests {
		err := th.Allow(tt.reg, tt.write)
		if tt.ok != (err == nil) {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if err != nil {
			if c := errcode.CodeOf(err); c != errcode.TooManyRequests {
				t.Fatalf("%s: code %s", tt.name, c)
			}
			if e, _ := err.(*errcode.Error); e.RetryAfter <= 0 {
				t.Fatalf("%s: no RetryAfter", tt.name)
			}
		}
	}
}
