package httpapi_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/httpapi"
	"github.com/botgate/botgate/ratelimit"
)

func TestPerUserRateLimit(t *testing.T) {
	var clock *ratelimit.ManualClock
	e := newEnvWith(t, func(c *httpapi.Config) {
		clock = c.Clock.(*ratelimit.ManualClock)
		c.Limiter = ratelimit.NewMemory(clock)
		c.APILimit = botgate.Limit{Rate: 3, Period: time.Minute, Burst: 3}
	})
	// Raw HTTP: client-go would size its own limiter from RateLimit-Limit
	// (3 a minute) and wait between calls.
	u := e.postJSON("POST", "/api/v4/users", e.root, map[string]any{"username": "bot-owner", "name": "b", "email": "b@example.com"}).json(t)
	tok := e.postJSON("POST", "/api/v4/users/"+strconv.Itoa(int(u["id"].(float64)))+"/personal_access_tokens", e.root,
		map[string]any{"name": "other", "scopes": []string{"read_api"}}).json(t)
	other, _ := tok["token"].(string)
	if other == "" {
		t.Fatalf("creating a token: %v", tok)
	}
	e.remember(other)
	clock.Advance(time.Minute) // the setup calls above used the admin's budget

	for i, wantRemaining := range []string{"2", "1", "0"} {
		res := e.do("GET", "/api/v4/personal_access_tokens/self", e.root, "", nil)
		if res.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, res.status, res.body)
		}
		if res.header.Get("RateLimit-Limit") != "3" || res.header.Get("RateLimit-Remaining") != wantRemaining || res.header.Get("RateLimit-Name") != "throttle_authenticated_api" {
			t.Fatalf("request %d headers: %v", i, res.header)
		}
	}
	res := e.do("GET", "/api/v4/personal_access_tokens/self", e.root, "", nil)
	if res.status != http.StatusTooManyRequests || strings.TrimSpace(string(res.body)) != "Retry later" {
		t.Fatalf("over the limit: %d %s", res.status, res.body)
	}
	if ra, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || ra < 1 || ra > 20 {
		t.Fatalf("Retry-After = %q", res.header.Get("Retry-After"))
	}
	// Another user's budget is their own.
	if res := e.do("GET", "/api/v4/personal_access_tokens/self", other, "", nil); res.status != http.StatusOK {
		t.Fatalf("another user is limited too: %d", res.status)
	}
	clock.Advance(20 * time.Second)
	if res := e.do("GET", "/api/v4/personal_access_tokens/self", e.root, "", nil); res.status != http.StatusOK {
		t.Fatalf("after waiting: %d %s", res.status, res.body)
	}
}
