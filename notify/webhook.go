package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/botgate/botgate"
)

// Webhook is where and how PostJSON posts: the URL, the event it names in
// the X-Botgate-Event header, and the User-Agent (default
// "botgate/<version>"). The URL may itself be a credential (incoming
// webhook URLs carry one in their path), so no error names it.
type Webhook struct {
	URL       string
	Event     string
	UserAgent string
}

// ErrUnusableURL is PostJSON's error for a URL no request can be made to:
// trying again cannot help.
var ErrUnusableURL = errors.New("the webhook URL is not usable")

// PostJSON posts body as JSON to the webhook and succeeds on a 2xx answer.
// It returns the answer's status code (0 when there was none). Its errors
// never name the URL: ErrUnusableURL, a failure to reach the webhook with
// the cause only, or the status of an answer that is not 2xx. Retrying is
// the caller's choice.
func PostJSON(ctx context.Context, hc *http.Client, h Webhook, body any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(b))
	if err != nil {
		return 0, ErrUnusableURL
	}
	ua := h.UserAgent
	if ua == "" {
		ua = "botgate/" + botgate.Version
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", ua)
	req.Header.Set("X-Botgate-Event", h.Event)
	resp, err := hc.Do(req)
	if err != nil {
		// *url.Error repeats the URL: keep only its cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return 0, fmt.Errorf("posting the webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the webhook answered HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
