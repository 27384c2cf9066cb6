package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiclient"
	"github.com/botgate/botgate/cliout"
	"github.com/botgate/botgate/governance"
	"github.com/botgate/botgate/lint"
	"github.com/botgate/botgate/manifest"
)

// Governance runs plan, apply and lint: on the local instance, or through
// a server when one is named (apiclient.ServerGiven decides).
type Governance struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// URL is --url; Offline says the command was pointed at a local
	// instance (--data-dir, --store, --config or their variables).
	URL     string
	Offline bool
	// Open opens the local instance (withVault: and its vault); done
	// closes it.
	Open func(ctx context.Context, withVault bool) (gov *governance.Governor, done func(), err error)
}

// ReadManifest reads and parses the manifest file ("-" for standard
// input) and returns its text too, to send to a server.
func (g Governance) ReadManifest(file string) (*manifest.Manifest, []byte, error) {
	if file == "" {
		return nil, nil, cliout.Usagef("-f FILE is required: the manifest to plan (see examples/automations.yaml)")
	}
	name, r := file, g.Stdin
	if file == "-" {
		name = "<stdin>"
	} else {
		f, err := os.Open(file)
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, manifest.MaxSize+1))
	if err != nil {
		return nil, nil, err
	}
	m, err := manifest.ParseNamed(name, bytes.NewReader(raw))
	return m, raw, err
}

// Server returns the client of the server the command works through, nil
// when it works on the local instance.
func (g Governance) Server() (*apiclient.V1, error) {
	r, ok, err := apiclient.ServerGiven(g.Getenv, g.URL, g.Offline)
	if err != nil {
		if botgate.KindOf(err) == botgate.KindInvalid {
			return nil, cliout.Usagef("%s", botgate.MessageOf(err))
		}
		return nil, cliout.Fail(err)
	}
	if !ok {
		return nil, nil
	}
	c, err := apiclient.NewV1(r, apiclient.Options{})
	return c, cliout.Fail(err)
}

// errPlanChanges is the error of a plan --exit-code that found changes.
var errPlanChanges = fmt.Errorf("the plan has changes (exit status %d, --exit-code)", cliout.ExitChanges)

// Plan shows what apply would change to make the instance match the
// manifest in file. It exits with ExitAuth when the plan holds steps the
// caller may not take, and, with exitOnChanges, ExitChanges when it holds
// changes (prune steps counting only with prune).
func (g Governance) Plan(ctx context.Context, file, output string, exitOnChanges, prune bool) error {
	if err := cliout.Usage(cliout.Check(output)); err != nil {
		return err
	}
	c, err := g.Server()
	if err != nil {
		return err
	}
	var sp *governance.ScopedPlan
	if c != nil {
		_, raw, err := g.ReadManifest(file)
		if err != nil {
			return err
		}
		p, err := c.PlanManifest(ctx, raw, apiclient.ManifestOptions{Prune: prune})
		if err != nil {
			return cliout.Fail(err)
		}
		sp = governance.PlanOf(*p)
		if err := cliout.Show(g.Stdout, output, p, sp.WriteText); err != nil {
			return err
		}
	} else {
		m, _, err := g.ReadManifest(file)
		if err != nil {
			return err
		}
		gov, done, err := g.Open(ctx, false)
		if err != nil {
			return err
		}
		defer done()
		ch, err := gov.Plan(ctx, m)
		if err != nil {
			return err
		}
		if err := cliout.Show(g.Stdout, output, ch, ch.WriteText); err != nil {
			return err
		}
		sp = &governance.ScopedPlan{Changes: ch, All: true}
	}
	if err := sp.RefusedError(); err != nil {
		return cliout.Fail(err)
	}
	if exitOnChanges && sp.Pending(prune) {
		return cliout.Exit(cliout.ExitChanges, errPlanChanges)
	}
	return nil
}

// Apply makes the instance match the manifest in file, locally under the
// instance's apply lock, or through the server.
func (g Governance) Apply(ctx context.Context, file, output string, o apiclient.ManifestOptions) error {
	if err := cliout.Usage(cliout.Check(output)); err != nil {
		return err
	}
	c, err := g.Server()
	if err != nil {
		return err
	}
	if c != nil {
		return g.applyRemote(ctx, c, file, output, o)
	}
	m, _, err := g.ReadManifest(file)
	if err != nil {
		return err
	}
	gov, done, err := g.Open(ctx, true)
	if err != nil {
		return err
	}
	defer done()
	// No other apply may change the instance between this plan and this
	// apply.
	unlock, err := gov.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	ch, err := gov.Plan(ctx, m)
	if err != nil {
		return err
	}
	g.notes(ch, o.Prune)
	res, err := gov.Apply(ctx, ch, governance.ApplyOptions{Prune: o.Prune, ShowSecrets: o.RevealSecrets, Progress: g.Stderr, Manifest: m})
	if output == cliout.JSON {
		if werr := cliout.WriteJSON(g.Stdout, governance.NewApplyJSON(ch, res, err)); werr != nil {
			return werr
		}
		return err
	}
	if werr := res.WriteIssued(g.Stdout); werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("%w (run apply again to resume)", err)
	}
	return res.WriteSummary(g.Stdout)
}

// applyRemote applies the manifest in file through the server c.
func (g Governance) applyRemote(ctx context.Context, c *apiclient.V1, file, output string, o apiclient.ManifestOptions) error {
	_, raw, err := g.ReadManifest(file)
	if err != nil {
		return err
	}
	out, err := c.ApplyManifest(ctx, raw, o)
	if out != nil {
		if output == cliout.JSON {
			if werr := cliout.WriteJSON(g.Stdout, out); werr != nil {
				return werr
			}
		} else {
			g.notes(out.Plan, o.Prune)
			if werr := governance.WriteApplyAnswer(g.Stdout, out, o.Prune); werr != nil {
				return werr
			}
		}
	}
	if err != nil && out != nil && len(out.Tokens) > 0 {
		return cliout.Fail(fmt.Errorf("%w (run apply again to resume)", err))
	}
	return cliout.Fail(err)
}

// notes writes a plan's warnings, and how many prune steps an apply
// without prune skips, to standard error.
func (g Governance) notes(ch *manifest.Changes, prune bool) {
	for _, w := range ch.Warnings {
		fmt.Fprintln(g.Stderr, "warning:", w)
	}
	if !prune {
		if n := len(ch.Actions) - len(ch.WithoutPrune().Actions); n > 0 {
			fmt.Fprintf(g.Stderr, "note: %d prune step(s) skipped; see 'botgate plan' and pass --prune to run them\n", n)
		}
	}
}

// LintRequest is what 'botgate lint' was asked: the flags as given.
type LintRequest struct {
	File, Output, FailOn, Window string
	Config                       lint.Config
	// Disabled are --disable's rule IDs, each comma-separated.
	Disabled []string
}

// Lint checks the instance (through a server, the caller's part of the
// manifest) and exits non-zero when a finding is at or above FailOn.
func (g Governance) Lint(ctx context.Context, in LintRequest) error {
	if err := cliout.Usage(cliout.Check(in.Output, cliout.Text, cliout.JSON, cliout.SARIF)); err != nil {
		return err
	}
	fail, err := lint.ParseSeverity(in.FailOn)
	if err != nil {
		return cliout.Usagef("--fail-on must be error, warning or note, not %q", in.FailOn)
	}
	days, err := manifest.ParseDays(in.Window)
	if err != nil || days <= 0 {
		return cliout.Usagef("--window must be a number of days or weeks such as 30d or 4w, not %q", in.Window)
	}
	cfg := in.Config
	for _, d := range in.Disabled {
		for _, id := range strings.Split(d, ",") {
			cfg.Disabled = append(cfg.Disabled, strings.ToUpper(strings.TrimSpace(id)))
		}
	}
	c, err := g.Server()
	if err != nil {
		return err
	}
	var rep *lint.Report
	if c != nil {
		if in.File == "" {
			return cliout.Usagef("through a server, lint needs -f FILE: the manifest whose part you may see")
		}
		_, raw, err := g.ReadManifest(in.File)
		if err != nil {
			return err
		}
		if rep, err = c.LintManifest(ctx, raw, apiclient.ManifestOptions{Lint: cfg.Query()}); err != nil {
			return cliout.Fail(err)
		}
	} else {
		opts := governance.SnapshotOptions{Window: time.Duration(days) * 24 * time.Hour}
		if in.File != "" {
			if opts.Manifest, _, err = g.ReadManifest(in.File); err != nil {
				return err
			}
		}
		gov, done, err := g.Open(ctx, false)
		if err != nil {
			return err
		}
		defer done()
		if rep, err = gov.Lint(ctx, opts, cfg); err != nil {
			return err
		}
	}
	if err := cliout.ShowReport(g.Stdout, in.Output, rep); err != nil {
		return err
	}
	if code := lint.ExitCode(rep, fail); code != 0 {
		n := rep.Counts()
		return cliout.Exit(code, fmt.Errorf("lint: %d error(s), %d warning(s), %d note(s)", n.Errors, n.Warnings, n.Notes))
	}
	return nil
}
