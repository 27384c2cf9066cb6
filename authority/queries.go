package authority

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

// This file holds the permission-checked reads: what an actor may see of
// users, groups, projects, members, tokens and service accounts. A thing
// the actor may not see reads as not found, as GitLab answers.

// maxScan bounds the rows read when a list must be filtered in memory
// (visibility, token state) before it is paged.
const maxScan = 100000

// canSee reports whether the actor may see a group or project with the
// visibility: administrators see everything, anyone authenticated sees
// internal and public ones, and members (direct or through a parent group)
// see private ones.
func (s *Service) canSee(ctx context.Context, tx botgate.Tx, a Actor, r botgate.Resource, vis botgate.Visibility) (bool, error) {
	if a.isAdmin() {
		return true, nil
	}
	if a.User == nil {
		return vis == botgate.Public, nil
	}
	if vis == botgate.Internal || vis == botgate.Public {
		return true, nil
	}
	have, err := s.accessOn(ctx, tx, a, r)
	return have > botgate.NoAccess, err
}

// refID reports whether ref is a numeric ID, and which.
func refID(ref string) (int64, bool) {
	if ref == "" || len(ref) > 19 {
		return 0, false
	}
	for _, c := range ref {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	return id, err == nil && id > 0
}

func groupByRef(ctx context.Context, tx botgate.Tx, ref string) (*botgate.Group, error) {
	var g *botgate.Group
	var err error
	if id, ok := refID(ref); ok {
		g, err = tx.Group(ctx, id)
	} else {
		g, err = tx.GroupByPath(ctx, strings.Trim(ref, "/"))
	}
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, botgate.NotFound("Group")
	}
	return g, err
}

func projectByRef(ctx context.Context, tx botgate.Tx, ref string) (*botgate.Project, error) {
	var p *botgate.Project
	var err error
	if id, ok := refID(ref); ok {
		p, err = tx.Project(ctx, id)
	} else {
		p, err = tx.ProjectByPath(ctx, strings.Trim(ref, "/"))
	}
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, botgate.NotFound("Project")
	}
	return p, err
}

// Group returns the group with the numeric ID or full path ref, if the
// actor may see it; KindNotFound ("Group Not Found") otherwise.
func (s *Service) Group(ctx context.Context, a Actor, ref string) (*botgate.Group, error) {
	var g *botgate.Group
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		g, err = s.visibleGroup(ctx, tx, a, ref)
		return err
	})
	if err != nil {
		return nil, botgate.E("authority.Group", err)
	}
	return g, nil
}

func (s *Service) visibleGroup(ctx context.Context, tx botgate.Tx, a Actor, ref string) (*botgate.Group, error) {
	g, err := groupByRef(ctx, tx, ref)
	if err != nil {
		return nil, err
	}
	ok, err := s.canSee(ctx, tx, a, botgate.Resource{Type: botgate.GroupResource, ID: g.ID}, g.Visibility)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, botgate.NotFound("Group")
	}
	return g, nil
}

// Project returns the project with the numeric ID or path-with-namespace
// ref, if the actor may see it; KindNotFound ("Project Not Found")
// otherwise.
func (s *Service) Project(ctx context.Context, a Actor, ref string) (*botgate.Project, error) {
	var p *botgate.Project
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		p, err = s.visibleProject(ctx, tx, a, ref)
		return err
	})
	if err != nil {
		return nil, botgate.E("authority.Project", err)
	}
	return p, nil
}

func (s *Service) visibleProject(ctx context.Context, tx botgate.Tx, a Actor, ref string) (*botgate.Project, error) {
	p, err := projectByRef(ctx, tx, ref)
	if err != nil {
		return nil, err
	}
	ok, err := s.canSee(ctx, tx, a, botgate.Resource{Type: botgate.ProjectResource, ID: p.ID}, p.Visibility)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, botgate.NotFound("Project")
	}
	return p, nil
}

// Resource resolves a project or group reference (numeric ID or full path)
// the actor may see.
func (s *Service) Resource(ctx context.Context, a Actor, typ botgate.ResourceType, ref string) (botgate.Resource, error) {
	switch typ {
	case botgate.ProjectResource:
		p, err := s.Project(ctx, a, ref)
		if err != nil {
			return botgate.Resource{}, err
		}
		return botgate.Resource{Type: typ, ID: p.ID}, nil
	case botgate.GroupResource:
		g, err := s.Group(ctx, a, ref)
		if err != nil {
			return botgate.Resource{}, err
		}
		return botgate.Resource{Type: typ, ID: g.ID}, nil
	}
	return botgate.Resource{}, botgate.Invalid("resource", "unknown resource type %q", typ)
}

// pageOf returns the page of items and the total.
func pageOf[T any](items []T, p botgate.Page) ([]T, int) {
	total := len(items)
	if p.Offset >= total {
		return nil, total
	}
	items = items[p.Offset:]
	if p.Limit > 0 && len(items) > p.Limit {
		items = items[:p.Limit]
	}
	return items, total
}

// Groups lists the groups matching f that the actor may see, and their
// total.
func (s *Service) Groups(ctx context.Context, a Actor, f botgate.GroupFilter) ([]*botgate.Group, int, error) {
	var out []*botgate.Group
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if a.isAdmin() {
			var err error
			out, total, err = tx.FindGroups(ctx, f)
			return err
		}
		page := f.Page
		f.Page = botgate.Page{Limit: maxScan}
		all, _, err := tx.FindGroups(ctx, f)
		if err != nil {
			return err
		}
		visible := all[:0]
		for _, g := range all {
			ok, err := s.canSee(ctx, tx, a, botgate.Resource{Type: botgate.GroupResource, ID: g.ID}, g.Visibility)
			if err != nil {
				return err
			}
			if ok {
				visible = append(visible, g)
			}
		}
		out, total = pageOf(visible, page)
		return nil
	})
	if err != nil {
		return nil, 0, botgate.E("authority.Groups", err)
	}
	return out, total, nil
}

// Projects lists the projects matching f that the actor may see, and their
// total.
func (s *Service) Projects(ctx context.Context, a Actor, f botgate.ProjectFilter) ([]*botgate.Project, int, error) {
	var out []*botgate.Project
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if a.isAdmin() {
			var err error
			out, total, err = tx.FindProjects(ctx, f)
			return err
		}
		page := f.Page
		f.Page = botgate.Page{Limit: maxScan}
		all, _, err := tx.FindProjects(ctx, f)
		if err != nil {
			return err
		}
		visible := all[:0]
		for _, p := range all {
			ok, err := s.canSee(ctx, tx, a, botgate.Resource{Type: botgate.ProjectResource, ID: p.ID}, p.Visibility)
			if err != nil {
				return err
			}
			if ok {
				visible = append(visible, p)
			}
		}
		out, total = pageOf(visible, page)
		return nil
	})
	if err != nil {
		return nil, 0, botgate.E("authority.Projects", err)
	}
	return out, total, nil
}

// MemberInfo is a membership with its user.
type MemberInfo struct {
	*botgate.Member
	User *botgate.User
}

// visibleResource checks that the actor may see r.
func (s *Service) visibleResource(ctx context.Context, tx botgate.Tx, a Actor, r botgate.Resource) error {
	var vis botgate.Visibility
	switch r.Type {
	case botgate.ProjectResource:
		p, err := tx.Project(ctx, r.ID)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return notFound(r)
		}
		if err != nil {
			return err
		}
		vis = p.Visibility
	case botgate.GroupResource:
		g, err := tx.Group(ctx, r.ID)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return notFound(r)
		}
		if err != nil {
			return err
		}
		vis = g.Visibility
	default:
		return botgate.Invalid("resource", "unknown resource type %q", r.Type)
	}
	ok, err := s.canSee(ctx, tx, a, r, vis)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(r)
	}
	return nil
}

// Members lists the direct members of r, which the actor must be able to
// see, and their total.
func (s *Service) Members(ctx context.Context, a Actor, r botgate.Resource, p botgate.Page) ([]MemberInfo, int, error) {
	var out []MemberInfo
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if err := s.visibleResource(ctx, tx, a, r); err != nil {
			return err
		}
		ms, n, err := tx.FindMembers(ctx, botgate.MemberFilter{Resource: &r, Page: p})
		if err != nil {
			return err
		}
		total = n
		for _, m := range ms {
			u, err := tx.User(ctx, m.UserID)
			if err != nil {
				return err
			}
			out = append(out, MemberInfo{Member: m, User: u})
		}
		return nil
	})
	if err != nil {
		return nil, 0, botgate.E("authority.Members", err)
	}
	return out, total, nil
}

// Member returns one direct membership of r; KindNotFound ("Member Not
// Found") if there is none.
func (s *Service) Member(ctx context.Context, a Actor, r botgate.Resource, userID int64) (*MemberInfo, error) {
	var out *MemberInfo
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if err := s.visibleResource(ctx, tx, a, r); err != nil {
			return err
		}
		m, err := tx.Member(ctx, r, userID)
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.NotFound("Member")
		}
		if err != nil {
			return err
		}
		u, err := tx.User(ctx, userID)
		if err != nil {
			return err
		}
		out = &MemberInfo{Member: m, User: u}
		return nil
	})
	if err != nil {
		return nil, botgate.E("authority.Member", err)
	}
	return out, nil
}

// Users lists users matching f. Every authenticated actor may list users,
// as GitLab allows; only administrators search by e-mail address, and the
// HTTP edge shows addresses to administrators only.
func (s *Service) Users(ctx context.Context, a Actor, f botgate.UserFilter) ([]*botgate.User, int, error) {
	if a.User == nil && !a.System {
		return nil, 0, botgate.E("authority.Users", botgate.KindUnauthenticated)
	}
	var out []*botgate.User
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if a.isAdmin() || f.Search == "" {
			var err error
			out, total, err = tx.FindUsers(ctx, f)
			return err
		}
		// The store's search covers e-mail addresses, which only
		// administrators may search by: match usernames and names here.
		page := f.Page
		f.Page = botgate.Page{Limit: maxScan}
		all, _, err := tx.FindUsers(ctx, f)
		if err != nil {
			return err
		}
		needle := strings.ToLower(f.Search)
		kept := all[:0]
		for _, u := range all {
			if strings.Contains(strings.ToLower(u.Username), needle) || strings.Contains(strings.ToLower(u.Name), needle) {
				kept = append(kept, u)
			}
		}
		out, total = pageOf(kept, page)
		return nil
	})
	if err != nil {
		return nil, 0, botgate.E("authority.Users", err)
	}
	return out, total, nil
}

// UserByRef returns the user with the numeric ID or username ref.
func (s *Service) UserByRef(ctx context.Context, ref string) (*botgate.User, error) {
	var u *botgate.User
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		if id, ok := refID(ref); ok {
			u, err = tx.User(ctx, id)
		} else {
			u, err = tx.UserByUsername(ctx, ref)
		}
		return err
	})
	if botgate.IsKind(err, botgate.KindNotFound) {
		return nil, botgate.NotFound("User")
	}
	if err != nil {
		return nil, botgate.E("authority.UserByRef", err)
	}
	return u, nil
}

// TokenQuery selects tokens for a listing: the store's filter plus State
// ("active", "inactive" or "" for both), which depends on the time.
type TokenQuery struct {
	botgate.TokenFilter
	State string
}

// findTokens runs q in tx. A State filter is applied in memory before
// paging, since whether a token has expired depends on now.
func (s *Service) findTokens(ctx context.Context, tx botgate.Tx, q TokenQuery) ([]*botgate.Token, int, error) {
	switch q.State {
	case "":
		return tx.FindTokens(ctx, q.TokenFilter)
	case "active", "inactive":
	default:
		return nil, 0, botgate.Invalid("state", "state does not have a valid value")
	}
	f := q.TokenFilter
	page := f.Page
	f.Page = botgate.Page{Limit: maxScan}
	if q.State == "active" && f.Revoked == nil {
		no := false
		f.Revoked = &no
	}
	all, _, err := tx.FindTokens(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	now := s.clock.Now()
	kept := all[:0]
	for _, t := range all {
		if t.State(now) == q.State {
			kept = append(kept, t)
		}
	}
	out, total := pageOf(kept, page)
	return out, total, nil
}

// PersonalTokens lists personal access tokens, as GET
// /personal_access_tokens does: an administrator sees every user's (or
// q.UserID's), anyone else only their own; asking for another user's is
// KindUnauthenticated, as GitLab answers. Project and group access tokens
// are listed with ResourceTokens.
func (s *Service) PersonalTokens(ctx context.Context, a Actor, q TokenQuery) ([]*botgate.Token, int, error) {
	const op = "authority.PersonalTokens"
	if a.User == nil && !a.System {
		return nil, 0, botgate.E(op, botgate.KindUnauthenticated)
	}
	if !a.isAdmin() {
		if q.UserID != 0 && q.UserID != a.userID() {
			return nil, 0, botgate.E(op, botgate.KindUnauthenticated)
		}
		q.UserID = a.userID()
	}
	var out []*botgate.Token
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if q.UserID != 0 && a.isAdmin() {
			if _, err := tx.User(ctx, q.UserID); botgate.IsKind(err, botgate.KindNotFound) {
				return botgate.NotFound("User")
			} else if err != nil {
				return err
			}
		}
		var err error
		out, total, err = s.findTokens(ctx, tx, q)
		return err
	})
	if err != nil {
		return nil, 0, botgate.E(op, err)
	}
	return out, total, nil
}

// resourceTokenLevel is the role that manages r's access tokens.
func resourceTokenLevel(r botgate.Resource) botgate.AccessLevel {
	if r.Type == botgate.GroupResource {
		return botgate.OwnerAccess
	}
	return botgate.MaintainerAccess
}

// ResourceTokens lists the project or group access tokens of r. The actor
// needs the role that manages them (Maintainer on a project, Owner on a
// group).
func (s *Service) ResourceTokens(ctx context.Context, a Actor, r botgate.Resource, q TokenQuery) ([]*botgate.Token, int, error) {
	var out []*botgate.Token
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if _, err := s.requireExisting(ctx, tx, a, r, resourceTokenLevel(r)); err != nil {
			if botgate.IsKind(err, botgate.KindForbidden) {
				return &botgate.Error{Kind: botgate.KindUnauthenticated, Err: err}
			}
			return err
		}
		q.Resource = &r
		q.Kinds = []botgate.TokenKind{resourceTokenKind(r)}
		var err error
		out, total, err = s.findTokens(ctx, tx, q)
		return err
	})
	if err != nil {
		return nil, 0, botgate.E("authority.ResourceTokens", err)
	}
	return out, total, nil
}

func resourceTokenKind(r botgate.Resource) botgate.TokenKind {
	if r.Type == botgate.GroupResource {
		return botgate.GroupAccessToken
	}
	return botgate.ProjectAccessToken
}

// resourceTokenNotFound is GitLab's verbatim "project Access Token Not
// Found" (lower-case resource type), which the HTTP edge shows after the
// status code.
func resourceTokenNotFound(r botgate.Resource) error {
	return botgate.NotFound(string(r.Type) + " Access Token")
}

// ResourceToken returns the access token id of r. The token itself, or an
// actor with the managing role, may read it; anything else reads as not
// found.
func (s *Service) ResourceToken(ctx context.Context, a Actor, r botgate.Resource, id int64) (*botgate.Token, error) {
	var t *botgate.Token
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		t, err = s.resourceToken(ctx, tx, a, r, id)
		return err
	})
	if err != nil {
		return nil, botgate.E("authority.ResourceToken", err)
	}
	return t, nil
}

func (s *Service) resourceToken(ctx context.Context, tx botgate.Tx, a Actor, r botgate.Resource, id int64) (*botgate.Token, error) {
	if err := resourceExists(ctx, tx, r); err != nil {
		return nil, err
	}
	t, err := tx.Token(ctx, id)
	if botgate.IsKind(err, botgate.KindNotFound) || (err == nil && (t.Resource != r || t.Kind != resourceTokenKind(r))) {
		return nil, resourceTokenNotFound(r)
	}
	if err != nil {
		return nil, err
	}
	if a.Token != nil && a.Token.ID == t.ID {
		return t, nil
	}
	if _, err := s.require(ctx, tx, a, r, resourceTokenLevel(r)); err != nil {
		if botgate.IsKind(err, botgate.KindForbidden) {
			return nil, resourceTokenNotFound(r)
		}
		return nil, err
	}
	return t, nil
}

// CheckResourceToken checks that id is an access token of r that the actor
// may manage, before a rotation or revocation through r's routes.
func (s *Service) CheckResourceToken(ctx context.Context, a Actor, r botgate.Resource, id int64) error {
	_, err := s.ResourceToken(ctx, a, r, id)
	return err
}

// ServiceAccountQuery selects service accounts.
type ServiceAccountQuery struct {
	// Owner is the group or project that owns them; zero for the
	// instance's own.
	Owner   botgate.Resource
	OrderBy string // "id" (default) or "username"
	Sort    string // "desc" (default) or "asc"
	Page    botgate.Page
}

// ServiceAccounts lists service accounts. Instance ones need an
// administrator; a group's or project's need the Maintainer role there.
func (s *Service) ServiceAccounts(ctx context.Context, a Actor, q ServiceAccountQuery) ([]*botgate.User, int, error) {
	const op = "authority.ServiceAccounts"
	switch q.OrderBy {
	case "", "id", "username":
	default:
		return nil, 0, botgate.E(op, botgate.Invalid("order_by", "order_by does not have a valid value"))
	}
	switch q.Sort {
	case "", "asc", "desc":
	default:
		return nil, 0, botgate.E(op, botgate.Invalid("sort", "sort does not have a valid value"))
	}
	var out []*botgate.User
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if err := s.canListServiceAccounts(ctx, tx, a, q.Owner); err != nil {
			return err
		}
		owner := q.Owner
		all, _, err := tx.FindUsers(ctx, botgate.UserFilter{Kinds: []botgate.UserKind{botgate.ServiceAccount}, Owner: &owner, Page: botgate.Page{Limit: maxScan}})
		if err != nil {
			return err
		}
		slices.SortStableFunc(all, func(x, y *botgate.User) int {
			c := cmp.Compare(x.ID, y.ID)
			if q.OrderBy == "username" {
				c = strings.Compare(x.Username, y.Username)
			}
			if q.Sort != "asc" {
				c = -c
			}
			return c
		})
		out, total = pageOf(all, q.Page)
		return nil
	})
	if err != nil {
		return nil, 0, botgate.E(op, err)
	}
	return out, total, nil
}

func (s *Service) canListServiceAccounts(ctx context.Context, tx botgate.Tx, a Actor, owner botgate.Resource) error {
	if owner.IsZero() {
		if !a.isAdmin() {
			return botgate.E(botgate.KindForbidden)
		}
		return nil
	}
	_, err := s.requireExisting(ctx, tx, a, owner, botgate.MaintainerAccess)
	return err
}

// serviceAccount returns the service account id owned by owner (zero for
// the instance) if the actor may manage it.
func (s *Service) serviceAccount(ctx context.Context, tx botgate.Tx, a Actor, owner botgate.Resource, id int64) (*botgate.User, error) {
	if err := s.canListServiceAccounts(ctx, tx, a, owner); err != nil {
		return nil, err
	}
	u, err := tx.User(ctx, id)
	if botgate.IsKind(err, botgate.KindNotFound) || (err == nil && (u.Kind != botgate.ServiceAccount || u.Owner != owner)) {
		return nil, botgate.NotFound("User")
	}
	return u, err
}

// ServiceAccount returns the service account id of owner (zero for the
// instance), if the actor may manage it.
func (s *Service) ServiceAccount(ctx context.Context, a Actor, owner botgate.Resource, id int64) (*botgate.User, error) {
	var u *botgate.User
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		u, err = s.serviceAccount(ctx, tx, a, owner, id)
		return err
	})
	if err != nil {
		return nil, botgate.E("authority.ServiceAccount", err)
	}
	return u, nil
}

// ServiceAccountTokens lists the personal access tokens of the service
// account saID owned by owner.
func (s *Service) ServiceAccountTokens(ctx context.Context, a Actor, owner botgate.Resource, saID int64, q TokenQuery) ([]*botgate.Token, int, error) {
	var out []*botgate.Token
	var total int
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		u, err := s.serviceAccount(ctx, tx, a, owner, saID)
		if err != nil {
			return err
		}
		q.UserID = u.ID
		out, total, err = s.findTokens(ctx, tx, q)
		return err
	})
	if err != nil {
		return nil, 0, botgate.E("authority.ServiceAccountTokens", err)
	}
	return out, total, nil
}

// CheckServiceAccountToken checks that tokenID belongs to the service
// account saID owned by owner, and that the actor may manage it, before a
// rotation or revocation through the service account's routes.
func (s *Service) CheckServiceAccountToken(ctx context.Context, a Actor, owner botgate.Resource, saID, tokenID int64) error {
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		if _, err := s.serviceAccount(ctx, tx, a, owner, saID); err != nil {
			return err
		}
		t, err := tx.Token(ctx, tokenID)
		if botgate.IsKind(err, botgate.KindNotFound) || (err == nil && t.UserID != saID) {
			return botgate.NotFound("Token")
		}
		return err
	})
	if err != nil {
		return botgate.E("authority.CheckServiceAccountToken", err)
	}
	return nil
}

// LookupToken returns the token whose secret is presented, for an
// administrator (POST /admin/token). A malformed or unknown secret is
// KindNotFound; the secret is never logged or audited.
func (s *Service) LookupToken(ctx context.Context, a Actor, secret string) (*botgate.Token, error) {
	const op = "authority.LookupToken"
	if !a.isAdmin() {
		return nil, botgate.E(op, botgate.KindForbidden)
	}
	if err := checkSecret(secret, s.prefix); err != nil {
		return nil, botgate.E(op, err)
	}
	d := s.digester.Digest(secret)
	var t *botgate.Token
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		t, err = tx.TokenByDigest(ctx, d[:])
		if botgate.IsKind(err, botgate.KindNotFound) {
			return botgate.NotFound("Token")
		}
		return err
	})
	if err != nil {
		return nil, botgate.E(op, err)
	}
	return t, nil
}

// TokenFamily returns every token of t's rotation family, oldest first, for
// an actor who may manage t.
func (s *Service) TokenFamily(ctx context.Context, a Actor, id int64) (*botgate.Token, []*botgate.Token, error) {
	var t *botgate.Token
	var fam []*botgate.Token
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		var err error
		if t, err = s.manageableToken(ctx, tx, a, id); err != nil {
			return err
		}
		fam, _, err = tx.FindTokens(ctx, botgate.TokenFilter{FamilyID: t.FamilyID, Sort: "created_asc", Page: botgate.Page{Limit: 1000}})
		return err
	})
	if err != nil {
		return nil, nil, botgate.E("authority.TokenFamily", err)
	}
	return t, fam, nil
}

// AuditEvents returns audit events matching f; administrators only.
func (s *Service) AuditEvents(ctx context.Context, a Actor, f botgate.AuditFilter) ([]*botgate.AuditEvent, error) {
	if !a.isAdmin() {
		return nil, botgate.E("authority.AuditEvents", botgate.KindForbidden)
	}
	var out []*botgate.AuditEvent
	err := s.store.View(ctx, func(tx botgate.Tx) (err error) {
		out, err = tx.FindAudit(ctx, f)
		return err
	})
	if err != nil {
		return nil, botgate.E("authority.AuditEvents", err)
	}
	return out, nil
}

// VerifyAuditAs checks the audit chain for an administrator.
func (s *Service) VerifyAuditAs(ctx context.Context, a Actor) (VerifyResult, error) {
	if !a.isAdmin() {
		return VerifyResult{}, botgate.E("authority.VerifyAuditAs", botgate.KindForbidden)
	}
	return s.VerifyAudit(ctx)
}

// Today returns today's date (00:00 UTC) on the service clock.
func (s *Service) Today() time.Time { return botgate.Date(s.clock.Now()) }

// GroupAncestry returns the groups with the IDs and all their ancestors,
// by ID. It checks no permission: the HTTP edge uses it only to name the
// namespaces of groups and projects the actor may already see (GitLab's
// full_name and namespace fields).
func (s *Service) GroupAncestry(ctx context.Context, ids []int64) (map[int64]*botgate.Group, error) {
	out := make(map[int64]*botgate.Group)
	err := s.store.View(ctx, func(tx botgate.Tx) error {
		for _, id := range ids {
			for depth := 0; id != 0 && depth < 32; depth++ {
				if _, ok := out[id]; ok {
					break
				}
				g, err := tx.Group(ctx, id)
				if botgate.IsKind(err, botgate.KindNotFound) {
					break
				}
				if err != nil {
					return err
				}
				out[id] = g
				id = g.ParentID
			}
		}
		return nil
	})
	if err != nil {
		return nil, botgate.E("authority.GroupAncestry", err)
	}
	return out, nil
}
