package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Password policy bounds.
const (
	minPasswordLen = 12
	maxPasswordLen = 1024
)

// Argon2id output sizes.
const (
	argonSaltLen = 16
	argonKeyLen  = 32
	argonThreads = 1
)

// errMalformedHash says a stored password hash cannot be read.
var errMalformedHash = errors.New("malformed password hash")

// commonPasswords are the bases of the most used passwords (lower case). A
// password that is one of them, or one of them followed by digits and
// punctuation ("Password2024!"), is refused.
var commonPasswords = map[string]bool{
	"password": true, "passw0rd": true, "p@ssw0rd": true, "p@ssword": true,
	"password1": true, "qwerty": true, "qwertyuiop": true, "qwerty123": true,
	"azerty": true, "azertyuiop": true, "qwertz": true, "qwertzuiop": true,
	"asdfghjkl": true, "zxcvbnm": true, "1q2w3e4r": true, "1q2w3e4r5t": true,
	"iloveyou": true, "admin": true, "administrator": true, "welcome": true,
	"letmein": true, "football": true, "baseball": true, "monkey": true,
	"dragon": true, "sunshine": true, "princess": true, "trustno1": true,
	"abc123": true, "abcdef": true, "master": true, "shadow": true,
	"superman": true, "batman": true, "starwars": true, "whatever": true,
	"changeme": true, "secret": true, "motdepasse": true, "bonjour": true,
	"soleil": true, "doudou": true, "chouchou": true, "loulou": true,
	"marseille": true, "passwort": true, "hallo": true, "contraseña": true,
	"contrasena": true, "senha": true, "avis": true, "test": true,
	"login": true, "hello": true, "freedom": true, "computer": true,
	"internet": true, "michael": true, "jennifer": true, "jordan": true,
	"liverpool": true, "chelsea": true, "arsenal": true, "pokemon": true,
	"minecraft": true, "correcthorsebatterystaple": true,
}

// checkPassword returns nil when the password may be used by the person
// with this (normalised) email, else ErrWeakPassword wrapped with a reason
// the person can act on.
func checkPassword(password, email string) error {
	n := utf8.RuneCountInString(password)
	if n < minPasswordLen {
		return fmt.Errorf("%w: use at least %d characters (a few unrelated words are easy to remember)", ErrWeakPassword, minPasswordLen)
	}
	if len(password) > maxPasswordLen {
		return fmt.Errorf("%w: use at most %d characters", ErrWeakPassword, maxPasswordLen)
	}
	lower := strings.ToLower(password)
	distinct := map[rune]bool{}
	digits := true
	for _, r := range lower {
		distinct[r] = true
		if !unicode.IsDigit(r) {
			digits = false
		}
	}
	if len(distinct) < 5 {
		return fmt.Errorf("%w: it repeats too few different characters; mix more letters, digits or words", ErrWeakPassword)
	}
	if digits {
		return fmt.Errorf("%w: it is only digits, like a date or a phone number; add letters or use a few words", ErrWeakPassword)
	}
	if isSequence(lower) {
		return fmt.Errorf("%w: it is a simple sequence of characters", ErrWeakPassword)
	}
	if local, _, ok := strings.Cut(email, "@"); ok && utf8.RuneCountInString(local) >= 3 &&
		strings.Contains(lower, strings.ToLower(local)) {
		return fmt.Errorf("%w: it contains your email address", ErrWeakPassword)
	}
	base := strings.TrimRightFunc(lower, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
	base = strings.TrimLeftFunc(base, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
	if commonPasswords[lower] || commonPasswords[base] || commonPasswords[strings.ReplaceAll(base, " ", "")] {
		return fmt.Errorf("%w: it is one of the most used passwords, which are tried first", ErrWeakPassword)
	}
	return nil
}

// isSequence reports whether every character follows the one before by
// the same step of -1, 0 or +1 ("abcdefghijkl", "987654321098" is not).
func isSequence(s string) bool {
	rs := []rune(s)
	if len(rs) < 2 {
		return true
	}
	step := rs[1] - rs[0]
	if step < -1 || step > 1 {
		return false
	}
	for i := 2; i < len(rs); i++ {
		if rs[i]-rs[i-1] != step {
			return false
		}
	}
	return true
}

// hashPassword returns the argon2id hash of password in PHC string format:
// $argon2id$v=19$m=65536,t=1,p=1$salt$hash (unpadded standard base64).
func (s *Store) hashPassword(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	if err := s.acquireHash(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, s.o.Argon2Time, s.o.Argon2Memory, argonThreads, argonKeyLen)
	s.releaseHash()
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		s.o.Argon2Memory, s.o.Argon2Time, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// argonParams are the parameters read from a stored hash.
type argonParams struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

func parsePHC(encoded string) (argonParams, error) {
	var p argonParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, errMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, errMalformedHash
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &threads); err != nil {
		return p, errMalformedHash
	}
	// Bounds keep a tampered row from making a login take all memory.
	if p.memory < 8 || p.memory > 1<<20 || p.time < 1 || p.time > 16 || threads < 1 || threads > 16 {
		return p, errMalformedHash
	}
	p.threads = uint8(threads)
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(p.salt) < 8 {
		return p, errMalformedHash
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) < 16 {
		return p, errMalformedHash
	}
	return p, nil
}

// verifyPassword reports whether password matches the PHC hash, and
// whether the hash should be made again with the current parameters.
func (s *Store) verifyPassword(ctx context.Context, encoded, password string) (ok, stale bool, err error) {
	p, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if err := s.acquireHash(ctx); err != nil {
		return false, false, err
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	s.releaseHash()
	ok = subtle.ConstantTimeCompare(key, p.key) == 1
	stale = p.memory != s.o.Argon2Memory || p.time != s.o.Argon2Time || p.threads != argonThreads || len(p.key) != argonKeyLen
	return ok, stale, nil
}

// dummyPasswordHash returns a hash with the current parameters that no
// password matches, to spend the same time on an unknown email as on a
// known one.
func (s *Store) dummyPasswordHash(ctx context.Context) string {
	s.dummyOnce.Do(func() {
		secret := make([]byte, 32)
		_, _ = rand.Read(secret)
		h, err := s.hashPassword(context.WithoutCancel(ctx), base64.RawStdEncoding.EncodeToString(secret))
		if err == nil {
			s.dummyHash = h
		}
	})
	return s.dummyHash
}

func (s *Store) acquireHash(ctx context.Context) error {
	select {
	case s.hashSlots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password hash: %w", ctx.Err())
	}
}

func (s *Store) releaseHash() { <-s.hashSlots }
