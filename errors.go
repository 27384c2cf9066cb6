package botgate

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an Error. Kinds are stable: callers (the HTTP edge, the
// CLI) map them to status codes and exit codes.
type Kind uint8

// The error kinds.
const (
	KindOther           Kind = iota // unclassified; treated as internal
	KindInvalid                     // the input is malformed or breaks a rule
	KindNotFound                    // the thing does not exist (or is not visible)
	KindConflict                    // the state changed under the caller, or a duplicate
	KindUnauthenticated             // no, unknown, expired or revoked credential
	KindForbidden                   // authenticated, but not allowed
	KindRateLimited                 // too many requests
	KindInternal                    // a fault on our side; the cause is logged, never shown
)

var kindNames = [...]string{
	KindOther:           "other",
	KindInvalid:         "invalid",
	KindNotFound:        "not found",
	KindConflict:        "conflict",
	KindUnauthenticated: "unauthenticated",
	KindForbidden:       "forbidden",
	KindRateLimited:     "rate limited",
	KindInternal:        "internal",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Reason refines a kind with a stable, machine-readable word, such as
// ReasonTokenExpired. The HTTP edge uses it to pick GitLab's exact body
// and status line.
type Reason string

// Reasons used across packages.
const (
	ReasonTokenRevoked      Reason = "token_revoked"
	ReasonTokenExpired      Reason = "token_expired"
	ReasonTokenMalformed    Reason = "token_malformed"
	ReasonTokenUnknown      Reason = "token_unknown"
	ReasonUserInactive      Reason = "user_inactive"
	ReasonInsufficientScope Reason = "insufficient_scope"
	ReasonFamilyRevoked     Reason = "token_family_revoked"
	ReasonLoopDetected      Reason = "loop_detected"
	// ReasonConcurrentChange is a conflict with a change made at the same
	// time (a token rotated or revoked under the caller).
	ReasonConcurrentChange Reason = "concurrent_change"
	// ReasonNotEmpty is a conflict with what a thing still holds (a group
	// with subgroups or projects).
	ReasonNotEmpty Reason = "not_empty"
	// ReasonNoRoute is a request that no configured route serves.
	ReasonNoRoute Reason = "no_route"
	// ReasonTokenTypeUnsupported is a secret that is no kind of token
	// this instance issues (another GitLab token type, or none).
	ReasonTokenTypeUnsupported Reason = "token_type_unsupported"
	// ReasonUpstream is an error an upstream API answered; the message is
	// the upstream's answer.
	ReasonUpstream Reason = "upstream"
)

// Error is botgate's one error type.
//
// Message is safe to show to the caller, and plain: it carries no HTTP
// status, which the HTTP edge renders from Kind and Reason ("403 Forbidden
// - " and the message). Err is the cause, which may carry internal detail
// and is only logged. Field names the offending input, when there is one.
type Error struct {
	Op      string // the operation, e.g. "authority.CreateProjectToken"
	Kind    Kind
	Reason  Reason
	Field   string
	Message string
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Message != "" {
		b.WriteString(e.Message)
	} else {
		b.WriteString(e.Kind.String())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an Error. Arguments are taken by type: string is the Op,
// Kind the kind, Reason the reason, error the cause.
// Use Errorf or Invalid for the caller-facing message.
func E(args ...any) *Error {
	e := &Error{}
	for _, a := range args {
		switch a := a.(type) {
		case string:
			e.Op = a
		case Kind:
			e.Kind = a
		case Reason:
			e.Reason = a
		case error:
			e.Err = a
		}
	}
	return e
}

// Errorf returns an Error of kind k whose caller-facing message is formatted.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a KindInvalid Error about field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound returns a KindNotFound Error naming the missing thing, e.g.
// NotFound("Project") reads "Project Not Found", as GitLab words it.
func NotFound(thing string) *Error {
	return &Error{Kind: KindNotFound, Message: thing + " Not Found"}
}

// KindOf reports the Kind of the first *Error in err's chain that has one;
// KindInternal for any other non-nil error.
func KindOf(err error) Kind {
	if err == nil {
		return KindOther
	}
	var e *Error
	for errors.As(err, &e) {
		if e.Kind != KindOther {
			return e.Kind
		}
		if e.Err == nil {
			break
		}
		err = e.Err
	}
	return KindInternal
}

// ReasonOf reports the first Reason in err's chain.
func ReasonOf(err error) Reason {
	var e *Error
	for errors.As(err, &e) {
		if e.Reason != "" {
			return e.Reason
		}
		if e.Err == nil {
			break
		}
		err = e.Err
	}
	return ""
}

// MessageOf reports the first caller-facing message in err's chain, or "".
func MessageOf(err error) string {
	var e *Error
	for errors.As(err, &e) {
		if e.Message != "" {
			return e.Message
		}
		if e.Err == nil {
			break
		}
		err = e.Err
	}
	return ""
}

// FieldOf reports the first Field in err's chain, or "".
func FieldOf(err error) string {
	var e *Error
	for errors.As(err, &e) {
		if e.Field != "" {
			return e.Field
		}
		if e.Err == nil {
			break
		}
		err = e.Err
	}
	return ""
}

// IsKind reports whether err is of kind k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }
