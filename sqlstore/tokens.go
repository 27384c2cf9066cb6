package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/botgate/botgate"
)

const tokenCols = `id, user_id, kind, name, description, scopes, access_level, resource_type, resource_id,
	digest, revoked, revoked_at, expires_at, created_at, created_by_id, last_used_at, last_used_ips,
	user_agents, COALESCE(previous_id, 0), family_id, automation`

// The hot queries, which a backend may prepare at Open: authentication
// looks a token up by its digest (TokenByDigest), then its user by ID
// (User). Tx passes them to Conn unchanged, so a backend recognizes them
// by their text.
const (
	TokenByDigestQuery = `SELECT ` + tokenCols + ` FROM tokens WHERE digest = ?`
	TokenByIDQuery     = `SELECT ` + tokenCols + ` FROM tokens WHERE id = ?`
)

func scanToken(r scanner) (*botgate.Token, error) {
	var (
		tk                           botgate.Token
		scopes, resType, ips, agents string
		revokedAt, expires, lastUsed sql.NullInt64
		created                      int64
	)
	if err := r.Scan(&tk.ID, &tk.UserID, &tk.Kind, &tk.Name, &tk.Description, &scopes, &tk.AccessLevel,
		&resType, &tk.Resource.ID, &tk.Digest, &tk.Revoked, &revokedAt, &expires, &created, &tk.CreatedByID,
		&lastUsed, &ips, &agents, &tk.PreviousID, &tk.FamilyID, &tk.Automation); err != nil {
		return nil, err
	}
	for _, s := range strings.Fields(scopes) {
		tk.Scopes = append(tk.Scopes, botgate.Scope(s))
	}
	tk.Resource.Type = botgate.ResourceType(resType)
	tk.RevokedAt = fromMicroPtr(revokedAt)
	tk.ExpiresAt = fromMicroPtr(expires)
	tk.CreatedAt = fromMicro(created)
	tk.LastUsedAt = fromMicroPtr(lastUsed)
	var err error
	if tk.LastUsedIPs, err = decodeList(ips); err != nil {
		return nil, err
	}
	if tk.UserAgents, err = decodeList(agents); err != nil {
		return nil, err
	}
	return &tk, nil
}

// encodeList stores a list of strings as a JSON array ("" when empty).
func encodeList(l []string) (string, error) {
	if len(l) == 0 {
		return "", nil
	}
	b, err := json.Marshal(l)
	return string(b), err
}

func decodeList(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, nil
	}
	return l, nil
}

// CreateToken inserts tk, sets its ID and, if it has none, its FamilyID.
func (t *Tx) CreateToken(ctx context.Context, tk *botgate.Token) error {
	const op = "CreateToken"
	if err := t.writable(op); err != nil {
		return err
	}
	if len(tk.Digest) == 0 {
		return &botgate.Error{Op: t.op(op), Kind: botgate.KindInvalid, Field: "digest", Message: "token has no digest"}
	}
	truncate(&tk.CreatedAt)
	tk.RevokedAt = truncatePtr(tk.RevokedAt)
	tk.ExpiresAt = truncatePtr(tk.ExpiresAt)
	tk.LastUsedAt = truncatePtr(tk.LastUsedAt)
	ips, err := encodeList(tk.LastUsedIPs)
	if err != nil {
		return botgate.E(t.op(op), botgate.KindInternal, err)
	}
	agents, err := encodeList(tk.UserAgents)
	if err != nil {
		return botgate.E(t.op(op), botgate.KindInternal, err)
	}
	// The new token's ID is taken in the statement, so that a new family
	// (whose ID is its first token's) costs no second statement.
	id, err := t.insertID(ctx, `INSERT INTO tokens (id, user_id, kind, name, description, scopes, access_level,
		resource_type, resource_id, digest, revoked, revoked_at, expires_at, created_at, created_by_id,
		last_used_at, last_used_ips, user_agents, previous_id, family_id, automation)
		SELECT n.id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, COALESCE(NULLIF(?, 0), n.id), ? FROM (`+t.d.NextTokenID+`) AS n`,
		tk.UserID, string(tk.Kind), tk.Name, tk.Description, tk.Scopes.String(), int(tk.AccessLevel),
		string(tk.Resource.Type), tk.Resource.ID, tk.Digest, tk.Revoked, toMicroPtr(tk.RevokedAt),
		toMicroPtr(tk.ExpiresAt), toMicro(tk.CreatedAt), tk.CreatedByID, toMicroPtr(tk.LastUsedAt),
		ips, agents, nullID(tk.PreviousID), tk.FamilyID, tk.Automation)
	if err != nil {
		err = t.dbError(op, err)
		if e, ok := err.(*botgate.Error); ok {
			switch e.Kind {
			case botgate.KindInvalid:
				e.Field, e.Message = "user_id", "user or previous token does not exist"
			case botgate.KindConflict:
				// Never echo the digest.
				e.Field, e.Message = "digest", "a token with the same digest exists"
			}
		}
		return err
	}
	if tk.FamilyID == 0 {
		tk.FamilyID = id // a new family: its ID is its first token's
	}
	tk.ID = id
	return nil
}

// Token returns the token with the ID.
func (t *Tx) Token(ctx context.Context, id int64) (*botgate.Token, error) {
	const op = "Token"
	row := t.queryRow(ctx, TokenByIDQuery, id)
	tk, err := scanToken(row)
	if err != nil {
		return nil, t.notFound(op, "Token", err)
	}
	return tk, nil
}

// TokenByDigest returns the token with the digest: one lookup on the
// unique digest index.
func (t *Tx) TokenByDigest(ctx context.Context, digest []byte) (*botgate.Token, error) {
	const op = "TokenByDigest"
	row := t.queryRow(ctx, TokenByDigestQuery, digest)
	tk, err := scanToken(row)
	if err != nil {
		return nil, t.notFound(op, "Token", err)
	}
	return tk, nil
}

// tokenOrders maps TokenFilter.Sort to ORDER BY clauses. Tokens without the
// sorted value (no expiry, never used) come last in either direction; ties
// are broken by ID in the sort's direction. Names sort by their bytes
// (Dialect.Bytewise), whatever the database's locale.
var tokenOrders = map[string]string{
	"":               "created_at DESC, id DESC",
	"created_desc":   "created_at DESC, id DESC",
	"created_asc":    "created_at ASC, id ASC",
	"expires_asc":    "expires_at IS NULL, expires_at ASC, id ASC",
	"expires_desc":   "expires_at IS NULL, expires_at DESC, id DESC",
	"last_used_asc":  "last_used_at IS NULL, last_used_at ASC, id ASC",
	"last_used_desc": "last_used_at IS NULL, last_used_at DESC, id DESC",
	"name_asc":       "name ASC, id ASC",
	"name_desc":      "name DESC, id DESC",
}

// FindTokens returns the tokens matching f, in f.Sort order, and their
// total. Every After bound is inclusive and every Before bound exclusive.
func (t *Tx) FindTokens(ctx context.Context, f botgate.TokenFilter) ([]*botgate.Token, int, error) {
	const op = "FindTokens"
	order, ok := tokenOrders[f.Sort]
	if !ok {
		return nil, 0, &botgate.Error{Op: t.op(op), Kind: botgate.KindInvalid, Field: "sort",
			Message: "sort does not have a valid value"}
	}
	if rest, ok := strings.CutPrefix(order, "name "); ok {
		order = t.d.Bytewise("name") + " " + rest
	}
	w := t.where()
	in(&w, "id", f.IDs)
	if f.UserID != 0 {
		w.add("user_id = ?", f.UserID)
	}
	in(&w, "kind", f.Kinds)
	if f.Resource != nil {
		w.add("resource_type = ? AND resource_id = ?", string(f.Resource.Type), f.Resource.ID)
	}
	if f.FamilyID != 0 {
		w.add("family_id = ?", f.FamilyID)
	}
	if f.Revoked != nil {
		w.add("revoked = ?", *f.Revoked)
	}
	w.search(f.Search, "name")
	if f.Automation != "" {
		w.add("automation = ?", f.Automation)
	}
	in(&w, "automation", f.Automations)
	timeRange(&w, "created_at", f.CreatedAfter, f.CreatedBefore)
	timeRange(&w, "expires_at", f.ExpiresAfter, f.ExpiresBefore)
	if f.NeverExpires {
		w.add("expires_at IS NULL")
	}
	timeRange(&w, "last_used_at", f.LastUsedAfter, f.LastUsedBefore)
	if f.Active != nil {
		if *f.Active {
			w.add("revoked = ? AND (expires_at IS NULL OR expires_at > ?)", false, toMicro(f.At))
		} else {
			w.add("(revoked = ? OR expires_at <= ?)", true, toMicro(f.At))
		}
	}
	return find(ctx, t, op, tokenCols, "tokens", &w, order, f.Page, scanToken)
}

// timeRange adds after <= col < before.
func timeRange(w *where, col string, after, before *time.Time) {
	if after != nil {
		w.add(col+" >= ?", toMicro(*after))
	}
	if before != nil {
		w.add(col+" < ?", toMicro(*before))
	}
}

// RevokeToken revokes the token if it is not revoked yet.
func (t *Tx) RevokeToken(ctx context.Context, id int64, at time.Time) error {
	const op = "RevokeToken"
	if err := t.writable(op); err != nil {
		return err
	}
	res, err := t.exec(ctx, `UPDATE tokens SET revoked = `+t.d.True+`, revoked_at = ? WHERE id = ? AND revoked = `+t.d.False, toMicro(at), id)
	if err != nil {
		return t.dbError(op, err)
	}
	if res == 1 {
		return nil
	}
	var exists bool
	row := t.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tokens WHERE id = ?)`, id)
	if err := row.Scan(&exists); err != nil {
		return t.dbError(op, err)
	}
	if !exists {
		return t.notFound(op, "Token", sql.ErrNoRows)
	}
	return &botgate.Error{Op: t.op(op), Kind: botgate.KindConflict, Reason: botgate.ReasonTokenRevoked,
		Message: "Token already revoked"}
}

// RevokeTokenFamily revokes every unrevoked token of the family.
func (t *Tx) RevokeTokenFamily(ctx context.Context, familyID int64, at time.Time) ([]int64, error) {
	return t.revokeWhere(ctx, "RevokeTokenFamily", "family_id", familyID, at)
}

// RevokeUserTokens revokes every unrevoked token of the user.
func (t *Tx) RevokeUserTokens(ctx context.Context, userID int64, at time.Time) ([]int64, error) {
	return t.revokeWhere(ctx, "RevokeUserTokens", "user_id", userID, at)
}

// revokeWhere revokes the unrevoked tokens whose col is v and returns their
// IDs in ascending order.
func (t *Tx) revokeWhere(ctx context.Context, op, col string, v int64, at time.Time) ([]int64, error) {
	if err := t.writable(op); err != nil {
		return nil, err
	}
	rows, err := t.query(ctx,
		`UPDATE tokens SET revoked = `+t.d.True+`, revoked_at = ? WHERE `+col+` = ? AND revoked = `+t.d.False+` RETURNING id`, toMicro(at), v)
	if err != nil {
		return nil, t.dbError(op, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, t.dbError(op, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, t.dbError(op, err)
	}
	slices.Sort(ids)
	return ids, nil
}

// SuccessorToken returns the token that replaced id by rotation.
func (t *Tx) SuccessorToken(ctx context.Context, id int64) (*botgate.Token, error) {
	const op = "SuccessorToken"
	row := t.queryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE previous_id = ? ORDER BY id LIMIT 1`, id)
	tk, err := scanToken(row)
	if err != nil {
		return nil, t.notFound(op, "Token", err)
	}
	return tk, nil
}

// RecordTokenUsage merges coalesced usage into the tokens.
func (t *Tx) RecordTokenUsage(ctx context.Context, usage []botgate.TokenUsage) error {
	const op = "RecordTokenUsage"
	if err := t.writable(op); err != nil {
		return err
	}
	for _, u := range usage {
		var (
			last        sql.NullInt64
			ips, agents string
		)
		// ForUpdate: another node flushing the same token's usage waits,
		// so neither merge is lost.
		row := t.queryRow(ctx, `SELECT last_used_at, last_used_ips, user_agents FROM tokens WHERE id = ?`+t.d.ForUpdate, u.TokenID)
		if err := row.Scan(&last, &ips, &agents); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				continue // unknown tokens are ignored
			}
			return t.dbError(op, err)
		}
		oldIPs, err := decodeList(ips)
		if err != nil {
			return botgate.E(t.op(op), botgate.KindInternal, err)
		}
		oldAgents, err := decodeList(agents)
		if err != nil {
			return botgate.E(t.op(op), botgate.KindInternal, err)
		}
		at := u.LastUsedAt.UTC().Truncate(time.Microsecond)
		newer := !u.LastUsedAt.IsZero() && (!last.Valid || at.UnixMicro() >= last.Int64)
		var mergedIPs, mergedAgents []string
		if newer {
			last = sql.NullInt64{Int64: at.UnixMicro(), Valid: true}
			mergedIPs = botgate.MergeRecent(u.IPs, oldIPs, botgate.MaxRecentClients)
			mergedAgents = botgate.MergeRecent(u.UserAgents, oldAgents, botgate.MaxRecentClients)
		} else {
			// Older news: what is stored is newer.
			mergedIPs = botgate.MergeRecent(oldIPs, u.IPs, botgate.MaxRecentClients)
			mergedAgents = botgate.MergeRecent(oldAgents, u.UserAgents, botgate.MaxRecentClients)
		}
		if ips, err = encodeList(mergedIPs); err != nil {
			return botgate.E(t.op(op), botgate.KindInternal, err)
		}
		if agents, err = encodeList(mergedAgents); err != nil {
			return botgate.E(t.op(op), botgate.KindInternal, err)
		}
		if _, err := t.exec(ctx, `UPDATE tokens SET last_used_at = ?, last_used_ips = ?, user_agents = ? WHERE id = ?`,
			nullInt64(last), ips, agents, u.TokenID); err != nil {
			return t.dbError(op, err)
		}
	}
	return nil
}
