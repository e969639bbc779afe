package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "empty file gives defaults", yaml: "", check: func(t *testing.T, c Config) {
			if !reflect.DeepEqual(c, Default()) {
				t.Fatalf("got %+v", c)
			}
		}},
		{name: "values", yaml: "addr: 0.0.0.0:6000\nlog:\n  format: json\nshutdown_timeout: 5s\n", check: func(t *testing.T, c Config) {
			if c.Addr != "0.0.0.0:6000" || c.Log.Format != "json" || c.ShutdownTimeout.Seconds() != 5 || c.Log.Level != "info" {
				t.Fatalf("got %+v", c)
			}
		}},
		{name: "unknown key", yaml: "adr: x\n", wantErr: "field adr not found"},
		{name: "unknown nested key", yaml: "log:\n  colour: red\n", wantErr: "field colour not found"},
		{name: "bad type", yaml: "limits:\n  max_manifest_bytes: lots\n", wantErr: "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "acre.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		ok     bool
	}{
		{"defaults", func(c *Config) {}, true},
		{"bad addr", func(c *Config) { c.Addr = "nope" }, false},
		{"half tls", func(c *Config) { c.TLS.Cert = "x.pem" }, false},
		{"bad log format", func(c *Config) { c.Log.Format = "xml" }, false},
		{"bad registry name", func(c *Config) { c.DefaultRegistry = "Bad_Name" }, false},
		{"bad synchronous", func(c *Config) { c.Storage.SQLite.Synchronous = "off" }, false},
		{"registries", func(c *Config) { c.Registries = []Registry{{Name: "prod", SKU: "Premium"}, {Name: "dev"}} }, true},
		{"bad registry sku", func(c *Config) { c.Registries = []Registry{{Name: "prod", SKU: "Gold"}} }, false},
		{"registry with slash", func(c *Config) { c.Registries = []Registry{{Name: "a/b"}} }, false},
		{"tiny manifests", func(c *Config) { c.Limits.MaxManifestBytes = 10 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.change(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
