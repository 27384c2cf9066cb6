// Package examples_test checks the deployment files in examples/ with what
// can run here: the systemd unit with systemd-analyze, the Containerfile
// by reading it (no container engine runs in the tests). The nginx and
// Caddy recipes are run for real by gateway/recipes_test.go, botgate.yaml
// is loaded by config/config_test.go.
package examples_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestSystemdUnit(t *testing.T) {
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found (package systemd): the unit is not verified here")
	}
	unit, err := os.ReadFile(filepath.Join("systemd", "botgate.service"))
	if err != nil {
		t.Fatal(err)
	}
	// The unit names /usr/local/bin/botgate; verify wants it to exist.
	dir := t.TempDir()
	exe := filepath.Join(dir, "botgate")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "/usr/local/bin/botgate") {
		t.Fatal("the unit no longer runs /usr/local/bin/botgate: update the test")
	}
	path := filepath.Join(dir, "botgate.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/botgate", exe)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "verify", path).CombinedOutput()
	// verify exits 0 on unknown keys and only says so: any output fails.
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, want := range []string{"ExecReload=/bin/kill -HUP $MAINPID", "BOTGATE_CONFIG=", "--admin-token-file"} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
}

func TestContainerfile(t *testing.T) {
	f, err := os.Open("Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	text := strings.Join(lines, "\n")
	// The build stage's Go is at least go.mod's.
	mod, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	img := regexp.MustCompile(`golang:(\d+\.\d+)`).FindStringSubmatch(text)
	if goVer == nil || img == nil || img[1] < string(goVer[1]) {
		t.Errorf("the build image's Go %v is older than go.mod's %s", img, goVer)
	}
	// Every file copied from the context exists.
	for _, m := range regexp.MustCompile(`(?m)^COPY ([^-\s][^\n]*) \S+$`).FindAllStringSubmatch(text, -1) {
		for _, src := range strings.Fields(m[1]) {
			if src == "." {
				continue
			}
			if _, err := os.Stat(filepath.Join("..", src)); err != nil {
				t.Errorf("COPY %s: %v", src, err)
			}
		}
	}
	// The binary built is the command's package.
	build := regexp.MustCompile(`go build .* (\./\S+)`).FindStringSubmatch(text)
	if build == nil {
		t.Fatal("no go build in the Containerfile")
	}
	if _, err := os.Stat(filepath.Join("..", build[1], "main.go")); err != nil {
		t.Errorf("go build %s: %v", build[1], err)
	}
	for _, want := range []string{"EXPOSE 8080", "BOTGATE_LISTEN=0.0.0.0:8080", "USER nonroot", `CMD ["serve"`} {
		if !strings.Contains(text, want) {
			t.Errorf("the Containerfile lacks %q", want)
		}
	}
}
