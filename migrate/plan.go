package migrate

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/lint"
	"github.com/botgate/botgate/manifest"
)

// Options tunes the proposal.
type Options struct {
	// Owner is the team (group full path) that will own the proposed
	// automations and service accounts until someone assigns them. Default:
	// the top-level group the log touches most.
	Owner string
	// ExpiresIn is the proposed token lifetime. Default "90d".
	ExpiresIn string
	// Upstream is the API base URL to put on every automation, if any.
	Upstream string
}

// RouteStat is one route a client called.
type RouteStat struct {
	Method string              `json:"method"`
	Route  string              `json:"route"`
	Calls  int                 `json:"calls"`
	Scope  botgate.Scope       `json:"scope"`
	Level  botgate.AccessLevel `json:"access_level"`
	// Write is set when the call changed something.
	Write bool `json:"write,omitempty"`
}

// Client is one group of requests: a distinct client of the shared bot,
// and the automation proposed for it.
type Client struct {
	// Name is the proposed automation's name.
	Name string `json:"name"`
	// Fingerprint is the grouping key: user agent family, plus the source
	// network for generic HTTP libraries, or the declared client id.
	Fingerprint string   `json:"fingerprint"`
	Family      string   `json:"family"`
	Source      string   `json:"source,omitempty"`
	ClientID    string   `json:"client_id,omitempty"`
	UserAgents  []string `json:"user_agents"`
	Addresses   int      `json:"addresses"`
	Requests    int      `json:"requests"`
	// Failed counts requests answered 4xx/5xx; they do not count towards
	// scopes and targets.
	Failed int `json:"failed"`
	// Unresolved counts calls that named a project or group by a numeric
	// ID the log does not resolve to a path; their targets are unknown.
	Unresolved    int                 `json:"unresolved,omitempty"`
	First         time.Time           `json:"first"`
	Last          time.Time           `json:"last"`
	PeakPerMinute int                 `json:"peak_per_minute"`
	Projects      []string            `json:"projects,omitempty"`
	Groups        []string            `json:"groups,omitempty"`
	Routes        []RouteStat         `json:"routes"`
	Scopes        botgate.Scopes      `json:"scopes"`
	Level         botgate.AccessLevel `json:"access_level"`
	Kind          manifest.Kind       `json:"kind"`
	// Target is the project (project token) or group (group token).
	Target         string `json:"target,omitempty"`
	ServiceAccount string `json:"service_account,omitempty"`
	RateLimit      string `json:"rate_limit"`
	// Why explains the grouping, kind, scopes and level.
	Why []string `json:"why"`
	// Skipped says why no automation is proposed, "" if one is.
	Skipped string `json:"skipped,omitempty"`
}

// Proposal is the migration plan: the clients found and the manifest that
// gives each its own token.
type Proposal struct {
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Requests int       `json:"requests"`
	Owner    string    `json:"owner"`
	Clients  []Client  `json:"clients"`
	// SharedTokens are the tokens the log shows in use, to revoke once
	// every client has moved to its own.
	SharedTokens []SharedToken      `json:"shared_tokens,omitempty"`
	Manifest     *manifest.Manifest `json:"-"`
}

// SharedToken is a token the shared bot's clients used.
type SharedToken struct {
	ID       int64  `json:"id,omitempty"`
	User     string `json:"user,omitempty"`
	Requests int    `json:"requests"`
}

// Plan groups the requests by client and proposes one automation per
// client with the least scopes and the narrowest kind: a project token if
// it touched one project, a group token if everything it touched is in one
// group, a service account otherwise. The proposed manifest is validated by
// manifest.Parse before it is returned. KindInvalid if there are no
// requests or no owner can be chosen.
func Plan(reqs []Request, opts Options) (*Proposal, error) {
	if len(reqs) == 0 {
		return nil, botgate.Errorf(botgate.KindInvalid, "the log holds no requests: nothing to migrate")
	}
	opts.ExpiresIn = cmp.Or(opts.ExpiresIn, "90d")
	if d, err := manifest.ParseDays(opts.ExpiresIn); err != nil {
		return nil, err
	} else if d > manifest.MaxLifetimeDays || d <= manifest.DefaultRotateBefore {
		return nil, botgate.Invalid("expires_in", "expires_in %s must be longer than %dd (the rotation lead time) and at most %dd", opts.ExpiresIn, manifest.DefaultRotateBefore, manifest.MaxLifetimeDays)
	}
	if opts.Owner != "" && !validPath(opts.Owner, false) {
		return nil, botgate.Invalid("owner", "owner %q is not a group's full path (such as gitlab-org/engineering-productivity)", opts.Owner)
	}
	if opts.Upstream != "" {
		if _, err := botgate.ParseHTTPURL("upstream", opts.Upstream); err != nil {
			return nil, err
		}
	}
	p := &Proposal{Requests: len(reqs), From: reqs[0].Time, To: reqs[0].Time}
	type acc struct {
		c       *Client
		uas     map[string]bool
		ips     map[string]bool
		proj    map[string]bool
		grp     map[string]bool
		routes  map[string]*RouteStat
		minutes map[int64]int
	}
	byKey := map[string]*acc{}
	var order []string
	shared := map[SharedToken]int{}
	for i := range reqs {
		r := &reqs[i]
		if r.TokenID != 0 || r.User != "" {
			shared[SharedToken{ID: r.TokenID, User: r.User}]++
		}
		if r.Time.Before(p.From) {
			p.From = r.Time
		}
		if r.Time.After(p.To) {
			p.To = r.Time
		}
		fp := fingerprintOf(r)
		a, ok := byKey[fp.key]
		if !ok {
			a = &acc{c: &Client{Fingerprint: fp.key, Family: fp.family, Source: fp.source, ClientID: fp.client, First: r.Time, Last: r.Time},
				uas: map[string]bool{}, ips: map[string]bool{}, proj: map[string]bool{}, grp: map[string]bool{},
				routes: map[string]*RouteStat{}, minutes: map[int64]int{}}
			byKey[fp.key] = a
			order = append(order, fp.key)
		}
		c := a.c
		c.Requests++
		if r.Time.Before(c.First) {
			c.First = r.Time
		}
		if r.Time.After(c.Last) {
			c.Last = r.Time
		}
		a.uas[r.UserAgent] = true
		a.ips[r.RemoteIP] = true
		m := r.Time.Unix() / 60
		a.minutes[m]++
		c.PeakPerMinute = max(c.PeakPerMinute, a.minutes[m])
		if r.Status >= 400 {
			c.Failed++
			continue
		}
		cl := classify(r)
		k := r.Method + " " + cl.route + " " + string(cl.scope)
		rs, ok := a.routes[k]
		if !ok {
			rs = &RouteStat{Method: r.Method, Route: cl.route, Scope: cl.scope, Level: cl.level, Write: cl.write}
			a.routes[k] = rs
		}
		rs.Calls++
		project, group := r.Project, r.Group
		if !validPath(project, true) {
			project = ""
		}
		if !validPath(group, false) {
			group = ""
		}
		if project == "" && group == "" && (r.Project != "" || r.Group != "" ||
			strings.HasPrefix(cl.route, "/projects/:id") || strings.HasPrefix(cl.route, "/groups/:id")) {
			c.Unresolved++
		}
		if project != "" {
			a.proj[project] = true
		}
		if group != "" {
			a.grp[group] = true
		}
	}
	slices.Sort(order)
	for _, key := range order {
		a := byKey[key]
		c := a.c
		c.UserAgents = slices.Sorted(maps.Keys(a.uas))
		c.Addresses = len(a.ips)
		c.Projects = slices.Sorted(maps.Keys(a.proj))
		c.Groups = slices.Sorted(maps.Keys(a.grp))
		for _, rs := range a.routes {
			c.Routes = append(c.Routes, *rs)
		}
		slices.SortFunc(c.Routes, func(x, y RouteStat) int {
			return cmp.Or(cmp.Compare(y.Calls, x.Calls), cmp.Compare(x.Route, y.Route), cmp.Compare(x.Method, y.Method), cmp.Compare(x.Scope, y.Scope))
		})
		p.Clients = append(p.Clients, *c)
	}
	for k, n := range shared {
		k.Requests = n
		p.SharedTokens = append(p.SharedTokens, k)
	}
	slices.SortFunc(p.SharedTokens, func(a, b SharedToken) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.ID, b.ID), cmp.Compare(a.User, b.User))
	})
	owner := opts.Owner
	if owner == "" {
		owner = defaultOwner(p.Clients)
		if owner == "" {
			return nil, botgate.Errorf(botgate.KindInvalid, "no request touched a project or group, so no owner team can be guessed: give the owner team")
		}
	}
	p.Owner = owner
	names := map[string]bool{}
	for i := range p.Clients {
		infer(&p.Clients[i], names)
	}
	m := p.buildManifest(opts)
	// Round-trip through the strict parser: what we propose must be a
	// manifest botgate accepts.
	var buf bytes.Buffer
	if err := p.encode(&buf, m); err != nil {
		return nil, err
	}
	parsed, err := manifest.Parse(&buf)
	if err != nil {
		return nil, botgate.E("migrate.Plan", botgate.KindInternal, err)
	}
	p.Manifest = parsed
	return p, nil
}

// validPath reports whether s is a full path botgate accepts: segments
// that are valid paths, and for a project at least a namespace and a name.
func validPath(s string, project bool) bool {
	if s == "" {
		return false
	}
	segs := strings.Split(s, "/")
	if project && len(segs) < 2 {
		return false
	}
	for _, seg := range segs {
		if botgate.ValidatePath("path", seg) != nil {
			return false
		}
	}
	return true
}

// defaultOwner is the top-level group most requests touched.
func defaultOwner(clients []Client) string {
	counts := map[string]int{}
	for _, c := range clients {
		for _, t := range slices.Concat(c.Projects, c.Groups) {
			top, _, _ := strings.Cut(t, "/")
			counts[top] += c.Requests
		}
	}
	best := ""
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if best == "" || counts[k] > counts[best] {
			best = k
		}
	}
	return best
}

// nameCleanRE is compiled on first use, not at every start of the binary.
var nameCleanRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9._-]+`) })

// infer fills in the proposal for one client.
func infer(c *Client, names map[string]bool) {
	switch {
	case c.ClientID != "":
		c.Why = append(c.Why, fmt.Sprintf("grouped by the declared client id %q (with user agent family %q)", c.ClientID, c.Family))
	case c.Source != "":
		c.Why = append(c.Why, fmt.Sprintf("grouped by user agent family %q and source network %s: %q is a generic HTTP client many automations share, so where calls come from tells them apart", c.Family, c.Source, c.Family))
	default:
		c.Why = append(c.Why, fmt.Sprintf("grouped by user agent family %q: a dedicated tool, so its name identifies the client whatever address it calls from (%d addresses seen)", c.Family, c.Addresses))
	}
	// Resource the client works on most, for its name.
	resCalls := map[string]int{}
	var needed botgate.Scopes
	for _, r := range c.Routes {
		resCalls[resourceOf(r.Route)] += r.Calls
		needed = append(needed, r.Scope)
		c.Level = max(c.Level, r.Level)
	}
	dominant := ""
	for _, k := range slices.Sorted(maps.Keys(resCalls)) {
		if dominant == "" || resCalls[k] > resCalls[dominant] {
			dominant = k
		}
	}
	base := nameCleanRE().ReplaceAllString(strings.ToLower(c.Family), "-")
	if dominant != "" && !strings.HasSuffix(base, strings.ReplaceAll(dominant, "_", "-")) {
		base += "-" + strings.ReplaceAll(dominant, "_", "-")
	}
	base = strings.Trim(nameCleanRE().ReplaceAllString(strings.ToLower(base), "-"), "-._")
	if len(base) > 56 {
		base = strings.Trim(base[:56], "-._")
	}
	if base == "" {
		base = "client"
	}
	name := base
	for n := 2; names[name] || name == ""; n++ {
		name = fmt.Sprintf("%s-%d", base, n)
	}
	names[name] = true
	c.Name = name

	if c.Requests == c.Failed {
		c.Skipped = "every request failed, so nothing shows what it needs"
		return
	}
	if len(c.Projects)+len(c.Groups) == 0 {
		c.Skipped = "it touched no project or group (only instance-wide endpoints); give it a service account by hand if it still needs one"
		if c.Unresolved > 0 {
			c.Skipped = fmt.Sprintf("its %d project or group calls name numeric IDs the log does not resolve to paths; use a log with meta.project (GitLab) or project/group (botgate)", c.Unresolved)
		}
		return
	}
	if c.Unresolved > 0 {
		c.Why = append(c.Why, fmt.Sprintf("%d calls named a project or group by an ID the log does not resolve; the targets below may be incomplete", c.Unresolved))
	}
	c.Scopes = lint.LeastScopes(needed)
	var writes, reads []string
	for _, r := range c.Routes {
		line := r.Method + " " + r.Route
		if slices.Contains(writes, line) || slices.Contains(reads, line) {
			continue
		}
		if r.Write {
			writes = append(writes, line)
		} else {
			reads = append(reads, line)
		}
	}
	scopeWhy := fmt.Sprintf("scopes %s: ", c.Scopes)
	if len(writes) > 0 {
		scopeWhy += fmt.Sprintf("it writes (%s)", strings.Join(first(writes, 3), ", "))
	} else {
		scopeWhy += fmt.Sprintf("it only reads (%s)", strings.Join(first(reads, 3), ", "))
	}
	c.Why = append(c.Why, scopeWhy)
	c.Why = append(c.Why, fmt.Sprintf("access level %s: the most any of its calls needs", manifest.LevelName(c.Level)))

	namespaces := slices.Clone(c.Groups)
	for _, pr := range c.Projects {
		namespaces = append(namespaces, parent(pr))
	}
	common := commonGroup(namespaces)
	switch {
	case len(c.Groups) == 0 && len(c.Projects) == 1:
		c.Kind, c.Target = manifest.KindProjectToken, c.Projects[0]
		c.Why = append(c.Why, fmt.Sprintf("kind project_token on %s: it touched that one project only", c.Target))
	case common != "":
		c.Kind, c.Target = manifest.KindGroupToken, common
		c.Why = append(c.Why, fmt.Sprintf("kind group_token on %s: everything it touched (%s) is in that group", common, strings.Join(first(slices.Concat(c.Groups, c.Projects), 4), ", ")))
	default:
		c.Kind = manifest.KindServiceAccount
		c.ServiceAccount = strings.TrimSuffix(name, "-bot") + "-bot"
		c.Why = append(c.Why, fmt.Sprintf("kind service_account (%s): it works across top-level groups (%s), which no single project or group token reaches", c.ServiceAccount, strings.Join(tops(namespaces), ", ")))
	}
	rate := max(60, (c.PeakPerMinute*2+59)/60*60)
	c.RateLimit = fmt.Sprintf("%d/min", rate)
	c.Why = append(c.Why, fmt.Sprintf("rate limit %s: twice the observed peak of %d calls in a minute", c.RateLimit, c.PeakPerMinute))
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("and %d more", len(s)-n))
	}
	return s
}

func parent(path string) string {
	if i := strings.LastIndex(path, "/"); i > 0 {
		return path[:i]
	}
	return ""
}

// commonGroup is the deepest group containing every namespace, "" if they
// span top-level groups.
func commonGroup(namespaces []string) string {
	if len(namespaces) == 0 {
		return ""
	}
	common := strings.Split(namespaces[0], "/")
	for _, ns := range namespaces[1:] {
		segs := strings.Split(ns, "/")
		n := 0
		for n < len(common) && n < len(segs) && common[n] == segs[n] {
			n++
		}
		common = common[:n]
	}
	return strings.Join(common, "/")
}

func tops(namespaces []string) []string {
	var out []string
	for _, ns := range namespaces {
		top, _, _ := strings.Cut(ns, "/")
		if !slices.Contains(out, top) {
			out = append(out, top)
		}
	}
	slices.Sort(out)
	return out
}

// buildManifest turns the proposed clients into a manifest.
func (p *Proposal) buildManifest(opts Options) *manifest.Manifest {
	m := &manifest.Manifest{Version: manifest.Version}
	groups := map[string]bool{}
	addGroup := func(g string) {
		segs := strings.Split(g, "/")
		for i := range segs {
			groups[strings.Join(segs[:i+1], "/")] = true
		}
	}
	addGroup(p.Owner)
	projects := map[string]bool{}
	for _, c := range p.Clients {
		if c.Skipped != "" {
			continue
		}
		for _, g := range c.Groups {
			addGroup(g)
		}
		for _, pr := range c.Projects {
			projects[pr] = true
			if ns := parent(pr); ns != "" {
				addGroup(ns)
			}
		}
	}
	paths := slices.Collect(maps.Keys(groups))
	slices.SortFunc(paths, func(a, b string) int {
		return cmp.Or(cmp.Compare(strings.Count(a, "/"), strings.Count(b, "/")), cmp.Compare(a, b))
	})
	for _, g := range paths {
		m.Teams = append(m.Teams, manifest.Team{Path: g[strings.LastIndex(g, "/")+1:], Parent: parent(g)})
	}
	for _, pr := range slices.Sorted(maps.Keys(projects)) {
		m.Projects = append(m.Projects, manifest.Project{Path: pr[strings.LastIndex(pr, "/")+1:], Group: parent(pr)})
	}
	for _, c := range p.Clients {
		if c.Skipped != "" {
			continue
		}
		a := manifest.Automation{
			Name:        c.Name,
			Purpose:     fmt.Sprintf("Migrated from the shared bot: %s (%d calls, mostly %s).", strings.Join(first(c.UserAgents, 2), ", "), c.Requests, resourceOf(c.Routes[0].Route)),
			Owner:       p.Owner,
			Kind:        c.Kind,
			Scopes:      c.Scopes.Strings(),
			AccessLevel: manifest.LevelName(c.Level),
			ExpiresIn:   opts.ExpiresIn,
			RateLimit:   c.RateLimit,
			Upstream:    opts.Upstream,
		}
		switch c.Kind {
		case manifest.KindProjectToken:
			a.Projects = []string{c.Target}
		case manifest.KindGroupToken:
			a.Groups = []string{c.Target}
		case manifest.KindServiceAccount:
			a.ServiceAccount = c.ServiceAccount
			a.Projects, a.Groups = uncovered(c.Projects, c.Groups), slices.Clone(c.Groups)
			m.ServiceAccounts = append(m.ServiceAccounts, manifest.ServiceAccount{Name: c.ServiceAccount, Owner: p.Owner,
				Description: "Service account for " + c.Name + ", proposed by botgate migrate."})
		}
		m.Automations = append(m.Automations, a)
	}
	return m
}

// uncovered drops the projects that sit inside one of the groups.
func uncovered(projects, groups []string) []string {
	var out []string
	for _, pr := range projects {
		inside := false
		for _, g := range groups {
			if strings.HasPrefix(pr, g+"/") {
				inside = true
			}
		}
		if !inside {
			out = append(out, pr)
		}
	}
	return out
}
