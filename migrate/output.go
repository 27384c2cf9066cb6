package migrate

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/manifest"
)

func (p *Proposal) header() string {
	return fmt.Sprintf(`Proposed by botgate migrate from %d requests of a shared bot
(%s to %s): one automation, and one token, per client.
Review before applying: owners are all %s until you assign each
automation to the team that answers for it.`,
		p.Requests, p.From.UTC().Format(time.RFC3339), p.To.UTC().Format(time.RFC3339), p.Owner)
}

func (p *Proposal) encode(w io.Writer, m *manifest.Manifest) error {
	notes := map[string]string{}
	for _, c := range p.Clients {
		if c.Skipped == "" {
			notes[c.Name] = strings.Join(c.Why, "\n")
		}
	}
	return manifest.Encode(w, m, p.header(), notes)
}

// WriteManifest writes the proposed manifest as YAML, with a comment above
// each automation saying why it looks the way it does.
func (p *Proposal) WriteManifest(w io.Writer) error { return p.encode(w, p.Manifest) }

// WriteReport writes, for people, what was grouped and why: per client its
// user agents, sources, calls, targets, routes and the proposed automation.
func (p *Proposal) WriteReport(w io.Writer) error {
	var b strings.Builder
	proposed := 0
	for _, c := range p.Clients {
		if c.Skipped == "" {
			proposed++
		}
	}
	fmt.Fprintf(&b, "Migration plan: %d requests from %s to %s, %d clients, %d automations proposed (owner %s).\n",
		p.Requests, p.From.UTC().Format(time.RFC3339), p.To.UTC().Format(time.RFC3339), len(p.Clients), proposed, p.Owner)
	for _, c := range p.Clients {
		b.WriteString("\n")
		if c.Skipped != "" {
			fmt.Fprintf(&b, "%s  not proposed: %s\n", c.Name, c.Skipped)
		} else {
			what := fmt.Sprintf("%s on %s", c.Kind, c.Target)
			if c.Kind == manifest.KindServiceAccount {
				what = fmt.Sprintf("service_account %s on %d projects, %d groups", c.ServiceAccount, len(c.Projects), len(c.Groups))
			}
			fmt.Fprintf(&b, "%s  %s, scopes %s, %s, %s\n", c.Name, what, c.Scopes, manifest.LevelName(c.Level), c.RateLimit)
		}
		fmt.Fprintf(&b, "  user agents: %s\n", strings.Join(c.UserAgents, ", "))
		src := "any"
		if c.Source != "" {
			src = c.Source
		}
		addrs := "addresses"
		if c.Addresses == 1 {
			addrs = "address"
		}
		fmt.Fprintf(&b, "  source:      %s (%d %s)\n", src, c.Addresses, addrs)
		fmt.Fprintf(&b, "  calls:       %d (%d failed), %s to %s, peak %d/min\n", c.Requests, c.Failed,
			c.First.UTC().Format(time.RFC3339), c.Last.UTC().Format(time.RFC3339), c.PeakPerMinute)
		if len(c.Projects) > 0 {
			fmt.Fprintf(&b, "  projects:    %s\n", strings.Join(c.Projects, ", "))
		}
		if len(c.Groups) > 0 {
			fmt.Fprintf(&b, "  groups:      %s\n", strings.Join(c.Groups, ", "))
		}
		b.WriteString("  why:\n")
		for _, y := range c.Why {
			fmt.Fprintf(&b, "    - %s\n", y)
		}
		b.WriteString("  routes:\n")
		for _, r := range c.Routes {
			fmt.Fprintf(&b, "    %-6s %-60s %6d  %s\n", r.Method, r.Route, r.Calls, r.Scope)
		}
	}
	if len(p.SharedTokens) > 0 {
		b.WriteString("\nOnce every client runs on its own token, revoke what they shared:\n")
		for _, t := range p.SharedTokens {
			switch {
			case t.ID != 0 && t.User != "":
				fmt.Fprintf(&b, "  token #%d of user %s (%d requests)\n", t.ID, t.User, t.Requests)
			case t.ID != 0:
				fmt.Fprintf(&b, "  token #%d (%d requests)\n", t.ID, t.Requests)
			default:
				fmt.Fprintf(&b, "  the tokens of user %s (%d requests)\n", t.User, t.Requests)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the proposal (clients and reasons) as indented JSON.
func (p *Proposal) WriteJSON(w io.Writer) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return botgate.E("migrate.WriteJSON", botgate.KindInternal, err)
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// ReportWriter is the writer of the grouping report for a file named
// name: JSON when the name ends in .json, else text.
func (p *Proposal) ReportWriter(name string) func(io.Writer) error {
	if strings.HasSuffix(name, ".json") {
		return p.WriteJSON
	}
	return p.WriteReport
}
