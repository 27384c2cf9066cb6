package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/botgate/botgate"
)

// testUsedTokenIDs pins UseTokenID: the first use of an (issuer, jti)
// succeeds, a second before its expiry is KindConflict, the same jti of
// another issuer is a different token, an expired record no longer counts,
// and a View cannot write.
func testUsedTokenIDs(t *testing.T, s botgate.Store) {
	const ok = botgate.KindOther // no error
	ctx := t.Context()
	base := at(0)
	use := func(issuer, jti string, exp, now time.Time) error {
		return s.Update(ctx, func(tx botgate.Tx) error { return tx.UseTokenID(ctx, issuer, jti, exp, now) })
	}
	const gl, k8s = "https://gitlab.example.com", "https://kubernetes.default.svc"
	steps := []struct {
		name        string
		issuer, jti string
		exp, now    time.Duration
		want        botgate.Kind
	}{
		{"First", gl, "job-1", 5 * time.Minute, 0, ok},
		{"Replay", gl, "job-1", 5 * time.Minute, time.Minute, botgate.KindConflict},
		{"OtherIssuer", k8s, "job-1", 5 * time.Minute, time.Minute, ok},
		{"OtherID", gl, "job-2", 5 * time.Minute, time.Minute, ok},
		{"ReplayJustBeforeExpiry", gl, "job-1", 5 * time.Minute, 5*time.Minute - time.Microsecond, botgate.KindConflict},
		{"AfterExpiry", gl, "job-1", 10 * time.Minute, 5 * time.Minute, ok},
		{"ReplayOfRenewed", gl, "job-1", 10 * time.Minute, 6 * time.Minute, botgate.KindConflict},
		{"EmptyJTI", gl, "", 10 * time.Minute, 0, botgate.KindInvalid},
	}
	for _, st := range steps {
		err := use(st.issuer, st.jti, base.Add(st.exp), base.Add(st.now))
		if st.want == ok && err != nil || st.want != ok && !botgate.IsKind(err, st.want) {
			t.Fatalf("%s: UseTokenID(%s, %q) = %v, want kind %v (other: none)", st.name, st.issuer, st.jti, err, st.want)
		}
	}
	err := s.View(ctx, func(tx botgate.Tx) error { return tx.UseTokenID(ctx, gl, "job-3", base.Add(time.Hour), base) })
	if !botgate.IsKind(err, botgate.KindInternal) {
		t.Fatalf("UseTokenID in a View: %v, want KindInternal", err)
	}
}

// testUsedTokenIDRace exchanges one identity token from many goroutines
// (spread over the stores, which share one database): exactly one wins.
func testUsedTokenIDRace(t *testing.T, stores []botgate.Store) {
	exactlyOneWins(t, stores, "exchanges of one jti", func(ctx context.Context, tx botgate.Tx, _ int) error {
		return tx.UseTokenID(ctx, "https://gitlab.example.com", "job-42", at(time.Hour), at(0))
	})
}

// exactlyOneWins runs op in one transaction each of many goroutines at the
// same instant, spread over the stores (which share one database), and
// checks that exactly one succeeds and every other loses with
// KindConflict; what names the attempts in the failure.
func exactlyOneWins(t *testing.T, stores []botgate.Store, what string, op func(ctx context.Context, tx botgate.Tx, i int) error) {
	t.Helper()
	ctx := context.Background()
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = stores[i%len(stores)].Update(ctx, func(tx botgate.Tx) error { return op(ctx, tx, i) })
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !botgate.IsKind(err, botgate.KindConflict):
			t.Errorf("%s, attempt %d: %v, want nil or KindConflict", what, i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d %s succeeded at once, want exactly 1", won, what)
	}
}
