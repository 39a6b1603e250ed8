package vault

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeySize is the length of the master key in bytes.
const MasterKeySize = 32

// MasterKeyFileName is the name of the master key file that avis creates in
// its data directory on the very first start.
const MasterKeyFileName = "master.key"

// KeyOptions say where LoadMasterKey looks for the master key.
type KeyOptions struct {
	DataDir    string // avis data directory (master.key lives here when no file/env given)
	KeyFile    string // AVIS_MASTER_KEY_FILE, may be empty
	KeyEnv     string // AVIS_MASTER_KEY value, may be empty
	DataExists bool   // true when the database already holds data
}

// LoadMasterKey returns the 32-byte master key: from KeyEnv (standard
// base64 or 64 hex characters), else from KeyFile, else from
// DataDir/master.key.
//
// When there is no key anywhere and !DataExists it creates DataDir/master.key
// (mode 0600, base64 and a newline) and returns created=true: the caller
// must then tell the operator loudly to back that file up apart from the
// database. When there is no key and DataExists it returns an error wrapping
// ErrNoMasterKey: it never creates a key over existing data. A KeyFile that
// is named but missing is also ErrNoMasterKey (a wrong path must not go
// unnoticed). A value that is not 32 bytes once decoded is an error wrapping
// ErrCorrupt that names its source; no error ever holds key material.
func LoadMasterKey(o KeyOptions) (key []byte, created bool, err error) {
	if strings.TrimSpace(o.KeyEnv) != "" {
		k, err := decodeKey(o.KeyEnv)
		if err != nil {
			return nil, false, fmt.Errorf("vault: AVIS_MASTER_KEY is corrupt: %w: it must hold %d bytes as standard base64 or %d hex characters", ErrCorrupt, MasterKeySize, 2*MasterKeySize)
		}
		return k, false, nil
	}
	if o.KeyFile != "" {
		k, err := readKeyFile(o.KeyFile)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("vault: %w: AVIS_MASTER_KEY_FILE names %s, which does not exist: point it at the backed-up master key file", ErrNoMasterKey, o.KeyFile)
		}
		return k, false, err
	}
	if o.DataDir == "" {
		return nil, false, fmt.Errorf("vault: %w: no data directory, AVIS_MASTER_KEY_FILE or AVIS_MASTER_KEY given", ErrNoMasterKey)
	}
	path := filepath.Join(o.DataDir, MasterKeyFileName)
	k, err := readKeyFile(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if o.DataExists {
		return nil, false, fmt.Errorf("vault: %w: the database holds data but %s does not exist and neither AVIS_MASTER_KEY_FILE nor AVIS_MASTER_KEY is set: set AVIS_MASTER_KEY_FILE to the backed-up master key file (avis never creates a new key over existing data)", ErrNoMasterKey, path)
	}
	k, err = createKeyFile(path)
	if errors.Is(err, fs.ErrExist) {
		// Another avis process created it first: use that one.
		k, err = readKeyFile(path)
		return k, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return k, true, nil
}

// decodeKey decodes a master key written as 64 hex characters or standard
// base64 (with or without padding), around which spaces are ignored.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var k []byte
	var err error
	switch {
	case len(s) == 2*MasterKeySize:
		k, err = hex.DecodeString(s)
	case strings.HasSuffix(s, "="):
		k, err = base64.StdEncoding.DecodeString(s)
	default:
		k, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		// The decoder's message can quote a character of the key: drop it.
		return nil, errors.New("not base64 or hex")
	}
	if len(k) != MasterKeySize {
		return nil, fmt.Errorf("%d bytes, not %d", len(k), MasterKeySize)
	}
	return k, nil
}

// readKeyFile reads and decodes a master key file. A missing file is an
// error wrapping fs.ErrNotExist.
func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("vault: master key file %s: %w", path, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("vault: read master key file %s: %w", path, err)
	}
	k, err := decodeKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("vault: master key file %s is corrupt (%v): %w: it must hold %d bytes as standard base64 or %d hex characters; restore it from the backup", path, err, ErrCorrupt, MasterKeySize, 2*MasterKeySize)
	}
	return k, nil
}

// createKeyFile writes a new random master key to path with mode 0600. It
// fails with an error wrapping fs.ErrExist when the file already exists.
func createKeyFile(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("vault: create data directory for the master key: %w", err)
	}
	k := make([]byte, MasterKeySize)
	rand.Read(k)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vault: create master key file %s: %w", path, err)
	}
	_, err = f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("vault: write master key file %s: %w", path, err)
	}
	return k, nil
}

// KeyID returns the master key id as stored in vault_state: the first 16
// hex characters of HMAC-SHA256(master, "avis master key id"). It names a
// key without revealing it.
func KeyID(master []byte) string {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("avis master key id"))
	return hex.EncodeToString(m.Sum(nil))[:16]
}
