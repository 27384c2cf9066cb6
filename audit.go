package botgate

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"time"
)

// Audit actions. Each state change and each failed authentication records one.
const (
	ActionUserCreate        = "user.create"
	ActionUserUpdate        = "user.update"
	ActionUserDeactivate    = "user.deactivate"
	ActionUserDelete        = "user.delete"
	ActionGroupCreate       = "group.create"
	ActionGroupUpdate       = "group.update"
	ActionGroupDelete       = "group.delete"
	ActionProjectCreate     = "project.create"
	ActionProjectUpdate     = "project.update"
	ActionProjectDelete     = "project.delete"
	ActionMemberAdd         = "member.add"
	ActionMemberUpdate      = "member.update"
	ActionMemberRemove      = "member.remove"
	ActionTokenCreate       = "token.create"
	ActionTokenRotate       = "token.rotate"
	ActionTokenRevoke       = "token.revoke"
	ActionTokenFamilyRevoke = "token.family_revoke"
	ActionAuthFailed        = "auth.failed"
	ActionAuthFailedSummary = "auth.failed_suppressed"
	ActionInit              = "instance.init"
	// ActionAdminRecover is a new administrator token minted with access
	// to the data directory (botgate admin recover), not through the API.
	ActionAdminRecover = "admin.recover"
	// ActionAuthRotatedGrace: a rotated-out token authenticated within the
	// rotation grace window.
	ActionAuthRotatedGrace = "auth.rotated_within_grace"
)

// AuditEvent is one entry of the tamper-evident audit log. Events form a
// chain: Hash covers the event and PrevHash, so editing or deleting an event
// breaks every hash after it. Details never hold secrets.
type AuditEvent struct {
	Seq        int64 // 1, 2, 3, ... assigned in chain order
	Time       time.Time
	ActorID    int64  // the acting user, 0 for anonymous or the system
	ActorName  string // the acting user's username at the time
	TokenID    int64  // the token the actor used, 0 if none
	Action     string
	TargetType string // "token", "user", "group", "project", "member", ...
	TargetID   int64
	TargetName string
	IP         string
	UserAgent  string
	Details    map[string]string
	PrevHash   string // hex
	Hash       string // hex
}

// AuditHead is the newest event of the chain: its sequence number and hash.
// The zero AuditHead is the head of an empty log.
type AuditHead struct {
	Seq  int64
	Hash string
}

// AuditFilter selects audit events. Zero fields do not filter.
type AuditFilter struct {
	AfterSeq   int64 // events with Seq > AfterSeq
	ActorID    int64
	TokenID    int64
	Action     string
	TargetType string
	TargetID   int64
	Since      *time.Time
	Until      *time.Time
	Descending bool
	Page
}

// ChainHash computes the hash of e linked to prev, keyed by key (a secret
// kept outside the database, so that whoever can write the database cannot
// forge a consistent chain). It covers every field but Hash.
func ChainHash(key []byte, prev string, e *AuditEvent) string {
	m := hmac.New(sha256.New, key)
	var n [8]byte
	num := func(v int64) {
		binary.BigEndian.PutUint64(n[:], uint64(v))
		m.Write(n[:])
	}
	str := func(s string) {
		num(int64(len(s)))
		m.Write([]byte(s))
	}
	str("botgate-audit-v1")
	str(prev)
	num(e.Seq)
	num(e.Time.UTC().UnixMicro())
	num(e.ActorID)
	str(e.ActorName)
	num(e.TokenID)
	str(e.Action)
	str(e.TargetType)
	num(e.TargetID)
	str(e.TargetName)
	str(e.IP)
	str(e.UserAgent)
	keys := slices.Sorted(maps.Keys(e.Details))
	num(int64(len(keys)))
	for _, k := range keys {
		str(k)
		str(e.Details[k])
	}
	return hex.EncodeToString(m.Sum(nil))
}

// Seal sets e's Seq, PrevHash and Hash to follow head.
func (e *AuditEvent) Seal(key []byte, head AuditHead) {
	e.Seq = head.Seq + 1
	e.PrevHash = head.Hash
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Hash = ChainHash(key, head.Hash, e)
}

// ChainBreak describes where an audit chain fails to verify.
type ChainBreak struct {
	Seq    int64
	Reason string
}

// VerifyChain checks events, which must be consecutive and in order, against
// the key, starting after head. It returns the first break, or nil, and the
// new head.
func VerifyChain(key []byte, head AuditHead, events []*AuditEvent) (AuditHead, *ChainBreak) {
	for _, e := range events {
		switch {
		case e.Seq != head.Seq+1:
			return head, &ChainBreak{Seq: head.Seq + 1, Reason: "event missing (sequence jumps to " + strconv.FormatInt(e.Seq, 10) + ")"}
		case e.PrevHash != head.Hash:
			return head, &ChainBreak{Seq: e.Seq, Reason: "previous-hash link does not match the event before it"}
		case !hmac.Equal([]byte(ChainHash(key, head.Hash, e)), []byte(e.Hash)):
			return head, &ChainBreak{Seq: e.Seq, Reason: "event content does not match its hash (edited)"}
		}
		head = AuditHead{Seq: e.Seq, Hash: e.Hash}
	}
	return head, nil
}
