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

// AuditEvent is one entry of the tamper-evident audit log. Events form
// chains, one per lane (see docs/security.md, "The audit log"): Hash covers
// the event, its place in its lane and PrevHash, the hash of the lane's
// event before it, so editing, deleting, inserting or moving an event
// breaks its lane. Details never hold secrets.
type AuditEvent struct {
	Seq        int64 // the log's order: increasing, unique, with gaps where a transaction rolled back
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

	// Lane is the chain the event was appended to, and LaneSeq its place
	// there (1, 2, 3, …). An event written before the log had lanes has
	// LaneSeq 0: it is in lane 0 at place Seq, under the first hash form.
	Lane    int
	LaneSeq int64
}

// Place returns the event's place in its lane.
func (e *AuditEvent) Place() int64 {
	if e.LaneSeq == 0 {
		return e.Seq
	}
	return e.LaneSeq
}

// AuditLanes is how many lanes the audit log has: the chains that
// concurrent writers append to side by side. Lane 0 continues the single
// chain of the log before it had lanes; a single writer only ever uses it.
const AuditLanes = 16

// AuditHead is the newest event of one lane of the chain: the lane, the
// event's place in it and its hash. The zero AuditHead is the head of an
// empty lane 0.
type AuditHead struct {
	Lane int
	Seq  int64 // the event's place in its lane (its Place)
	Hash string
}

// AuditLane is a lane as the store records it: its head, the head signed
// by the authority (so that a writer of the database cannot move it back
// to hide the newest events), and the auth revision, the Seq of the lane's
// newest event that could invalidate a cached authentication.
type AuditLane struct {
	AuditHead
	Signed   string
	Revision int64
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
	if e.LaneSeq == 0 {
		str("botgate-audit-v1")
		str(prev)
		num(e.Seq)
	} else {
		str("botgate-audit-v2")
		str(prev)
		num(int64(e.Lane))
		num(e.LaneSeq)
		num(e.Seq)
	}
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

// Seal places e after head in head's lane, as the log's event seq, and sets
// its PrevHash and Hash.
func (e *AuditEvent) Seal(key []byte, head AuditHead, seq int64) {
	e.Seq = seq
	e.Lane = head.Lane
	e.LaneSeq = head.Seq + 1
	e.PrevHash = head.Hash
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Hash = ChainHash(key, head.Hash, e)
}

// ChainBreak describes where an audit chain fails to verify.
type ChainBreak struct {
	Seq    int64
	Reason string
}

// ChainVerifier checks the events of a log, read in Seq order, lane by
// lane: in each lane every event must follow the one before it (its place,
// its PrevHash), carry the hash of its content under the key, and come
// later in the log's order than its predecessor.
type ChainVerifier struct {
	key   []byte
	heads [AuditLanes]AuditHead
	last  [AuditLanes]int64 // the Seq of each lane's head
}

// NewChainVerifier returns a verifier starting from empty lanes.
func NewChainVerifier(key []byte) *ChainVerifier {
	v := &ChainVerifier{key: key}
	for i := range v.heads {
		v.heads[i].Lane = i
	}
	return v
}

// Head returns the lane's newest verified event.
func (v *ChainVerifier) Head(lane int) AuditHead { return v.heads[lane] }

// Add checks the next event of the log and returns where it breaks, or
// nil.
func (v *ChainVerifier) Add(e *AuditEvent) *ChainBreak {
	if e.Lane < 0 || e.Lane >= AuditLanes || (e.LaneSeq == 0 && e.Lane != 0) {
		return &ChainBreak{Seq: e.Seq, Reason: "the event names no lane of the log (lane " + strconv.Itoa(e.Lane) + ")"}
	}
	head := v.heads[e.Lane]
	lane := "lane " + strconv.Itoa(e.Lane)
	switch {
	case e.Place() != head.Seq+1:
		// Lane 0's events before lanes were numbered consecutively, so the
		// missing one's Seq is known; in other lanes name the event found.
		missing := e.Seq
		if e.Lane == 0 {
			missing = v.last[0] + 1
		}
		return &ChainBreak{Seq: missing, Reason: "event missing in " + lane + " (its events jump from place " +
			strconv.FormatInt(head.Seq, 10) + " to " + strconv.FormatInt(e.Place(), 10) + ")"}
	case e.PrevHash != head.Hash:
		return &ChainBreak{Seq: e.Seq, Reason: "previous-hash link does not match the event before it in " + lane}
	case !hmac.Equal([]byte(ChainHash(v.key, head.Hash, e)), []byte(e.Hash)):
		return &ChainBreak{Seq: e.Seq, Reason: "event content does not match its hash (edited)"}
	case head.Seq > 0 && e.Seq <= v.last[e.Lane]:
		return &ChainBreak{Seq: e.Seq, Reason: "the event is out of order: " + lane + " holds it after event " + strconv.FormatInt(v.last[e.Lane], 10)}
	}
	v.heads[e.Lane] = AuditHead{Lane: e.Lane, Seq: e.Place(), Hash: e.Hash}
	v.last[e.Lane] = e.Seq
	return nil
}

// VerifyChain checks events, which must be consecutive events of one lane
// in order, against the key, starting after head. It returns the first
// break, or nil, and the new head.
func VerifyChain(key []byte, head AuditHead, events []*AuditEvent) (AuditHead, *ChainBreak) {
	for _, e := range events {
		switch {
		case e.Lane != head.Lane || e.Place() != head.Seq+1:
			return head, &ChainBreak{Seq: e.Seq, Reason: "event missing (lane " + strconv.Itoa(e.Lane) + " jumps to place " + strconv.FormatInt(e.Place(), 10) + ")"}
		case e.PrevHash != head.Hash:
			return head, &ChainBreak{Seq: e.Seq, Reason: "previous-hash link does not match the event before it"}
		case !hmac.Equal([]byte(ChainHash(key, head.Hash, e)), []byte(e.Hash)):
			return head, &ChainBreak{Seq: e.Seq, Reason: "event content does not match its hash (edited)"}
		}
		head = AuditHead{Lane: e.Lane, Seq: e.Place(), Hash: e.Hash}
	}
	return head, nil
}
