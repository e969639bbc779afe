package webapps

import (
	"context"
	"maps"
	"slices"
)

// ConfigPatch changes some of an app's configuration: nil fields stay; an
// app setting or connection string set to null is deleted.
type ConfigPatch struct {
	Image             *string                `json:"image"`
	AcrUseIdentity    *bool                  `json:"acrUseManagedIdentityCreds"`
	AppCommandLine    *string                `json:"appCommandLine"`
	HealthCheckPath   *string                `json:"healthCheckPath"`
	AlwaysOn          *bool                  `json:"alwaysOn"`
	Workers           *int                   `json:"numberOfWorkers"`
	AppSettings       map[string]*string     `json:"appSettings"`
	ConnectionStrings map[string]*ConnString `json:"connectionStrings"`
}

// Apply changes c.
func (p ConfigPatch) Apply(c *Config) error {
	set(&c.Image, p.Image)
	set(&c.AcrUseIdentity, p.AcrUseIdentity)
	set(&c.StartupFile, p.AppCommandLine)
	set(&c.HealthCheckPath, p.HealthCheckPath)
	set(&c.AlwaysOn, p.AlwaysOn)
	set(&c.Workers, p.Workers)
	for k, v := range p.AppSettings {
		if v == nil {
			delete(c.AppSettings, k)
		} else {
			c.AppSettings[k] = *v
		}
	}
	for k, v := range p.ConnectionStrings {
		if v == nil {
			delete(c.ConnectionStrings, k)
			continue
		}
		t, ok := ConnTypeOf(v.Type)
		if !ok {
			return invalid("connection string type %q: use PostgreSQL, SQLAzure, MySql, SQLServer or Custom", v.Type)
		}
		c.ConnectionStrings[k] = ConnString{Value: v.Value, Type: t}
	}
	return nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// SettingsView lists an app's settings the way az prints them.
type SettingsView struct {
	SiteConfig        SiteConfigView   `json:"siteConfig"`
	AppSettings       []NameValue      `json:"appSettings"`
	ConnectionStrings []ConnStringView `json:"connectionStrings"`
}

// NameValue is one app setting.
type NameValue struct {
	Name        string `json:"name"`
	Value       string `json:"value"`
	SlotSetting bool   `json:"slotSetting"`
}

// ConnStringView is one connection string.
type ConnStringView struct {
	Name        string `json:"name"`
	Value       string `json:"value"`
	Type        string `json:"type"`
	SlotSetting bool   `json:"slotSetting"`
}

// Settings returns an app's settings and connection strings.
func (s *Service) Settings(ctx context.Context, name string) (SettingsView, error) {
	v, err := s.App(ctx, name)
	if err != nil {
		return SettingsView{}, err
	}
	cfg, err := s.Config(ctx, name)
	if err != nil {
		return SettingsView{}, err
	}
	out := SettingsView{SiteConfig: v.SiteConfig, AppSettings: []NameValue{}, ConnectionStrings: []ConnStringView{}}
	for _, k := range slices.Sorted(maps.Keys(cfg.AppSettings)) {
		out.AppSettings = append(out.AppSettings, NameValue{Name: k, Value: cfg.AppSettings[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(cfg.ConnectionStrings)) {
		cs := cfg.ConnectionStrings[k]
		out.ConnectionStrings = append(out.ConnectionStrings, ConnStringView{Name: k, Value: cs.Value, Type: cs.Type})
	}
	return out, nil
}
