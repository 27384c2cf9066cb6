package cliout

import (
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/apiwire"
)

// Detail writes v for people: a list as a table, one object as its
// details. v is one of apiclient's or apiwire's views, or a list of them.
func Detail(w io.Writer, v any) error {
	switch v := v.(type) {
	case []apiclient.Token:
		return Tokens(w, v, false)
	case *apiwire.TokenUsage:
		return tokenUsage(w, v)
	case *apiwire.UpstreamCredential:
		return Fields(w, upstreamFields(v))
	}
	if kv := fieldsOf(v); kv != nil {
		return Fields(w, kv)
	}
	if header, rows := rowsOf(v); header != nil {
		return Table(w, header, rows)
	}
	return fmt.Errorf("cliout: no text form for %T", v)
}

// Title names an object in messages, e.g. `group 3 "team-a"`.
func Title(v any) string {
	switch v := v.(type) {
	case apiclient.User:
		return fmt.Sprintf("user %d %q", v.ID, v.Username)
	case apiclient.Group:
		return fmt.Sprintf("group %d %q", v.ID, v.FullPath)
	case apiclient.Project:
		return fmt.Sprintf("project %d %q", v.ID, v.PathWithNamespace)
	case apiclient.ServiceAccount:
		return fmt.Sprintf("service account %d %q", v.ID, v.Username)
	}
	return fmt.Sprint(v)
}

// emptyList turns a nil slice into an empty one, so that JSON shows [].
func emptyList(v any) any {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
		return reflect.MakeSlice(rv.Type(), 0, 0).Interface()
	}
	return v
}

func fieldsOf(v any) [][2]string {
	switch v := v.(type) {
	case apiclient.Token:
		return tokenFields(v)
	case apiclient.User:
		return [][2]string{
			{"ID", fmt.Sprint(v.ID)}, {"Username", v.Username}, {"Name", v.Name}, {"Email", OrDash(v.Email)},
			{"State", v.State}, {"Bot", YesNo(v.Bot)}, {"Admin", YesNo(v.IsAdmin)}, {"Created", FmtTime(v.CreatedAt)},
		}
	case apiclient.Group:
		parent := "-"
		if v.ParentID != 0 {
			parent = fmt.Sprint(v.ParentID)
		}
		return [][2]string{
			{"ID", fmt.Sprint(v.ID)}, {"Name", v.Name}, {"Full path", v.FullPath}, {"Parent", parent},
			{"Description", OrDash(v.Description)}, {"Visibility", OrDash(v.Visibility)},
		}
	case apiclient.Project:
		return [][2]string{
			{"ID", fmt.Sprint(v.ID)}, {"Name", v.Name}, {"Path", v.PathWithNamespace}, {"Namespace", fmt.Sprint(v.NamespaceID)},
			{"Description", OrDash(v.Description)}, {"Visibility", OrDash(v.Visibility)}, {"Created", FmtTime(v.CreatedAt)},
		}
	case apiclient.ServiceAccount:
		return [][2]string{{"ID", fmt.Sprint(v.ID)}, {"Username", v.Username}, {"Name", v.Name}, {"Email", OrDash(v.Email)}}
	}
	return nil
}

// rowsOf is a list's header and rows.
func rowsOf(v any) ([]string, [][]string) {
	switch vs := v.(type) {
	case []apiclient.User:
		return []string{"ID", "USERNAME", "NAME", "STATE", "BOT", "ADMIN"}, rows(vs, func(v apiclient.User) []string {
			return []string{fmt.Sprint(v.ID), v.Username, v.Name, v.State, YesNo(v.Bot), YesNo(v.IsAdmin)}
		})
	case []apiclient.Group:
		return namespaceHeader, rows(vs, func(v apiclient.Group) []string {
			return []string{fmt.Sprint(v.ID), v.FullPath, v.Name, OrDash(v.Visibility)}
		})
	case []apiclient.Project:
		return namespaceHeader, rows(vs, func(v apiclient.Project) []string {
			return []string{fmt.Sprint(v.ID), v.PathWithNamespace, v.Name, OrDash(v.Visibility)}
		})
	case []apiclient.Member:
		return []string{"ID", "USERNAME", "NAME", "ROLE", "STATE", "EXPIRES"}, rows(vs, func(v apiclient.Member) []string {
			return []string{fmt.Sprint(v.ID), v.Username, v.Name, v.Role, v.State, orElse(v.ExpiresAt, "-")}
		})
	case []apiclient.ServiceAccount:
		return []string{"ID", "USERNAME", "NAME"}, rows(vs, func(v apiclient.ServiceAccount) []string {
			return []string{fmt.Sprint(v.ID), v.Username, v.Name}
		})
	case []apiwire.Secret:
		return []string{"ID", "NAME", "BOUND TO", "KEY", "UPDATED", "LAST READ", "DESCRIPTION"}, rows(vs, func(s apiwire.Secret) []string {
			bound := "-"
			if s.BoundFamilyID != nil {
				bound = fmt.Sprintf("family %d (%s)", *s.BoundFamilyID, OrDash(s.BoundAutomation))
			}
			return []string{strconv.FormatInt(s.ID, 10), s.Name, bound, s.KeyID, s.UpdatedAt, orElse(s.LastReadAt, "-"), s.Description}
		})
	case []apiwire.UpstreamCredential:
		return []string{"ID", "AUTOMATION", "KIND", "TARGET", "STATE", "UPSTREAM TOKEN", "EXPIRES", "AUTO", "LAST ERROR"},
			rows(vs, func(c apiwire.UpstreamCredential) []string {
				return []string{strconv.FormatInt(c.ID, 10), c.Automation, c.Kind, c.Target, c.State,
					strconv.FormatInt(c.UpstreamTokenID, 10), orElse(c.ExpiresAt, "-"), strconv.FormatBool(c.AutoRotate), OrDash(c.LastError)}
			})
	}
	return nil, nil
}

var namespaceHeader = []string{"ID", "PATH", "NAME", "VISIBILITY"}

func rows[V any](vs []V, row func(V) []string) [][]string {
	out := make([][]string, 0, len(vs))
	for _, v := range vs {
		out = append(out, row(v))
	}
	return out
}

func tokenFields(v apiclient.Token) [][2]string {
	kv := [][2]string{
		{"ID", fmt.Sprint(v.ID)},
		{"Name", v.Name},
		{"Description", OrDash(v.Description)},
		{"Kind", v.Kind},
		{"Scopes", strings.Join(v.Scopes, ",")},
		{"User", fmt.Sprint(v.UserID)},
	}
	if v.AccessLevel != 0 {
		kv = append(kv, [2]string{"Role", fmt.Sprintf("%s (%d)", apiclient.RoleName(gitlab.AccessLevelValue(v.AccessLevel)), v.AccessLevel)})
	}
	return append(kv,
		[2]string{"State", v.State()},
		[2]string{"Created", FmtTime(v.CreatedAt)},
		[2]string{"Last used", FmtTime(v.LastUsedAt)},
		[2]string{"Expires", orElse(v.ExpiresAt, "never")},
	)
}

// Tokens writes a token list as a table; withRole adds the role of project
// and group tokens.
func Tokens(w io.Writer, vs []apiclient.Token, withRole bool) error {
	header := []string{"ID", "NAME", "SCOPES", "STATE", "EXPIRES", "LAST USED", "USER"}
	if withRole {
		header = append(header, "ROLE")
	}
	return Table(w, header, rows(vs, func(v apiclient.Token) []string {
		r := []string{fmt.Sprint(v.ID), v.Name, strings.Join(v.Scopes, ","), v.State(), orElse(v.ExpiresAt, "never"), FmtTime(v.LastUsedAt), fmt.Sprint(v.UserID)}
		if withRole {
			r = append(r, apiclient.RoleName(gitlab.AccessLevelValue(v.AccessLevel)))
		}
		return r
	}))
}

// tokenUsage writes what the gateway recorded about a token.
func tokenUsage(w io.Writer, u *apiwire.TokenUsage) error {
	err := Fields(w, [][2]string{
		{"token", fmt.Sprintf("%d (%s)", u.TokenID, u.Name)},
		{"automation", OrDash(u.Automation)},
		{"scopes", OrDash(strings.Join(u.Scopes, " "))},
		{"scopes used", OrDash(strings.Join(u.ScopesUsed, " "))},
		{"calls", strconv.FormatInt(u.Calls, 10)},
		{"last used", FmtStamp(u.LastUsedAt)},
		{"addresses", OrDash(strings.Join(u.LastUsedIPs, ", "))},
		{"clients", OrDash(strings.Join(u.UserAgents, ", "))},
	})
	if err != nil {
		return err
	}
	if len(u.Routes) == 0 {
		_, err := fmt.Fprintln(w, "\nNo calls through the gateway recorded.")
		return err
	}
	fmt.Fprintln(w)
	return Table(w, []string{"METHOD", "ROUTE", "SCOPE", "CALLS", "LAST SEEN"}, rows(u.Routes, func(r apiwire.RouteUsage) []string {
		return []string{r.Method, r.Route, OrDash(r.Scope), strconv.FormatInt(r.Count, 10), FmtStamp(&r.LastSeen)}
	}))
}

func upstreamFields(c *apiwire.UpstreamCredential) [][2]string {
	return [][2]string{
		{"id", strconv.FormatInt(c.ID, 10)},
		{"automation", c.Automation},
		{"upstream", c.UpstreamURL},
		{"kind", c.Kind},
		{"target", c.Target},
		{"scopes", strings.Join(c.Scopes, " ")},
		{"state", c.State},
		{"upstream token", strconv.FormatInt(c.UpstreamTokenID, 10)},
		{"expires", orElse(c.ExpiresAt, "-")},
		{"auto rotate", strconv.FormatBool(c.AutoRotate)},
		{"stored as", "vault secret " + c.SecretName},
		{"last error", OrDash(c.LastError)},
	}
}

// OrDash shows an empty value as "-".
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// FmtTime formats a timestamp for tables, in UTC.
func FmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// FmtStamp is FmtTime for an API timestamp; one that does not parse is
// shown as sent.
func FmtStamp(s *string) string {
	if s == nil {
		return "-"
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return *s
	}
	return FmtTime(&t)
}

// orElse shows a missing value as def.
func orElse(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}

// YesNo shows a boolean as yes or no.
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// LoggedIn is the text of a login.
func LoggedIn(r apiclient.LoginResult) func(io.Writer) error {
	return func(w io.Writer) error {
		fmt.Fprintf(w, "Logged in to %s as %s (user %d).\n", r.URL, r.Username, r.UserID)
		if r.TokenID != 0 {
			exp := "never expires"
			if r.ExpiresAt != nil {
				exp = "expires " + *r.ExpiresAt
			}
			fmt.Fprintf(w, "Token %d %q, scopes %s, %s.\n", r.TokenID, r.TokenName, strings.Join(r.Scopes, ","), exp)
		}
		_, err := fmt.Fprintf(w, "Credentials stored in %s (mode 0600).\n", r.CredentialsFile)
		return err
	}
}

// Reissue writes a reissue report as a table, one row per due token, and
// a closing count.
func Reissue(w io.Writer, r *apiwire.ReissueReport) error {
	if len(r.Tokens) == 0 {
		_, err := fmt.Fprintf(w, "No manifest-managed token expires within %s.\n", r.ExpiringWithin)
		return err
	}
	rows := make([][]string, 0, len(r.Tokens))
	for _, t := range r.Tokens {
		result := "reissued"
		switch {
		case r.DryRun:
			result = "due (dry run)"
		case t.Error != "":
			result = "error: " + t.Error
		}
		rows = append(rows, []string{strconv.FormatInt(t.TokenID, 10), t.Automation, t.Team, t.OldExpiresAt,
			FmtStamp(t.NewExpiresAt), OrDash(t.VaultPath), result})
	}
	if err := Table(w, []string{"TOKEN", "AUTOMATION", "TEAM", "OLD EXPIRY", "NEW EXPIRY", "VAULT PATH", "RESULT"}, rows); err != nil {
		return err
	}
	var err error
	switch failed := r.Failed(); {
	case r.DryRun:
		_, err = fmt.Fprintf(w, "%d token(s) due within %s; run without --dry-run to reissue them.\n", len(r.Tokens), r.ExpiringWithin)
	case failed > 0:
		_, err = fmt.Fprintf(w, "%d of %d token(s) reissued; %d failed.\n", len(r.Tokens)-failed, len(r.Tokens), failed)
	default:
		_, err = fmt.Fprintf(w, "%d token(s) reissued; each new secret is in its team's vault.\n", len(r.Tokens))
	}
	return err
}
