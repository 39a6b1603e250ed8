package email

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// KeyKind is the algorithm of a DKIM key.
type KeyKind string

// The DKIM key algorithms.
const (
	// KeyRSA is RSA-2048 with SHA-256 (rsa-sha256): every verifier knows it.
	KeyRSA KeyKind = "rsa"
	// KeyEd25519 is Ed25519 with SHA-256 (ed25519-sha256, RFC 8463): about
	// 50 times cheaper to sign, but not every verifier checks it yet, so it
	// is best published beside an RSA key.
	KeyEd25519 KeyKind = "ed25519"
)

// rsaBits is the size of the RSA keys GenerateDKIMKey makes.
const rsaBits = 2048

// minRSABits is the smallest RSA key ParseDKIMKey accepts (RFC 8301).
const minRSABits = 1024

// DKIMKey is a tenant's signing key and where its public half is published:
// the TXT record <Selector>._domainkey.<Domain>.
type DKIMKey struct {
	// Domain is the signing domain (d=), usually the From domain.
	Domain string
	// Selector names the key under the domain (s=), such as "avis2025".
	Selector string
	// Signer is the private key: *rsa.PrivateKey or ed25519.PrivateKey.
	Signer crypto.Signer
}

// GenerateDKIMKey makes a new private key: RSA-2048 for KeyRSA or "", an
// Ed25519 key for KeyEd25519.
func GenerateDKIMKey(kind KeyKind) (crypto.Signer, error) {
	switch kind {
	case KeyRSA, "":
		k, err := rsa.GenerateKey(rand.Reader, rsaBits)
		if err != nil {
			return nil, fmt.Errorf("email: generate RSA key: %w", err)
		}
		return k, nil
	case KeyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("email: generate Ed25519 key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("email: unknown DKIM key kind %q: use %q or %q", kind, KeyRSA, KeyEd25519)
}

// MarshalDKIMKey returns the private key as a PKCS#8 PEM block ("PRIVATE
// KEY"), for the caller to seal in the vault.
func MarshalDKIMKey(s crypto.Signer) ([]byte, error) {
	if _, err := keyKind(s); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(s)
	if err != nil {
		return nil, fmt.Errorf("email: marshal DKIM key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParseDKIMKey reads a private key from PEM: PKCS#8 ("PRIVATE KEY", RSA or
// Ed25519, as MarshalDKIMKey and `openssl genpkey` write it) or PKCS#1
// ("RSA PRIVATE KEY", as older `openssl genrsa` writes it). RSA keys under
// 1024 bits are refused.
func ParseDKIMKey(pemBytes []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("email: the DKIM key is not PEM: paste the whole block from -----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY-----")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("email: the DKIM key is encrypted with a passphrase: export it without one (openssl pkey -in key.pem -out plain.pem); avis seals it in its vault")
	default:
		return nil, fmt.Errorf("email: the PEM block is a %q, not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("email: read DKIM key: %w", err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("email: a %T cannot be a DKIM key: use RSA or Ed25519", key)
	}
	if _, err := keyKind(s); err != nil {
		return nil, err
	}
	if k, ok := s.(*rsa.PrivateKey); ok {
		if k.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("email: the RSA key has %d bits: DKIM needs at least %d (2048 recommended)", k.N.BitLen(), minRSABits)
		}
		k.Precompute()
	}
	return s, nil
}

// keyKind returns the kind of s, or an error for a key DKIM cannot use.
func keyKind(s crypto.Signer) (KeyKind, error) {
	if s == nil {
		return "", errors.New("email: no DKIM key")
	}
	switch s.Public().(type) {
	case *rsa.PublicKey:
		return KeyRSA, nil
	case ed25519.PublicKey:
		return KeyEd25519, nil
	}
	return "", fmt.Errorf("email: a %T key cannot sign DKIM: use RSA or Ed25519", s.Public())
}

// Validate checks the domain, selector and key.
func (k *DKIMKey) Validate() error {
	if !validDNSName(k.Domain) {
		return errors.New("email: the DKIM domain must be a DNS name such as example.com")
	}
	if !validDNSName(k.Selector) {
		return errors.New("email: the DKIM selector must be letters, digits, '-' and '.', such as avis2025")
	}
	_, err := keyKind(k.Signer)
	return err
}

// DNSRecord returns the TXT record to publish: its name
// (<selector>._domainkey.<domain>) and its value ("v=DKIM1; k=rsa; p=…").
// An RSA value is longer than 255 characters: zone files split it into
// several quoted strings in one record, which most DNS admin panels do by
// themselves.
func (k *DKIMKey) DNSRecord() (name, value string, err error) {
	if err := k.Validate(); err != nil {
		return "", "", err
	}
	name = k.Selector + "._domainkey." + k.Domain
	switch pub := k.Signer.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", "", fmt.Errorf("email: DKIM public key: %w", err)
		}
		return name, "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return name, "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub), nil
	}
	return "", "", errors.New("email: unreachable key type")
}

// signature returns the DKIM-Signature field (with its CRLF) for raw, over
// the header fields named in headers (relaxed/relaxed, SHA-256).
func (k *DKIMKey) signature(raw []byte, headers []string, now time.Time) ([]byte, error) {
	if err := k.Validate(); err != nil {
		return nil, err
	}
	return k.sign(raw, headers, now)
}

// validDNSName reports whether s is a DNS name of letters, digits, '-',
// '_' and dots, without empty labels.
func validDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
