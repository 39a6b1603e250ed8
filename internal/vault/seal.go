package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
)

// version is the first byte of every ciphertext the vault makes.
const version byte = 0x01

// nonceSize and tagSize are those of AES-GCM; a sealed value is
// version + nonce + ciphertext + tag.
const (
	nonceSize = 12
	tagSize   = 16
	minSealed = 1 + nonceSize + tagSize
)

// newAEAD returns AES-256-GCM with random nonces under key (32 bytes). The
// AEAD prepends its nonce to what it seals and is safe for concurrent use.
func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: key: %w", err)
	}
	a, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("vault: key: %w", err)
	}
	return a, nil
}

// seal encrypts plaintext under a with additional data ad, in the vault
// format: version, nonce, ciphertext and tag.
func seal(a cipher.AEAD, plaintext, ad []byte) []byte {
	out := make([]byte, 1, 1+a.Overhead()+len(plaintext))
	out[0] = version
	return a.Seal(out, nil, plaintext, ad)
}

// unseal reverses seal. Any failure is ErrCorrupt: the caller adds what was
// being opened.
func unseal(a cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	if !IsSealed(sealed) {
		return nil, ErrCorrupt
	}
	p, err := a.Open(nil, nil, sealed[1:], ad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return p, nil
}

// IsSealed reports whether b has the shape of a vault ciphertext: the
// version byte and at least room for a nonce and a tag. It does not
// authenticate b.
func IsSealed(b []byte) bool {
	return len(b) >= minSealed && b[0] == version
}

// SubjectKey is the data key of one person (subject) in one tenant. It
// seals and opens that person's fields and is safe for concurrent use.
type SubjectKey struct {
	tenantID  string
	subjectID string
	aead      cipher.AEAD
	// adPrefix is tenantID 0x00 subjectID 0x00; the field name follows.
	adPrefix []byte
}

func newSubjectKey(tenantID, subjectID string, key []byte) (*SubjectKey, error) {
	a, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	p := make([]byte, 0, len(tenantID)+len(subjectID)+2)
	p = append(p, tenantID...)
	p = append(p, 0)
	p = append(p, subjectID...)
	p = append(p, 0)
	return &SubjectKey{tenantID: tenantID, subjectID: subjectID, aead: a, adPrefix: p}, nil
}

// TenantID returns the tenant the key belongs to.
func (k *SubjectKey) TenantID() string { return k.tenantID }

// SubjectID returns the person the key belongs to.
func (k *SubjectKey) SubjectID() string { return k.subjectID }

// ad returns the additional data of field: tenant id, subject id and field
// name, so that a ciphertext opens only in the row and column it was made
// for.
func (k *SubjectKey) ad(buf []byte, field string) []byte {
	buf = append(buf[:0], k.adPrefix...)
	return append(buf, field...)
}

// Seal encrypts plaintext for field with AES-256-GCM. The result is 1
// version byte (0x01), a 12-byte random nonce, then ciphertext and tag;
// equal plaintexts give different ciphertexts.
func (k *SubjectKey) Seal(field string, plaintext []byte) []byte {
	var buf [96]byte
	return seal(k.aead, plaintext, k.ad(buf[:0], field))
}

// Open decrypts what Seal made for the same field of the same person. It
// returns an error wrapping ErrCorrupt when sealed was altered, is not a
// vault ciphertext, or belongs to another field, person or tenant.
func (k *SubjectKey) Open(field string, sealed []byte) ([]byte, error) {
	var buf [96]byte
	p, err := unseal(k.aead, sealed, k.ad(buf[:0], field))
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", field, err)
	}
	return p, nil
}

// SealString seals s for field. The empty string seals to nil: empty
// personal fields are stored as NULL.
func (k *SubjectKey) SealString(field, s string) []byte {
	if s == "" {
		return nil
	}
	return k.Seal(field, []byte(s))
}

// OpenString opens what SealString made. A nil or empty value (a NULL
// column) opens to the empty string.
func (k *SubjectKey) OpenString(field string, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	p, err := k.Open(field, sealed)
	if err != nil {
		return "", err
	}
	return string(p), nil
}
