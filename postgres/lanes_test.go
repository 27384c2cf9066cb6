package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/postgres"
	"github.com/botgate/botgate/storetest"
)

// TestTwoNodesWriteSideBySide runs token writes from two nodes (two
// stores, two authorities, one schema) at once and checks what must hold
// whatever the interleaving: one winner per rotation race, every change
// audited, and an audit log that verifies lane by lane and detects an
// edited, deleted, inserted or reordered event afterwards.
func TestTwoNodesWriteSideBySide(t *testing.T) {
	ctx := t.Context()
	url := freshSchema(t)
	pepper := []byte(strings.Repeat("two-nodes-pepper", 2))
	var stores []*postgres.Store
	var nodes []*authority.Service
	for range 2 {
		s := open(t, url)
		a, err := authority.New(authority.Config{Store: s, Pepper: pepper, RevisionPoll: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		stores, nodes = append(stores, s), append(nodes, a)
	}
	ann := botgate.User{Username: "ann", Kind: botgate.HumanUser, State: botgate.UserActive}
	if err := stores[0].Update(ctx, func(tx botgate.Tx) error { return tx.CreateUser(ctx, &ann) }); err != nil {
		t.Fatal(err)
	}
	actor := authority.Actor{User: &ann}
	newToken := authority.NewToken{Name: "ci", Scopes: []string{"read_api"}}

	// Create, rotate, revoke from 8 clients per node.
	const clients, laps = 16, 5
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := nodes[w%2]
			for range laps {
				c, err := n.CreatePersonalToken(ctx, actor, ann.ID, newToken)
				if err != nil {
					errs <- err
					return
				}
				r, err := nodes[(w+1)%2].RotateToken(ctx, actor, c.Token.ID, nil)
				if err != nil {
					errs <- err
					return
				}
				if err := n.RevokeToken(ctx, actor, r.Token.ID); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Both nodes rotate one token at once: exactly one wins.
	for race := range 5 {
		c, err := nodes[0].CreatePersonalToken(ctx, actor, ann.ID, newToken)
		if err != nil {
			t.Fatal(err)
		}
		const racers = 8
		var start sync.WaitGroup
		start.Add(1)
		results := make(chan error, racers)
		for i := range racers {
			go func() {
				start.Wait()
				_, err := nodes[i%2].RotateToken(ctx, actor, c.Token.ID, nil)
				results <- err
			}()
		}
		start.Done()
		won := 0
		for range racers {
			err := <-results
			switch {
			case err == nil:
				won++
			case botgate.IsKind(err, botgate.KindConflict), botgate.IsKind(err, botgate.KindInvalid):
			default:
				t.Fatalf("race %d: rotation failed: %v", race, err)
			}
		}
		if won != 1 {
			t.Fatalf("race %d: %d rotations of one token succeeded, want exactly 1", race, won)
		}
	}

	key := authority.AuditKey(pepper)
	res, err := authority.VerifyAudit(ctx, stores[1], key)
	if err != nil || !res.OK() {
		t.Fatalf("the log after concurrent writes: %v, %d events, break %+v", err, res.Events, res.Break)
	}
	// 3 events per lap, then per race a creation and one rotation.
	if want := int64(clients*laps*3 + 5*2); res.Events != want {
		t.Fatalf("the log holds %d events, want %d (one per change)", res.Events, want)
	}
	var lanes map[int]int
	lanes, err = laneUse(ctx, stores[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events in lanes %v", res.Events, lanes)

	// Tampering with a writer of the database, then undoing it: each is
	// detected, and the log verifies again once undone. The event tampered
	// with is the newest of the busiest lane but 0 (lane 0 if no other).
	lane := 0
	for l, n := range lanes {
		if l != 0 && n > lanes[lane] || lane == 0 && l != 0 {
			lane = l
		}
	}
	db := stores[0].Pool()
	var seq, prevSeq int64
	if err := db.QueryRow(ctx, `SELECT max(seq) FROM audit_events WHERE lane = $1`, lane).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `SELECT max(seq) FROM audit_events WHERE lane = $1 AND seq < $2`, lane, seq).Scan(&prevSeq); err != nil {
		t.Fatal(err)
	}
	tampers := []struct{ name, do, undo string }{
		{"edited", `UPDATE audit_events SET actor_name = 'mallory' WHERE seq = {seq}`, `UPDATE audit_events SET actor_name = 'ann' WHERE seq = {seq}`},
		{"deleted", `CREATE TABLE saved AS SELECT * FROM audit_events WHERE seq = {seq}; DELETE FROM audit_events WHERE seq = {seq}`,
			`INSERT INTO audit_events SELECT * FROM saved; DROP TABLE saved`},
		{"inserted", `INSERT INTO audit_events SELECT nextval('audit_events_seq'), "time", actor_id, actor_name, token_id, action, target_type,
			target_id, target_name, ip, user_agent, details, hash, hash, lane, lane_seq + 1 FROM audit_events WHERE seq = {seq}`,
			`DELETE FROM audit_events WHERE seq > {seq} AND lane = {lane}`},
		{"reordered", `UPDATE audit_events SET seq = -seq WHERE seq IN ({seq}, {prev});
			UPDATE audit_events SET seq = CASE seq WHEN -{seq} THEN {prev} ELSE {seq} END WHERE seq IN (-{seq}, -{prev})`,
			`UPDATE audit_events SET seq = -seq WHERE seq IN ({seq}, {prev});
			UPDATE audit_events SET seq = CASE seq WHEN -{seq} THEN {prev} ELSE {seq} END WHERE seq IN (-{seq}, -{prev})`},
	}
	sqlFor := strings.NewReplacer("{seq}", fmt.Sprint(seq), "{prev}", fmt.Sprint(prevSeq), "{lane}", fmt.Sprint(lane)).Replace
	for _, tt := range tampers {
		if _, err := db.Exec(ctx, sqlFor(tt.do)); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		res, err := authority.VerifyAudit(ctx, stores[1], key)
		if err != nil {
			t.Fatal(err)
		}
		if res.OK() {
			t.Errorf("an event %s in lane %d was not detected", tt.name, lane)
		} else {
			t.Logf("%s: broken at %d: %s", tt.name, res.Break.Seq, res.Break.Reason)
		}
		if _, err := db.Exec(ctx, sqlFor(tt.undo)); err != nil {
			t.Fatalf("undoing %s: %v", tt.name, err)
		}
		if res, err := authority.VerifyAudit(ctx, stores[1], key); err != nil || !res.OK() {
			t.Fatalf("after undoing %s: %+v %v", tt.name, res, err)
		}
	}
}

// laneUse counts the events of each lane.
func laneUse(ctx context.Context, s *postgres.Store) (map[int]int, error) {
	rows, err := s.Pool().Query(ctx, `SELECT lane, count(*) FROM audit_events GROUP BY lane`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int]int{}
	for rows.Next() {
		var l, n int
		if err := rows.Scan(&l, &n); err != nil {
			return nil, err
		}
		out[l] = n
	}
	return out, rows.Err()
}

// TestLaneTakenAfterACommitGoesOnInTheLogsOrder forces the interleaving
// that once broke a log written from two nodes: a writer starts taking a
// lane and drawing places in the log's order (many of them, so that this
// takes a while), and meanwhile a writer on the other node takes a lane,
// appends and commits. Whichever lanes they end up with, each lane's
// events must be in the log's order. Drawing the places before the lane
// is locked let the first writer take the lane the second had just
// committed to and append after it with an earlier place in the log: the
// log verified as "event missing".
func TestLaneTakenAfterACommitGoesOnInTheLogsOrder(t *testing.T) {
	ctx := t.Context()
	url := freshSchema(t)
	slow, quick := open(t, url), open(t, url)
	key := []byte(strings.Repeat("lane-order-key..", 2))
	const draws = 300_000 // about half a second of nextval

	slowDone := make(chan error, 1)
	go func() {
		slowDone <- slow.UpdateShared(ctx, func(tx botgate.Tx) error {
			head, seqs, err := tx.LockAuditLane(ctx, draws)
			if err != nil {
				return err
			}
			return storetest.AppendAfter(ctx, tx, key, head, seqs[0], &botgate.AuditEvent{Time: time.Now(), ActorName: "slow", Action: botgate.ActionInit})
		})
	}()
	// Wait until the slow writer is drawing.
	for {
		var last int64
		if err := slow.Pool().QueryRow(ctx, `SELECT last_value FROM audit_events_seq`).Scan(&last); err != nil {
			t.Fatal(err)
		}
		if last > 1000 {
			break
		}
		select {
		case err := <-slowDone:
			t.Fatalf("the slow writer finished before the other started: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	err := quick.UpdateShared(ctx, func(tx botgate.Tx) error {
		head, seqs, err := tx.LockAuditLane(ctx, 1)
		if err != nil {
			return err
		}
		return storetest.AppendAfter(ctx, tx, key, head, seqs[0], &botgate.AuditEvent{Time: time.Now(), ActorName: "quick", Action: botgate.ActionInit})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}

	var events []*botgate.AuditEvent
	err = quick.View(ctx, func(tx botgate.Tx) (err error) {
		events, err = tx.FindAudit(ctx, botgate.AuditFilter{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	v := botgate.NewChainVerifier(key)
	for _, e := range events {
		t.Logf("%s: seq %d, lane %d place %d", e.ActorName, e.Seq, e.Lane, e.LaneSeq)
		if brk := v.Add(e); brk != nil {
			t.Fatalf("the log does not verify at %d: %s", brk.Seq, brk.Reason)
		}
	}
	if len(events) != 2 {
		t.Fatalf("%d events, want 2", len(events))
	}
}
