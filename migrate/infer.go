package migrate

import (
	"net/netip"
	"regexp"
	"strings"
	"sync"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/lint"
)

// call is what one request tells about its client's needs.
type call struct {
	route    string // normalized pattern, without the /api/v4 prefix
	resource string // what it acts on: merge_requests, issues, git, ...
	scope    botgate.Scope
	level    botgate.AccessLevel
	write    bool
}

// Compiled on first use, not at every start of the binary.
var (
	apiPrefixRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^/api/(:version|v4)`) })
	numericRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+$`) })
	gitRE       = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`\.git/(info/refs|git-upload-pack|git-receive-pack)$`)
	})
)

// normalizeRoute returns the route pattern, from the logged route when
// there is one, else from the path with IDs replaced by placeholders.
func normalizeRoute(r *Request) string {
	if m := gitRE().FindStringSubmatch(r.Path); m != nil {
		return "/:namespace/:project.git/" + m[1]
	}
	route := r.Route
	if route == "" {
		segs := strings.Split(r.Path, "/")
		for i, s := range segs {
			switch {
			case i > 0 && (segs[i-1] == "projects" || segs[i-1] == "groups") && s != "":
				segs[i] = ":id"
			case i > 0 && numericRE().MatchString(s):
				if name := singular(segs[i-1]); name == "iid" {
					segs[i] = ":iid"
				} else {
					segs[i] = ":" + name + "_id"
				}
			}
		}
		route = strings.Join(segs, "/")
	}
	route = apiPrefixRE().ReplaceAllString(route, "")
	if route == "" {
		route = "/"
	}
	return route
}

func singular(s string) string {
	switch s {
	case "merge_requests", "issues":
		return "iid"
	}
	return strings.TrimSuffix(s, "s")
}

// resourceOf names what a route acts on: the segment after the project or
// group ID ("merge_requests"), the one after "repository" ("tags"), "git"
// for git over HTTP, "registry" for the container registry.
func resourceOf(route string) string {
	if strings.Contains(route, ".git/") {
		return "git"
	}
	if strings.HasPrefix(route, "/v2/") || route == "/v2" || strings.HasPrefix(route, "/jwt/auth") {
		return "registry"
	}
	segs := strings.Split(strings.Trim(route, "/"), "/")
	for i := 0; i+2 < len(segs); i++ {
		if segs[i] == "projects" || segs[i] == "groups" {
			if segs[i+2] == "repository" && i+3 < len(segs) {
				return segs[i+3]
			}
			return segs[i+2]
		}
	}
	if r := lastResource(route); r != "" {
		return r
	}
	return "api"
}

func isWrite(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS":
		return false
	}
	return true
}

// reporterWrites are API resources a Reporter may write: issue triage
// (labels, state), comments and reactions.
var reporterWrites = map[string]bool{"issues": true, "notes": true, "discussions": true, "labels": true, "award_emoji": true}

// classify says which scope and access level a request needed.
func classify(r *Request) call {
	c := call{route: normalizeRoute(r)}
	c.resource = resourceOf(c.route)
	switch {
	case c.resource == "git":
		push := strings.HasSuffix(r.Path, "git-receive-pack") || strings.Contains(r.Query, "service=git-receive-pack")
		c.write = push
		if push {
			c.scope, c.level = botgate.ScopeWriteRepository, botgate.DeveloperAccess
		} else {
			c.scope, c.level = botgate.ScopeReadRepository, botgate.ReporterAccess
		}
	case c.resource == "registry":
		c.write = isWrite(r.Method)
		if c.write {
			c.scope, c.level = botgate.ScopeWriteRegistry, botgate.DeveloperAccess
		} else {
			c.scope, c.level = botgate.ScopeReadRegistry, botgate.ReporterAccess
		}
	default:
		c.write = isWrite(r.Method)
		if c.write {
			c.scope, c.level = botgate.ScopeAPI, botgate.DeveloperAccess
			if reporterWrites[lastResource(c.route)] {
				c.level = botgate.ReporterAccess
			}
		} else {
			c.scope, c.level = botgate.ScopeReadAPI, botgate.ReporterAccess
		}
	}
	if r.Scope != "" {
		c.scope = r.Scope
	}
	return c
}

// lastResource is the last non-placeholder segment of a route: "notes" in
// /projects/:id/merge_requests/:iid/notes/:note_id.
func lastResource(route string) string {
	segs := strings.Split(strings.Trim(route, "/"), "/")
	for i := len(segs) - 1; i >= 0; i-- {
		if !strings.HasPrefix(segs[i], ":") {
			return segs[i]
		}
	}
	return ""
}

// genericClients are HTTP libraries and tools many automations share; a
// user agent of one of them does not identify an automation by itself, so
// such requests are told apart by source network too.
var genericClients = map[string]bool{
	"go-http-client": true, "python-requests": true, "python-urllib": true, "python-httpx": true, "python-gitlab": true,
	"curl": true, "wget": true, "ruby": true, "faraday": true, "gitlab-ruby-gem": true, "rest-client": true,
	"axios": true, "node-fetch": true, "node": true, "undici": true, "okhttp": true, "java": true, "apache-httpclient": true,
	"git": true, "go-git": true, "jgit": true, "libcurl": true, "unknown": true, "browser": true, "gitbeaker": true,
}

// source reduces an address to its network: /24 for IPv4, /64 for IPv6,
// so that one job running on a pool of runners stays one client.
func source(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		if ip == "" {
			return "unknown"
		}
		return ip
	}
	bits := 24
	if a.Is6() && !a.Is4In6() {
		bits = 64
	}
	p, err := a.Unmap().Prefix(bits)
	if err != nil {
		return ip
	}
	return p.String()
}

// fingerprint is the client a request came from, and why it is told apart
// that way.
type fingerprint struct {
	key    string
	family string
	source string // "" when the source does not matter
	client string
}

func fingerprintOf(r *Request) fingerprint {
	fam := lint.ClientFamily(r.UserAgent)
	switch {
	case r.Client != "":
		return fingerprint{key: fam + "#" + r.Client, family: fam, client: r.Client}
	case genericClients[fam]:
		src := source(r.RemoteIP)
		return fingerprint{key: fam + "@" + src, family: fam, source: src}
	}
	return fingerprint{key: fam, family: fam}
}
