package sqlite_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/sqlite"
	"github.com/botgate/botgate/storetest"
)

// crashEnv names the database the crash child writes to; the child test
// does nothing without it.
const crashEnv = "BOTGATE_SQLITE_CRASH_CHILD_DB"

// crashKey keys the audit chain the crash child writes.
var crashKey = []byte("crash test audit key")

// crashAcks is how many acknowledged transactions the parent waits for
// before it kills the child.
const crashAcks = 300

func crashDigest(i int) []byte {
	d := sha256.Sum256(fmt.Appendf(nil, "crash token %d", i))
	return d[:]
}

// TestCrashChild is the child side of TestCrashLosesNoCommittedWrite: it
// writes until it is killed, printing one line per committed transaction
// after Update returns.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("runs only as the child of TestCrashLosesNoCommittedWrite")
	}
	ctx := t.Context()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := 0; i < 1_000_000; i++ {
		var u botgate.User
		var tk botgate.Token
		var e botgate.AuditEvent
		err := s.Update(ctx, func(tx botgate.Tx) error {
			u = botgate.User{Username: fmt.Sprintf("crash-%d", i), Name: fmt.Sprintf("Crash %d", i),
				Kind: botgate.ServiceAccount, State: botgate.UserActive, CreatedAt: time.Now()}
			if err := tx.CreateUser(ctx, &u); err != nil {
				return err
			}
			tk = botgate.Token{UserID: u.ID, Kind: botgate.ServiceAccountToken, Name: fmt.Sprintf("token %d", i),
				Scopes: botgate.Scopes{botgate.ScopeReadAPI}, Digest: crashDigest(i), CreatedAt: time.Now()}
			if err := tx.CreateToken(ctx, &tk); err != nil {
				return err
			}
			e = botgate.AuditEvent{Time: time.Now(), ActorID: u.ID, Action: botgate.ActionTokenCreate,
				TargetType: "token", TargetID: tk.ID, Details: map[string]string{"i": fmt.Sprint(i)}}
			return appendCrashEvent(ctx, tx, &e)
		})
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		// Acknowledge only after the commit returned.
		fmt.Fprintf(out, "ack %d %d %d %d\n", i, u.ID, tk.ID, e.Seq)
		out.Flush()
	}
}

type crashAck struct {
	i               int
	userID, tokenID int64
	seq             int64
}

func TestCrashLosesNoCommittedWrite(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("this is the child")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acks []crashAck
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var a crashAck
		if _, err := fmt.Sscanf(sc.Text(), "ack %d %d %d %d", &a.i, &a.userID, &a.tokenID, &a.seq); err != nil {
			continue // the test framework's own output
		}
		acks = append(acks, a)
		if len(acks) == crashAcks && !killed {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	waitErr := cmd.Wait()
	if !killed {
		t.Fatalf("the child stopped by itself after %d acknowledgements: %v", len(acks), waitErr)
	}
	if ws, ok := cmd.ProcessState.Sys().(interface{ Signaled() bool }); ok && !ws.Signaled() {
		t.Fatalf("the child was not killed by a signal: %v", cmd.ProcessState)
	}
	t.Logf("child killed after %d acknowledged transactions", len(acks))

	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := raw.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	raw.Close()

	s := openTemp(t, path)
	view(t, s, func(tx botgate.Tx) error {
		for _, a := range acks {
			u, err := tx.User(t.Context(), a.userID)
			if err != nil {
				t.Fatalf("acknowledged user of write %d: %v", a.i, err)
			}
			if u.Username != fmt.Sprintf("crash-%d", a.i) || u.Name != fmt.Sprintf("Crash %d", a.i) {
				t.Errorf("write %d: user %+v", a.i, u)
			}
			tk, err := tx.TokenByDigest(t.Context(), crashDigest(a.i))
			if err != nil {
				t.Fatalf("acknowledged token of write %d: %v", a.i, err)
			}
			if tk.ID != a.tokenID || tk.UserID != a.userID || tk.Name != fmt.Sprintf("token %d", a.i) || tk.FamilyID != tk.ID {
				t.Errorf("write %d: token %+v", a.i, tk)
			}
		}
		_, users, err := tx.FindUsers(t.Context(), botgate.UserFilter{})
		if err != nil {
			return err
		}
		// At most one transaction committed without its acknowledgement
		// being read; none may be half-written.
		if users < len(acks) || users > len(acks)+1 {
			t.Errorf("%d users for %d acknowledged writes", users, len(acks))
		}
		_, tokens, err := tx.FindTokens(t.Context(), botgate.TokenFilter{})
		if err != nil {
			return err
		}
		events, err := tx.FindAudit(t.Context(), botgate.AuditFilter{})
		if err != nil {
			return err
		}
		if tokens != users || len(events) != users {
			t.Errorf("%d users, %d tokens, %d audit events: a transaction was half-written", users, tokens, len(events))
		}
		if _, brk := botgate.VerifyChain(crashKey, botgate.AuditHead{}, events); brk != nil {
			t.Errorf("audit chain breaks at %d: %s", brk.Seq, brk.Reason)
		}
		for _, a := range acks {
			if a.seq < 1 || a.seq > int64(len(events)) || events[a.seq-1].Details["i"] != fmt.Sprint(a.i) {
				t.Errorf("acknowledged audit event %d of write %d is missing", a.seq, a.i)
			}
		}
		return nil
	})

	// The chain goes on from the recovered head.
	err = s.Update(t.Context(), func(tx botgate.Tx) error {
		return appendCrashEvent(t.Context(), tx, &botgate.AuditEvent{Time: time.Now(), Action: botgate.ActionInit})
	})
	if err != nil {
		t.Fatalf("appending after recovery: %v", err)
	}
	view(t, s, func(tx botgate.Tx) error {
		events, err := tx.FindAudit(t.Context(), botgate.AuditFilter{})
		if err != nil {
			return err
		}
		if _, brk := botgate.VerifyChain(crashKey, botgate.AuditHead{}, events); brk != nil {
			t.Errorf("audit chain after recovery breaks at %d: %s", brk.Seq, brk.Reason)
		}
		return nil
	})
}

func view(t *testing.T, s botgate.Store, fn func(tx botgate.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// appendCrashEvent seals e on the lane the transaction takes, appends it
// and moves the lane's head.
func appendCrashEvent(ctx context.Context, tx botgate.Tx, e *botgate.AuditEvent) error {
	head, seqs, err := tx.LockAuditLane(ctx, 1)
	if err != nil {
		return err
	}
	return storetest.AppendAfter(ctx, tx, crashKey, head, seqs[0], e)
}
