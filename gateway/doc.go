// Package gateway puts botgate in front of any HTTP API, GitLab's
// included: every automation calls the API through its own token, under
// its own rate limit, with runaway loops cut off and every call recorded.
//
// It serves two ways, with the same decision:
//
//   - Forward-auth (ForwardAuth, mounted at /-/auth): a proxy asks botgate
//     about each request. nginx auth_request sends the original request in
//     X-Original-Method and X-Original-URI; Traefik ForwardAuth in
//     X-Forwarded-Method, X-Forwarded-Uri and X-Forwarded-Host; Envoy
//     ext_authz (HTTP mode, path_prefix /-/auth/envoy) as the request's own
//     method and path below the prefix. The answer is 200 with
//     X-Botgate-User, X-Botgate-Token-Id, X-Botgate-Automation and
//     X-Botgate-Scopes, or 401, 403 or 429 with a GitLab-style JSON body.
//   - Reverse proxy (Proxy): botgate forwards allowed requests itself with
//     net/http/httputil.ReverseProxy, removing the caller's token and
//     injecting the route's upstream credential (see CredentialSource),
//     streaming bodies and passing WebSocket upgrades.
//
// # The decision
//
// For each request, in order:
//
//  1. The path is checked: path traversal ("..", also percent-encoded once
//     or twice) is refused with 400.
//  2. The token, from PRIVATE-TOKEN, Authorization: Bearer or JOB-TOKEN,
//     is authenticated by the authority (401 if missing, malformed,
//     unknown, expired or revoked). A token in the query string is refused
//     unless allow_query_token is set, so that it never lands in logs.
//  3. The loop breaker counts the request's shape: method, path, query and
//     body (its first 64 KiB and length). More than 50 identical requests
//     from one token within a minute is a runaway loop: 429 saying so,
//     one audit event (gateway.loop_tripped) per trip, a counter, the
//     token suspended if loop.suspend is set, and the owning team's
//     webhook told. The shape stays blocked for that token for 5 minutes;
//     its other requests and every other token carry on. Each refused
//     loop request is held for loop.refusal_delay (1s) before the 429, so
//     that a script retrying at once cannot spend the CPU others need. The breaker looks
//     before the rate limit, so a blocked loop does not use up the token's
//     budget.
//  4. The token's rate limit (GCRA; default 2,000 a minute, overridable per
//     automation and per token; there is no "unlimited") — 429 with
//     Retry-After when exceeded, held like a loop refusal (at most until
//     the token has budget again). RateLimit-Limit, -Remaining, -Reset and
//     -Observed are on every answer about a valid token, proxied ones
//     included. Limits and loop blocks are kept per rotation family, so
//     rotating a token neither resets its budget nor lifts a block.
//  5. The scope policy: reads (GET, HEAD, OPTIONS) need read_api or api,
//     writes need api, unless a route rule says otherwise (403
//     insufficient_scope).
//  6. For GitLab routes, /api/v4/projects/:id/… and /api/v4/groups/:id/…
//     (numeric id or URL-encoded full path) need a membership of the
//     token's user there or above (403 otherwise): a project bot reaches
//     its own project only, a group bot its group and what is below it.
//     Answers are cached briefly (membership_ttl) in a bounded map.
//
// An allowed call is recorded, coalesced in memory and written every few
// seconds: per token, the method, the route pattern (ids replaced by
// parameters) and the weakest scope that allowed it, with counts and
// times (botgate.RouteUsage); the authority records the token's last use,
// client addresses and user agents. Client addresses come from
// X-Forwarded-For only when the peer is a configured trusted proxy.
//
// Metrics are exported from a registry of the gateway's own
// (MetricsHandler): decisions by mode and result, decision latency,
// limiter denials, loop trips and blocks, suspensions, webhook failures and
// upstream errors. No label carries a token, a path or an address.
package gateway
