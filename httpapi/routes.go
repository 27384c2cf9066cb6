package httpapi

import (
	"strings"

	"github.com/botgate/botgate"
)

// The console's pages that the API's web_url fields name (registered in
// routes below): a user, a group and a project.
const (
	consoleUsers    = "/-/console/users/"
	consoleGroups   = "/-/console/groups/"
	consoleProjects = "/-/console/projects/"
)

// routes registers every route, those of the optional parts cfg names
// included. Keep them all here, in one place.
func (s *Server) routes(cfg Config) {
	s.mux.Handle("GET /-/health", s.adapt(s.handleHealth))
	s.mux.Handle("GET /-/liveness", s.adapt(s.handleHealth))
	s.mux.Handle("GET /-/readiness", s.adapt(s.handleReadiness))

	// GitLab-compatible API.
	v4 := s.authedUnder("/api/v4")
	s.mux.Handle("/api/v4/", s.adapt(s.handleNotFound))
	v4("GET /version", needRead, s.handleVersion)
	v4("GET /metadata", needRead, s.handleMetadata)
	v4("GET /namespaces", needRead, s.handleListNamespaces)
	v4("GET /namespaces/{id}", needRead, s.handleGetNamespace)

	// Users.
	v4("GET /user", needUser, s.handleCurrentUser)
	v4("GET /users", needUser, s.handleListUsers)
	v4("POST /users", needWrite, s.handleCreateUser)
	v4("GET /users/{id}", needUser, s.handleGetUser)
	v4("DELETE /users/{id}", needWrite, s.handleDeleteUser)

	// Groups and projects, and their members.
	v4("GET /groups", needRead, s.handleListGroups)
	v4("POST /groups", needWrite, s.handleCreateGroup)
	v4("GET /groups/{id}", needRead, s.handleGetGroup)
	v4("PUT /groups/{id}", needWrite, s.handleUpdateGroup)
	v4("DELETE /groups/{id}", needWrite, s.handleDeleteGroup)
	v4("GET /groups/{id}/subgroups", needRead, s.handleListSubgroups)
	v4("GET /groups/{id}/projects", needRead, s.handleListGroupProjects)
	v4("GET /projects", needRead, s.handleListProjects)
	v4("POST /projects", needWrite, s.handleCreateProject)
	v4("GET /projects/{id}", needRead, s.handleGetProject)
	v4("PUT /projects/{id}", needWrite, s.handleUpdateProject)
	v4("DELETE /projects/{id}", needWrite, s.handleDeleteProject)
	for _, res := range []struct {
		prefix string
		typ    botgate.ResourceType
	}{{"/groups/{id}", botgate.GroupResource}, {"/projects/{id}", botgate.ProjectResource}} {
		p, t := res.prefix, res.typ
		v4("GET "+p+"/members", needRead, s.handleListMembers(t))
		v4("POST "+p+"/members", needWrite, s.handleAddMember(t))
		v4("GET "+p+"/members/{user_id}", needRead, s.handleGetMember(t))
		v4("GET "+p+"/members/all", needRead, s.handleListAllMembers(t))
		v4("GET "+p+"/members/all/{user_id}", needRead, s.handleGetAllMember(t))
		v4("PUT "+p+"/members/{user_id}", needWrite, s.handleUpdateMember(t))
		v4("DELETE "+p+"/members/{user_id}", needWrite, s.handleRemoveMember(t))

		// Project and group access tokens.
		v4("GET "+p+"/access_tokens", needRead, s.handleListResourceTokens(t))
		v4("POST "+p+"/access_tokens", needWrite, s.handleCreateResourceToken(t))
		v4("GET "+p+"/access_tokens/{token_id}", needRead, s.handleGetResourceToken(t))
		v4("POST "+p+"/access_tokens/{token_id}/rotate", needWrite, s.handleRotateResourceToken(t))
		v4("POST "+p+"/access_tokens/self/rotate", needSelfRotate, s.handleRotateSelfResourceToken(t))
		v4("DELETE "+p+"/access_tokens/{token_id}", needWrite, s.handleRevokeResourceToken(t))

		// Group and project service accounts.
		serviceAccountRoutes(v4, s, p, t)
	}

	// Personal access tokens.
	v4("GET /personal_access_tokens", needRead, s.handleListPATs)
	v4("GET /personal_access_tokens/self", needAny, s.handleGetSelfPAT)
	v4("GET /personal_access_tokens/{id}", needRead, s.handleGetPAT)
	v4("POST /personal_access_tokens/self/rotate", needSelfRotate, s.handleRotateSelfPAT)
	v4("POST /personal_access_tokens/{id}/rotate", needWrite, s.handleRotatePAT)
	v4("DELETE /personal_access_tokens/self", needAny, s.handleRevokeSelfPAT)
	v4("DELETE /personal_access_tokens/{id}", needWrite, s.handleRevokePAT)
	v4("POST /users/{user_id}/personal_access_tokens", needWrite, s.handleCreateUserPAT)
	v4("POST /user/personal_access_tokens", needWrite, s.handleCreateCurrentUserPAT)

	// Instance service accounts.
	serviceAccountRoutes(v4, s, "", "")

	// Admin token API.
	v4("POST /admin/token", needRead, s.handleAdminTokenLookup)
	v4("DELETE /admin/token", needWrite, s.handleAdminTokenRevoke)

	// botgate's own API.
	v1 := s.authedUnder("/api/botgate/v1")
	s.mux.Handle("/api/botgate/v1/", s.adapt(s.handleNotFound))
	if cfg.Exchanger != nil {
		// Workload identity: the identity token in the body is the
		// credential, so the route is not behind authed.
		s.mux.Handle("POST /api/botgate/v1/identity/token", s.adapt(s.exchangeHandler(cfg.Exchanger)))
	}
	v1("GET /tokens/{id}", needRead, s.handleBotgateToken)
	v1("PUT /tokens/{id}/automation", needWrite, s.handleSetAutomation)
	v1("GET /tokens/{id}/usage", needRead, s.handleTokenUsage)
	v1("GET /audit/events", needRead, s.handleAuditEvents)
	v1("GET /audit/verify", needRead, s.handleAuditVerify)
	v1("POST /leaks", needAny, s.handleLeaks)

	// GitLab's token revocation API, which self-managed GitLab's secret
	// detection calls with its pre-shared token.
	s.mux.Handle("GET /v1/revocable_token_types", s.adapt(s.tokenRevocation(s.handleRevocableTokenTypes)))
	s.mux.Handle("POST /v1/revoke_tokens", s.adapt(s.tokenRevocation(s.handleRevokeTokens)))

	// The vault, the upstream broker and the lint report, when the server
	// has them.
	if cfg.Vault != nil {
		h := &secretHandlers{s: s, v: cfg.Vault}
		v1("GET /secrets", needRead, h.list)
		v1("GET /secrets/{group}/{name}", needRead, h.get)
		v1("GET /secrets/{group}/{name}/value", needAny, h.value)
		v1("PUT /secrets/{group}/{name}", needWrite, h.put)
		v1("DELETE /secrets/{group}/{name}", needWrite, h.remove)
		v1("PUT /secrets/{group}/{name}/binding", needWrite, h.bind)
		v1("DELETE /secrets/{group}/{name}/binding", needWrite, h.unbind)
		if cfg.Broker != nil {
			u := &upstreamHandlers{s: s, b: cfg.Broker, v: cfg.Vault}
			v1("GET /upstream_credentials", needRead, u.list)
			v1("POST /upstream_credentials", needWrite, u.create)
			v1("GET /upstream_credentials/{id}", needRead, u.get)
			v1("POST /upstream_credentials/{id}/rotate", needWrite, u.rotate)
			v1("DELETE /upstream_credentials/{id}", needWrite, u.remove)
		}
	}
	if cfg.Linter != nil {
		v1("GET /lint", needRead, s.lintHandler(cfg.Linter))
	}
	if cfg.Reissuer != nil {
		v1("POST /tokens/reissue", needWrite, s.reissueHandler(cfg.Reissuer))
	}
	// Governance as a service: a manifest in, its plan, apply, lint or
	// drift out, for the caller's teams.
	if cfg.Governance != nil {
		h := &manifestHandlers{s: s, gov: cfg.Governance}
		v1("POST /manifest/plan", needManage, h.plan(false))
		v1("POST /manifest/drift", needManage, h.plan(true))
		v1("POST /manifest/apply", needManage, h.apply)
		v1("POST /manifest/lint", needManage, h.lint)
	}

	// The web console: server-rendered pages at / and below /-/console/.
	if c := cfg.Console; c != nil {
		s.mux.Handle("GET /{$}", c.Handler("home"))
		s.mux.Handle("GET /-/console/assets/", c.Handler("assets"))
		s.mux.Handle("GET /-/console/sign_in", c.Handler("sign_in_form"))
		s.mux.Handle("POST /-/console/sign_in", c.Handler("sign_in"))
		s.mux.Handle("POST /-/console/sign_out", c.Handler("sign_out"))
		s.mux.Handle("GET /-/console/inventory", c.Handler("inventory"))
		s.mux.Handle("GET /-/console/tokens/{id}", c.Handler("token"))
		s.mux.Handle("GET /-/console/tokens/{id}/new", c.Handler("token_secret"))
		s.mux.Handle("POST /-/console/tokens/{id}/rotate", c.Handler("rotate"))
		s.mux.Handle("GET /-/console/tokens/{id}/revoke", c.Handler("revoke_confirm"))
		s.mux.Handle("POST /-/console/tokens/{id}/revoke", c.Handler("revoke"))
		s.mux.Handle("POST /-/console/automations/{name}/tokens", c.Handler("create_token"))
		s.mux.Handle("GET /-/console/lint", c.Handler("lint"))
		s.mux.Handle("GET /-/console/leaks", c.Handler("leaks"))
		s.mux.Handle("GET /-/console/audit", c.Handler("audit"))
		s.mux.Handle("GET /-/console/vault", c.Handler("vault"))
		s.mux.Handle("GET /-/console/charts", c.Handler("charts"))
		s.mux.Handle("GET /-/console/charts/expiry.svg", c.Handler("expiry_svg"))
		s.mux.Handle("GET /-/console/charts/requests.svg", c.Handler("requests_svg"))
		s.mux.Handle("GET /-/console/charts/refusals.svg", c.Handler("refusals_svg"))
		// The pages the API's web_url fields name.
		s.mux.Handle("GET "+consoleGroups+"{path...}", c.Handler("group"))
		s.mux.Handle("GET "+consoleProjects+"{path...}", c.Handler("project"))
		s.mux.Handle("GET "+consoleUsers+"{username}", c.Handler("user"))
	}

	// The gateway's forward-auth (Envoy's ext_authz appends the original
	// path below /-/auth/) and its metrics, which name automations, routes
	// and outcomes: administrators only, unless the operator opens them (a
	// scraper on a private network).
	if cfg.ForwardAuth != nil {
		s.mux.Handle("/-/auth", cfg.ForwardAuth)
		s.mux.Handle("/-/auth/", cfg.ForwardAuth)
	}
	if cfg.Metrics != nil {
		if cfg.MetricsPublic {
			s.mux.Handle("GET /metrics", cfg.Metrics)
		} else {
			s.mux.Handle("GET /metrics", s.adminOnly(cfg.Metrics))
		}
	}
}

// authedUnder returns a function that registers an authenticated route:
// pattern ("METHOD /path") with its path under prefix, answered by h for
// callers who meet n.
func (s *Server) authedUnder(prefix string) func(pattern string, n need, h authedFunc) {
	return func(pattern string, n need, h authedFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		s.mux.Handle(method+" "+prefix+path, s.adapt(s.authed(n, h)))
	}
}

// serviceAccountRoutes registers the service account routes under prefix
// ("" for the instance's).
func serviceAccountRoutes(v4 func(string, need, authedFunc), s *Server, prefix string, t botgate.ResourceType) {
	p := prefix + "/service_accounts"
	v4("GET "+p, needRead, s.handleListServiceAccounts(t))
	v4("POST "+p, needWrite, s.handleCreateServiceAccount(t))
	if t == "" {
		v4("PATCH "+p+"/{id}", needWrite, s.handleUpdateServiceAccount(t))
		return
	}
	u := p + "/{user_id}"
	v4("PATCH "+u, needWrite, s.handleUpdateServiceAccount(t))
	v4("DELETE "+u, needWrite, s.handleDeleteServiceAccount(t))
	v4("GET "+u+"/personal_access_tokens", needRead, s.handleListServiceAccountTokens(t))
	v4("POST "+u+"/personal_access_tokens", needWrite, s.handleCreateServiceAccountToken(t))
	v4("DELETE "+u+"/personal_access_tokens/{token_id}", needWrite, s.handleRevokeServiceAccountToken(t))
	v4("POST "+u+"/personal_access_tokens/{token_id}/rotate", needWrite, s.handleRotateServiceAccountToken(t))
}
