package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
)

// systemPython is the interpreter Debian's python3-gitlab is installed for.
const systemPython = "/usr/bin/python3"

// TestPythonGitlab runs the main flow with python-gitlab. It is skipped
// only when the system Python cannot import gitlab (install Debian's
// python3-gitlab; CI does).
func TestPythonGitlab(t *testing.T) {
	if err := exec.Command(systemPython, "-c", "import gitlab").Run(); err != nil {
		t.Skipf("python-gitlab is not importable by %s (%v): apt-get install -y python3-gitlab", systemPython, err)
	}
	f := newFixture(t)
	for i := range 4 {
		tok := must[*gitlab.PersonalAccessToken](t)(f.alice.Users.CreatePersonalAccessTokenForCurrentUser(&gitlab.CreatePersonalAccessTokenForCurrentUserOptions{
			Name: gitlab.Ptr(fmt.Sprintf("py-%d", i)), Scopes: &[]string{"read_api"},
		}))
		f.remember(tok.Token)
	}
	all := must[[]*gitlab.PersonalAccessToken](t)(f.alice.PersonalAccessTokens.ListPersonalAccessTokens(nil))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, systemPython, "testdata/python_gitlab_flow.py")
	cmd.Env = append(cmd.Environ(), "BG_URL="+f.srv.URL, "BG_TOKEN="+f.aliceTok, "BG_PROJECT="+f.project.PathWithNamespace, "BG_GROUP="+f.group.FullPath,
		"PYTHONWARNINGS=error::UserWarning")
	stdout, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python-gitlab flow failed: %v\n%s", err, stderr)
	}
	var got struct {
		Secrets   []string `json:"secrets"`
		User      string   `json:"user"`
		PATIDs    []int64  `json:"pat_ids"`
		ProjectID int64    `json:"project_id"`
		Created   struct {
			ID          int64    `json:"id"`
			Scopes      []string `json:"scopes"`
			AccessLevel int      `json:"access_level"`
			Active      bool     `json:"active"`
			UserID      int64    `json:"user_id"`
		} `json:"created"`
		Bot struct {
			Name string `json:"name"`
			Bot  bool   `json:"bot"`
			ID   int64  `json:"id"`
		} `json:"bot"`
		Rotated struct {
			ID     int64 `json:"id"`
			UserID int64 `json:"user_id"`
		} `json:"rotated"`
		OldTokenRefused     bool    `json:"old_token_refused"`
		RotatedUser         int64   `json:"rotated_user"`
		ActiveAfterRotation []int64 `json:"active_after_rotation"`
		ActiveAfterRevoke   []int64 `json:"active_after_revoke"`
		GroupToken          struct {
			ID          int64 `json:"id"`
			UserID      int64 `json:"user_id"`
			MemberLevel int   `json:"member_level"`
		} `json:"group_token"`
		GroupTokensActive []int64 `json:"group_tokens_active"`
		BadInput          string  `json:"bad_input"`
	}
	if err := json.Unmarshal(stdout, &got); err != nil {
		t.Fatalf("python output %q: %v", stdout, err)
	}
	f.remember(got.Secrets...)

	want := make([]int64, len(all))
	for i, p := range all {
		want[i] = p.ID
	}
	slices.Sort(want)
	seen := slices.Clone(got.PATIDs)
	slices.Sort(seen)
	checks := []struct {
		name string
		ok   bool
	}{
		{"authenticated as alice", got.User == "alice"},
		{"Link pagination saw every token once", len(all) == 5 && slices.Equal(seen, want)},
		{"project found by path", got.ProjectID == f.project.ID},
		{"created token", got.Created.AccessLevel == 30 && got.Created.Active && slices.Equal(got.Created.Scopes, []string{"read_api", "read_repository"})},
		{"bot named after the token", got.Bot.Name == "py-bot" && got.Bot.Bot && got.Bot.ID == got.Created.UserID},
		{"rotation keeps the bot", got.Rotated.UserID == got.Created.UserID && got.Rotated.ID != got.Created.ID && got.RotatedUser == got.Created.UserID},
		{"old token refused", got.OldTokenRefused},
		{"only the new token active", slices.Equal(got.ActiveAfterRotation, []int64{got.Rotated.ID})},
		{"revoked", len(got.ActiveAfterRevoke) == 0},
		{"three secrets", len(got.Secrets) == 3},
		{"group bot is a member at the token's level", got.GroupToken.ID != 0 && got.GroupToken.MemberLevel == 20},
		{"group token revoked", len(got.GroupTokensActive) == 0},
		{"bad input", got.BadInput == "400 name is missing"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: python saw %+v", c.name, got)
		}
	}
}
