package storetest

import (
	"testing"
	"time"

	"github.com/botgate/botgate"
)

func automationID(a *botgate.Automation) int64 { return a.ID }

func normAutomation(a botgate.Automation) botgate.Automation {
	a.Projects, a.Groups, a.Routes = emptyNil(a.Projects), emptyNil(a.Groups), emptyNil(a.Routes)
	a.Scopes = emptyNil(a.Scopes)
	// "" is the enforce mode; a store may spell it out.
	if a.Enforcement == "" {
		a.Enforcement = botgate.EnforcementEnforce
	}
	a.CreatedAt, a.UpdatedAt = normTime(a.CreatedAt), normTime(a.UpdatedAt)
	return a
}

// testAutomations pins the automation records: every field round-trips
// (lists, limits with sub-second periods, times at microseconds in UTC);
// names are unique; the owner must exist; FindAutomations filters and
// orders by name; UpdateAutomation keeps Name and CreatedAt; missing
// records are KindNotFound; and a View cannot write. The enforcement mode
// round-trips and changes with an update ("" reads as enforce).
func testAutomations(t *testing.T, s botgate.Store) {
	ctx := t.Context()
	var team, other *botgate.Group
	update(t, s, func(tx botgate.Tx) error {
		team = mustCreateGroup(ctx, t, tx, nil, "eng")
		other = mustCreateGroup(ctx, t, tx, nil, "ops")
		return nil
	})
	full := &botgate.Automation{
		Name: "scheduled-triage", OwnerGroupID: team.ID, Purpose: "Triage issues on a schedule.",
		Kind: botgate.AutomationServiceAccount, ServiceAccount: "triage-bot",
		Projects: []string{"eng/app"}, Groups: []string{"eng", "ops"},
		Scopes: botgate.Scopes{botgate.ScopeAPI, botgate.ScopeReadRepository}, AccessLevel: botgate.ReporterAccess,
		ExpiresInDays: 90, Temporary: true,
		RateLimit: botgate.Limit{Rate: 1200, Period: 1500 * time.Millisecond, Burst: 40},
		Upstream:  "https://gitlab.example.com", Routes: []string{"GET /api/v4/projects/*/issues"},
		Enforcement: botgate.EnforcementShadow,
		Trust: []botgate.TrustPolicy{
			{Issuer: "https://gitlab.example.com", Audience: "https://botgate.example.com", MaxTTL: 10 * time.Minute,
				Claims: map[string]string{"project_path": "eng/app", "ref": "main", "ref_protected": "true"}},
			{Issuer: "https://kubernetes.default.svc", Audience: "botgate", MaxTTL: 90 * time.Second,
				Claims: map[string]string{"sub": "system:serviceaccount:triage:*"}},
		},
		CreatedAt: at(time.Hour), UpdatedAt: at(2 * time.Hour),
	}
	bare := &botgate.Automation{Name: "danger-review", OwnerGroupID: other.ID, Kind: botgate.AutomationProjectToken,
		CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}
	mid := &botgate.Automation{Name: "mirror", OwnerGroupID: team.ID, Kind: botgate.AutomationGroupToken,
		Scopes: botgate.Scopes{botgate.ScopeWriteRepository}, CreatedAt: at(time.Hour), UpdatedAt: at(time.Hour)}
	update(t, s, func(tx botgate.Tx) error {
		for _, a := range []*botgate.Automation{full, bare, mid} {
			if err := tx.CreateAutomation(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	distinctPositive(t, "CreateAutomation ids", full.ID, bare.ID, mid.ID)

	t.Run("RoundTrip", func(t *testing.T) {
		for _, want := range []*botgate.Automation{full, bare, mid} {
			view(t, s, func(tx botgate.Tx) error {
				got, err := tx.AutomationByName(ctx, want.Name)
				if err != nil {
					return err
				}
				wantUTC(t, "AutomationByName", &got.CreatedAt, &got.UpdatedAt)
				same(t, "AutomationByName("+want.Name+")", got, want, normAutomation)
				return nil
			})
		}
	})

	t.Run("Errors", func(t *testing.T) {
		tests := []struct {
			name string
			fn   func(tx botgate.Tx) error
			want botgate.Kind
		}{
			{"DuplicateName", func(tx botgate.Tx) error {
				return tx.CreateAutomation(ctx, &botgate.Automation{Name: full.Name, OwnerGroupID: other.ID,
					Kind: botgate.AutomationProjectToken, CreatedAt: at(0), UpdatedAt: at(0)})
			}, botgate.KindConflict},
			{"MissingOwner", func(tx botgate.Tx) error {
				return tx.CreateAutomation(ctx, &botgate.Automation{Name: "orphan", OwnerGroupID: other.ID + 1000,
					Kind: botgate.AutomationProjectToken, CreatedAt: at(0), UpdatedAt: at(0)})
			}, botgate.KindInvalid},
			{"BadName", func(tx botgate.Tx) error {
				return tx.CreateAutomation(ctx, &botgate.Automation{Name: "Bad Name", OwnerGroupID: other.ID,
					Kind: botgate.AutomationProjectToken, CreatedAt: at(0), UpdatedAt: at(0)})
			}, botgate.KindInvalid},
			{"ByNameMissing", func(tx botgate.Tx) error {
				_, err := tx.AutomationByName(ctx, "nobody")
				return err
			}, botgate.KindNotFound},
			{"UpdateMissing", func(tx botgate.Tx) error {
				return tx.UpdateAutomation(ctx, &botgate.Automation{ID: full.ID + 1000, OwnerGroupID: team.ID,
					Kind: botgate.AutomationProjectToken, UpdatedAt: at(0)})
			}, botgate.KindNotFound},
			{"UpdateMissingOwner", func(tx botgate.Tx) error {
				a := *bare
				a.OwnerGroupID = other.ID + 1000
				return tx.UpdateAutomation(ctx, &a)
			}, botgate.KindInvalid},
			{"DeleteMissing", func(tx botgate.Tx) error {
				return tx.DeleteAutomation(ctx, full.ID+1000)
			}, botgate.KindNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				// Each attempt runs in its own Update that fails, so
				// nothing is written.
				err := s.Update(ctx, func(tx botgate.Tx) error { return tt.fn(tx) })
				wantKind(t, tt.name, err, tt.want)
			})
		}
		t.Run("ViewCannotWrite", func(t *testing.T) {
			err := s.View(ctx, func(tx botgate.Tx) error {
				return tx.CreateAutomation(ctx, &botgate.Automation{Name: "in-view", OwnerGroupID: team.ID,
					Kind: botgate.AutomationProjectToken, CreatedAt: at(0), UpdatedAt: at(0)})
			})
			if err == nil {
				t.Fatal("CreateAutomation in a View succeeded")
			}
			view(t, s, func(tx botgate.Tx) error {
				_, err := tx.AutomationByName(ctx, "in-view")
				wantKind(t, "AutomationByName after a View write", err, botgate.KindNotFound)
				return nil
			})
		})
	})

	t.Run("Find", func(t *testing.T) {
		tests := []struct {
			name  string
			f     botgate.AutomationFilter
			want  []int64
			total int
		}{
			{"All", botgate.AutomationFilter{}, []int64{bare.ID, mid.ID, full.ID}, 3},
			{"ByOwner", botgate.AutomationFilter{OwnerGroupID: team.ID}, []int64{mid.ID, full.ID}, 2},
			{"ByNames", botgate.AutomationFilter{Names: []string{"mirror", "danger-review", "nobody"}}, []int64{bare.ID, mid.ID}, 2},
			{"ByIDs", botgate.AutomationFilter{IDs: []int64{full.ID}}, []int64{full.ID}, 1},
			{"Paged", botgate.AutomationFilter{Page: botgate.Page{Offset: 1, Limit: 1}}, []int64{mid.ID}, 3},
			{"NoMatch", botgate.AutomationFilter{Names: []string{"nobody"}}, nil, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				view(t, s, func(tx botgate.Tx) error {
					got, total, err := tx.FindAutomations(ctx, tt.f)
					if err != nil {
						return err
					}
					wantIDs(t, "FindAutomations", ids(got, automationID), tt.want)
					wantTotal(t, "FindAutomations", total, tt.total)
					return nil
				})
			})
		}
	})

	t.Run("Update", func(t *testing.T) {
		changed := *full
		changed.Name = "renamed"               // ignored: names do not change
		changed.CreatedAt = at(99 * time.Hour) // ignored
		changed.OwnerGroupID = other.ID
		changed.Purpose = "Triage, now hourly."
		changed.Kind = botgate.AutomationGroupToken
		changed.ServiceAccount = ""
		changed.Projects = nil
		changed.Groups = []string{"ops"}
		changed.Scopes = botgate.Scopes{botgate.ScopeReadAPI}
		changed.AccessLevel = botgate.GuestAccess
		changed.ExpiresInDays = 0
		changed.Temporary = false
		changed.RateLimit = botgate.Limit{}
		changed.Upstream = ""
		changed.Routes = nil
		changed.Enforcement = botgate.EnforcementEnforce
		changed.UpdatedAt = at(3 * time.Hour)
		update(t, s, func(tx botgate.Tx) error { return tx.UpdateAutomation(ctx, &changed) })
		want := changed
		want.Name, want.CreatedAt = full.Name, full.CreatedAt
		view(t, s, func(tx botgate.Tx) error {
			got, err := tx.AutomationByName(ctx, full.Name)
			if err != nil {
				return err
			}
			same(t, "after UpdateAutomation", got, &want, normAutomation)
			_, err = tx.AutomationByName(ctx, "renamed")
			wantKind(t, "AutomationByName(renamed)", err, botgate.KindNotFound)
			return nil
		})
	})

	t.Run("Delete", func(t *testing.T) {
		update(t, s, func(tx botgate.Tx) error { return tx.DeleteAutomation(ctx, mid.ID) })
		view(t, s, func(tx botgate.Tx) error {
			_, err := tx.AutomationByName(ctx, mid.Name)
			wantKind(t, "AutomationByName after delete", err, botgate.KindNotFound)
			got, total, err := tx.FindAutomations(ctx, botgate.AutomationFilter{})
			if err != nil {
				return err
			}
			wantIDs(t, "FindAutomations after delete", ids(got, automationID), []int64{bare.ID, full.ID})
			wantTotal(t, "FindAutomations after delete", total, 2)
			return nil
		})
	})
}
