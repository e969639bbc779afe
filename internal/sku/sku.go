// Package sku holds the limits and features of each registry SKU, with
// ACR's published values as defaults.
package sku

import "strings"

// Default is the SKU of a registry created without one.
const Default = "Standard"

// Names returns the SKUs acre knows, as ACR names them.
func Names() []string { return []string{"Basic", "Standard", "Premium"} }

// Canonical returns the canonical spelling of a SKU name given in any case.
func Canonical(name string) (string, bool) {
	for _, k := range Names() {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// Known reports whether name is a SKU spelled exactly as ACR spells it.
func Known(name string) bool {
	c, ok := Canonical(name)
	return ok && c == name
}

// GiB is 2^30 bytes.
const GiB = int64(1) << 30

// Limits are what a registry of one SKU may hold and do.
type Limits struct {
	IncludedStorage   int64 // bytes
	StorageLimit      int64 // bytes; pushes beyond it are refused
	Webhooks          int
	Tokens            int
	ScopeMaps         int
	Replications      int
	IPRules           int
	PrivateEndpoints  int
	AnonymousPull     bool
	ReadOpsPerMinute  int // enforced when a registry turns throttling on
	WriteOpsPerMinute int
}

// Defaults are ACR's limits per SKU.
var defaults = map[string]Limits{
	"Basic": {IncludedStorage: 10 * GiB, StorageLimit: 40 << 40, Webhooks: 2, Tokens: 100, ScopeMaps: 100,
		ReadOpsPerMinute: 1000, WriteOpsPerMinute: 100},
	"Standard": {IncludedStorage: 100 * GiB, StorageLimit: 40 << 40, Webhooks: 10, Tokens: 500, ScopeMaps: 500,
		AnonymousPull: true, ReadOpsPerMinute: 3000, WriteOpsPerMinute: 500},
	"Premium": {IncludedStorage: 500 * GiB, StorageLimit: 40 << 40, Webhooks: 500, Tokens: 50000, ScopeMaps: 50000,
		Replications: 72, IPRules: 200, PrivateEndpoints: 200, AnonymousPull: true, ReadOpsPerMinute: 10000, WriteOpsPerMinute: 2000},
}

// Of returns the limits of a SKU (Standard's for an unknown name).
func Of(name string) Limits {
	for k, v := range defaults {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return defaults[Default]
}
