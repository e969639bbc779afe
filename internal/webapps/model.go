package webapps

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acre-project/acre/internal/names"
)

// ErrInvalid marks a request that is wrong in itself (a clear message for
// the user, HTTP 400).
var ErrInvalid = errors.New("invalid request")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// SKU is the size of a plan's instances.
type SKU struct {
	Name   string
	Memory int64 // bytes per instance
	Pids   int64
}

// skus are App Service's Linux SKUs with their memory per instance.
var skus = []SKU{
	{"F1", 1 << 30, 256}, {"B1", 1792 << 20, 512}, {"B2", 3584 << 20, 1024}, {"B3", 7 << 30, 2048},
	{"S1", 1792 << 20, 512}, {"S2", 3584 << 20, 1024}, {"S3", 7 << 30, 2048},
	{"P1V2", 3584 << 20, 1024}, {"P2V2", 7 << 30, 2048}, {"P3V2", 14 << 30, 4096},
	{"P0V3", 4 << 30, 1024}, {"P1V3", 8 << 30, 2048}, {"P2V3", 16 << 30, 4096}, {"P3V3", 32 << 30, 8192},
}

// LookupSKU finds a SKU by name, case-insensitively.
func LookupSKU(name string) (SKU, bool) {
	for _, s := range skus {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return SKU{}, false
}

func skuNames() string {
	var n []string
	for _, s := range skus {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}

var nameRE = names.New(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`, 1, 60)

// checkName validates a plan or app name: it becomes a host name label.
func checkName(kind, name string) error {
	if !nameRE.Match(name) {
		return invalid("%s name %q: use 1-60 lowercase letters, digits and hyphens, not starting or ending with a hyphen", kind, name)
	}
	return nil
}

// Connection string types and the prefix App Service gives their variables.
var connPrefixes = map[string]string{
	"Custom": "CUSTOMCONNSTR_", "PostgreSQL": "POSTGRESQLCONNSTR_", "SQLAzure": "SQLAZURECONNSTR_",
	"MySql": "MYSQLCONNSTR_", "SQLServer": "SQLCONNSTR_", "RedisCache": "REDISCACHECONNSTR_",
	"ApiHub": "APIHUBCONNSTR_", "DocDb": "DOCDBCONNSTR_", "EventHub": "EVENTHUBCONNSTR_", "NotificationHub": "NOTIFICATIONHUBCONNSTR_",
	"ServiceBus": "SERVICEBUSCONNSTR_",
}

// ConnTypeOf returns the canonical spelling of a connection string type.
func ConnTypeOf(t string) (string, bool) {
	for k := range connPrefixes {
		if strings.EqualFold(k, t) {
			return k, true
		}
	}
	return "", false
}

// ConnString is a connection string setting.
type ConnString struct {
	Value string `json:"value"`
	Type  string `json:"type"`
}

// Config is what the user sets on a web app (stored as JSON).
type Config struct {
	Image             string                `json:"image"` // registry/repository:tag
	AcrUseIdentity    bool                  `json:"acrUseManagedIdentityCreds"`
	AppSettings       map[string]string     `json:"appSettings"`
	ConnectionStrings map[string]ConnString `json:"connectionStrings"`
	StartupFile       string                `json:"appCommandLine"`
	HealthCheckPath   string                `json:"healthCheckPath"`
	AlwaysOn          bool                  `json:"alwaysOn"`
	Workers           int                   `json:"numberOfWorkers"` // 0: the plan's
	Stopped           bool                  `json:"stopped"`
	CDEnabled         bool                  `json:"cdEnabled"`
	CDSecretHash      string                `json:"cdSecretHash,omitempty"`
	// Restarts counts restart requests, so that a restart is a config change.
	Restarts int `json:"restarts"`
}

func parseConfig(b []byte) (Config, error) {
	var c Config
	err := json.Unmarshal(b, &c)
	if c.AppSettings == nil {
		c.AppSettings = map[string]string{}
	}
	if c.ConnectionStrings == nil {
		c.ConnectionStrings = map[string]ConnString{}
	}
	return c, err
}

// Status is what the platform observed (stored as JSON).
type Status struct {
	State          string    `json:"state"` // Starting, Running, Stopped, Failed
	Message        string    `json:"message,omitempty"`
	Image          string    `json:"image,omitempty"`  // the image reference running
	Digest         string    `json:"digest,omitempty"` // its manifest digest
	LastDeployment time.Time `json:"lastDeployment,omitzero"`
	Instances      []string  `json:"instances,omitempty"`
	Restarts       int       `json:"restartCount"`
	// KeyVaultReferences tells, for each setting that is a Key Vault
	// reference, whether it resolved and why not.
	KeyVaultReferences []RefStatus `json:"keyVaultReferences,omitempty"`
}

// RefStatus is the state of one Key Vault reference.
type RefStatus struct {
	Setting string `json:"setting"`
	Status  string `json:"status"` // Resolved, or why not
}
