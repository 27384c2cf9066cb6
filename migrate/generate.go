package migrate

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

// Format is a request log format.
type Format int

// The log formats Read understands and the generator writes.
const (
	// GitLabAPIJSON is GitLab's api_json.log: one JSON object per line
	// with time, method, path, route, status, ua, remote_ip, params and
	// meta.* fields.
	GitLabAPIJSON Format = iota
	// BotgateUsage is botgate's UsageRecord, one per line.
	BotgateUsage
)

// sampleProjectID is the numeric ID of a project in the sample's world.
func sampleProjectID(p string) int64 {
	switch p {
	case "gitlab-org/gitlab":
		return 278964
	case "gitlab-org/gitaly":
		return 2009901
	case "gitlab-org/gitlab-pages":
		return 734943
	case "gitlab-org/gitlab-runner":
		return 250833
	case "gitlab-org/async-retrospectives":
		return 7776928
	case "gitlab-org/security/gitlab":
		return 15642544
	case "gitlab-com/www-gitlab-com":
		return 7764
	case "gitlab-com/runbooks":
		return 1128413
	}
	return 1
}

// event is one request of an episode.
type event struct {
	method  string
	path    string // the path, with a query string if any
	route   string // GitLab's route pattern ("" for git over HTTP)
	project string
	group   string
	status  int
	scope   botgate.Scope
	after   time.Duration // since the previous event of the episode
}

// seedBot is one automation that shares the bot in the sample.
type seedBot struct {
	ua       string
	weight   int
	ip       func(r *rand.Rand) string
	start    func(r *rand.Rand, from time.Time) time.Time
	episode  func(r *rand.Rand, cover int) []event
	coverage int // episodes that together touch every target
}

func projectAPI(p string, numeric bool) string {
	if numeric {
		return "/api/v4/projects/" + strconv.FormatInt(sampleProjectID(p), 10)
	}
	return "/api/v4/projects/" + url.PathEscape(p)
}

func ms(r *rand.Rand, lo, hi int) time.Duration {
	return time.Duration(lo+r.IntN(hi-lo+1)) * time.Millisecond
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func ciRunnerIP(r *rand.Rand) string { return fmt.Sprintf("10.1.%d.%d", r.IntN(4), 2+r.IntN(250)) }

func fixedIP(ip string) func(*rand.Rand) string { return func(*rand.Rand) string { return ip } }

// workHours is a weekday between 08:00 and 18:00 UTC of the week.
func workHours(r *rand.Rand, from time.Time) time.Time {
	day := r.IntN(5)
	return from.AddDate(0, 0, day).Add(8*time.Hour + time.Duration(r.IntN(10*3600))*time.Second)
}

func anyTime(r *rand.Rand, from time.Time) time.Time {
	return from.Add(time.Duration(r.IntN(7*24*3600)) * time.Second)
}

func every(period time.Duration, jitter time.Duration) func(*rand.Rand, time.Time) time.Time {
	return func(r *rand.Rand, from time.Time) time.Time {
		slots := int(7 * 24 * time.Hour / period)
		return from.Add(time.Duration(r.IntN(slots))*period + time.Duration(r.Int64N(int64(jitter))))
	}
}

func seedBots() []seedBot {
	dangerProjects := []string{"gitlab-org/gitlab", "gitlab-org/gitaly", "gitlab-org/gitlab-pages"}
	triageProjects := []string{"gitlab-org/gitlab", "gitlab-org/gitaly"}
	pollProjects := []string{"gitlab-org/gitlab", "gitlab-org/gitaly", "gitlab-com/www-gitlab-com", "gitlab-com/runbooks"}
	return []seedBot{
		{ // Danger: merge-request hygiene in CI of several gitlab-org projects.
			ua: "danger-js/11.3.1", weight: 30, ip: ciRunnerIP, start: workHours, coverage: len(dangerProjects),
			episode: func(r *rand.Rand, cover int) []event {
				p := pick(r, dangerProjects)
				if cover >= 0 {
					p = dangerProjects[cover]
				}
				mr := projectAPI(p, true) + "/merge_requests/" + strconv.Itoa(1000+r.IntN(170000))
				const mrRoute = "/api/:version/projects/:id/merge_requests/:merge_request_iid"
				ev := []event{
					{method: "GET", path: mr, route: mrRoute, project: p, scope: botgate.ScopeReadAPI},
					{method: "GET", path: mr + "/diffs", route: mrRoute + "/diffs", project: p, scope: botgate.ScopeReadAPI, after: ms(r, 50, 400)},
					{method: "GET", path: mr + "/notes?per_page=100", route: mrRoute + "/notes", project: p, scope: botgate.ScopeReadAPI, after: ms(r, 50, 400)},
				}
				if cover >= 0 || r.IntN(10) < 7 {
					ev = append(ev, event{method: "POST", path: mr + "/notes", route: mrRoute + "/notes", project: p, status: 201, scope: botgate.ScopeAPI, after: ms(r, 100, 900)})
				} else {
					ev = append(ev, event{method: "PUT", path: mr + "/notes/" + strconv.Itoa(1+r.IntN(9_000_000)), route: mrRoute + "/notes/:note_id", project: p, scope: botgate.ScopeAPI, after: ms(r, 100, 900)})
				}
				return ev
			},
		},
		{ // Scheduled triage: gitlab-triage over the gitlab-org group.
			ua: "gitlab-triage/1.44.0", weight: 8, ip: ciRunnerIP, start: every(4*time.Hour, 2*time.Minute), coverage: len(triageProjects),
			episode: func(r *rand.Rand, cover int) []event {
				ev := []event{}
				for page := 1; page <= 2; page++ {
					ev = append(ev, event{method: "GET", path: "/api/v4/groups/gitlab-org/issues?state=opened&per_page=100&page=" + strconv.Itoa(page),
						route: "/api/:version/groups/:id/issues", group: "gitlab-org", scope: botgate.ScopeReadAPI, after: ms(r, 200, 1500)})
				}
				for i := 0; i < 2+r.IntN(2); i++ {
					p := pick(r, triageProjects)
					if cover >= 0 && i == 0 {
						p = triageProjects[cover]
					}
					issue := projectAPI(p, false) + "/issues/" + strconv.Itoa(1+r.IntN(500000))
					ev = append(ev,
						event{method: "PUT", path: issue, route: "/api/:version/projects/:id/issues/:issue_iid", project: p, scope: botgate.ScopeAPI, after: ms(r, 100, 800)},
						event{method: "POST", path: issue + "/notes", route: "/api/:version/projects/:id/issues/:noteable_id/notes", project: p, status: 201, scope: botgate.ScopeAPI, after: ms(r, 100, 800)})
				}
				return ev
			},
		},
		{ // Real-time triage: webhook-driven label updates on gitlab-org/gitlab.
			ua: "Gitlab Ruby Gem 4.19.0", weight: 20, ip: fixedIP("10.30.0.7"), start: anyTime, coverage: 1,
			episode: func(r *rand.Rand, cover int) []event {
				const p = "gitlab-org/gitlab"
				issue := projectAPI(p, true) + "/issues/" + strconv.Itoa(1+r.IntN(500000))
				ev := []event{
					{method: "GET", path: issue, route: "/api/:version/projects/:id/issues/:issue_iid", project: p, scope: botgate.ScopeReadAPI},
					{method: "PUT", path: issue, route: "/api/:version/projects/:id/issues/:issue_iid", project: p, scope: botgate.ScopeAPI, after: ms(r, 30, 300)},
				}
				if r.IntN(4) == 0 {
					ev = append(ev, event{method: "POST", path: issue + "/notes", route: "/api/:version/projects/:id/issues/:noteable_id/notes", project: p, status: 201, scope: botgate.ScopeAPI, after: ms(r, 30, 300)})
				}
				return ev
			},
		},
		{ // Multi-project pipeline polling across gitlab-org and gitlab-com.
			ua: "python-gitlab/4.4.0", weight: 30, ip: fixedIP("10.20.0.15"), start: anyTime, coverage: len(pollProjects),
			episode: func(r *rand.Rand, cover int) []event {
				p := pick(r, pollProjects)
				if cover >= 0 {
					p = pollProjects[cover]
				}
				api := projectAPI(p, true)
				pid := strconv.Itoa(1_000_000 + r.IntN(900_000))
				return []event{
					{method: "GET", path: api + "/pipelines?ref=master&per_page=20", route: "/api/:version/projects/:id/pipelines", project: p, scope: botgate.ScopeReadAPI},
					{method: "GET", path: api + "/pipelines/" + pid, route: "/api/:version/projects/:id/pipelines/:pipeline_id", project: p, scope: botgate.ScopeReadAPI, after: ms(r, 20, 200)},
					{method: "GET", path: api + "/pipelines/" + pid + "/jobs?per_page=100", route: "/api/:version/projects/:id/pipelines/:pipeline_id/jobs", project: p, scope: botgate.ScopeReadAPI, after: ms(r, 20, 200)},
				}
			},
		},
		{ // Async retrospectives: reads the milestone's work, opens one issue.
			ua: "python-gitlab/4.4.0", weight: 1, ip: fixedIP("10.40.0.9"), coverage: 1,
			start: func(r *rand.Rand, from time.Time) time.Time {
				return from.Add(9*time.Hour + time.Duration(r.IntN(3600))*time.Second) // Monday morning
			},
			episode: func(r *rand.Rand, _ int) []event {
				var ev []event
				for _, p := range []string{"gitlab-org/gitlab", "gitlab-org/gitaly"} {
					api := projectAPI(p, true)
					for page := 1; page <= 2; page++ {
						ev = append(ev, event{method: "GET", path: api + "/issues?milestone=18.7&state=closed&page=" + strconv.Itoa(page), route: "/api/:version/projects/:id/issues", project: p, scope: botgate.ScopeReadAPI, after: ms(r, 100, 600)})
					}
					ev = append(ev, event{method: "GET", path: api + "/merge_requests?milestone=18.7&state=merged", route: "/api/:version/projects/:id/merge_requests", project: p, scope: botgate.ScopeReadAPI, after: ms(r, 100, 600)})
				}
				const retro = "gitlab-org/async-retrospectives"
				ev = append(ev, event{method: "POST", path: projectAPI(retro, true) + "/issues", route: "/api/:version/projects/:id/issues", project: retro, status: 201, scope: botgate.ScopeAPI, after: ms(r, 500, 2000)})
				return ev
			},
		},
		{ // Runner release tooling: tags and releases in gitlab-runner.
			ua: "Go-http-client/1.1", weight: 2, ip: fixedIP("10.50.0.7"), coverage: 1,
			start: func(r *rand.Rand, from time.Time) time.Time {
				return from.AddDate(0, 0, 1+2*r.IntN(2)).Add(10*time.Hour + time.Duration(r.IntN(7200))*time.Second) // Tue or Thu
			},
			episode: func(r *rand.Rand, _ int) []event {
				const p = "gitlab-org/gitlab-runner"
				api := projectAPI(p, true)
				tag := fmt.Sprintf("v18.%d.%d", 5+r.IntN(3), r.IntN(4))
				return []event{
					{method: "GET", path: api + "/repository/tags?search=" + tag, route: "/api/:version/projects/:id/repository/tags", project: p, scope: botgate.ScopeReadAPI},
					{method: "POST", path: api + "/repository/tags", route: "/api/:version/projects/:id/repository/tags", project: p, status: 201, scope: botgate.ScopeAPI, after: ms(r, 100, 500)},
					{method: "POST", path: api + "/releases", route: "/api/:version/projects/:id/releases", project: p, status: 201, scope: botgate.ScopeAPI, after: ms(r, 100, 500)},
					{method: "GET", path: api + "/releases/" + tag, route: "/api/:version/projects/:id/releases/:tag_name", project: p, scope: botgate.ScopeReadAPI, after: ms(r, 1000, 5000)},
					{method: "GET", path: api + "/releases/" + tag, route: "/api/:version/projects/:id/releases/:tag_name", project: p, scope: botgate.ScopeReadAPI, after: ms(r, 1000, 5000)},
				}
			},
		},
		{ // Project mirroring: git pull from gitlab-org/gitlab, push to the security mirror.
			ua: "Go-http-client/1.1", weight: 10, ip: fixedIP("10.60.0.4"), start: every(30*time.Minute, 20*time.Second), coverage: 1,
			episode: func(r *rand.Rand, _ int) []event {
				const src, dst = "gitlab-org/gitlab", "gitlab-org/security/gitlab"
				return []event{
					{method: "GET", path: "/" + src + ".git/info/refs?service=git-upload-pack", project: src, scope: botgate.ScopeReadRepository},
					{method: "POST", path: "/" + src + ".git/git-upload-pack", project: src, scope: botgate.ScopeReadRepository, after: ms(r, 50, 300)},
					{method: "GET", path: "/" + dst + ".git/info/refs?service=git-receive-pack", project: dst, scope: botgate.ScopeWriteRepository, after: ms(r, 500, 3000)},
					{method: "POST", path: "/" + dst + ".git/git-receive-pack", project: dst, scope: botgate.ScopeWriteRepository, after: ms(r, 50, 300)},
				}
			},
		},
	}
}

// sampleStart is the Monday the sample week starts.
func sampleStart() time.Time { return time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) }

type line struct {
	at  time.Time
	ua  string
	ip  string
	ev  event
	seq int
}

// GenerateSampleLog writes n lines of GitLab api_json.log for one shared
// bot (user gitlab-bot) that seven automations use: Danger, scheduled
// triage, real-time triage, pipeline polling, async retrospectives, runner
// releases and project mirroring, over one week. The same seed gives the
// same bytes. KindInvalid if n is too small to show every automation's
// work at least once.
func GenerateSampleLog(w io.Writer, seed uint64, n int) error {
	return GenerateSample(w, seed, n, GitLabAPIJSON)
}

// MinSampleLines is the smallest n the generator accepts: enough for the
// episodes that show every automation's work on every target.
const MinSampleLines = 60

// GenerateSample is GenerateSampleLog in either format.
func GenerateSample(w io.Writer, seed uint64, n int, format Format) error {
	if n < MinSampleLines {
		return botgate.Errorf(botgate.KindInvalid, "n must be at least %d lines, so that every automation's work shows", MinSampleLines)
	}
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	bots := seedBots()
	var lines []line
	add := func(b seedBot, cover int, limit int) {
		at := b.start(r, sampleStart())
		for _, ev := range b.episode(r, cover) {
			if len(lines) >= limit {
				return
			}
			at = at.Add(ev.after)
			if ev.status == 0 {
				ev.status = 200
			}
			lines = append(lines, line{at: at, ua: b.ua, ip: b.ip(r), ev: ev, seq: len(lines)})
		}
	}
	// First the episodes that touch every target of every automation,
	// then random episodes by weight until n lines.
	for _, b := range bots {
		for i := range b.coverage {
			add(b, i, int(^uint(0)>>1))
		}
	}
	total := 0
	for _, b := range bots {
		total += b.weight
	}
	for len(lines) < n {
		k := r.IntN(total)
		for _, b := range bots {
			if k < b.weight {
				add(b, -1, n)
				break
			}
			k -= b.weight
		}
	}
	// A few server errors, as any real log has; they must not sway the plan.
	for i := range lines {
		if lines[i].ev.method == "GET" && r.IntN(200) == 0 {
			lines[i].ev.status = 502
		}
	}
	slices.SortStableFunc(lines, func(a, b line) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	enc := json.NewEncoder(w)
	for i, l := range lines {
		var v any
		switch format {
		case BotgateUsage:
			v = usageLine(l)
		default:
			v = apiJSONLine(r, l, i)
		}
		if err := enc.Encode(v); err != nil {
			return botgate.E("migrate.GenerateSample", botgate.KindInternal, err)
		}
	}
	return nil
}

func usageLine(l line) UsageRecord {
	path, _, _ := strings.Cut(l.ev.path, "?")
	route := strings.ReplaceAll(l.ev.route, "/api/:version", "/api/v4")
	return UsageRecord{Time: l.at, TokenID: 11, Method: l.ev.method, Path: path, Route: route, Status: l.ev.status,
		UserAgent: l.ua, RemoteIP: l.ip, Project: l.ev.project, Group: l.ev.group, Scope: l.ev.scope}
}

// apiJSONLine is one api_json.log record, with GitLab's field names.
func apiJSONLine(r *rand.Rand, l line, i int) map[string]any {
	path, query, _ := strings.Cut(l.ev.path, "?")
	params := []map[string]string{}
	if q, err := url.ParseQuery(query); err == nil {
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range q {
				if !yield(k) {
					return
				}
			}
		}) {
			params = append(params, map[string]string{"key": k, "value": q.Get(k)})
		}
	}
	dur := 0.02 + r.Float64()*0.4
	m := map[string]any{
		"time":                  l.at.Format("2006-01-02T15:04:05.000Z"),
		"severity":              "INFO",
		"duration_s":            float64(int(dur*10000)) / 10000,
		"db_duration_s":         float64(int(dur*3000)) / 10000,
		"view_duration_s":       float64(int(dur*6000)) / 10000,
		"status":                l.ev.status,
		"method":                l.ev.method,
		"path":                  path,
		"params":                params,
		"host":                  "gitlab.example.com",
		"remote_ip":             l.ip,
		"ua":                    l.ua,
		"user_id":               1786152,
		"username":              "gitlab-bot",
		"token_type":            "PersonalAccessToken",
		"token_id":              9876543,
		"correlation_id":        fmt.Sprintf("01JD%022X", uint64(i)*2654435761+uint64(l.at.UnixNano())),
		"meta.user":             "gitlab-bot",
		"meta.client_id":        "user/1786152",
		"meta.remote_ip":        l.ip,
		"meta.feature_category": featureCategory(l.ev),
	}
	if l.ev.route != "" {
		m["route"] = l.ev.route
		m["meta.caller_id"] = l.ev.method + " " + l.ev.route
	}
	if l.ev.project != "" {
		m["meta.project"] = l.ev.project
		top, _, _ := strings.Cut(l.ev.project, "/")
		m["meta.root_namespace"] = top
	}
	if l.ev.group != "" {
		top, _, _ := strings.Cut(l.ev.group, "/")
		m["meta.root_namespace"] = top
	}
	return m
}

func featureCategory(ev event) string {
	switch {
	case ev.route == "":
		return "source_code_management"
	case strings.Contains(ev.route, "merge_requests"):
		return "code_review_workflow"
	case strings.Contains(ev.route, "issues"):
		return "team_planning"
	case strings.Contains(ev.route, "pipelines"):
		return "continuous_integration"
	case strings.Contains(ev.route, "releases"), strings.Contains(ev.route, "tags"):
		return "release_orchestration"
	}
	return "not_owned"
}
