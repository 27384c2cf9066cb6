// Package workload runs a command as an automation, with no stored token:
// it reads the identity token the platform gave the job (GitLab CI
// id_tokens, GitHub Actions OIDC, a Kubernetes projected service-account
// token), exchanges it at botgate (RFC 8693, see package identity) for a
// minutes-long token of the automation, runs the command with that token
// in its environment, revokes the token when the command exits, and
// reports the command's exit status.
package workload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/identity"
)

// Environment variables the identity token is read from, in the order they
// are tried.
const (
	// EnvIDToken holds the identity token itself: in GitLab CI, name the
	// job's id_tokens entry BOTGATE_ID_TOKEN.
	EnvIDToken = "BOTGATE_ID_TOKEN"
	// EnvIDTokenFile names a file holding it: a Kubernetes projected
	// service-account token (re-read on each run, the kubelet rotates it).
	EnvIDTokenFile = "BOTGATE_ID_TOKEN_FILE"
	// EnvGitHubRequestURL and EnvGitHubRequestToken are set by GitHub
	// Actions in jobs with `permissions: id-token: write`; the token is
	// requested from that URL for the audience.
	EnvGitHubRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	EnvGitHubRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// Variables the command finds the exchanged token in.
const (
	EnvGitLabToken  = "GITLAB_TOKEN"
	EnvBotgateToken = "BOTGATE_TOKEN"
	EnvGitLabURL    = "GITLAB_URL"
)

// maxIdentityToken bounds an identity token read from a file or GitHub.
const maxIdentityToken = 16 << 10

// IdentityToken returns the job's identity token and where it came from,
// trying EnvIDToken, EnvIDTokenFile, then GitHub Actions' token request
// (asking for audience). The error says which variables to set.
func IdentityToken(ctx context.Context, getenv func(string) string, client *http.Client, audience string) (token, source string, err error) {
	if v := strings.TrimSpace(getenv(EnvIDToken)); v != "" {
		return v, EnvIDToken, nil
	}
	if path := getenv(EnvIDTokenFile); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return "", "", botgate.Errorf(botgate.KindInvalid, "%s names %s, which cannot be read: %v", EnvIDTokenFile, path, errors.Unwrap(err))
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, maxIdentityToken))
		if err != nil || strings.TrimSpace(string(b)) == "" {
			return "", "", botgate.Errorf(botgate.KindInvalid, "%s names %s, which holds no token", EnvIDTokenFile, path)
		}
		return strings.TrimSpace(string(b)), EnvIDTokenFile + " (" + path + ")", nil
	}
	if u, bearer := getenv(EnvGitHubRequestURL), getenv(EnvGitHubRequestToken); u != "" && bearer != "" {
		tok, err := gitHubToken(ctx, client, u, bearer, audience)
		return tok, "GitHub Actions", err
	}
	return "", "", botgate.Errorf(botgate.KindUnauthenticated,
		"no identity token: set %s (GitLab CI: `id_tokens: %s: {aud: ...}`), %s (a Kubernetes projected token's path), or run in GitHub Actions with `permissions: id-token: write`",
		EnvIDToken, EnvIDToken, EnvIDTokenFile)
}

// gitHubToken asks GitHub Actions' token service for an identity token for
// audience.
func gitHubToken(ctx context.Context, client *http.Client, rawURL, bearer, audience string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", botgate.Errorf(botgate.KindInvalid, "%s is not a URL", EnvGitHubRequestURL)
	}
	if audience != "" {
		q := u.Query()
		q.Set("audience", audience)
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "bearer "+bearer)
	resp, err := client.Do(req)
	if err != nil {
		return "", botgate.Errorf(botgate.KindInternal, "requesting the GitHub Actions identity token: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		Value string `json:"value"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", botgate.Errorf(botgate.KindUnauthenticated, "GitHub Actions refused the identity token request (%s): does the job have `permissions: id-token: write`?", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxIdentityToken)).Decode(&out); err != nil || out.Value == "" {
		return "", botgate.Errorf(botgate.KindInternal, "GitHub Actions answered the identity token request without a token")
	}
	return out.Value, nil
}

// Exchange trades the identity token for a token of automation at the
// botgate server baseURL, asking for ttl (0: the policy's maximum) and, with
// upstream, for an upstream GitLab token instead of a botgate token. A
// refusal is KindUnauthenticated and carries the server's reason.
func Exchange(ctx context.Context, client *http.Client, baseURL, automation, subject string, ttl time.Duration, upstream bool) (*identity.Response, error) {
	form := url.Values{
		"grant_type":         {identity.GrantTypeTokenExchange},
		"subject_token":      {subject},
		"subject_token_type": {identity.TokenTypeJWT},
		"audience":           {automation},
	}
	if upstream {
		form.Set("requested_token_type", identity.TokenTypeUpstream)
	}
	if ttl > 0 {
		form.Set("expires_in", strconv.Itoa(int(ttl/time.Second)))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+"/api/botgate/v1/identity/token", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, botgate.Invalid("url", "bad botgate URL: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return nil, botgate.Errorf(botgate.KindInternal, "cannot reach botgate at %s: %v", baseURL, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e identity.Error
		if json.Unmarshal(body, &e) == nil && e.Code != "" {
			kind := botgate.KindUnauthenticated
			if e.Code == identity.CodeServerError || e.Code == identity.CodeTemporarilyUnavail {
				kind = botgate.KindInternal
			}
			return nil, botgate.Errorf(kind, "botgate refused the token exchange for %s: %s (%s)", automation, e.Description, e.Code)
		}
		return nil, botgate.Errorf(botgate.KindInternal, "botgate answered the token exchange with %s", resp.Status)
	}
	var out identity.Response
	if err := json.Unmarshal(body, &out); err != nil || out.AccessToken == "" {
		return nil, botgate.Errorf(botgate.KindInternal, "botgate's token exchange answer holds no token")
	}
	return &out, nil
}

// Revoke revokes token at baseURL, a botgate or GitLab (DELETE
// /api/v4/personal_access_tokens/self). A token already revoked or
// expired counts as revoked.
func Revoke(ctx context.Context, client *http.Client, baseURL, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, strings.TrimRight(baseURL, "/")+"/api/v4/personal_access_tokens/self", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Private-Token", token)
	resp, err := client.Do(req)
	if err != nil {
		return botgate.Errorf(botgate.KindInternal, "revoking the token: %v", errors.Unwrap(err))
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent, http.StatusOK, http.StatusUnauthorized:
		return nil
	}
	return botgate.Errorf(botgate.KindInternal, "revoking the token: botgate answered %s", resp.Status)
}

// Config is one run of a command as an automation.
type Config struct {
	// URL is the botgate server's base URL.
	URL string
	// Automation names the automation to act as.
	Automation string
	// Audience is asked of GitHub Actions' token service (the audience the
	// automation's trust policy names); default URL.
	Audience string
	// TTL is the lifetime asked for; 0 takes the policy's maximum.
	TTL time.Duration
	// Upstream asks for a real upstream GitLab token of the automation
	// (minted by botgate's broker for this job) instead of a botgate
	// token; the command then also finds the upstream's URL in GITLAB_URL.
	Upstream bool
	// Command is the program and its arguments.
	Command []string
	// Getenv reads the environment; Environ is the command's base
	// environment (os.Environ()).
	Getenv  func(string) string
	Environ []string
	// HTTPClient talks to botgate and GitHub (default a 30s-timeout one).
	HTTPClient *http.Client
	// Stdin, Stdout and Stderr are the command's; Log receives botgate's
	// own lines (never a token).
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Log            io.Writer
}

// Run exchanges the identity token, runs the command with the token in
// GITLAB_TOKEN and BOTGATE_TOKEN (an upstream token: GITLAB_TOKEN and
// GITLAB_URL), revokes the token when the command ends,
// and returns the command's exit status (128+N for a command killed by
// signal N). The identity token variables are not passed on. When ctx
// ends the command is interrupted, then killed after 10s. err is set only
// when the command could not be run at all.
func Run(ctx context.Context, cfg Config) (int, error) {
	if len(cfg.Command) == 0 {
		return 0, botgate.Invalid("command", "name the command to run after --")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	log := cfg.Log
	if log == nil {
		log = io.Discard
	}
	aud := cfg.Audience
	if aud == "" {
		aud = cfg.URL
	}
	subject, source, err := IdentityToken(ctx, cfg.Getenv, client, aud)
	if err != nil {
		return 0, err
	}
	tok, err := Exchange(ctx, client, cfg.URL, cfg.Automation, subject, cfg.TTL, cfg.Upstream)
	if err != nil {
		return 0, err
	}
	what, revokeAt := fmt.Sprintf("token #%d", tok.TokenID), cfg.URL
	if cfg.Upstream {
		what, revokeAt = fmt.Sprintf("an upstream token of %s (grant #%d)", tok.UpstreamURL, tok.GrantID), tok.UpstreamURL
	}
	fmt.Fprintf(log, "botgate: acting as %s with %s (identity from %s), expires %s\n",
		tok.Automation, what, source, tok.ExpiresAt.UTC().Format(time.RFC3339))
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer cancel()
		if err := Revoke(rctx, client, revokeAt, tok.AccessToken); err != nil {
			fmt.Fprintf(log, "botgate: %s; botgate revokes it at %s anyway\n", botgate.MessageOf(err), tok.ExpiresAt.UTC().Format(time.RFC3339))
			return
		}
		fmt.Fprintf(log, "botgate: revoked %s\n", what)
	}()

	cmd := exec.CommandContext(ctx, cfg.Command[0], cfg.Command[1:]...)
	cmd.Env = childEnv(cfg.Environ, tok)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = cfg.Stdin, cfg.Stdout, cfg.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return exit.ExitCode(), nil
	}
	return 0, botgate.Errorf(botgate.KindInvalid, "cannot run %s: %v", cfg.Command[0], errors.Unwrap(err))
}

// childEnv is base without the identity token variables and any earlier
// token variables, plus the exchanged token: in GITLAB_TOKEN and
// BOTGATE_TOKEN for a botgate token, in GITLAB_TOKEN with the upstream's
// URL in GITLAB_URL for an upstream token.
func childEnv(base []string, tok *identity.Response) []string {
	drop := map[string]bool{EnvIDToken: true, EnvGitHubRequestToken: true,
		EnvGitLabToken: true, EnvBotgateToken: true, EnvGitLabURL: tok.UpstreamURL != ""}
	out := make([]string, 0, len(base)+2)
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] {
			continue
		}
		out = append(out, kv)
	}
	if tok.UpstreamURL != "" {
		return append(out, EnvGitLabToken+"="+tok.AccessToken, EnvGitLabURL+"="+tok.UpstreamURL)
	}
	return append(out, EnvGitLabToken+"="+tok.AccessToken, EnvBotgateToken+"="+tok.AccessToken)
}
