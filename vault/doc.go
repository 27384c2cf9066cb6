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
// # The layers above
//
// This package seals and opens; the rest of the vault lives elsewhere:
//
//   - Storage: the secrets table of every Store backend (botgate.Secret,
//     Tx.CreateSecret, SecretByName, FindSecrets, UpdateSecret — a write
//     conditional on the row's version — and DeleteSecret), holding the
//     sealed encoding and the key id, never key material. The canary is the
//     setting "vault_canary". A new secret's row is inserted first and sealed
//     in the same transaction, since its id is part of the AAD.
//   - Rules and audit: authority.Vault. The owning team's Maintainers and
//     Owners (people), administrators, and the automation token the secret
//     is bound to (by token family, so the binding survives rotation; the
//     token must hold read_secret) read values; members at Reporter and up
//     list metadata. Every read, write, bind, delete and refused attempt is
//     an audit event (secret.read, secret.create, secret.update,
//     secret.bind, secret.delete, secret.read_denied, secret.write_denied)
//     naming the secret by id, owner, name and key id, never its value. A
//     secret that does not open is reported for itself (secret.corrupt, a
//     log line with its id; authority.Vault.Check at start) and the server
//     goes on.
//   - Start: `botgate init` writes the key file and the canary; `botgate
//     serve` loads the keyring (BOTGATE_MASTER_KEY or the key file, plus
//     --old-master-key-file) and calls VerifyMasterKey before listening, so
//     a wrong key stops it with a message naming the expected key id.
//   - Rotation: `botgate vault rotate-master-key --new-key-file F` runs
//     authority.Vault.Rewrap: batches of secrets not under the current
//     key, each rewrapped and written with the conditional update (a lost
//     race is read again and retried), the canary last and only when every
//     secret moved. Servers restarted with the new key current and the old
//     one as --old-master-key-file keep serving throughout. Each master key
//     wraps one data key per secret and per rewrap with a random 96-bit
//     nonce; stay far below 2^32 wraps per key (rotate long before).
//   - Use: httpapi (/api/botgate/v1/secrets), `botgate secret`, the
//     upstream broker (package broker), which keeps minted upstream tokens
//     here, and the gateway, which injects vault: references
//     (broker.VaultCredentials).
package vault
