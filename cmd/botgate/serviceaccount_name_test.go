package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/botgate/botgate/apiclient"
)

// TestServiceAccountByName: a service account created with --name and a
// generated username is found by that name where a user is named (member
// add), as by its username or ID.
func TestServiceAccountByName(t *testing.T) {
	srv := startServer(t)
	admin := newSession(t, map[string]string{"BOTGATE_URL": srv.url, "BOTGATE_TOKEN": srv.adminToken})
	admin.ok("group", "create", "--name", "Team A", "--path", "team-a")
	admin.ok("project", "create", "--name", "App", "--path", "app", "--namespace", "team-a")
	sa := decode[apiclient.ServiceAccount](t, admin.ok("service-account", "create", "--group", "team-a", "--name", "release-bot", "-o", "json"))
	if sa.Username == "release-bot" {
		t.Fatalf("the username %q was not generated: the test no longer tests the name", sa.Username)
	}
	m := decode[apiclient.Member](t, admin.ok("member", "add", "release-bot", "--project", "team-a/app", "--access-level", "developer", "-o", "json"))
	if m.ID != sa.ID {
		t.Fatalf("member add release-bot added user %d (%s), want the service account %d", m.ID, m.Username, sa.ID)
	}
	// Two bots of one name: the name is ambiguous, and the error says which.
	other := decode[apiclient.ServiceAccount](t, admin.ok("service-account", "create", "--group", "team-a", "--name", "release-bot", "-o", "json"))
	r := admin.run("member", "add", "release-bot", "--group", "team-a", "--access-level", "developer")
	if r.err == nil || !strings.Contains(r.all(), other.Username) || !strings.Contains(r.all(), sa.Username) {
		t.Fatalf("member add with an ambiguous name: %v", r)
	}
	admin.ok("member", "add", fmt.Sprint(other.ID), "--group", "team-a", "--access-level", "developer")
}
