// Package vault is the encryption core of botgate's vault: master keys, a
// keyring for rotation, envelope encryption of secrets, and the canary that
// proves at start that the master key is the right one. It does no storage,
// HTTP or logging; those layers call it.
//
// # Keys
//
// A master key is 32 random bytes (AES-256), kept outside the database: in
// a file (base64 text, mode 0600, created by GenerateMasterKeyFile during
// `botgate init`) or in the environment variable BOTGATE_MASTER_KEY, which
// wins when set (LoadMasterKeyEnvOrFile). LoadMasterKey refuses a key file
// that group or others may read or write (writing would let them swap in a
// key of their own). Where a secret store mounts files group-readable (a
// Kubernetes Secret volume with fsGroup), pass the key in BOTGATE_MASTER_KEY
// instead. A KeyID (the first 8 bytes of the key's SHA-256, in hex) names a
// key without revealing it.
//
// A Keyring holds the current master key, which seals and rewraps, and old
// keys, which only open. It also holds the random source (crypto/rand.Reader
// in production), so every function below draws randomness from what was
// injected.
//
// # Envelope encryption
//
// Seal encrypts each secret with its own fresh AES-256-GCM data key and a
// random nonce, and wraps the data key with the current master key
// (AES-256-GCM, random nonce). Both layers authenticate the secret's AAD,
//
//	secret:<id>|owner:group:<gid>|name:<name>
//
// and the format version; the wrapping layer also authenticates the master
// key id. So a sealed value copied to another row, owner or name does not
// open, and neither does one whose wrapped key was swapped in from another
// secret. The result, Sealed, is a plain struct with a fixed-layout binary
// encoding (MarshalBinary, ParseSealed) of 97 bytes plus the plaintext.
//
// Open returns distinct, typed errors (*botgate.Error, KindInternal): one
// wrapping ErrKeyNotLoaded that names the missing master key id, and one
// wrapping ErrCorrupt that names the secret. It never returns unauthenticated
// plaintext and never panics on malformed input (FuzzParseSealed).
//
// Rewrap re-wraps a data key under the current master key without touching
// the ciphertext; Rebind re-seals a secret for a new name or owner.
// Data keys and decoded key bytes are zeroed after use; the AES key schedule
// inside crypto/aes cannot be cleared from Go.
//
// # Design for the parts that come next
//
// Storage. One table, in every Store backend (sqlite/, postgres/):
//
//	secrets (
//	  id              INTEGER PRIMARY KEY,        -- the AAD's secret id
//	  owner_group_id  INTEGER NOT NULL REFERENCES groups(id),
//	  name            TEXT NOT NULL,              -- unique per owner
//	  description     TEXT NOT NULL DEFAULT '',
//	  key_id          TEXT NOT NULL,              -- Sealed.KeyID, hex; indexed
//	  sealed          BLOB NOT NULL,              -- Sealed.MarshalBinary()
//	  bound_family_id INTEGER,                    -- Token.FamilyID of the automation token that may read it
//	  bound_automation TEXT NOT NULL DEFAULT '',  -- Token.Automation, for display and checks
//	  created_by      INTEGER NOT NULL,
//	  created_at, updated_at, last_read_at  TIMESTAMP,
//	  version         INTEGER NOT NULL,           -- bumped on every write, for conditional updates
//	  UNIQUE (owner_group_id, name)
//	)
//	vault_meta ( canary BLOB NOT NULL, canary_key_id TEXT NOT NULL )  -- one row
//
// A secret is bound to a token family, not a token id, so the binding
// survives rotation (the new token keeps FamilyID) and ends with family
// revocation. The root package gets a Secret type holding this metadata
// (never the value) and Tx methods along the lines of CreateSecret,
// SecretByID, SecretByName(owner, name), ListSecrets(filter) (metadata only),
// UpdateSealedSecret(id, version, keyID, sealed) (a conditional write that
// reports a lost race as KindConflict), DeleteSecret, SecretsNotUnderKey(keyID,
// afterID, limit) for rotation batches, and VaultCanary / PutVaultCanary.
//
// The id is part of the AAD, so a new secret is sealed after its row id is
// known: insert the row with an empty blob and seal and update inside the
// same transaction (or reserve the id from a sequence first). Key material
// is never a column. Renaming or moving a secret to another team uses
// Rebind in the same transaction as the metadata change.
//
// Reads and audit. Only the owner group's Maintainers and Owners, admins,
// and the bound automation's token holding the read_secret scope may read a
// value; listing returns metadata only (never the blob). Every read, write,
// bind, delete and denied attempt is an audit event (secret.read,
// secret.create, secret.update, secret.bind, secret.delete,
// secret.read_denied) whose details hold the secret id, owner, name and
// key id, never the value. A secret that fails to open (ErrCorrupt) is
// reported for that secret (audit event and log with its id) and does not
// stop the server.
//
// Start. `botgate init` generates the master key file and stores
// NewCanary's result; `botgate serve` loads the keyring (current key from
// BOTGATE_MASTER_KEY or the key file; old keys from repeatable
// --old-master-key-file flags) and calls VerifyMasterKey before serving, so
// a wrong key stops it with a message naming the expected key id.
//
// Rotation (`botgate vault rotate-master-key`). Generate the new key file
// (GenerateMasterKeyFile) and restart or reload with the new key current and
// the old one as an old key; then, online and in batches, for each row whose
// key_id differs from Keyring.Current, Rewrap and store it with a
// conditional update (WHERE id = ? AND version = ?; a lost race is simply
// retried). Rewrap the canary last (RewrapCanary). When no row references
// the old key id, the old key can be dropped. Each master key wraps one data
// key per secret and per rewrap with a random 96-bit nonce; stay far below
// 2^32 wraps per key (rotate long before).
package vault
