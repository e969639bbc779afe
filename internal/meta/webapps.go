package meta

import (
	"context"
	"time"
)

// AppPlan is an App Service plan: the SKU (size of each instance) and the
// number of workers its apps run on.
type AppPlan struct {
	ID        int64
	Name      string
	SKU       string
	Workers   int
	CreatedAt time.Time
}

// WebApp is a web app. Config (what the user set) and Status (what the
// platform observed) are JSON documents owned by package webapps.
type WebApp struct {
	ID          int64
	Name        string
	PlanID      int64
	PrincipalID int64 // its system-assigned managed identity; 0: none
	Config      []byte
	Status      []byte
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// AppPlans stores App Service plans. Names are unique; a plan is not
// deleted while apps use it.
type AppPlans interface {
	CreatePlan(ctx context.Context, p *AppPlan) error // ErrConflict when the name is taken
	GetPlan(ctx context.Context, name string) (*AppPlan, error)
	GetPlanByID(ctx context.Context, id int64) (*AppPlan, error)
	ListPlans(ctx context.Context) ([]AppPlan, error)
	UpdatePlan(ctx context.Context, p *AppPlan) error // SKU, workers
	DeletePlan(ctx context.Context, id int64) error   // ErrConflict while apps use it
}

// WebApps stores web apps: what the user configured and, apart, the
// status the platform observed.
type WebApps interface {
	CreateWebApp(ctx context.Context, a *WebApp) error // ErrConflict when the name is taken
	GetWebApp(ctx context.Context, name string) (*WebApp, error)
	ListWebApps(ctx context.Context) ([]WebApp, error)
	// UpdateWebApp writes the plan, principal and config (not the status).
	UpdateWebApp(ctx context.Context, a *WebApp) error
	SetWebAppStatus(ctx context.Context, id int64, status []byte) error
	DeleteWebApp(ctx context.Context, id int64) error
}
