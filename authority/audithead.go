package authority

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/botgate/botgate"
)

// The audit chain's head is anchored three ways, none of which a writer of
// the database alone can defeat, since each is keyed by the audit key (from
// the pepper, kept outside the database):
//
//   - the head recorded in the database with every append is signed
//     (SEQ:HASH:MAC), so that deleting the newest events cannot be hidden
//     by rewriting the head to an older event;
//   - an operator may keep the head (SEQ:HASH, as `botgate audit verify`
//     prints it) elsewhere and check that the log still holds it
//     (--expect-head);
//   - a checkpoint file in the data directory, signed the same way and
//     written by the server and by each successful verify, is checked by
//     `botgate audit verify`: the log must still hold the event it names,
//     so that replacing the database (or its head) by an older copy is
//     detected too.

// Uses of a signed head, which domain-separate their MACs.
const (
	headUseRecorded   = "head"
	headUseCheckpoint = "checkpoint"
)

// FormatAuditHead returns the head as SEQ:HASH, the form `audit verify`
// prints and --expect-head takes.
func FormatAuditHead(h botgate.AuditHead) string {
	return strconv.FormatInt(h.Seq, 10) + ":" + h.Hash
}

// ParseAuditHead parses SEQ:HASH. Errors are KindInvalid.
func ParseAuditHead(s string) (botgate.AuditHead, error) {
	seqStr, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	seq, err := strconv.ParseInt(seqStr, 10, 64)
	if !ok || err != nil || seq < 1 || len(hash) != 2*sha256.Size || strings.Contains(hash, ":") {
		return botgate.AuditHead{}, botgate.Invalid("head", "%q is not an audit head: want SEQ:HASH as 'botgate audit verify' prints it", s)
	}
	if _, err := hex.DecodeString(hash); err != nil {
		return botgate.AuditHead{}, botgate.Invalid("head", "%q is not an audit head: its hash is not hex", s)
	}
	return botgate.AuditHead{Seq: seq, Hash: strings.ToLower(hash)}, nil
}

// headMAC returns the MAC of h for the use under the audit key.
func headMAC(key []byte, use string, h botgate.AuditHead) []byte {
	m := hmac.New(sha256.New, key)
	var n [8]byte
	str := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		m.Write(n[:])
		m.Write([]byte(s))
	}
	if h.Lane != 0 {
		// Lane 0's heads are signed as the single chain's were.
		use += "-lane-" + strconv.Itoa(h.Lane)
	}
	str("botgate-audit-" + use + "-v1")
	binary.BigEndian.PutUint64(n[:], uint64(h.Seq))
	m.Write(n[:])
	str(h.Hash)
	return m.Sum(nil)
}

// signHead returns h as SEQ:HASH:MAC.
func signHead(key []byte, use string, h botgate.AuditHead) string {
	return FormatAuditHead(h) + ":" + hex.EncodeToString(headMAC(key, use, h))
}

// openHead parses SEQ:HASH:MAC, a head of the lane, and checks the MAC, in
// constant time.
func openHead(key []byte, use string, lane int, s string) (botgate.AuditHead, error) {
	s = strings.TrimSpace(s)
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.Count(s, ":") != 2 {
		return botgate.AuditHead{}, fmt.Errorf("it is not signed")
	}
	h, err := ParseAuditHead(s[:i])
	if err != nil {
		return h, fmt.Errorf("it is malformed")
	}
	h.Lane = lane
	mac, err := hex.DecodeString(s[i+1:])
	if err != nil || !hmac.Equal(mac, headMAC(key, use, h)) {
		return botgate.AuditHead{}, fmt.Errorf("its signature does not match (it was rewritten without the key)")
	}
	return h, nil
}

// SignCheckpoint returns the content of an audit checkpoint file for h,
// signed with the audit key.
func SignCheckpoint(key []byte, h botgate.AuditHead) string {
	return signHead(key, headUseCheckpoint, h) + "\n"
}

// OpenCheckpoint checks a checkpoint file's content and returns the head
// it anchors. Errors are KindInvalid, saying why.
func OpenCheckpoint(key []byte, content string) (botgate.AuditHead, error) {
	h, err := openHead(key, headUseCheckpoint, 0, content)
	if err != nil {
		return h, botgate.Invalid("checkpoint", "the audit checkpoint is not valid: %v", err)
	}
	return h, nil
}

// Initialized reports whether store already holds an installation: its
// audit chain has begun (a head is recorded). Errors are the store's
// (KindInternal); a store without a head is not an error.
func Initialized(ctx context.Context, store botgate.Store) (bool, error) {
	lanes, err := auditLanes(ctx, store)
	for _, l := range lanes {
		if l.Signed != "" {
			return true, err
		}
	}
	return false, err
}

// auditLanes reads the recorded lanes of the audit log.
func auditLanes(ctx context.Context, store botgate.Store) (lanes []botgate.AuditLane, err error) {
	err = store.View(ctx, func(tx botgate.Tx) (err error) {
		lanes, err = tx.AuditLanes(ctx)
		return err
	})
	return lanes, err
}

// RecordedAuditHead returns the head recorded for lane 0, the lane a
// single writer uses and the checkpoint follows, its signature checked:
// KindConflict if it is missing, unsigned or forged (the log's end cannot
// be trusted), KindInternal from the store. The server checkpoints it.
func RecordedAuditHead(ctx context.Context, store botgate.Store, key []byte) (botgate.AuditHead, error) {
	const op = "authority.RecordedAuditHead"
	lanes, err := auditLanes(ctx, store)
	if err != nil {
		return botgate.AuditHead{}, botgate.E(op, err)
	}
	if len(lanes) == 0 || lanes[0].Signed == "" {
		return botgate.AuditHead{}, botgate.E(op, botgate.Errorf(botgate.KindConflict, "no audit head is recorded"))
	}
	h, err := openHead(key, headUseRecorded, 0, lanes[0].Signed)
	if err != nil {
		return h, botgate.E(op, botgate.Errorf(botgate.KindConflict, "the recorded audit head cannot be trusted: %v", err))
	}
	return h, nil
}

// Anchor is an event the audit log must still hold, with this hash: an
// operator's --expect-head or the checkpoint. Name says which, for the
// report.
type Anchor struct {
	Name string
	Head botgate.AuditHead
}

// hasSetting reports whether store holds the setting key. Errors are the
// store's; a missing setting is not an error.
func hasSetting(ctx context.Context, store botgate.Store, key string) (bool, error) {
	found := false
	err := store.View(ctx, func(tx botgate.Tx) error {
		_, err := tx.Setting(ctx, key)
		switch {
		case err == nil:
			found = true
		case botgate.IsKind(err, botgate.KindNotFound):
		default:
			return err
		}
		return nil
	})
	return found, err
}
