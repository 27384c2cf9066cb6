package identity_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/botgate/botgate/lint"
	"github.com/botgate/botgate/manifest"
)

// yamlBlocks returns the ```yaml blocks of a Markdown file.
func yamlBlocks(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

// TestDocsWorkloadIdentity checks docs/workload-identity.md: its manifest
// parses and lints without broad-trust findings, and its .gitlab-ci.yml
// and pod spec ask for exactly what the manifest's trust policies admit
// (audience, automation, pipeline source and branch; namespace and
// service account).
func TestDocsWorkloadIdentity(t *testing.T) {
	var m *manifest.Manifest
	var ci, pod map[string]any
	for _, b := range yamlBlocks(t, "../docs/workload-identity.md") {
		switch {
		case strings.HasPrefix(b, "version: 1"):
			var err error
			if m, err = manifest.ParseNamed("docs/workload-identity.md", strings.NewReader(b)); err != nil {
				t.Fatalf("the docs' manifest does not parse:\n%v", err)
			}
		case strings.Contains(b, "id_tokens:"):
			if err := yaml.Unmarshal([]byte(b), &ci); err != nil {
				t.Fatalf("the docs' .gitlab-ci.yml is not YAML: %v", err)
			}
		case strings.Contains(b, "kind: Pod"):
			if err := yaml.Unmarshal([]byte(b), &pod); err != nil {
				t.Fatalf("the docs' pod spec is not YAML: %v", err)
			}
		}
	}
	if m == nil || ci == nil || pod == nil {
		t.Fatal("docs/workload-identity.md lacks the manifest, the .gitlab-ci.yml or the pod spec")
	}
	for _, f := range lint.Run(lint.FromManifest(m, time.Now()), lint.Config{}).Findings {
		if f.RuleID == "BG014" {
			t.Errorf("the docs' manifest has a broad trust policy: %s", f.Message)
		}
	}

	job, _ := ci["scheduled-triage"].(map[string]any)
	aud := dig(job, "id_tokens", "BOTGATE_ID_TOKEN", "aud")
	script := fmt.Sprint(job["script"])
	name := regexp.MustCompile(`botgate exec --automation (\S+) --`).FindStringSubmatch(script)
	if name == nil {
		t.Fatalf("the job's script does not run botgate exec --automation NAME --: %s", script)
	}
	a := m.Automation(name[1])
	if a == nil {
		t.Fatalf("the job acts as %q, which the manifest does not declare", name[1])
	}
	rules := fmt.Sprint(job["rules"])
	admitted := false
	for _, p := range a.TrustPolicies() {
		if p.Claims["project_path"] == "" {
			continue
		}
		admitted = p.Audience == aud &&
			strings.Contains(rules, `$CI_PIPELINE_SOURCE == "`+p.Claims["pipeline_source"]+`"`) &&
			strings.Contains(rules, `$CI_COMMIT_BRANCH == "`+p.Claims["ref"]+`"`)
	}
	if !admitted {
		t.Errorf("no GitLab trust policy of %s admits the job (aud %q, rules %s)", a.Name, aud, rules)
	}

	sa := fmt.Sprintf("system:serviceaccount:%s:%s", dig(pod, "metadata", "namespace"), dig(pod, "spec", "serviceAccountName"))
	podAud := fmt.Sprint(pod["spec"].(map[string]any)["volumes"])
	admitted = false
	for _, p := range a.TrustPolicies() {
		admitted = admitted || p.Claims["sub"] == sa && strings.Contains(podAud, "audience:"+p.Audience)
	}
	if !admitted {
		t.Errorf("no trust policy of %s admits the pod (sub %s, volumes %s)", a.Name, sa, podAud)
	}
}

func dig(v map[string]any, keys ...string) string {
	var cur any = v
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[k]
	}
	return fmt.Sprint(cur)
}
