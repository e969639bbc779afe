// Package config holds acre's one typed configuration: defaults, a strict
// YAML file (unknown keys are errors) and Validate.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/reference"
	"github.com/acre-project/acre/internal/sku"
	"go.yaml.in/yaml/v3"
)

// Config is the server configuration.
type Config struct {
	// Addr is the listen address (default 127.0.0.1:5000).
	Addr string `yaml:"addr"`
	// Data is the directory holding blobs and metadata (default ./acre-data).
	Data string `yaml:"data"`
	// SecretKeyFile is the key that seals secrets at rest (Key Vault
	// values, secret build arguments, git tokens): 32 bytes, mode 0600,
	// created on first start (default <data>/secret.key). Every node of a
	// cluster must use the same file.
	SecretKeyFile string `yaml:"secret_key_file"`
	// Domain: each registry's login server is <name>.<domain> (default localhost).
	Domain string `yaml:"domain"`
	// DefaultRegistry is created on a fresh data directory and served on
	// addresses that name no registry (default "acre").
	DefaultRegistry string `yaml:"default_registry"`
	// ShutdownTimeout bounds how long in-flight requests may finish on stop.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Registries are created on start when missing, besides the default one;
	// each is served at its login server <name>.<domain>.
	Registries []Registry `yaml:"registries"`
	Auth       Auth       `yaml:"auth"`
	Metrics    Metrics    `yaml:"metrics"`
	Audit      Audit      `yaml:"audit"`
	Lifecycle  Lifecycle  `yaml:"lifecycle"`
	Webhooks   Webhooks   `yaml:"webhooks"`
	// SKULimits override ACR's default limits per SKU (Basic, Standard, Premium).
	SKULimits map[string]SKULimits `yaml:"sku_limits"`
	Log       Log                  `yaml:"log"`
	TLS       TLS                  `yaml:"tls"`
	Storage   Storage              `yaml:"storage"`
	Limits    Limits               `yaml:"limits"`
	WebApps   WebApps              `yaml:"webapps"`
	Tasks     Tasks                `yaml:"tasks"`
}

// Registry declares a registry to create on start.
type Registry struct {
	Name string `yaml:"name"`
	SKU  string `yaml:"sku"` // Basic, Standard (default) or Premium
}

// Auth configures authentication and tokens.
type Auth struct {
	// Enabled turns authentication on (the default). Off, anyone who can
	// reach the server may do anything: only for throwaway local use.
	Enabled         bool          `yaml:"enabled"`
	AccessTokenTTL  time.Duration `yaml:"access_token_ttl"`  // default 75m, as ACR's
	RefreshTokenTTL time.Duration `yaml:"refresh_token_ttl"` // default 3h (acre login)
	SessionTTL      time.Duration `yaml:"session_ttl"`       // default 12h (CLI sign-in)
	KeyRotation     time.Duration `yaml:"key_rotation"`      // default 720h
	// TrustedProxies are the peers (addresses or CIDR prefixes, such as a
	// load balancer's) whose X-Forwarded-For header names the client, for
	// sign-in throttling and the audit log. Others' headers are ignored.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	Enabled bool   `yaml:"enabled"` // default true
	Addr    string `yaml:"addr"`    // a listener of its own; "" serves /metrics on the main one
}

// Audit configures the audit log.
type Audit struct {
	Retention time.Duration `yaml:"retention"` // entries older than this are deleted (default 90 days)
}

// Webhooks configures where webhook deliveries may connect.
type Webhooks struct {
	// Allow lists destinations deliveries may reach although they are
	// refused by default (loopback, link-local, unspecified, multicast):
	// CIDRs ("10.0.0.0/8"), addresses, either with a port
	// ("127.0.0.1:9000"), or host names with an optional port
	// ("hooks.internal:8443"). acre's own listeners stay refused unless an
	// entry names their exact address and port.
	Allow []string `yaml:"allow"`
}

// Lifecycle configures garbage collection and the lifecycle jobs.
type Lifecycle struct {
	Interval       time.Duration `yaml:"interval"`        // how often GC and due schedules run (default 1m)
	GCGrace        time.Duration `yaml:"gc_grace"`        // a new blob link waits this long for a manifest (default 1h)
	UploadTTL      time.Duration `yaml:"upload_ttl"`      // upload sessions idle this long are removed (default 24h)
	OrphanSweep    time.Duration `yaml:"orphan_sweep"`    // how often to look for unrecorded blob files (default 24h)
	RetentionEvery time.Duration `yaml:"retention_every"` // how often retention policies run (default 10m)
}

// SKULimits overrides some of a SKU's limits (zero keeps the default).
type SKULimits struct {
	StorageLimitGiB   int64 `yaml:"storage_limit_gib"`
	StorageLimitBytes int64 `yaml:"storage_limit_bytes"` // overrides storage_limit_gib when set
	Webhooks          int   `yaml:"webhooks"`
	Tokens            int   `yaml:"tokens"`
	ScopeMaps         int   `yaml:"scope_maps"`
	ReadOpsPerMinute  int   `yaml:"read_ops_per_minute"`
	WriteOpsPerMinute int   `yaml:"write_ops_per_minute"`
	AnonymousPull     *bool `yaml:"anonymous_pull"` // allow anonymous pull on this SKU (ACR: not on Basic)
}

// Log configures structured logging.
type Log struct {
	Format string `yaml:"format"` // text (default) or json
	Level  string `yaml:"level"`  // debug, info (default), warn, error
}

// TLS enables HTTPS when both files are set.
type TLS struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Storage selects and tunes the stores.
type Storage struct {
	SQLite SQLite `yaml:"sqlite"`
	// Postgres keeps metadata in PostgreSQL instead of SQLite when its DSN
	// is set (or $ACRE_POSTGRES_DSN), so that several nodes share it.
	Postgres Postgres `yaml:"postgres"`
	Blobs    Blobs    `yaml:"blobs"`
}

// Postgres configures PostgreSQL metadata.
type Postgres struct {
	DSN string `yaml:"dsn"` // e.g. postgres://acre@db:5432/acre?sslmode=disable; secrets may come from $ACRE_POSTGRES_DSN
}

// Blobs selects the blob store.
type Blobs struct {
	Type  string    `yaml:"type"` // fs (default: under data), s3 or azure
	S3    S3Blobs   `yaml:"s3"`
	Azure AzureBlob `yaml:"azure"`
	// Redirect sends blob downloads to presigned (S3) or SAS (Azure) URLs,
	// so clients read straight from the object store.
	Redirect bool `yaml:"redirect"`
	// InlineMaxKiB: with the fs store, blobs of at most this many KiB
	// pushed whole are kept in the metadata database instead of a file of
	// their own (default 128; 0 turns it off; at most 1024).
	InlineMaxKiB int `yaml:"inline_max_kib"`
}

// S3Blobs configures an S3-compatible store (AWS S3, MinIO, Ceph, versitygw).
type S3Blobs struct {
	Endpoint    string `yaml:"endpoint"`
	Region      string `yaml:"region"`
	Bucket      string `yaml:"bucket"`
	Prefix      string `yaml:"prefix"`
	AccessKey   string `yaml:"access_key"`
	SecretKey   string `yaml:"secret_key"` // or $ACRE_S3_SECRET_KEY
	PathStyle   bool   `yaml:"path_style"`
	PartSizeMiB int64  `yaml:"part_size_mib"`
}

// AzureBlob configures Azure Blob Storage (or Azurite).
type AzureBlob struct {
	ServiceURL  string `yaml:"service_url"`
	AccountName string `yaml:"account_name"`
	AccountKey  string `yaml:"account_key"` // or $ACRE_AZURE_ACCOUNT_KEY
	Container   string `yaml:"container"`
	Prefix      string `yaml:"prefix"`
}

// SQLite tunes the embedded metadata store.
type SQLite struct {
	// Synchronous is "full" (default: a commit survives power loss) or
	// "normal" (survives a process crash; faster on slow disks).
	Synchronous string `yaml:"synchronous"`
}

// Limits bound what clients may send.
type Limits struct {
	MaxManifestBytes int64 `yaml:"max_manifest_bytes"`
	// Upload sessions open at once, per registry and per identity; past
	// either, starting one answers 429 TOOMANYREQUESTS.
	MaxUploadsPerRegistry int `yaml:"max_uploads_per_registry"` // default 10000
	MaxUploadsPerIdentity int `yaml:"max_uploads_per_identity"` // default 1000
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:5000",
		Data:            "./acre-data",
		Domain:          "localhost",
		DefaultRegistry: "acre",
		ShutdownTimeout: 30 * time.Second,
		Auth: Auth{Enabled: true, AccessTokenTTL: 75 * time.Minute, RefreshTokenTTL: 3 * time.Hour,
			SessionTTL: 12 * time.Hour, KeyRotation: 30 * 24 * time.Hour},
		Metrics: Metrics{Enabled: true},
		Audit:   Audit{Retention: 90 * 24 * time.Hour},
		Lifecycle: Lifecycle{Interval: time.Minute, GCGrace: time.Hour, UploadTTL: 24 * time.Hour,
			OrphanSweep: 24 * time.Hour, RetentionEvery: 10 * time.Minute},
		Log:     Log{Format: "text", Level: "info"},
		Storage: Storage{SQLite: SQLite{Synchronous: "full"}, Blobs: Blobs{InlineMaxKiB: 128}},
		Limits:  Limits{MaxManifestBytes: 4 << 20, MaxUploadsPerRegistry: 10000, MaxUploadsPerIdentity: 1000},
		Tasks:   defaultTasks(),
	}
}

// KeyFile is the secret key file's path (SecretKeyFile, or its default).
func (c Config) KeyFile() string {
	if c.SecretKeyFile != "" {
		return c.SecretKeyFile
	}
	return filepath.Join(c.Data, "secret.key")
}

// Load reads a YAML file over the defaults. Unknown keys are errors.
func Load(path string) (Config, error) {
	c := Default()
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // an empty file keeps the defaults
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Validate checks the configuration as a whole.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: %w", c.Addr, err))
	}
	if c.Data == "" {
		errs = append(errs, errors.New("data: a directory is required"))
	}
	if c.Domain == "" {
		errs = append(errs, errors.New("domain: required"))
	}
	if reference.ValidateName(c.DefaultRegistry) != nil || len(c.DefaultRegistry) > 50 || strings.Contains(c.DefaultRegistry, "/") {
		errs = append(errs, fmt.Errorf("default_registry %q: use lower-case letters and digits", c.DefaultRegistry))
	}
	for _, r := range c.Registries {
		if reference.ValidateName(r.Name) != nil || len(r.Name) > 50 || strings.Contains(r.Name, "/") {
			errs = append(errs, fmt.Errorf("registries: name %q: use lower-case letters and digits", r.Name))
		}
		if r.SKU != "" && !sku.Known(r.SKU) {
			errs = append(errs, fmt.Errorf("registries: %s: sku %q: use Basic, Standard or Premium", r.Name, r.SKU))
		}
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format %q: use text or json", c.Log.Format))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level %q: use debug, info, warn or error", c.Log.Level))
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		errs = append(errs, errors.New("tls: set both cert and key, or neither"))
	}
	switch b := c.Storage.Blobs; b.Type {
	case "", "fs":
	case "s3":
		if b.S3.Bucket == "" {
			errs = append(errs, errors.New("storage.blobs.s3.bucket: required"))
		}
	case "azure":
		if b.Azure.ServiceURL == "" || b.Azure.Container == "" || b.Azure.AccountName == "" {
			errs = append(errs, errors.New("storage.blobs.azure: service_url, account_name and container are required"))
		}
	default:
		errs = append(errs, fmt.Errorf("storage.blobs.type %q: use fs, s3 or azure", b.Type))
	}
	switch c.Storage.SQLite.Synchronous {
	case "full", "normal":
	default:
		errs = append(errs, fmt.Errorf("storage.sqlite.synchronous %q: use full or normal", c.Storage.SQLite.Synchronous))
	}
	if c.Limits.MaxManifestBytes < 1024 {
		errs = append(errs, errors.New("limits.max_manifest_bytes: at least 1024"))
	}
	if c.Storage.Blobs.InlineMaxKiB < 0 || c.Storage.Blobs.InlineMaxKiB > 1024 {
		errs = append(errs, errors.New("storage.blobs.inline_max_kib: between 0 and 1024"))
	}
	if c.Limits.MaxUploadsPerRegistry < 1 || c.Limits.MaxUploadsPerIdentity < 1 {
		errs = append(errs, errors.New("limits.max_uploads_per_registry and max_uploads_per_identity: at least 1"))
	}
	for name, d := range map[string]time.Duration{"auth.access_token_ttl": c.Auth.AccessTokenTTL,
		"auth.refresh_token_ttl": c.Auth.RefreshTokenTTL, "auth.session_ttl": c.Auth.SessionTTL} {
		if d < time.Minute || d > 7*24*time.Hour {
			errs = append(errs, fmt.Errorf("%s: between 1m and 168h", name))
		}
	}
	for _, p := range c.Auth.TrustedProxies {
		if _, perr := netip.ParsePrefix(p); perr != nil {
			if _, aerr := netip.ParseAddr(p); aerr != nil {
				errs = append(errs, fmt.Errorf("auth.trusted_proxies: %q is not an address or CIDR prefix", p))
			}
		}
	}
	if c.Auth.KeyRotation < time.Hour {
		errs = append(errs, errors.New("auth.key_rotation: at least 1h"))
	}
	if c.Metrics.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Addr); err != nil {
			errs = append(errs, fmt.Errorf("metrics.addr %q: %w", c.Metrics.Addr, err))
		}
	}
	if c.Audit.Retention < time.Hour {
		errs = append(errs, errors.New("audit.retention: at least 1h"))
	}
	l := c.Lifecycle
	if l.Interval < time.Second || l.GCGrace <= 0 || l.UploadTTL < time.Minute || l.OrphanSweep < time.Minute ||
		l.RetentionEvery < time.Second {
		errs = append(errs, errors.New("lifecycle: interval and retention_every at least 1s; gc_grace above 0; upload_ttl and orphan_sweep at least 1m"))
	}
	for name := range c.SKULimits {
		if !sku.Known(name) {
			errs = append(errs, fmt.Errorf("sku_limits: unknown SKU %q", name))
		}
	}
	errs = append(errs, c.WebApps.validate()...)
	if err := c.Tasks.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.ShutdownTimeout < 0 {
		errs = append(errs, errors.New("shutdown_timeout: must not be negative"))
	}
	return errors.Join(errs...)
}

// SKU returns a SKU's limits with the operator's overrides applied.
func (c Config) SKU(name string) sku.Limits {
	l := sku.Of(name)
	o, ok := c.SKULimits[name]
	if !ok {
		return l
	}
	if o.StorageLimitGiB > 0 {
		l.StorageLimit = o.StorageLimitGiB * sku.GiB
	}
	if o.StorageLimitBytes > 0 {
		l.StorageLimit = o.StorageLimitBytes
	}
	if o.AnonymousPull != nil {
		l.AnonymousPull = *o.AnonymousPull
	}
	for _, f := range []struct{ v, dst *int }{{&o.Webhooks, &l.Webhooks}, {&o.Tokens, &l.Tokens}, {&o.ScopeMaps, &l.ScopeMaps},
		{&o.ReadOpsPerMinute, &l.ReadOpsPerMinute}, {&o.WriteOpsPerMinute, &l.WriteOpsPerMinute}} {
		if *f.v > 0 {
			*f.dst = *f.v
		}
	}
	return l
}
