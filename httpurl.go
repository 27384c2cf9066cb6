package botgate

import "net/url"

// ParseHTTPURL parses raw as an absolute http or https URL with a host and
// without credentials (user:password@), as every URL botgate is given must
// be: an upstream, a webhook, a notification target, a server to log in to.
// Credentials live in the vault or in credential references, never in a
// URL, where logs and error messages would carry them.
//
// An error is KindInvalid about field. Its message names field and what is
// wrong, and never echoes raw, which may hold a token: in its user
// information, its query or its path.
func ParseHTTPURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	var problem string
	switch {
	case err != nil:
		problem = "it is not a URL" // err quotes raw
	case u.Scheme != "http" && u.Scheme != "https":
		problem = "its scheme is not http or https"
	case u.Hostname() == "":
		problem = "it has no host"
	case u.User != nil:
		problem = "it carries credentials (user:password@)"
	default:
		return u, nil
	}
	return nil, Invalid(field, "%s must be an absolute http(s) URL without credentials: %s", field, problem)
}

// RedactURL is raw as botgate shows a URL that may embed a secret (a chat
// webhook's path, a query's key): the scheme and host, and "/…" for
// whatever path and query follow. An unparsable value shows as "(hidden)".
func RedactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(hidden)"
	}
	out := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		out += "/…"
	}
	return out
}
