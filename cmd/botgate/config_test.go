package main

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/botgate/botgate/internal/testcert"
)

func TestConfigCheckAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "botgate.yaml")
	if err := os.WriteFile(bad, []byte("listen: 127.0.0.1:8080\nlisten_addr: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		out  string // in stdout or the error
	}{
		{"ValidExample", []string{"config", "check", filepath.Join("..", "..", "examples", "botgate.yaml")}, exitOK, "valid"},
		{"UnknownKey", []string{"config", "check", bad}, exitUsage, bad + `:2: listen_addr: unknown key "listen_addr"`},
		{"BadConfigForAnyCommand", []string{"--config", bad, "version"}, exitUsage, "unknown key"},
		{"UnknownCommand", []string{"nosuch"}, exitUsage, `unknown command "nosuch"`},
		{"UnknownSubcommand", []string{"audit", "nosuch"}, exitUsage, `unknown command "nosuch"`},
		{"ExtraArgument", []string{"version", "extra"}, exitUsage, "see 'botgate version --help'"},
		{"Version", []string{"--version"}, exitOK, "botgate "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCmd(t, tc.args...)
			if got := exitCode(err); got != tc.code {
				t.Fatalf("exit %d, want %d (%v)", got, tc.code, err)
			}
			if err != nil {
				out += err.Error()
			}
			if !strings.Contains(out, tc.out) {
				t.Errorf("output %q does not contain %q", out, tc.out)
			}
		})
	}
}

// TestServeReadsConfigFile starts serve with a configuration file whose
// listen address a flag overrides and whose data directory it sets.
func TestServeReadsConfigFile(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	conf := filepath.Join(dir, "botgate.yaml")
	if err := os.WriteFile(conf, []byte("listen: 127.0.0.1:1\ndata_dir: "+data+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, stop := startServe(t, "--config", conf, "--admin-token-file", filepath.Join(dir, "admin.token"))
	if !strings.HasPrefix(addr, "http://127.0.0.1:") || strings.HasSuffix(addr, ":1") {
		t.Errorf("serve listens on %s: the flag --listen should win over the file", addr)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "pepper")); err != nil {
		t.Errorf("the file's data_dir was not used: %v", err)
	}
}

// TestCredentialsFileModeExitsFailure: a credentials file others can read
// is a local problem to fix (exit 1), not an unreachable server (6).
func TestCredentialsFileModeExitsFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "botgate", "credentials.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`{"url":"http://127.0.0.1:1","token":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "XDG_CONFIG_HOME" {
			return dir
		}
		return ""
	}
	err := run(t.Context(), []string{"token", "list"}, getenv, strings.NewReader(""), io.Discard, io.Discard)
	if exitCode(err) != exitFailure || err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("token list with a readable credentials file: exit %d (%v), want %d and the fix", exitCode(err), err, exitFailure)
	}
}

// TestConfigPrecedence: a flag wins over its environment variable, which
// wins over the configuration file, which wins over the default.
func TestConfigPrecedence(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "botgate.yaml")
	if err := os.WriteFile(conf, []byte("listen: 127.0.0.1:7001\nstore: sqlite\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"File", nil, nil, "127.0.0.1:7001"},
		{"EnvOverFile", map[string]string{"BOTGATE_LISTEN": "127.0.0.1:7002"}, nil, "127.0.0.1:7002"},
		{"FlagOverEnv", map[string]string{"BOTGATE_LISTEN": "127.0.0.1:7002"}, []string{"--listen", "127.0.0.1:7003"}, "127.0.0.1:7003"},
		{"ConfigFromEnv", map[string]string{"BOTGATE_CONFIG": conf}, nil, "127.0.0.1:7001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{getenv: func(k string) string { return tc.env[k] }, stdout: io.Discard, stderr: io.Discard}
			var got string
			root := newRootCmd(e)
			serve, _, err := root.Find([]string{"serve"})
			if err != nil {
				t.Fatal(err)
			}
			serve.RunE = func(cmd *cobra.Command, args []string) error {
				got = cmd.Flags().Lookup("listen").Value.String()
				return nil
			}
			args := append([]string{"serve"}, tc.args...)
			if tc.env["BOTGATE_CONFIG"] == "" {
				args = append(args, "--config", conf)
			}
			root.SetArgs(args)
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("listen = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestServeTLSFromConfigFile: tls in botgate.yaml makes serve speak HTTPS
// with that certificate.
func TestServeTLSFromConfigFile(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, cert := testcert.Write(t, dir, "botgate-test")
	conf := filepath.Join(dir, "botgate.yaml")
	if err := os.WriteFile(conf, []byte("tls:\n  cert_file: "+certFile+"\n  key_file: "+keyFile+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, stop := startServe(t, "--config", conf, "--data-dir", filepath.Join(dir, "data"), "--admin-token-file", filepath.Join(dir, "admin.token"))
	defer stop()
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(strings.Replace(base, "http://", "https://", 1) + "/-/health")
	if err != nil {
		t.Fatalf("HTTPS with the configured certificate: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS.PeerCertificates[0].Subject.CommonName != "botgate-test" {
		t.Errorf("status %d, certificate %q", resp.StatusCode, resp.TLS.PeerCertificates[0].Subject.CommonName)
	}
}
