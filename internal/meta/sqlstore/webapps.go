package sqlstore

import (
	"context"

	"github.com/acre-project/acre/internal/meta"
)

const planCols = `id, name, sku, workers, created_at`

func scanPlan(sc interface{ Scan(...any) error }) (*meta.AppPlan, error) {
	var p meta.AppPlan
	var c int64
	if err := sc.Scan(&p.ID, &p.Name, &p.SKU, &p.Workers, &c); err != nil {
		return nil, notFound(err)
	}
	p.CreatedAt = fromNS(c)
	return &p, nil
}

func (q *queries) CreatePlan(ctx context.Context, p *meta.AppPlan) error {
	err := q.db.QueryRowContext(ctx, `INSERT INTO appservice_plans (name, sku, workers, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		p.Name, p.SKU, p.Workers, ns(p.CreatedAt)).Scan(&p.ID)
	if isUnique(err) {
		return meta.ErrConflict
	}
	return err
}

func (q *queries) GetPlan(ctx context.Context, name string) (*meta.AppPlan, error) {
	return scanPlan(q.db.QueryRowContext(ctx, `SELECT `+planCols+` FROM appservice_plans WHERE name = ?`, name))
}

func (q *queries) GetPlanByID(ctx context.Context, id int64) (*meta.AppPlan, error) {
	return scanPlan(q.db.QueryRowContext(ctx, `SELECT `+planCols+` FROM appservice_plans WHERE id = ?`, id))
}

func (q *queries) ListPlans(ctx context.Context) ([]meta.AppPlan, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+planCols+` FROM appservice_plans ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []meta.AppPlan{}
	for rows.Next() {
		p, err := scanPlan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

func (q *queries) UpdatePlan(ctx context.Context, p *meta.AppPlan) error {
	return affected(q.db.ExecContext(ctx, `UPDATE appservice_plans SET sku = ?, workers = ? WHERE id = ?`, p.SKU, p.Workers, p.ID))
}

func (q *queries) DeletePlan(ctx context.Context, id int64) error {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM webapps WHERE plan_id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return meta.ErrConflict
	}
	return affected(q.db.ExecContext(ctx, `DELETE FROM appservice_plans WHERE id = ?`, id))
}

const webappCols = `id, name, plan_id, principal_id, config, status, created_at, updated_at`

func scanWebApp(sc interface{ Scan(...any) error }) (*meta.WebApp, error) {
	var a meta.WebApp
	var cfg, st string
	var c, u int64
	if err := sc.Scan(&a.ID, &a.Name, &a.PlanID, &a.PrincipalID, &cfg, &st, &c, &u); err != nil {
		return nil, notFound(err)
	}
	a.Config, a.Status = []byte(cfg), []byte(st)
	a.CreatedAt, a.UpdatedAt = fromNS(c), fromNS(u)
	return &a, nil
}

func (q *queries) CreateWebApp(ctx context.Context, a *meta.WebApp) error {
	st := a.Status
	if len(st) == 0 {
		st = []byte("{}")
	}
	err := q.db.QueryRowContext(ctx, `INSERT INTO webapps (name, plan_id, principal_id, config, status, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, a.Name, a.PlanID, a.PrincipalID, string(a.Config), string(st),
		ns(a.CreatedAt), ns(a.UpdatedAt)).Scan(&a.ID)
	if isUnique(err) {
		return meta.ErrConflict
	}
	return err
}

func (q *queries) GetWebApp(ctx context.Context, name string) (*meta.WebApp, error) {
	return scanWebApp(q.db.QueryRowContext(ctx, `SELECT `+webappCols+` FROM webapps WHERE name = ?`, name))
}

func (q *queries) ListWebApps(ctx context.Context) ([]meta.WebApp, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+webappCols+` FROM webapps ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []meta.WebApp{}
	for rows.Next() {
		a, err := scanWebApp(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

func (q *queries) UpdateWebApp(ctx context.Context, a *meta.WebApp) error {
	return affected(q.db.ExecContext(ctx, `UPDATE webapps SET plan_id = ?, principal_id = ?, config = ?, updated_at = ? WHERE id = ?`,
		a.PlanID, a.PrincipalID, string(a.Config), ns(a.UpdatedAt), a.ID))
}

func (q *queries) SetWebAppStatus(ctx context.Context, id int64, status []byte) error {
	return affected(q.db.ExecContext(ctx, `UPDATE webapps SET status = ? WHERE id = ?`, string(status), id))
}

func (q *queries) DeleteWebApp(ctx context.Context, id int64) error {
	return affected(q.db.ExecContext(ctx, `DELETE FROM webapps WHERE id = ?`, id))
}
