package main

import (
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/manifest"
)

// TestDocsGovernanceCI checks the manifest repository's .gitlab-ci.yml in
// docs/governance.md: it parses, every botgate command its jobs run exists
// with the flags given, the automation its jobs act as is declared in the
// docs' manifest with manage_automations alone, plan runs on merge
// requests with --exit-code and only exit status 7 allowed to fail, and
// apply runs on the default branch.
func TestDocsGovernanceCI(t *testing.T) {
	b, err := os.ReadFile("../../docs/governance.md")
	if err != nil {
		t.Fatal(err)
	}
	var m *manifest.Manifest
	var ci map[string]any
	for _, blk := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		switch {
		case strings.HasPrefix(blk[1], "version: 1") && strings.Contains(blk[1], "manage_automations"):
			if m, err = manifest.ParseNamed("docs/governance.md", strings.NewReader(blk[1])); err != nil {
				t.Fatalf("the docs' governance manifest does not parse:\n%v", err)
			}
		case strings.Contains(blk[1], "stages:"):
			if err := yaml.Unmarshal([]byte(blk[1]), &ci); err != nil {
				t.Fatalf("the docs' .gitlab-ci.yml is not YAML: %v", err)
			}
		}
	}
	if m == nil || ci == nil {
		t.Fatal("docs/governance.md lacks the governance manifest or the .gitlab-ci.yml")
	}
	root := newRootCmd(&env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
	ran := map[string]bool{}
	for _, name := range []string{"plan", "apply"} {
		job, ok := ci[name].(map[string]any)
		if !ok {
			t.Fatalf("the .gitlab-ci.yml has no %s job", name)
		}
		scripts, _ := job["script"].([]any)
		for _, line := range scripts {
			args := strings.Fields(line.(string))
			if len(args) == 0 || args[0] != "botgate" {
				t.Errorf("%s: a script line that is not a botgate command: %q", name, line)
				continue
			}
			args = args[1:]
			if args[0] == "exec" {
				i := slices.Index(args, "--")
				if i < 3 || i+2 > len(args) {
					t.Errorf("%s: botgate exec without --automation NAME -- COMMAND: %q", name, line)
					continue
				}
				checkCommand(t, root, args[:i])
				auto := m.Automation(args[2])
				if args[1] != "--automation" || auto == nil {
					t.Errorf("%s: botgate exec acts as %v, which the docs' manifest does not declare", name, args[1:3])
				} else if s := auto.ScopeSet(); len(s) != 1 || !s.Has(botgate.ScopeManageAutomations) || len(auto.Trust) == 0 {
					t.Errorf("the governance automation %s has scopes %v and %d trust policies; want manage_automations alone, and trust", auto.Name, s, len(auto.Trust))
				}
				args = args[i+2:]
			}
			checkCommand(t, root, args)
			ran[name+" "+strings.Join(args, " ")] = true
		}
	}
	plan, apply := ci["plan"].(map[string]any), ci["apply"].(map[string]any)
	if !ran["plan plan -f automations.yaml --exit-code"] {
		t.Errorf("the plan job does not run 'botgate plan -f automations.yaml --exit-code': %v", ran)
	}
	if !strings.Contains(yamlString(plan["rules"]), "merge_request_event") || !strings.Contains(yamlString(plan["allow_failure"]), "7") {
		t.Errorf("the plan job must run on merge requests and allow exit status 7 alone: rules %v, allow_failure %v", plan["rules"], plan["allow_failure"])
	}
	if !strings.Contains(yamlString(apply["rules"]), "$CI_DEFAULT_BRANCH") {
		t.Errorf("the apply job must run on the default branch: %v", apply["rules"])
	}
	if exitChanges != 7 {
		t.Errorf("the docs promise exit status 7 for a plan with changes; exit.go says %d", exitChanges)
	}
}

// checkCommand checks that args name a botgate command and that its flags
// parse.
func checkCommand(t *testing.T, root *cobra.Command, args []string) {
	t.Helper()
	c, rest, err := root.Find(args)
	if err != nil || c == root {
		t.Errorf("botgate %s: no such command (%v)", strings.Join(args, " "), err)
		return
	}
	if err := c.ParseFlags(rest); err != nil {
		t.Errorf("botgate %s: %v", strings.Join(args, " "), err)
	}
}

func yamlString(v any) string {
	b, _ := yaml.Marshal(v)
	return string(b)
}
