package console_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's headless-capable Chromium, which .ci/run
// installs.
const chromiumPath = "/usr/bin/chromium"

// screenshotDir is where the browser test leaves its screenshots
// (git-ignored), for a person to look at after a run.
const screenshotDir = "testdata/out"

// newBrowser starts headless Chromium with a fresh profile.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		t.Skipf("Chromium is not installed at %s (apt-get install chromium): the browser tests need it", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// run runs the actions, failing the test with what was being done.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text returns the visible text of the element.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, "reading "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// get runs an action that reads a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// shoot takes a full-page screenshot, writes it to screenshotDir and
// checks it is a real picture: a PNG of the page's size with more than a
// handful of colours (not blank).
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	buf := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	b := img.Bounds()
	if b.Dx() < 800 || b.Dy() < 300 {
		t.Errorf("screenshot %s is %dx%d, smaller than the window", name, b.Dx(), b.Dy())
	}
	colours := map[uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[(r>>8)<<16|(g>>8)<<8|bl>>8] = true
		}
	}
	if len(colours) < 8 {
		t.Errorf("screenshot %s looks blank: %d colours", name, len(colours))
	}
}

// signInAs signs in through the form, as a person would.
func signInAs(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	run(t, ctx, "signing in",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#inventory")),
	)
}

func TestBrowser(t *testing.T) {
	ctx := newBrowser(t)
	f := newFixture(t)
	tokenURL := f.base + "/-/console/tokens/" + strconv.FormatInt(f.runnerToken, 10)

	// A team member signs in and sees their team only.
	run(t, ctx, "opening the console", chromedp.Navigate(f.base+"/"), chromedp.WaitVisible(chromedp.CSS("#sign-in")))
	shoot(t, ctx, "sign-in")
	signInAs(t, ctx, f.base, f.member)
	inv := text(t, ctx, "#inventory")
	if !strings.Contains(inv, "runner-releases") || strings.Contains(inv, "pipeline-poller") || strings.Contains(inv, "danger-review") {
		t.Errorf("the runner team member's inventory should list runner-releases only:\n%s", inv)
	}
	if teams := text(t, ctx, "#teams"); !strings.Contains(teams, "gitlab-org/runner") || strings.Contains(teams, "engineering-productivity") {
		t.Errorf("teams shown: %q", teams)
	}
	shoot(t, ctx, "inventory")

	// A form post without the CSRF token is refused, and changes nothing.
	// (The page's CSP forbids fetch, so the test submits a form it adds.)
	get(t, ctx, "posting without CSRF", chromedp.Evaluate[bool](`(() => {
		const f = document.createElement("form");
		f.method = "post";
		f.action = "/-/console/tokens/`+strconv.FormatInt(f.runnerToken, 10)+`/rotate";
		document.body.appendChild(f);
		f.submit();
		return true;
	})()`))
	run(t, ctx, "waiting for the refusal", chromedp.WaitVisible(chromedp.CSS("#error")))
	if msg := text(t, ctx, "#error"); !strings.Contains(msg, "CSRF") || !strings.Contains(text(t, ctx, "h1"), "403") {
		t.Errorf("a form without its CSRF token: got %q", msg)
	}

	// Rotate: the new secret is shown once, and not after a reload.
	run(t, ctx, "rotating",
		chromedp.Navigate(tokenURL),
		chromedp.WaitVisible(chromedp.CSS("#rotate")),
		chromedp.Click(chromedp.CSS("#rotate")),
		chromedp.WaitVisible(chromedp.CSS("#secret")),
	)
	secret := get(t, ctx, "reading the secret", chromedp.Value(chromedp.CSS("#secret")))
	if !strings.HasPrefix(secret, "glpat-") {
		t.Fatalf("the rotated secret shown is %q", secret)
	}
	shoot(t, ctx, "new-secret")
	run(t, ctx, "reloading", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#state")))
	html := get(t, ctx, "reading the page", chromedp.OuterHTML(chromedp.CSS("html")))
	if strings.Contains(html, secret) || strings.Contains(html, "new-secret") {
		t.Error("the new secret is still shown after a reload")
	}
	location := get(t, ctx, "reading the new token's address", chromedp.Location())
	if !strings.Contains(location, "/-/console/tokens/") || strings.HasSuffix(location, "/tokens/"+strconv.FormatInt(f.runnerToken, 10)) {
		t.Errorf("after rotating, the browser is at %s, want the new token's page", location)
	}

	// Revoke the new token, through the confirmation naming the blast
	// radius.
	run(t, ctx, "opening the revoke confirmation", chromedp.Click(chromedp.CSS("#revoke")), chromedp.WaitVisible(chromedp.CSS("#blast")))
	if blast := text(t, ctx, "#blast"); !strings.Contains(blast, "runner-releases") || !strings.Contains(blast, "gitlab-org/runner/gitlab-runner") {
		t.Errorf("the confirmation does not name the automation and its projects:\n%s", blast)
	}
	shoot(t, ctx, "revoke-confirmation")
	run(t, ctx, "revoking", chromedp.Click(chromedp.CSS("#confirm-revoke")), chromedp.WaitVisible(chromedp.CSS("#state")))
	if state := text(t, ctx, "#state"); !strings.HasPrefix(state, "revoked") {
		t.Errorf("after revoking, the token's state is %q", state)
	}

	// Sign out: the session ends.
	run(t, ctx, "signing out", chromedp.Click(chromedp.CSS("#sign-out")), chromedp.WaitVisible(chromedp.CSS("#sign-in")))
	run(t, ctx, "coming back", chromedp.Navigate(f.base+"/-/console/inventory"), chromedp.WaitVisible(chromedp.CSS("#sign-in")))

	// An administrator follows a lint finding to its token.
	signInAs(t, ctx, f.base, f.admin)
	shoot(t, ctx, "inventory-admin")
	run(t, ctx, "opening lint", chromedp.Navigate(f.base+"/-/console/lint"), chromedp.WaitVisible(chromedp.CSS("#findings")))
	if findings := text(t, ctx, "#findings"); !strings.Contains(findings, "hand-made") {
		t.Errorf("lint does not report the undeclared token hand-made:\n%s", findings)
	}
	shoot(t, ctx, "lint")
	run(t, ctx, "following a finding",
		chromedp.Click(`//a[contains(@class,"subject")][contains(., "hand-made")]`),
		chromedp.WaitVisible(chromedp.CSS("#state")))
	if h1 := text(t, ctx, "h1"); !strings.Contains(h1, "hand-made") {
		t.Errorf("the finding led to %q", h1)
	}
	run(t, ctx, "opening charts", chromedp.Navigate(f.base+"/-/console/charts"), chromedp.WaitVisible(chromedp.CSS("#expiry-chart")),
		chromedp.Sleep(300*time.Millisecond))
	shoot(t, ctx, "charts")
	run(t, ctx, "opening audit", chromedp.Navigate(f.base+"/-/console/audit"), chromedp.WaitVisible(chromedp.CSS("#chain")))
	if chain := text(t, ctx, "#chain"); !strings.Contains(chain, "intact") {
		t.Errorf("audit chain status: %q", chain)
	}
	if events := text(t, ctx, "#events"); !strings.Contains(events, "console.sign_in") || !strings.Contains(events, "token.revoke") {
		t.Errorf("the audit trail lacks the console's sign-in and revocation:\n%s", events)
	}
	shoot(t, ctx, "audit")
}
