package response

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"fmt"
	"strconv"
)

// sigField is the vault field under which survey forms are signed.
const sigField = "survey_form"

// FormSig signs what a survey form was made for: the link's token (an
// invitation token or a public link's survey and resume token), the page
// shown and the survey version, with a key of the tenant that only the
// server holds. The page carries it in a hidden field, so that a POST that
// this server did not render (a forged cross-site form) is refused without
// any cookie.
func (s *Store) FormSig(ctx context.Context, tenantID, token string, page, version int) (string, error) {
	mac, err := s.vault.BlindIndex(ctx, nil, tenantID, sigField, token+"\x00"+strconv.Itoa(page)+"\x00"+strconv.Itoa(version))
	if err != nil {
		return "", fmt.Errorf("form signature: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(mac[:16]), nil
}

// CheckFormSig reports whether sig is FormSig's signature of token, page
// and version.
func (s *Store) CheckFormSig(ctx context.Context, tenantID, token string, page, version int, sig string) (bool, error) {
	want, err := s.FormSig(ctx, tenantID, token, page, version)
	if err != nil {
		return false, err
	}
	return hmac.Equal([]byte(want), []byte(sig)), nil
}
