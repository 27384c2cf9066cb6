package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/botgate/botgate"
)

const automationCols = `id, name, owner_group_id, purpose, kind, service_account, projects, groups_json, scopes,
	access_level, expires_in_days, is_temporary, rate, rate_period_us, rate_burst, upstream, routes, trust, enforcement, created_at, updated_at`

func scanAutomation(r scanner) (*botgate.Automation, error) {
	var (
		a                                      botgate.Automation
		kind, projects, groups, scopes, routes string
		trust, enforcement                     string
		level, expires, rate, period, burst    int64
		created, updated                       int64
		temporary                              bool
	)
	if err := r.Scan(&a.ID, &a.Name, &a.OwnerGroupID, &a.Purpose, &kind, &a.ServiceAccount, &projects, &groups, &scopes,
		&level, &expires, &temporary, &rate, &period, &burst, &a.Upstream, &routes, &trust, &enforcement, &created, &updated); err != nil {
		return nil, err
	}
	a.Kind = botgate.AutomationKind(kind)
	a.AccessLevel = botgate.AccessLevel(level)
	a.ExpiresInDays = int(expires)
	a.Temporary = temporary
	a.Enforcement = botgate.Enforcement(enforcement)
	a.RateLimit = botgate.Limit{Rate: int(rate), Period: time.Duration(period) * time.Microsecond, Burst: int(burst)}
	for _, l := range []struct {
		src string
		dst any
	}{{projects, &a.Projects}, {groups, &a.Groups}, {scopes, &a.Scopes}, {routes, &a.Routes}} {
		if err := json.Unmarshal([]byte(l.src), l.dst); err != nil {
			return nil, err
		}
	}
	if err := json.Unmarshal([]byte(trust), &a.Trust); err != nil {
		return nil, err
	}
	if len(a.Trust) == 0 {
		a.Trust = nil
	}
	a.Projects, a.Groups, a.Routes = nilIfEmpty(a.Projects), nilIfEmpty(a.Groups), nilIfEmpty(a.Routes)
	if len(a.Scopes) == 0 {
		a.Scopes = nil
	}
	a.CreatedAt, a.UpdatedAt = fromMicro(created), fromMicro(updated)
	return &a, nil
}

// automationTrust encodes an automation's trust policies as a JSON array
// (never null).
func automationTrust(a *botgate.Automation) string {
	trust := a.Trust
	if trust == nil {
		trust = []botgate.TrustPolicy{}
	}
	b, _ := json.Marshal(trust)
	return string(b)
}

// automationLists encodes an automation's lists as JSON arrays (never null).
func automationLists(a *botgate.Automation) (projects, groups, scopes, routes string) {
	enc := func(v []string) string {
		if v == nil {
			v = []string{}
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	return enc(a.Projects), enc(a.Groups), enc(a.Scopes.Strings()), enc(a.Routes)
}

// CreateAutomation inserts a and sets its ID.
func (t *Tx) CreateAutomation(ctx context.Context, a *botgate.Automation) error {
	const op = "CreateAutomation"
	if err := t.writable(op); err != nil {
		return err
	}
	if err := botgate.ValidateAutomationName(a.Name); err != nil {
		return botgate.E(t.op(op), err)
	}
	truncate(&a.CreatedAt)
	truncate(&a.UpdatedAt)
	projects, groups, scopes, routes := automationLists(a)
	id, err := t.insertID(ctx, `INSERT INTO automations (name, owner_group_id, purpose, kind, service_account, projects,
		groups_json, scopes, access_level, expires_in_days, is_temporary, rate, rate_period_us, rate_burst, upstream,
		routes, trust, enforcement, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.Name, a.OwnerGroupID, a.Purpose, string(a.Kind), a.ServiceAccount, projects, groups, scopes,
		int64(a.AccessLevel), a.ExpiresInDays, a.Temporary, a.RateLimit.Rate, a.RateLimit.Period.Microseconds(),
		a.RateLimit.Burst, a.Upstream, routes, automationTrust(a), a.Enforcement.String(), toMicro(a.CreatedAt), toMicro(a.UpdatedAt))
	if err != nil {
		err = t.dbError(op, err)
		if e, ok := err.(*botgate.Error); ok && e.Kind == botgate.KindConflict {
			e.Field, e.Message = "name", "name has already been taken"
		}
		return refError(err, "owner_group_id", "owner group does not exist")
	}
	a.ID = id
	return nil
}

// AutomationByName returns the automation record with the name.
func (t *Tx) AutomationByName(ctx context.Context, name string) (*botgate.Automation, error) {
	a, err := scanAutomation(t.queryRow(ctx, `SELECT `+automationCols+` FROM automations WHERE name = ?`, name))
	if err != nil {
		return nil, t.notFound("AutomationByName", "Automation", err)
	}
	return a, nil
}

// FindAutomations returns the automation records matching f, by name.
func (t *Tx) FindAutomations(ctx context.Context, f botgate.AutomationFilter) ([]*botgate.Automation, int, error) {
	w := t.where()
	in(&w, "id", f.IDs)
	in(&w, "name", f.Names)
	if f.OwnerGroupID != 0 {
		w.add("owner_group_id = ?", f.OwnerGroupID)
	}
	return find(ctx, t, "FindAutomations", automationCols, "automations", &w, t.d.Bytewise("name"), f.Page, scanAutomation)
}

// UpdateAutomation writes every field of a but ID, Name and CreatedAt.
func (t *Tx) UpdateAutomation(ctx context.Context, a *botgate.Automation) error {
	const op = "UpdateAutomation"
	if err := t.writable(op); err != nil {
		return err
	}
	truncate(&a.UpdatedAt)
	projects, groups, scopes, routes := automationLists(a)
	n, err := t.execGuarded(ctx, `UPDATE automations SET owner_group_id = ?, purpose = ?, kind = ?, service_account = ?,
		projects = ?, groups_json = ?, scopes = ?, access_level = ?, expires_in_days = ?, is_temporary = ?, rate = ?,
		rate_period_us = ?, rate_burst = ?, upstream = ?, routes = ?, trust = ?, enforcement = ?, updated_at = ? WHERE id = ?`,
		a.OwnerGroupID, a.Purpose, string(a.Kind), a.ServiceAccount, projects, groups, scopes, int64(a.AccessLevel),
		a.ExpiresInDays, a.Temporary, a.RateLimit.Rate, a.RateLimit.Period.Microseconds(), a.RateLimit.Burst,
		a.Upstream, routes, automationTrust(a), a.Enforcement.String(), toMicro(a.UpdatedAt), a.ID)
	if err != nil {
		return refError(t.dbError(op, err), "owner_group_id", "owner group does not exist")
	}
	if n == 0 {
		return t.notFound(op, "Automation", sql.ErrNoRows)
	}
	return nil
}

// DeleteAutomation removes the record.
func (t *Tx) DeleteAutomation(ctx context.Context, id int64) error {
	const op = "DeleteAutomation"
	if err := t.writable(op); err != nil {
		return err
	}
	n, err := t.execGuarded(ctx, `DELETE FROM automations WHERE id = ?`, id)
	if err != nil {
		return t.dbError(op, err)
	}
	if n == 0 {
		return t.notFound(op, "Automation", sql.ErrNoRows)
	}
	return nil
}

// nilIfEmpty returns nil for an empty list, so that records round-trip.
func nilIfEmpty(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	return v
}
