package apiclient

import (
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// dateString is a date for JSON, nil when absent.
func dateString(t *gitlab.ISOTime) *string {
	if t == nil || time.Time(*t).IsZero() {
		return nil
	}
	s := t.String()
	return &s
}

// optional returns a pointer to s, or nil when s is empty: an API option
// sent only when it was given a value.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
