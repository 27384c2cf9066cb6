// Package e2e drives a running botgate, started by the server package on
// loopback with a real SQLite store, with the real GitLab clients teams
// already use: python-gitlab (Debian's python3-gitlab) and @gitbeaker/rest
// (installed here by npm ci from package-lock.json). Each client runs the
// same migration-style script; the tests are in e2e_test.go.
package e2e
