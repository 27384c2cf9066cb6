package cliout

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/apiclient"
)

// SecretFile is where a new token's secret goes: nowhere (it is shown), or
// a file created empty and 0600 before the API call.
type SecretFile struct {
	path string
	f    *os.File
}

// CreateSecretFile creates path for a secret, refusing to overwrite a file;
// an empty path means the secret is to be shown. Its errors are
// KindInvalid.
func CreateSecretFile(path string) (*SecretFile, error) {
	if path == "" {
		return &SecretFile{}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, botgate.Errorf(botgate.KindInvalid, "--token-file %s already exists; refusing to overwrite it", path)
	}
	if err != nil {
		return nil, botgate.Errorf(botgate.KindInvalid, "--token-file: %v", err)
	}
	return &SecretFile{path: path, f: f}, nil
}

// Abort removes the unused file after a failed call.
func (s *SecretFile) Abort() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.path)
	}
}

// Finish ends a create or rotate whose call returned v and err: a failed
// call removes the unused file; a token without a secret is refused (fail,
// a format taking the token's ID, says what to do with it); otherwise the
// secret goes to the file and is cleared from v, which then names the
// file. stored, when not empty, is a file that already holds the secret.
func (s *SecretFile) Finish(v *apiclient.Token, err error, fail, stored string) error {
	if err != nil {
		s.Abort()
		return err
	}
	if v.Token == "" {
		s.Abort()
		return botgate.Errorf(botgate.KindInternal, fail, v.ID)
	}
	if s.f != nil {
		_, err := s.f.WriteString(v.Token + "\n")
		if err == nil {
			err = s.f.Sync()
		}
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			// The token exists; do not lose its secret.
			return botgate.Errorf(botgate.KindInternal,
				"token %d was created but writing %s failed (%v): revoke it with 'botgate token revoke %d'", v.ID, s.path, err, v.ID)
		}
		v.Token, v.TokenFile = "", s.path
	}
	if stored != "" && v.TokenFile == "" {
		v.Token, v.TokenFile = "", stored
	}
	return nil
}

// NewSecret returns the text of a new token: headline, its details, and
// then its secret, shown once, or the file it was written to.
func NewSecret(v apiclient.Token, headline string) func(io.Writer) error {
	return func(w io.Writer) error {
		fmt.Fprintln(w, headline)
		if err := Fields(w, tokenFields(v)); err != nil {
			return err
		}
		if v.TokenFile != "" {
			_, err := fmt.Fprintf(w, "Token written to %s (mode 0600).\n", v.TokenFile)
			return err
		}
		_, err := fmt.Fprintf(w, "Token (shown once, store it now):\n%s\n", v.Token)
		return err
	}
}

// Created is the headline of a token create made for owner.
func Created(o apiclient.TokenOwner, v apiclient.Token) string {
	if kind := o.Kind(); kind == apiclient.KindProject || kind == apiclient.KindGroup {
		return fmt.Sprintf("Created %s access token %d %q for %s; its bot user is %d.", kind, v.ID, v.Name, o, v.UserID)
	}
	return fmt.Sprintf("Created %s token %d %q.", strings.ReplaceAll(o.Kind(), "_", " "), v.ID, v.Name)
}

// Revoked is what a token revoke shows: as JSON, out; as text, the
// sentence. r is the connection the command used, to say when the
// credentials stored by botgate login stopped working.
func Revoked(o apiclient.TokenOwner, ref apiclient.TokenRef, r apiclient.Resolved) (out map[string]any, text func(io.Writer) error) {
	out = map[string]any{"revoked": true, "kind": o.Kind(), "id": ref.ID}
	line := fmt.Sprintf("Revoked token %d.", ref.ID)
	switch kind := o.Kind(); {
	case ref.Self:
		out["id"], line = "self", "Revoked the token in use."
		if r.TokenSource == apiclient.SourceFile {
			line += fmt.Sprintf("\nThe credentials in %s no longer work: run botgate login with another token.", r.File)
		}
	case kind == apiclient.KindProject || kind == apiclient.KindGroup:
		line = fmt.Sprintf("Revoked %s access token %d of %s; its bot user is deactivated.", kind, ref.ID, o)
	}
	return out, Line("%s", line)
}

// Rotated is the headline of a token rotate of ref that returned v;
// stored says the stored credentials now hold the new token.
func Rotated(ref apiclient.TokenRef, v apiclient.Token, stored bool) string {
	s := fmt.Sprintf("Rotated token %s: its successor is token %d %q; the old secret no longer works.", ref, v.ID, v.Name)
	if stored {
		s += " The stored credentials now hold the new token."
	}
	return s
}
