package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/httpapi"
)

// The authorization matrix: every route the server registers, crossed with
// every actor, token kind, scope and token state, against the outcome the
// rules below say (GitLab's model), not the outcome the code happens to
// give. A denied write must also leave no audited change behind.

// outcome is the status class a case must answer.
type outcome struct {
	label string
	codes []int // nil with label "2xx": any success; nil otherwise: unspecified
}

var (
	okO     = outcome{label: "2xx"}
	unauthO = outcome{"401", []int{401}}
	forbidO = outcome{"403", []int{403}}
	hiddenO = outcome{"404", []int{404}}
	deactO  = outcome{"401/403 (deactivated)", []int{401, 403}}
	// denyO is GitLab's answer to a member below the role on token
	// management, which varies by route (400, 401, 403, 404).
	denyO = outcome{"denied (400/401/403/404)", []int{400, 401, 403, 404}}
	// anyO leaves the status open (no rule fixes it); a refused write
	// must still change nothing.
	anyO      = outcome{label: "unspecified"}
	conflictO = outcome{"409 (authorized; pending credential)", []int{409}}
)

func (o outcome) ok() bool { return o.label == "2xx" }

func (o outcome) match(code int) bool {
	switch {
	case o.ok():
		return code >= 200 && code < 300
	case o.codes == nil:
		return true
	}
	return slices.Contains(o.codes, code)
}

// The scope a route needs.
const (
	nPublic = "public" // no authentication
	nRead   = "read"   // read_api or api
	nWrite  = "write"  // api
	nUser   = "user"   // read_user, read_api or api
	nSelf   = "self"   // self_rotate or api
	nAny    = "any"    // any scope
	nManage = "manage" // manage_automations or api
)

func scopeMeets(need, scope string) bool {
	switch need {
	case nRead:
		return scope == "api" || scope == "read_api"
	case nWrite:
		return scope == "api"
	case nUser:
		return scope == "api" || scope == "read_api" || scope == "read_user"
	case nSelf:
		return scope == "api" || scope == "self_rotate"
	case nManage:
		return scope == "api" || scope == "manage_automations"
	}
	return true
}

// mCase is one request of the matrix.
type mCase struct {
	actor        *mActor
	scope, state string
	tok          mToken
}

// mRow is a route (one registered pattern; some patterns have several
// rows, variants on the target) and its rule.
type mRow struct {
	pattern string // as registered
	variant string
	need    string
	// consumes: the presenting token is used up (self rotate, self
	// revoke); a case that reaches the handler presents a new one.
	consumes bool
	// write: a state change; when it reaches the handler the case gets
	// targets of its own (fresh), and a refusal must change nothing.
	write bool
	// mode is how the request is sent: "" to the API, "auth" to the
	// gateway's forward-auth as nginx asks (X-Original-Method and
	// X-Original-URI), "envoy" to forward-auth as Envoy asks (the request
	// below /-/auth/envoy), "proxy" through the gateway's proxy; fwd is
	// the method of the request the gateway decides on.
	mode, fwd string
	// build returns the request path and JSON body (nil for none).
	build func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any)
	rule  func(a *mActor, scope string) outcome
}

func (r *mRow) name() string {
	if r.variant == "" {
		return r.pattern
	}
	return r.pattern + " [" + r.variant + "]"
}

// Rules.

func allOK(*mActor, string) outcome { return okO }

func adminOnly(a *mActor, _ string) outcome {
	if a.admin {
		return okO
	}
	return forbidO
}

func humansOnly(a *mActor, _ string) outcome {
	if a.human() {
		return okO
	}
	return forbidO
}

// member: non-members do not see the resource (404), members below level
// are refused (403).
func member(where string, level botgate.AccessLevel) func(*mActor, string) outcome {
	return func(a *mActor, _ string) outcome {
		switch have := a.level(where); {
		case have == botgate.NoAccess:
			return hiddenO
		case have < level:
			return forbidO
		}
		return okO
	}
}

// tokenAdmin is member with GitLab's varied refusals for token management.
func tokenAdmin(where string, level botgate.AccessLevel) func(*mActor, string) outcome {
	return func(a *mActor, _ string) outcome {
		switch have := a.level(where); {
		case have == botgate.NoAccess:
			return hiddenO
		case have < level:
			return denyO
		}
		return okO
	}
}

// minting is a rule for creating or rotating a token: bots never may; the
// rest follows r.
func minting(r func(*mActor, string) outcome) func(*mActor, string) outcome {
	return func(a *mActor, scope string) outcome {
		if a.bot() && !a.admin {
			if o := r(a, scope); o.label == hiddenO.label {
				return outcome{"403/404 (bots never mint)", []int{403, 404}}
			}
			return denyO
		}
		return r(a, scope)
	}
}

// humanMember is member for people; bots and service accounts are refused
// (403) whatever their membership: the refusal is about what they are, so
// it tells nothing about the resource.
func humanMember(where string, level botgate.AccessLevel) func(*mActor, string) outcome {
	r := member(where, level)
	return func(a *mActor, scope string) outcome {
		if !a.human() {
			return forbidO
		}
		return r(a, scope)
	}
}

// teamOnly: rotating a token bound to a team's vault secret hands over a
// secret that reads it, so it also needs the Maintainer role on the team
// (the group), as reading the secret does.
func teamOnly(r func(*mActor, string) outcome) func(*mActor, string) outcome {
	return func(a *mActor, scope string) outcome {
		o := r(a, scope)
		if o.ok() && a.level("G") < botgate.MaintainerAccess {
			return outcome{"403 (outside the team)", []int{403}}
		}
		return o
	}
}

// notYours is the answer about a token that is not the caller's: the same
// as for a token that does not exist (GitLab answers 401 or 404), never a
// 403 that would confirm it exists.
var notYours = outcome{"401/404 (not yours)", []int{401, 404}}

// adminOrHidden: another person's token is the administrators' business;
// anyone else gets the answer for a token that does not exist.
func adminOrHidden(a *mActor, _ string) outcome {
	if a.admin {
		return okO
	}
	return notYours
}

// secretValue: the bound token family with read_secret, admins and the
// team's Maintainers and Owners (with api or read_secret); other team
// members are refused, everyone else does not see the secret.
func secretValue(a *mActor, scope string) outcome {
	if a.name == "service-account" && scope == "read_secret" {
		return okO // the bound family
	}
	if scope != "api" && scope != "read_secret" {
		return forbidO // the scope is checked before the secret is looked up
	}
	level := a.level("G")
	if level == botgate.NoAccess {
		return hiddenO
	}
	if a.admin || (a.human() && level >= botgate.MaintainerAccess) {
		return okO
	}
	return forbidO
}

// The rows.

func gp(where string, m *mx) string {
	if where == "G" {
		return fmt.Sprintf("/groups/%d", m.g.ID)
	}
	return fmt.Sprintf("/projects/%d", m.p.ID)
}

func fixed(path string, body any) func(*mx, *testing.T, *mCase, bool) (string, any) {
	return func(*mx, *testing.T, *mCase, bool) (string, any) { return path, body }
}

// manifestBody is a manifest (JSON is YAML) declaring a new project in the
// team, posted to path.
func manifestBody(path string) func(*mx, *testing.T, *mCase, bool) (string, any) {
	return func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) {
		return path, map[string]any{"version": 1, "teams": []any{map[string]any{"path": "platform"}},
			"projects": []any{map[string]any{"path": m.name("mproject"), "group": "platform"}}}
	}
}

// reissueBody reissues the team's tokens (every team's for "") expiring
// within a day; a case that reaches the handler first gets a token of the
// team's automation that expires tomorrow, so there is one to rotate.
func reissueBody(team string) func(*mx, *testing.T, *mCase, bool) (string, any) {
	return func(m *mx, t *testing.T, _ *mCase, fresh bool) (string, any) {
		if fresh {
			tomorrow := botgate.Date(m.clock.Now()).AddDate(0, 0, 1)
			c, err := m.auth.CreateResourceToken(m.ctx, m.admin, m.res("P"), authority.NewToken{Name: m.name("due"), Scopes: []string{"read_api"},
				AccessLevel: botgate.ReporterAccess, ExpiresAt: &tomorrow, Automation: m.automation})
			m.check(t, err)
			m.keep(c)
		}
		body := map[string]any{"expiring_within": "1d"}
		if team != "" {
			body["team"] = team
		}
		return "/api/botgate/v1/tokens/reissue", body
	}
}

// reissuing is the rule for a bulk reissue: administrators may; project
// and group access tokens never (a rotation mints); the rest follows r.
func reissuing(r func(*mActor, string) outcome) func(*mActor, string) outcome {
	return func(a *mActor, scope string) outcome {
		switch {
		case a.admin:
			return okO
		case a.bot():
			return forbidO
		}
		return r(a, scope)
	}
}

func matrixRows() []*mRow {
	v4, v1 := "/api/v4", "/api/botgate/v1"
	rows := []*mRow{
		{pattern: "GET /-/health", need: nPublic, build: fixed("/-/health", nil), rule: allOK},
		{pattern: "GET /-/liveness", need: nPublic, build: fixed("/-/liveness", nil), rule: allOK},
		{pattern: "GET /-/readiness", need: nPublic, build: fixed("/-/readiness", nil), rule: allOK},
		{pattern: "/api/v4/", need: nPublic, build: fixed(v4+"/no/such/route", nil), rule: func(*mActor, string) outcome { return hiddenO }},
		{pattern: "/api/botgate/v1/", need: nPublic, build: fixed(v1+"/no/such/route", nil), rule: func(*mActor, string) outcome { return hiddenO }},
		// GitLab's token revocation API takes its own pre-shared token, never
		// a botgate token (and the matrix's server configures none).
		{pattern: "GET /v1/revocable_token_types", need: nPublic, build: fixed("/v1/revocable_token_types", nil), rule: func(*mActor, string) outcome { return unauthO }},
		{pattern: "POST /v1/revoke_tokens", need: nPublic, build: fixed("/v1/revoke_tokens", []any{}), rule: func(*mActor, string) outcome { return unauthO }},
		{pattern: "GET /api/v4/version", need: nRead, build: fixed(v4+"/version", nil), rule: allOK},
		{pattern: "GET /api/v4/metadata", need: nRead, build: fixed(v4+"/metadata", nil), rule: allOK},
		{pattern: "GET /api/v4/namespaces", need: nRead, build: fixed(v4+"/namespaces", nil), rule: allOK},

		// Users.
		{pattern: "GET /api/v4/user", need: nUser, build: fixed(v4+"/user", nil), rule: allOK},
		{pattern: "GET /api/v4/users", need: nUser, build: fixed(v4+"/users", nil), rule: allOK},
		{pattern: "POST /api/v4/users", need: nWrite, write: true, rule: adminOnly,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				n := m.name("newuser")
				return v4 + "/users", map[string]any{"username": n, "name": n, "email": n + "@botgate.test"}
			}},
		{pattern: "GET /api/v4/users/{id}", need: nUser, rule: allOK,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return fmt.Sprintf(v4+"/users/%d", m.victim.ID), nil
			}},
		{pattern: "DELETE /api/v4/users/{id}", need: nWrite, write: true, rule: adminOnly,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := m.victim.ID
				if fresh {
					id = m.freshUser(t).ID
				}
				return fmt.Sprintf(v4+"/users/%d", id), nil
			}},

		// Groups and projects.
		{pattern: "GET /api/v4/groups", need: nRead, build: fixed(v4+"/groups", nil), rule: allOK},
		{pattern: "POST /api/v4/groups", need: nWrite, write: true, rule: humansOnly,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				n := m.name("group")
				return v4 + "/groups", map[string]any{"name": n, "path": n}
			}},
		{pattern: "POST /api/v4/groups", variant: "subgroup", need: nWrite, write: true, rule: humanMember("G", botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				n := m.name("group")
				return v4 + "/groups", map[string]any{"name": n, "path": n, "parent_id": m.g.ID}
			}},
		{pattern: "GET /api/v4/namespaces/{id}", need: nRead, build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) {
			return v4 + "/namespaces/" + strings.TrimPrefix(gp("G", m), "/groups/"), nil
		}, rule: member("G", botgate.GuestAccess)},
		{pattern: "GET /api/v4/groups/{id}", need: nRead, build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) { return v4 + gp("G", m), nil }, rule: member("G", botgate.GuestAccess)},
		{pattern: "PUT /api/v4/groups/{id}", need: nWrite, write: true, rule: member("inG", botgate.OwnerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := m.g.ID
				if fresh {
					id = m.freshSubgroup(t)
				}
				return fmt.Sprintf(v4+"/groups/%d", id), map[string]any{"description": "edited"}
			}},
		{pattern: "DELETE /api/v4/groups/{id}", need: nWrite, write: true, rule: member("inG", botgate.OwnerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := m.g.ID
				if fresh {
					id = m.freshSubgroup(t)
				}
				return fmt.Sprintf(v4+"/groups/%d", id), nil
			}},
		{pattern: "GET /api/v4/groups/{id}/subgroups", need: nRead, build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) { return v4 + gp("G", m) + "/subgroups", nil }, rule: member("G", botgate.GuestAccess)},
		{pattern: "GET /api/v4/groups/{id}/projects", need: nRead, build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) { return v4 + gp("G", m) + "/projects", nil }, rule: member("G", botgate.GuestAccess)},
		{pattern: "GET /api/v4/projects", need: nRead, build: fixed(v4+"/projects", nil), rule: allOK},
		{pattern: "POST /api/v4/projects", need: nWrite, write: true, rule: member("G", botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				n := m.name("project")
				return v4 + "/projects", map[string]any{"name": n, "path": n, "namespace_id": m.g.ID}
			}},
		{pattern: "GET /api/v4/projects/{id}", need: nRead, build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) { return v4 + gp("P", m), nil }, rule: member("P", botgate.GuestAccess)},
		{pattern: "PUT /api/v4/projects/{id}", need: nWrite, write: true, rule: member("P", botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return v4 + gp("P", m), map[string]any{"description": m.name("edited by " + c.actor.name)}
			}},
		{pattern: "DELETE /api/v4/projects/{id}", need: nWrite, write: true, rule: member("inG", botgate.OwnerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := m.p.ID
				if fresh {
					id = m.freshProject(t)
				}
				return fmt.Sprintf(v4+"/projects/%d", id), nil
			}},

		// Personal access tokens.
		{pattern: "GET /api/v4/personal_access_tokens", need: nRead, build: fixed(v4+"/personal_access_tokens", nil), rule: allOK},
		{pattern: "GET /api/v4/personal_access_tokens/self", need: nAny, build: fixed(v4+"/personal_access_tokens/self", nil), rule: allOK},
		{pattern: "GET /api/v4/personal_access_tokens/{id}", variant: "own", need: nRead, rule: allOK,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return fmt.Sprintf(v4+"/personal_access_tokens/%d", c.tok.id), nil
			}},
		{pattern: "GET /api/v4/personal_access_tokens/{id}", variant: "another's", need: nRead, rule: adminOrHidden,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return fmt.Sprintf(v4+"/personal_access_tokens/%d", m.victimT.id), nil
			}},
		{pattern: "POST /api/v4/personal_access_tokens/self/rotate", need: nSelf, consumes: true, write: true,
			rule: func(a *mActor, _ string) outcome {
				if a.bot() {
					return anyO
				}
				return okO
			},
			build: fixed(v4+"/personal_access_tokens/self/rotate", nil)},
		{pattern: "POST /api/v4/personal_access_tokens/{id}/rotate", variant: "own", need: nWrite, write: true, consumes: true,
			// A service account's tokens are its team's to manage: rotating
			// a sibling would mint it a new secret.
			rule: func(a *mActor, _ string) outcome {
				switch a.kind {
				case "personal":
					return okO
				case "service-account":
					return outcome{"refused (400/401/403/404)", []int{400, 401, 403, 404}}
				}
				return anyO
			},
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := c.tok.id
				if fresh && !c.actor.bot() {
					id = m.mint(t, c.actor, "read_api", nil).id
				}
				return fmt.Sprintf(v4+"/personal_access_tokens/%d/rotate", id), nil
			}},
		{pattern: "POST /api/v4/personal_access_tokens/{id}/rotate", variant: "another's", need: nWrite, write: true, rule: adminOrHidden,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := m.victimT.id
				if fresh {
					id = m.freshPAT(t, m.victim.ID).id
				}
				return fmt.Sprintf(v4+"/personal_access_tokens/%d/rotate", id), nil
			}},
		{pattern: "DELETE /api/v4/personal_access_tokens/self", need: nAny, consumes: true, write: true,
			rule: func(a *mActor, _ string) outcome {
				if a.bot() {
					return anyO
				}
				return okO
			},
			build: fixed(v4+"/personal_access_tokens/self", nil)},
		{pattern: "DELETE /api/v4/personal_access_tokens/{id}", variant: "own", need: nWrite, write: true, consumes: true,
			rule: func(a *mActor, _ string) outcome {
				if a.human() {
					return okO
				}
				return anyO
			},
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := c.tok.id
				if fresh && !c.actor.bot() {
					id = m.mint(t, c.actor, "read_api", nil).id
				}
				return fmt.Sprintf(v4+"/personal_access_tokens/%d", id), nil
			}},
		{pattern: "DELETE /api/v4/personal_access_tokens/{id}", variant: "another's", need: nWrite, write: true, rule: adminOrHidden,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := m.victimT.id
				if fresh {
					id = m.freshPAT(t, m.victim.ID).id
				}
				return fmt.Sprintf(v4+"/personal_access_tokens/%d", id), nil
			}},
		{pattern: "POST /api/v4/users/{user_id}/personal_access_tokens", variant: "another's", need: nWrite, write: true, rule: adminOnly,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return fmt.Sprintf(v4+"/users/%d/personal_access_tokens", m.victim.ID), map[string]any{"name": m.name("pat"), "scopes": []string{"api"}}
			}},
		{pattern: "POST /api/v4/users/{user_id}/personal_access_tokens", variant: "own", need: nWrite, write: true,
			// Service accounts and bots never mint personal tokens for themselves.
			rule: func(a *mActor, _ string) outcome {
				if a.admin {
					return okO
				}
				if a.human() {
					return anyO
				}
				return outcome{"403/422 (no personal token for itself)", []int{403, 422}}
			},
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return fmt.Sprintf(v4+"/users/%d/personal_access_tokens", c.tok.userID), map[string]any{"name": m.name("pat"), "scopes": []string{"api"}}
			}},
		{pattern: "POST /api/v4/user/personal_access_tokens", variant: "sudo scope", need: nWrite, write: true,
			// Administrator scopes are for administrators' tokens only.
			rule: func(a *mActor, _ string) outcome {
				if a.admin {
					return anyO
				}
				return outcome{"400/403/422 (administrator scope)", []int{400, 403, 422}}
			},
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return v4 + "/user/personal_access_tokens", map[string]any{"name": m.name("pat"), "scopes": []string{"api", "sudo"}}
			}},
		{pattern: "POST /api/v4/user/personal_access_tokens", need: nWrite, write: true,
			rule: func(a *mActor, _ string) outcome {
				if a.human() {
					return okO
				}
				return outcome{"403/422 (no personal token for itself)", []int{403, 422}}
			},
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return v4 + "/user/personal_access_tokens", map[string]any{"name": m.name("pat"), "scopes": []string{"api"}}
			}},

		// Instance service accounts.
		{pattern: "GET /api/v4/service_accounts", need: nRead, build: fixed(v4+"/service_accounts", nil), rule: adminOnly},
		{pattern: "POST /api/v4/service_accounts", need: nWrite, write: true, rule: adminOnly,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return v4 + "/service_accounts", map[string]any{"name": m.name("isa")}
			}},
		{pattern: "PATCH /api/v4/service_accounts/{id}", need: nWrite, write: true, rule: adminOnly,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := m.teamSA.ID
				if fresh {
					id = m.freshSA(t, "").ID
				}
				return fmt.Sprintf(v4+"/service_accounts/%d", id), map[string]any{"name": m.name("renamed")}
			}},

		// Admin token API.
		{pattern: "POST /api/v4/admin/token", need: nRead, rule: adminOnly,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return v4 + "/admin/token", map[string]any{"token": m.victimT.secret}
			}},
		{pattern: "DELETE /api/v4/admin/token", need: nWrite, write: true, rule: adminOnly,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				tok := m.victimT
				if fresh {
					tok = m.freshPAT(t, m.victim.ID)
				}
				return v4 + "/admin/token", map[string]any{"token": tok.secret}
			}},

		// botgate's own API.
		{pattern: "GET /api/botgate/v1/tokens/{id}", variant: "own", need: nRead, rule: allOK,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return fmt.Sprintf(v1+"/tokens/%d", c.tok.id), nil
			}},
		{pattern: "GET /api/botgate/v1/tokens/{id}", variant: "another's", need: nRead, rule: adminOrHidden,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return fmt.Sprintf(v1+"/tokens/%d", m.victimT.id), nil
			}},
		{pattern: "GET /api/botgate/v1/tokens/{id}/usage", variant: "own", need: nRead, rule: allOK,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return fmt.Sprintf(v1+"/tokens/%d/usage", c.tok.id), nil
			}},
		{pattern: "GET /api/botgate/v1/tokens/{id}/usage", variant: "another's", need: nRead, rule: adminOrHidden,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return fmt.Sprintf(v1+"/tokens/%d/usage", m.victimT.id), nil
			}},
		{pattern: "PUT /api/botgate/v1/tokens/{id}/automation", variant: "the presenting token", need: nWrite, write: true, consumes: true,
			// A token never changes its own automation label.
			rule: func(a *mActor, _ string) outcome {
				if a.admin {
					return anyO
				}
				return outcome{"403/404 (not its own label)", []int{403, 404}}
			},
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return fmt.Sprintf(v1+"/tokens/%d/automation", c.tok.id), map[string]any{"automation": ""}
			}},
		{pattern: "PUT /api/botgate/v1/tokens/{id}/automation", variant: "another's", need: nWrite, write: true, rule: adminOrHidden,
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := m.victimT.id
				if fresh {
					id = m.freshPAT(t, m.victim.ID).id
				}
				return fmt.Sprintf(v1+"/tokens/%d/automation", id), map[string]any{"automation": "triage"}
			}},
		{pattern: "GET /api/botgate/v1/audit/events", need: nRead, build: fixed(v1+"/audit/events", nil), rule: adminOnly},
		{pattern: "GET /api/botgate/v1/audit/verify", need: nRead, build: fixed(v1+"/audit/verify", nil), rule: adminOnly},
		{pattern: "GET /api/botgate/v1/lint", need: nRead, build: fixed(v1+"/lint", nil), rule: adminOnly},
		// Governance as a service: plan, drift and lint answer anyone with
		// the scope (each step is judged in the answer); apply changes the
		// team's part only for its Maintainers and Owners (people or bots,
		// with api or manage_automations) and administrators.
		{pattern: "POST /api/botgate/v1/manifest/plan", need: nManage, build: manifestBody(v1 + "/manifest/plan"), rule: allOK},
		{pattern: "POST /api/botgate/v1/manifest/drift", need: nManage, build: manifestBody(v1 + "/manifest/drift"), rule: allOK},
		{pattern: "POST /api/botgate/v1/manifest/lint", need: nManage, build: manifestBody(v1 + "/manifest/lint"), rule: allOK},
		{pattern: "POST /api/botgate/v1/manifest/apply", need: nManage, write: true, build: manifestBody(v1 + "/manifest/apply"),
			rule: func(a *mActor, _ string) outcome {
				if a.admin || a.level("G") >= botgate.MaintainerAccess {
					return okO
				}
				return forbidO
			}},
		// Reissuing rotates, so it mints: bots never may; a team's tokens
		// are its Maintainers' and Owners' to reissue, every team's the
		// administrators'.
		{pattern: "POST /api/botgate/v1/tokens/reissue", variant: "the team's", need: nWrite, write: true, build: reissueBody("platform"),
			rule: reissuing(member("G", botgate.MaintainerAccess))},
		{pattern: "POST /api/botgate/v1/tokens/reissue", variant: "every team's", need: nWrite, write: true, build: reissueBody(""),
			rule: reissuing(adminOnly)},
		// Revoking a reported token is a write: api (or revoke_leaked,
		// which no actor here holds).
		{pattern: "POST /api/botgate/v1/leaks", need: nAny, write: true,
			rule: func(a *mActor, scope string) outcome {
				if scope != "api" {
					return forbidO
				}
				return adminOnly(a, scope)
			},
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				tok := m.victimT
				if fresh {
					tok = m.freshPAT(t, m.victim.ID)
				}
				return v1 + "/leaks", []map[string]any{{"token": tok.secret, "url": "https://example.com/leak"}}
			}},

		// The vault.
		{pattern: "GET /api/botgate/v1/secrets", need: nRead, build: fixed(v1+"/secrets?group=platform", nil), rule: member("G", botgate.ReporterAccess)},
		{pattern: "GET /api/botgate/v1/secrets/{group}/{name}", need: nRead, build: fixed(v1+"/secrets/platform/deploy-key", nil), rule: member("G", botgate.ReporterAccess)},
		{pattern: "GET /api/botgate/v1/secrets/{group}/{name}/value", need: nAny, build: fixed(v1+"/secrets/platform/deploy-key/value", nil), rule: secretValue},
		{pattern: "PUT /api/botgate/v1/secrets/{group}/{name}", need: nWrite, write: true, rule: humanMember("G", botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return v1 + "/secrets/platform/" + m.name("secret"), map[string]any{"value": "s3cr3t"}
			}},
		{pattern: "DELETE /api/botgate/v1/secrets/{group}/{name}", need: nWrite, write: true, rule: humanMember("G", botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				name := "deploy-key"
				if fresh {
					name = m.freshSecret(t, "", 0)
				}
				return v1 + "/secrets/platform/" + name, nil
			}},
		{pattern: "PUT /api/botgate/v1/secrets/{group}/{name}/binding", need: nWrite, write: true, rule: humanMember("G", botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				name := "deploy-key"
				if fresh {
					name = m.freshSecret(t, "", 0)
				}
				return v1 + "/secrets/platform/" + name + "/binding", map[string]any{"token_id": m.teamSATok.id}
			}},
		{pattern: "DELETE /api/botgate/v1/secrets/{group}/{name}/binding", need: nWrite, write: true, rule: humanMember("G", botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				name := "deploy-key"
				if fresh {
					name = m.freshSecret(t, "", m.teamSATok.id)
				}
				return v1 + "/secrets/platform/" + name + "/binding", nil
			}},

		// The upstream broker.
		// The broker's routes all need api, reads too: they manage
		// credentials (stricter than the read rule, and deliberate).
		{pattern: "GET /api/botgate/v1/upstream_credentials", need: nWrite, build: fixed(v1+"/upstream_credentials?group=platform", nil), rule: member("G", botgate.MaintainerAccess)},
		{pattern: "POST /api/botgate/v1/upstream_credentials", need: nWrite, write: true, rule: member("G", botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return v1 + "/upstream_credentials", m.upstreamBody(m.name("auto"))
			}},
		{pattern: "GET /api/botgate/v1/upstream_credentials/{id}", need: nWrite, rule: member("G", botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return fmt.Sprintf(v1+"/upstream_credentials/%d", m.upstreamID), nil
			}},
		{pattern: "POST /api/botgate/v1/upstream_credentials/{id}/rotate", need: nWrite, write: true,
			rule: func(a *mActor, scope string) outcome {
				if o := member("G", botgate.MaintainerAccess)(a, scope); !o.ok() {
					return o
				}
				return conflictO
			},
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return fmt.Sprintf(v1+"/upstream_credentials/%d/rotate", m.upstreamID), nil
			}},
		{pattern: "DELETE /api/botgate/v1/upstream_credentials/{id}", need: nWrite, write: true, rule: member("G", botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := m.upstreamID
				if fresh {
					id = m.freshUpstream(t)
				}
				return fmt.Sprintf(v1+"/upstream_credentials/%d", id), nil
			}},
	}
	rows = append(rows, gatewayRows()...)
	rows = append(rows, consoleRows()...)
	rows = append(rows, identityRows()...)
	rows = append(rows, resourceRows("G")...)
	rows = append(rows, resourceRows("P")...)
	return rows
}

// proxyRoute names the gateway's proxy among the routes: it has no mux
// pattern (it serves every path on its own listener).
const proxyRoute = "gateway proxy"

// gwMember: the gateway lets a token through to a GitLab project or group
// route only with a membership there or above (403 otherwise: the gateway
// answers for an API it does not own, so it does not pretend the resource is
// missing). Whether an administrator without a membership passes is not
// settled.
func gwMember(where string) func(*mActor, string) outcome {
	return func(a *mActor, _ string) outcome {
		switch {
		case a.admin:
			return anyO
		case a.level(where) > botgate.NoAccess:
			return okO
		}
		return forbidO
	}
}

// gatewayRows are the gateway's decisions: forward-auth (nginx and Envoy)
// and the proxy, on GitLab routes of the team's project and group, on a
// route of no resource, and on spellings of a path that must decide the
// same as the plain one.
func gatewayRows() []*mRow {
	type target struct {
		variant, fwd, need string
		path               func(m *mx) string
		rule               func(*mActor, string) outcome
	}
	pPath := func(suffix string) func(m *mx) string {
		return func(m *mx) string { return fmt.Sprintf("/api/v4/projects/%d%s", m.p.ID, suffix) }
	}
	targets := []target{
		{"GET a project route", "GET", nRead, pPath("/issues"), gwMember("P")},
		{"POST a project route", "POST", nWrite, pPath("/issues"), gwMember("P")},
		{"GET a project by full path", "GET", nRead, func(*mx) string { return "/api/v4/projects/platform%2Fapp/issues" }, gwMember("P")},
		{"GET a group route", "GET", nRead, func(m *mx) string { return fmt.Sprintf("/api/v4/groups/%d/epics", m.g.ID) }, gwMember("G")},
		{"DELETE a group", "DELETE", nWrite, func(m *mx) string { return fmt.Sprintf("/api/v4/groups/%d", m.g.ID) }, gwMember("G")},
		{"GET a route of no resource", "GET", nRead, func(*mx) string { return "/api/v4/version" }, allOK},
		// The same project route, spelled with a percent-encoded letter:
		// the upstream reads it as projects, so the gateway must too.
		{"GET a project route spelled %70rojects", "GET", nRead, func(m *mx) string { return fmt.Sprintf("/api/v4/%%70rojects/%d/issues", m.p.ID) }, gwMember("P")},
		{"POST a project route spelled %70rojects", "POST", nWrite, func(m *mx) string { return fmt.Sprintf("/api/v4/%%70rojects/%d/issues", m.p.ID) }, gwMember("P")},
		// Path traversal is refused before anything else (400; for Envoy's
		// path below /-/auth/envoy, the API's mux answers first with a
		// redirect to the clean path, which ext_authz takes as a refusal).
		{"GET a traversal", "GET", nPublic, func(m *mx) string { return fmt.Sprintf("/api/v4/projects/%d/../../groups/%d", m.p.ID, m.g.ID) },
			func(*mActor, string) outcome {
				return outcome{"400 (or a redirect to the clean path)", []int{400, 301, 307, 308}}
			}},
	}
	var rows []*mRow
	for _, mode := range []string{"auth", "envoy", "proxy"} {
		pattern := map[string]string{"auth": "/-/auth", "envoy": "/-/auth/", "proxy": proxyRoute}[mode]
		for _, tg := range targets {
			rows = append(rows, &mRow{pattern: pattern, variant: tg.variant, mode: mode, fwd: tg.fwd, need: tg.need, rule: tg.rule,
				build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) { return tg.path(m), nil }})
		}
	}
	rows = append(rows, &mRow{pattern: "GET /metrics", need: nPublic, build: fixed("/metrics", nil), rule: allOK})
	return rows
}

// resourceRows are the rows of a group's ("G") or project's ("P") members,
// access tokens and service accounts.
func resourceRows(where string) []*mRow {
	prefix := "/api/v4/projects/{id}"
	manage := botgate.MaintainerAccess // project tokens and service accounts
	ownSA := botgate.MaintainerAccess  // creating, editing, deleting a service account
	if where == "G" {
		prefix = "/api/v4/groups/{id}"
		manage = botgate.OwnerAccess
		ownSA = botgate.OwnerAccess
	}
	base := func(m *mx) string { return "/api/v4" + gp(where, m) }
	// The target member of the members/{user_id} reads: someone with a
	// direct membership.
	memberOf := func(m *mx) int64 {
		if where == "G" {
			return m.users["owner"].ID
		}
		return m.sa.ID
	}
	sa := func(m *mx) *botgate.User {
		if where == "G" {
			return m.teamSA
		}
		return m.projSA
	}
	saOwner := where
	resTok := func(m *mx) int64 {
		if where == "G" {
			return m.gTok
		}
		return m.pTok
	}
	return []*mRow{
		{pattern: "GET " + prefix + "/members", need: nRead, rule: member(where, botgate.GuestAccess),
			build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) { return base(m) + "/members", nil }},
		{pattern: "POST " + prefix + "/members", variant: "as Guest", need: nWrite, write: true, rule: member(where, botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := m.victim.ID
				if fresh {
					id = m.freshUser(t).ID
				}
				return base(m) + "/members", map[string]any{"user_id": id, "access_level": 10}
			}},
		// Several users at once (GitLab's comma-separated user_id): each
		// addition is decided as one alone would be.
		{pattern: "POST " + prefix + "/members", variant: "several users as Guest", need: nWrite, write: true, rule: member(where, botgate.MaintainerAccess),
			build: severalUsers(base, 10)},
		{pattern: "POST " + prefix + "/members", variant: "several users as Owner", need: nWrite, write: true, rule: member(where, botgate.OwnerAccess),
			build: severalUsers(base, 50)},
		{pattern: "POST " + prefix + "/members", variant: "as Owner", need: nWrite, write: true, rule: member(where, botgate.OwnerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := m.victim.ID
				if fresh {
					id = m.freshUser(t).ID
				}
				return base(m) + "/members", map[string]any{"user_id": id, "access_level": 50}
			}},
		{pattern: "GET " + prefix + "/members/{user_id}", need: nRead, rule: member(where, botgate.GuestAccess),
			build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) {
				return fmt.Sprintf("%s/members/%d", base(m), memberOf(m)), nil
			}},
		{pattern: "GET " + prefix + "/members/all", need: nRead, rule: member(where, botgate.GuestAccess),
			build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) { return base(m) + "/members/all", nil }},
		{pattern: "GET " + prefix + "/members/all/{user_id}", need: nRead, rule: member(where, botgate.GuestAccess),
			build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) {
				return fmt.Sprintf("%s/members/all/%d", base(m), memberOf(m)), nil
			}},
		{pattern: "PUT " + prefix + "/members/{user_id}", variant: "a Guest", need: nWrite, write: true, rule: member(where, botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := memberOf(m)
				if fresh {
					id = m.freshMember(t, where, botgate.GuestAccess)
				}
				return fmt.Sprintf("%s/members/%d", base(m), id), map[string]any{"access_level": 20}
			}},
		{pattern: "PUT " + prefix + "/members/{user_id}", variant: "an Owner", need: nWrite, write: true, rule: member(where, botgate.OwnerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := memberOf(m)
				if fresh {
					id = m.freshMember(t, where, botgate.OwnerAccess)
				}
				return fmt.Sprintf("%s/members/%d", base(m), id), map[string]any{"access_level": 40}
			}},
		{pattern: "DELETE " + prefix + "/members/{user_id}", variant: "a Guest", need: nWrite, write: true, rule: member(where, botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := memberOf(m)
				if fresh {
					id = m.freshMember(t, where, botgate.GuestAccess)
				}
				return fmt.Sprintf("%s/members/%d", base(m), id), nil
			}},
		{pattern: "DELETE " + prefix + "/members/{user_id}", variant: "an Owner", need: nWrite, write: true, rule: member(where, botgate.OwnerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := memberOf(m)
				if fresh {
					id = m.freshMember(t, where, botgate.OwnerAccess)
				}
				return fmt.Sprintf("%s/members/%d", base(m), id), nil
			}},

		// Access tokens.
		{pattern: "GET " + prefix + "/access_tokens", need: nRead, rule: tokenAdmin(where, manage),
			build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) { return base(m) + "/access_tokens", nil }},
		{pattern: "GET " + prefix + "/access_tokens/{token_id}", need: nRead, rule: tokenAdmin(where, manage),
			build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) {
				return fmt.Sprintf("%s/access_tokens/%d", base(m), resTok(m)), nil
			}},
		{pattern: "POST " + prefix + "/access_tokens", variant: "Guest token", need: nWrite, write: true, rule: minting(tokenAdmin(where, manage)),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return base(m) + "/access_tokens", map[string]any{"name": m.name("tok"), "scopes": []string{"read_api"}, "access_level": 10}
			}},
		{pattern: "POST " + prefix + "/access_tokens", variant: "Owner token", need: nWrite, write: true, rule: minting(tokenAdmin(where, botgate.OwnerAccess)),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return base(m) + "/access_tokens", map[string]any{"name": m.name("tok"), "scopes": []string{"read_api"}, "access_level": 50}
			}},
		{pattern: "POST " + prefix + "/access_tokens", variant: "sudo scope", need: nWrite, write: true,
			// A bot never holds an administrator scope, whoever asks.
			rule: func(a *mActor, scope string) outcome {
				if o := minting(tokenAdmin(where, manage))(a, scope); !o.ok() {
					return o
				}
				return outcome{"400/403/422 (administrator scope)", []int{400, 403, 422}}
			},
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return base(m) + "/access_tokens", map[string]any{"name": m.name("tok"), "scopes": []string{"read_api", "sudo"}, "access_level": 10}
			}},
		{pattern: "POST " + prefix + "/access_tokens/{token_id}/rotate", variant: "Guest token", need: nWrite, write: true, rule: minting(tokenAdmin(where, manage)),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := resTok(m)
				if fresh {
					id = m.freshResToken(t, where, botgate.GuestAccess)
				}
				return fmt.Sprintf("%s/access_tokens/%d/rotate", base(m), id), nil
			}},
		{pattern: "POST " + prefix + "/access_tokens/{token_id}/rotate", variant: "Owner token", need: nWrite, write: true, rule: minting(tokenAdmin(where, botgate.OwnerAccess)),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := resTok(m)
				if fresh {
					id = m.freshResToken(t, where, botgate.OwnerAccess)
				}
				return fmt.Sprintf("%s/access_tokens/%d/rotate", base(m), id), nil
			}},
		{pattern: "POST " + prefix + "/access_tokens/{token_id}/rotate", variant: "vault-bound token", need: nWrite, write: true,
			rule: minting(teamOnly(tokenAdmin(where, manage))),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := resTok(m)
				if fresh {
					id = m.freshBoundResToken(t, where)
				}
				return fmt.Sprintf("%s/access_tokens/%d/rotate", base(m), id), nil
			}},
		{pattern: "POST " + prefix + "/access_tokens/self/rotate", need: nSelf, write: true, consumes: true,
			// Only the resource's own bot rotates itself here.
			rule: func(a *mActor, _ string) outcome {
				if (where == "G" && a.kind == "group") || (where == "P" && a.kind == "project") {
					return okO
				}
				return outcome{"refused (4xx)", []int{400, 401, 403, 404}}
			},
			build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) {
				return base(m) + "/access_tokens/self/rotate", nil
			}},
		{pattern: "DELETE " + prefix + "/access_tokens/{token_id}", variant: "Guest token", need: nWrite, write: true, rule: tokenAdmin(where, manage),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := resTok(m)
				if fresh {
					id = m.freshResToken(t, where, botgate.GuestAccess)
				}
				return fmt.Sprintf("%s/access_tokens/%d", base(m), id), nil
			}},
		{pattern: "DELETE " + prefix + "/access_tokens/{token_id}", variant: "Owner token", need: nWrite, write: true, rule: tokenAdmin(where, botgate.OwnerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				id := resTok(m)
				if fresh {
					id = m.freshResToken(t, where, botgate.OwnerAccess)
				}
				return fmt.Sprintf("%s/access_tokens/%d", base(m), id), nil
			}},

		// Service accounts.
		{pattern: "GET " + prefix + "/service_accounts", need: nRead, rule: member(where, botgate.MaintainerAccess),
			build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) { return base(m) + "/service_accounts", nil }},
		{pattern: "POST " + prefix + "/service_accounts", need: nWrite, write: true, rule: minting(member(where, ownSA)),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				return base(m) + "/service_accounts", map[string]any{"name": m.name("sa")}
			}},
		{pattern: "PATCH " + prefix + "/service_accounts/{user_id}", need: nWrite, write: true, rule: member(where, ownSA),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				u := sa(m)
				if fresh {
					u = m.freshSA(t, saOwner)
				}
				return fmt.Sprintf("%s/service_accounts/%d", base(m), u.ID), map[string]any{"name": m.name("renamed")}
			}},
		{pattern: "DELETE " + prefix + "/service_accounts/{user_id}", need: nWrite, write: true, rule: member(where, ownSA),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				u := sa(m)
				if fresh {
					u = m.freshSA(t, saOwner)
				}
				return fmt.Sprintf("%s/service_accounts/%d", base(m), u.ID), nil
			}},
		{pattern: "GET " + prefix + "/service_accounts/{user_id}/personal_access_tokens", need: nRead, rule: member(where, botgate.MaintainerAccess),
			build: func(m *mx, _ *testing.T, _ *mCase, _ bool) (string, any) {
				return fmt.Sprintf("%s/service_accounts/%d/personal_access_tokens", base(m), sa(m).ID), nil
			}},
		{pattern: "POST " + prefix + "/service_accounts/{user_id}/personal_access_tokens", variant: "a plain account", need: nWrite, write: true,
			rule: minting(member(where, botgate.MaintainerAccess)),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				u := sa(m)
				if fresh {
					u = m.freshSA(t, saOwner)
				}
				return fmt.Sprintf("%s/service_accounts/%d/personal_access_tokens", base(m), u.ID), map[string]any{"name": m.name("satok"), "scopes": []string{"read_api"}}
			}},
		{pattern: "POST " + prefix + "/service_accounts/{user_id}/personal_access_tokens", variant: "sudo scope", need: nWrite, write: true,
			rule: func(a *mActor, scope string) outcome {
				o := minting(member(where, botgate.MaintainerAccess))(a, scope)
				if !o.ok() {
					return o
				}
				if a.admin {
					return anyO
				}
				return outcome{"400/403/422 (administrator scope)", []int{400, 403, 422}}
			},
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				u := sa(m)
				if fresh {
					u = m.freshSA(t, saOwner)
				}
				return fmt.Sprintf("%s/service_accounts/%d/personal_access_tokens", base(m), u.ID), map[string]any{"name": m.name("satok"), "scopes": []string{"api", "sudo"}}
			}},
		{pattern: "POST " + prefix + "/service_accounts/{user_id}/personal_access_tokens", variant: "an Owner account", need: nWrite, write: true,
			// The account is an Owner of the group: minting for it needs as much.
			rule: minting(member(where, botgate.OwnerAccess)),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				u := sa(m)
				if fresh {
					u = m.freshSA(t, saOwner)
					_, err := m.auth.AddMember(m.ctx, m.admin, m.res("G"), u.ID, botgate.OwnerAccess, nil)
					m.check(t, err)
				}
				return fmt.Sprintf("%s/service_accounts/%d/personal_access_tokens", base(m), u.ID), map[string]any{"name": m.name("satok"), "scopes": []string{"read_api"}}
			}},
		{pattern: "POST " + prefix + "/service_accounts/{user_id}/personal_access_tokens/{token_id}/rotate", variant: "vault-bound token", need: nWrite, write: true,
			rule: minting(teamOnly(member(where, botgate.MaintainerAccess))),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				u, id := sa(m), m.projSATok
				if where == "G" {
					id = m.teamSATok.id
				}
				if fresh {
					u = m.freshSA(t, saOwner)
					id = m.freshBoundSAToken(t, u.ID)
				}
				return fmt.Sprintf("%s/service_accounts/%d/personal_access_tokens/%d/rotate", base(m), u.ID, id), nil
			}},
		{pattern: "DELETE " + prefix + "/service_accounts/{user_id}/personal_access_tokens/{token_id}", need: nWrite, write: true, rule: member(where, botgate.MaintainerAccess),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				u, id := sa(m), m.projSATok
				if where == "G" {
					id = m.teamSATok.id
				}
				if fresh {
					u = m.freshSA(t, saOwner)
					id = m.freshSAToken(t, u.ID)
				}
				return fmt.Sprintf("%s/service_accounts/%d/personal_access_tokens/%d", base(m), u.ID, id), nil
			}},
		{pattern: "POST " + prefix + "/service_accounts/{user_id}/personal_access_tokens/{token_id}/rotate", need: nWrite, write: true,
			rule: minting(member(where, botgate.MaintainerAccess)),
			build: func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
				u, id := sa(m), m.projSATok
				if where == "G" {
					id = m.teamSATok.id
				}
				if fresh {
					u = m.freshSA(t, saOwner)
					id = m.freshSAToken(t, u.ID)
				}
				return fmt.Sprintf("%s/service_accounts/%d/personal_access_tokens/%d/rotate", base(m), u.ID, id), nil
			}},
	}
}

// severalUsers adds two users at once at the level (GitLab's
// comma-separated user_id): fresh ones for a case that reaches the handler.
func severalUsers(base func(*mx) string, level int) func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
	return func(m *mx, t *testing.T, c *mCase, fresh bool) (string, any) {
		ids := fmt.Sprintf("%d,%d", m.victim.ID, m.users["nonmember"].ID)
		if fresh {
			ids = fmt.Sprintf("%d,%d", m.freshUser(t).ID, m.freshUser(t).ID)
		}
		return base(m) + "/members", map[string]any{"user_id": ids, "access_level": level}
	}
}

// expected is the outcome the rules give a case.
func expected(r *mRow, c *mCase) outcome {
	switch {
	case r.mode == "console-sign-in" && signsIn(c):
		return seeO
	case r.mode == "console-sign-in":
		return outcome{"401/403 (does not sign in)", []int{401, 403}}
	case r.need == nConsole && !signsIn(c) && strings.HasPrefix(r.pattern, "POST "):
		return unauthO
	case r.need == nConsole && !signsIn(c):
		return toSignInO
	case r.need == nConsole:
		return r.rule(c.actor, c.scope)
	}
	if r.need == nPublic {
		return r.rule(c.actor, c.scope)
	}
	if c.state != stActive {
		return unauthO
	}
	if c.actor.deactivated {
		return deactO
	}
	if !scopeMeets(r.need, c.scope) {
		return forbidO
	}
	return r.rule(c.actor, c.scope)
}

// reaches reports whether the case gets past authentication and the
// route's scope check.
func reaches(r *mRow, c *mCase) bool {
	if r.need == nConsole {
		return signsIn(c)
	}
	return r.need != nPublic && c.state == stActive && !c.actor.deactivated && scopeMeets(r.need, c.scope)
}

func TestAuthorizationMatrix(t *testing.T) {
	runMatrix(t, openSQLiteMatrix)
}

func TestAuthorizationMatrixPostgres(t *testing.T) {
	runMatrix(t, openPostgresMatrix)
}

func runMatrix(t *testing.T, open func(*testing.T, *slog.Logger) botgate.Store) {
	start := time.Now()
	m := newMatrix(t, open)
	rows := matrixRows()
	routes := append(m.srv.Config.Handler.(*httpapi.Server).Routes(), proxyRoute)
	checkParts(t, m.cfg)
	checkCoverage(t, routes, rows)
	t.Run("a rotated-out token on a rotate route revokes its family", func(t *testing.T) { familyRevocation(t, m) })
	t.Run("sudo acts as the user named, and only for administrators", func(t *testing.T) { sudo(t, m) })
	t.Run("a console session is new at sign-in and ends at sign-out or with its token", func(t *testing.T) { consoleSessions(t, m) })
	var cases, reached int
	for _, r := range rows {
		method, _, ok := strings.Cut(r.pattern, " ")
		if !ok || strings.HasPrefix(method, "/") {
			method = "GET"
		}
		t.Run(r.name(), func(t *testing.T) {
			first := cases
			defer func() { t.Logf("%d cases", cases-first) }()
			for _, a := range matrixActors {
				for _, state := range matrixStates {
					scopes := matrixScopes(a)
					if state != stActive {
						scopes = []string{"api"}
					}
					for _, scope := range scopes {
						c := &mCase{actor: a, scope: scope, state: state, tok: m.tokens[tokKey{a.name, scope, state}]}
						fresh := reaches(r, c) && (r.write || r.consumes)
						if fresh && r.consumes {
							c.tok = m.mint(t, a, scope, nil)
						}
						want := expected(r, c)
						path, body := r.build(m, t, c, fresh)
						secret := c.tok.secret
						if strings.HasPrefix(r.mode, "console") {
							m.session(secret) // signed in before the audit mark
						}
						var seq int64
						if r.write {
							seq = m.auditSeq(t)
						}
						before := m.forwarded.Load()
						var res response
						switch {
						case strings.HasPrefix(r.mode, "console"):
							res = m.sendConsole(r, method, path, c, fresh)
						case r.mode == "form":
							res = m.sendForm(path, secret, body.(url.Values))
						default:
							res = m.send(r, method, path, secret, body)
						}
						cases++
						if reaches(r, c) {
							reached++
						}
						what := fmt.Sprintf("%s actor=%s kind=%s scope=%s state=%s", r.name(), a.name, a.kind, scope, state)
						if !want.match(res.status) {
							t.Errorf("%s: HTTP %d, want %s; body %.200s", what, res.status, want.label, res.body)
						}
						if r.mode == "proxy" && !(res.status >= 200 && res.status < 300) && m.forwarded.Load() != before {
							t.Errorf("%s: refused with HTTP %d but forwarded upstream", what, res.status)
						}
						// The console answers a done form with a redirect.
						done := res.status >= 200 && res.status < 300 || strings.HasPrefix(r.mode, "console") && res.status == http.StatusSeeOther
						if r.write && !done {
							var allow []string
							if (state == stRotated || state == stRevoked) && strings.HasSuffix(path, "/rotate") {
								allow = append(allow, botgate.ActionTokenFamilyRevoke)
								// A project or group bot goes with its family, as with any revocation.
								allow = append(allow, botgate.ActionUserDeactivate)
							}
							if changed := m.changesSince(t, seq, allow...); len(changed) > 0 {
								t.Errorf("%s: refused with HTTP %d but changed %v", what, res.status, changed)
							}
						}
					}
				}
			}
		})
	}
	kinds := map[string]bool{}
	for _, a := range matrixActors {
		kinds[a.kind] = true
	}
	t.Logf("authorization matrix: %d rows over %d routes, %d actors, %d token kinds, %d token states, in %s",
		len(rows), len(routes), len(matrixActors), len(kinds), len(matrixStates), time.Since(start).Round(time.Millisecond))
	t.Log(fmt.Sprintf("authorization matrix summary: %d cases, %d routes, %d actors (%d cases past authentication and scope)", cases, len(routes), len(matrixActors), reached))
}

// familyRevocation checks, for every kind of token, that presenting a
// rotated-out token anywhere is refused, and that presenting it on a rotate
// route also revokes its successor.
func familyRevocation(t *testing.T, m *mx) {
	for _, a := range matrixActors {
		if a.deactivated {
			continue
		}
		routes := []string{"/api/v4/personal_access_tokens/self/rotate", "/api/v4/personal_access_tokens/%d/rotate"}
		switch a.kind {
		case "project":
			routes = []string{"/api/v4" + gp("P", m) + "/access_tokens/self/rotate", "/api/v4" + gp("P", m) + "/access_tokens/%d/rotate"}
		case "group":
			routes = []string{"/api/v4" + gp("G", m) + "/access_tokens/self/rotate", "/api/v4" + gp("G", m) + "/access_tokens/%d/rotate"}
		}
		for _, route := range routes {
			old := m.mint(t, a, "api", nil)
			next, err := m.auth.RotateToken(m.ctx, m.admin, old.id, nil)
			m.check(t, err)
			m.remember(next.Secret)
			if strings.Contains(route, "%d") {
				route = fmt.Sprintf(route, next.Token.ID)
			}
			what := fmt.Sprintf("actor=%s kind=%s route=%s", a.name, a.kind, route)
			self := "/api/v4/personal_access_tokens/self"
			if r := m.do("GET", self, old.secret, "", nil); r.status != http.StatusUnauthorized {
				t.Errorf("%s: the rotated-out token reads itself: HTTP %d, want 401", what, r.status)
			}
			if r := m.do("GET", self, next.Secret, "", nil); r.status != http.StatusOK {
				t.Fatalf("%s: the successor, before: HTTP %d, want 200 (a rotated-out token used elsewhere leaves the family alone)", what, r.status)
			}
			seq := m.auditSeq(t)
			if r := m.do("POST", route, old.secret, "", nil); r.status != http.StatusUnauthorized {
				t.Errorf("%s: the rotated-out token rotates: HTTP %d, want 401", what, r.status)
			}
			if r := m.do("GET", self, next.Secret, "", nil); r.status != http.StatusUnauthorized {
				t.Errorf("%s: the successor after the rotated-out token tried to rotate: HTTP %d, want 401 (family revoked)", what, r.status)
			}
			if got := m.changesSince(t, seq); !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, botgate.ActionTokenFamilyRevoke+" ") }) {
				t.Errorf("%s: audited %v, want a %s", what, got, botgate.ActionTokenFamilyRevoke)
			}
		}
	}
}

// sudo checks impersonation: an administrator's token with sudo acts with
// the named user's rights (no more), and anyone else's Sudo header is
// refused.
func sudo(t *testing.T, m *mx) {
	admin := m.keep(must2(t)(m.auth.CreatePersonalToken(m.ctx, m.admin, m.admin.User.ID, authority.NewToken{Name: "sudo", Scopes: []string{"api", "sudo"}})))
	readSudo := m.keep(must2(t)(m.auth.CreatePersonalToken(m.ctx, m.admin, m.admin.User.ID, authority.NewToken{Name: "read-sudo", Scopes: []string{"read_api", "sudo"}})))
	project := "/api/v4" + gp("P", m)
	cases := []struct {
		name, token, method, path, as string
		body                          any
		want                          int
	}{
		{"as a non-member, the project is hidden", admin.secret, "GET", project, "nonmember", nil, 404},
		{"as a developer, the project is seen", admin.secret, "GET", project, "developer", nil, 200},
		{"as a developer, the project is not edited", admin.secret, "PUT", project, "developer", map[string]any{"description": "sudo"}, 403},
		{"as a developer, no token is minted for another", admin.secret, "POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", m.victim.ID), "developer",
			map[string]any{"name": "x", "scopes": []string{"api"}}, 403},
		{"as a deactivated user, refused", admin.secret, "GET", project, "deactivated", nil, 403},
		{"read_api with sudo still cannot write", readSudo.secret, "PUT", project, "owner", map[string]any{"description": "sudo"}, 403},
		{"a non-administrator's Sudo is refused", m.tokens[tokKey{"owner", "api", stActive}].secret, "GET", project, "developer", nil, 403},
		{"a bot's Sudo is refused", m.tokens[tokKey{"project-bot", "api", stActive}].secret, "GET", project, "owner", nil, 403},
	}
	for _, c := range cases {
		seq := m.auditSeq(t)
		var body io.Reader
		if c.body != nil {
			b, err := json.Marshal(c.body)
			m.check(t, err)
			body = bytes.NewReader(b)
		}
		req, err := http.NewRequest(c.method, m.srv.URL+c.path, body)
		m.check(t, err)
		req.Header.Set("PRIVATE-TOKEN", c.token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sudo", c.as)
		res := m.env.send(req)
		if res.status != c.want {
			t.Errorf("sudo %s: %s %s as %s: HTTP %d, want %d; body %.200s", c.name, c.method, c.path, c.as, res.status, c.want, res.body)
		}
		if c.method != "GET" && res.status >= 300 {
			if changed := m.changesSince(t, seq); len(changed) > 0 {
				t.Errorf("sudo %s: refused with HTTP %d but changed %v", c.name, res.status, changed)
			}
		}
	}
}

func must2(t *testing.T) func(*authority.Created, error) *authority.Created {
	return func(c *authority.Created, err error) *authority.Created {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// send sends a case's request the row's way.
func (m *mx) send(r *mRow, method, path, secret string, body any) response {
	m.t.Helper()
	var req *http.Request
	var err error
	switch r.mode {
	case "":
		if body != nil {
			return m.postJSON(method, path, secret, body)
		}
		return m.do(method, path, secret, "", nil)
	case "auth":
		req, err = http.NewRequest("GET", m.srv.URL+"/-/auth", nil)
		if err == nil {
			req.Header.Set("X-Original-Method", r.fwd)
			req.Header.Set("X-Original-URI", path)
		}
	case "envoy":
		req, err = http.NewRequest(r.fwd, m.srv.URL+"/-/auth/envoy"+path, nil)
	case "proxy":
		req, err = http.NewRequest(r.fwd, m.proxy.URL+path, nil)
	}
	if err != nil {
		m.t.Fatal(err)
	}
	if secret != "" {
		req.Header.Set("PRIVATE-TOKEN", secret)
	}
	// A proxy asking forward-auth does not follow redirects: any answer
	// but 200 is a refusal.
	return m.roundTrip(req)
}

// roundTrip sends req without following redirects.
func (m *mx) roundTrip(req *http.Request) response {
	m.t.Helper()
	res, err := noRedirects.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		m.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// checkCoverage fails for every registered route without a row, and every
// row whose route is not registered.
func checkCoverage(t *testing.T, routes []string, rows []*mRow) {
	t.Helper()
	covered := map[string]bool{}
	for _, r := range rows {
		covered[r.pattern] = true
	}
	for _, p := range routes {
		if !covered[p] {
			t.Errorf("route %q has no row in the authorization matrix", p)
		}
		delete(covered, p)
	}
	for p := range covered {
		t.Errorf("matrix row %q matches no registered route", p)
	}
}
