package db

import (
	"encoding/base32"
	"fmt"

	"github.com/google/uuid"
)

// idEncoding is Crockford's base32 alphabet in lower case: it sorts like the
// bytes it encodes, so identifiers made later sort later.
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a new identifier: 26 characters, time-ordered (UUIDv7 in
// Crockford base32), 74 random bits, so it cannot be guessed from another.
func NewID() string {
	u, err := uuid.NewV7()
	if err != nil {
		panic(fmt.Sprintf("db: no randomness for identifiers: %v", err))
	}
	return idEncoding.EncodeToString(u[:])
}

// ValidID reports whether s has the shape of an identifier made by NewID.
// It is a cheap guard for ids that come from URLs.
func ValidID(s string) bool {
	if len(s) != 26 {
		return false
	}
	_, err := idEncoding.DecodeString(s)
	return err == nil
}
