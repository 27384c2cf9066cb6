package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botgate/botgate"
)

func TestKeyIDIsSHA256Prefix(t *testing.T) {
	raw := bytes.Repeat([]byte{0x5a}, KeySize)
	k, err := NewMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if got, want := k.ID().String(), hex.EncodeToString(sum[:8]); got != want {
		t.Errorf("ID = %s, want %s", got, want)
	}
	other := newKey(t)
	if other.ID() == k.ID() {
		t.Errorf("two different keys share id %s", k.ID())
	}
}

func TestKeyIDText(t *testing.T) {
	k := newKey(t)
	text, err := k.ID().MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var back KeyID
	if err := back.UnmarshalText(text); err != nil {
		t.Fatal(err)
	}
	if back != k.ID() {
		t.Errorf("round trip = %s, want %s", back, k.ID())
	}
	for _, tc := range []struct{ name, in string }{
		{"empty", ""},
		{"short", "abcd"},
		{"long", strings.Repeat("a", 18)},
		{"not hex", "zzzzzzzzzzzzzzzz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKeyID(tc.in)
			wantErr(t, err, botgate.KindInvalid, nil, "16 hex digits")
		})
	}
}

func TestMasterKeyNeverPrintsKeyMaterial(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, KeySize)
	k, err := NewMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(raw)
	kr := newKeyring(t, k)
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		out := fmt.Sprintf(format, k) + fmt.Sprintf(format, *k) + fmt.Sprintf(format, kr) + fmt.Sprintf(format, *kr)
		if strings.Contains(out, b64) || strings.Contains(out, hex.EncodeToString(raw)) || strings.Contains(out, "abababab") {
			t.Errorf("fmt %s prints key material: %s", format, out)
		}
		if !strings.Contains(out, k.ID().String()) && format != "%x" {
			t.Errorf("fmt %s = %q, want it to name the key id", format, out)
		}
	}
}

func TestNewMasterKeyCopiesAndDestroyZeroes(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, KeySize)
	k, err := NewMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	clear(raw)
	kr := newKeyring(t, k)
	s, err := Seal(kr, []byte("value"), testAAD)
	if err != nil {
		t.Fatalf("Seal after clearing the caller's buffer: %v", err)
	}
	inner := k.key
	k.Destroy()
	if !bytes.Equal(inner, make([]byte, KeySize)) {
		t.Errorf("Destroy left key bytes %x", inner)
	}
	_, err = Open(kr, s, testAAD)
	wantErr(t, err, botgate.KindInternal, nil, "destroyed")
	_, err = Seal(kr, []byte("value"), testAAD)
	wantErr(t, err, botgate.KindInternal, nil, "destroyed")
}

func TestNewMasterKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			_, err := NewMasterKey(make([]byte, n))
			wantErr(t, err, botgate.KindInvalid, nil, "32 bytes")
		})
	}
}

func writeFile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	// WriteFile's mode is subject to the umask; set it exactly.
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadMasterKeyContent(t *testing.T) {
	raw := bytes.Repeat([]byte{0x42}, KeySize)
	good := base64.StdEncoding.EncodeToString(raw)
	want, err := NewMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		content string
		ok      bool
		msg     string
	}{
		{"padded with newline", good + "\n", true, ""},
		{"padded, no newline", good, true, ""},
		{"spaces and CRLF", "  " + good + "\r\n", true, ""},
		{"unpadded", strings.TrimRight(good, "="), true, ""},
		{"empty", "", false, "decodes to 0 bytes"},
		{"not base64", "this is not a key at all!!!!", false, "not valid base64"},
		{"16 bytes", base64.StdEncoding.EncodeToString(raw[:16]), false, "decodes to 16 bytes"},
		{"64 bytes", base64.StdEncoding.EncodeToString(append(raw, raw...)), false, "decodes to 64 bytes"},
		{"url alphabet", base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, KeySize)), false, "not valid base64"},
		{"huge", strings.Repeat("A", maxKeyFileSize+10), false, "too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.content, 0o600)
			k, err := LoadMasterKey(path)
			if tc.ok {
				if err != nil {
					t.Fatalf("LoadMasterKey: %v", err)
				}
				if k.ID() != want.ID() {
					t.Errorf("ID = %s, want %s", k.ID(), want.ID())
				}
				return
			}
			wantErr(t, err, botgate.KindInvalid, nil, tc.msg)
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			if len(tc.content) > 8 && strings.Contains(err.Error(), tc.content[:8]) {
				t.Errorf("error %q shows the file's content", err)
			}
		})
	}
}

func TestLoadMasterKeyPermissions(t *testing.T) {
	content := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize)) + "\n"
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true},
		{0o700, true},
		{0o640, false},
		{0o644, false},
		{0o604, false},
		{0o620, false},
		{0o602, false},
		{0o666, false},
	} {
		t.Run(fmt.Sprintf("%04o", tc.mode), func(t *testing.T) {
			path := writeFile(t, content, tc.mode)
			_, err := LoadMasterKey(path)
			if tc.ok {
				if err != nil {
					t.Fatalf("LoadMasterKey: %v", err)
				}
				return
			}
			wantErr(t, err, botgate.KindInvalid, nil, path, fmt.Sprintf("mode %04o", tc.mode), "group or others", "chmod 600")
		})
	}
}

func TestLoadMasterKeyNotAFile(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nope.key")
		_, err := LoadMasterKey(path)
		wantErr(t, err, botgate.KindNotFound, os.ErrNotExist, path, "botgate init")
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		_, err := LoadMasterKey(dir)
		wantErr(t, err, botgate.KindInvalid, nil, "not a regular file")
	})
}

func TestGenerateMasterKeyFile(t *testing.T) {
	raw := make([]byte, KeySize)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "master.key")
	k, err := GenerateMasterKeyFile(path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode = %04o, want 0600", perm)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(raw) + "\n"; string(content) != want {
		t.Errorf("content = %q, want %q", content, want)
	}
	fromRaw, err := NewMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if k.ID() != fromRaw.ID() || loaded.ID() != fromRaw.ID() {
		t.Errorf("ids: generated %s, loaded %s, want %s", k.ID(), loaded.ID(), fromRaw.ID())
	}

	t.Run("refuses to overwrite", func(t *testing.T) {
		_, err := GenerateMasterKeyFile(path, bytes.NewReader(bytes.Repeat([]byte{9}, KeySize)))
		wantErr(t, err, botgate.KindConflict, os.ErrExist, "already exists", path)
		after, rerr := os.ReadFile(path)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if !bytes.Equal(after, content) {
			t.Errorf("existing key file changed to %q", after)
		}
	})
	t.Run("short randomness leaves no file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "master.key")
		_, err := GenerateMasterKeyFile(p, bytes.NewReader(make([]byte, 10)))
		wantErr(t, err, botgate.KindInternal, nil)
		if _, serr := os.Stat(p); !os.IsNotExist(serr) {
			t.Errorf("Stat after failure: %v, want not exist", serr)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "no", "such", "dir", "master.key")
		_, err := GenerateMasterKeyFile(p, bytes.NewReader(raw))
		wantErr(t, err, botgate.KindInternal, nil)
	})
}

func TestParseMasterKeyEnv(t *testing.T) {
	raw := bytes.Repeat([]byte{0x33}, KeySize)
	good := base64.StdEncoding.EncodeToString(raw)
	fileKeyRaw := bytes.Repeat([]byte{0x44}, KeySize)
	filePath := writeFile(t, base64.StdEncoding.EncodeToString(fileKeyRaw)+"\n", 0o600)
	envKey, _ := NewMasterKey(raw)
	fileKey, _ := NewMasterKey(fileKeyRaw)

	for _, tc := range []struct {
		name   string
		env    map[string]string
		path   string
		wantID KeyID
		kind   botgate.Kind
	}{
		{"env wins over file", map[string]string{EnvMasterKey: good}, filePath, envKey.ID(), 0},
		{"env with newline", map[string]string{EnvMasterKey: good + "\n"}, filePath, envKey.ID(), 0},
		{"file when env unset", nil, filePath, fileKey.ID(), 0},
		{"file when env empty", map[string]string{EnvMasterKey: ""}, filePath, fileKey.ID(), 0},
		{"bad env value", map[string]string{EnvMasterKey: "c2hvcnQ="}, filePath, KeyID{}, botgate.KindInvalid},
		{"no env, no file", nil, filepath.Join(t.TempDir(), "x"), KeyID{}, botgate.KindNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			k, err := LoadMasterKeyEnvOrFile(getenv, tc.path)
			if tc.kind != 0 {
				wantErr(t, err, tc.kind, nil)
				if v := tc.env[EnvMasterKey]; v != "" && strings.Contains(err.Error(), v) {
					t.Errorf("error %q shows the env value", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.ID() != tc.wantID {
				t.Errorf("ID = %s, want %s", k.ID(), tc.wantID)
			}
		})
	}
	t.Run("error names the variable", func(t *testing.T) {
		_, err := ParseMasterKey("not base64 ###")
		if err == nil || !strings.Contains(err.Error(), EnvMasterKey) {
			t.Errorf("err = %v, want it to name %s", err, EnvMasterKey)
		}
	})
}
