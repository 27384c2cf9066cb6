package httpapi

import (
	"net/http"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiwire"
)

// botgate's own API, /api/botgate/v1: what GitLab's token objects do not
// carry (automation, rotation family, usage fingerprints) and the audit
// log.

// tokenDetailJSON is a token with botgate's additions.
type tokenDetailJSON struct {
	tokenJSON
	Kind        string            `json:"kind"`
	Automation  string            `json:"automation"`
	FamilyID    int64             `json:"family_id"`
	PreviousID  *int64            `json:"previous_id"`
	RevokedAt   *string           `json:"revoked_at"`
	CreatedByID int64             `json:"created_by_id"`
	UserAgents  []string          `json:"user_agents"`
	Family      []familyEntryJSON `json:"family"`
}

// familyEntryJSON is one token of a rotation family.
type familyEntryJSON struct {
	ID         int64   `json:"id"`
	CreatedAt  string  `json:"created_at"`
	Revoked    bool    `json:"revoked"`
	RevokedAt  *string `json:"revoked_at"`
	Active     bool    `json:"active"`
	PreviousID *int64  `json:"previous_id"`
}

func idPtr(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func (s *Server) handleBotgateToken(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id", "Token")
	if err != nil {
		return err
	}
	t, fam, err := s.auth.TokenFamily(r.Context(), c.actor, id)
	if err != nil {
		return err
	}
	now := s.auth.Now()
	j := tokenDetailJSON{
		tokenJSON: tokenEntity(t, now), Kind: string(t.Kind), Automation: t.Automation, FamilyID: t.FamilyID,
		PreviousID: idPtr(t.PreviousID), RevokedAt: tsPtr(t.RevokedAt), CreatedByID: t.CreatedByID,
		UserAgents: t.UserAgents, Family: make([]familyEntryJSON, len(fam)),
	}
	if j.UserAgents == nil {
		j.UserAgents = []string{}
	}
	for i, f := range fam {
		j.Family[i] = familyEntryJSON{ID: f.ID, CreatedAt: ts(f.CreatedAt), Revoked: f.Revoked, RevokedAt: tsPtr(f.RevokedAt),
			Active: f.Active(now), PreviousID: idPtr(f.PreviousID)}
	}
	return WriteJSON(w, http.StatusOK, j)
}

// AuditEventWire is e as /api/botgate/v1/audit/events answers it.
func AuditEventWire(e *botgate.AuditEvent) apiwire.AuditEvent {
	return apiwire.AuditEvent{
		Seq: e.Seq, Time: ts(e.Time), ActorID: e.ActorID, ActorName: e.ActorName, TokenID: e.TokenID, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, TargetName: e.TargetName, IP: e.IP, UserAgent: e.UserAgent,
		Details: e.Details, PrevHash: e.PrevHash, Hash: e.Hash,
	}
}

func (s *Server) handleAuditEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	p, pg, err := s.readListParams(w, r)
	if err != nil {
		return err
	}
	f := botgate.AuditFilter{Action: p.str("action"), TargetType: p.str("target_type")}
	for name, dst := range map[string]*int64{"after_seq": &f.AfterSeq, "actor_id": &f.ActorID, "token_id": &f.TokenID, "target_id": &f.TargetID} {
		if *dst, err = p.int64(name); err != nil {
			return err
		}
	}
	if f.Since, err = p.time("since"); err != nil {
		return err
	}
	if f.Until, err = p.time("until"); err != nil {
		return err
	}
	switch p.str("sort") {
	case "", "asc":
	case "desc":
		f.Descending = true
	default:
		return botgate.Invalid("sort", "sort does not have a valid value")
	}
	// One more than a page tells whether another page follows.
	f.Page = botgate.Page{Offset: (pg.page - 1) * pg.perPage, Limit: pg.perPage + 1}
	events, err := s.auth.AuditEvents(r.Context(), c.actor, f)
	if err != nil {
		return err
	}
	more := len(events) > pg.perPage
	if more {
		events = events[:pg.perPage]
	}
	out := make([]apiwire.AuditEvent, len(events))
	for i, e := range events {
		out[i] = AuditEventWire(e)
	}
	s.setPageHeaders(w, r, pg, -1, more)
	return WriteJSON(w, http.StatusOK, out)
}

func (s *Server) handleAuditVerify(w http.ResponseWriter, r *http.Request, c *call) error {
	res, err := s.auth.VerifyAuditAs(r.Context(), c.actor)
	if err != nil {
		return err
	}
	out := map[string]any{
		"ok": res.OK(), "events": res.Events, "head_seq": res.Head.Seq, "head_hash": res.Head.Hash, "break": nil,
	}
	if res.Break != nil {
		out["break"] = map[string]any{"seq": res.Break.Seq, "reason": res.Break.Reason}
	}
	return WriteJSON(w, http.StatusOK, out)
}

func (s *Server) handleSetAutomation(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id", "Token")
	if err != nil {
		return err
	}
	p, err := s.readParams(w, r)
	if err != nil {
		return err
	}
	if !p.has("automation") {
		return botgate.Invalid("automation", "automation is missing")
	}
	if _, err := s.auth.SetAutomation(r.Context(), c.actor, id, p.str("automation")); err != nil {
		return err
	}
	return s.handleBotgateToken(w, r, c)
}
