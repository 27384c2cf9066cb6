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

// PostJSON posts body as JSON to the webhook at rawURL, with the event in
// the X-Botgate-Event header, and succeeds on a 2xx answer. Its errors
// never name the URL.
func PostJSON(ctx context.Context, hc *http.Client, rawURL, event string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(b))
	if err != nil {
		return errors.New("the webhook URL is not usable")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "botgate/"+botgate.Version)
	req.Header.Set("X-Botgate-Event", event)
	resp, err := hc.Do(req)
	if err != nil {
		// *url.Error repeats the URL: keep only its cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fmt.Errorf("posting the webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the webhook answered HTTP %d", resp.StatusCode)
	}
	return nil
}
