package account

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/vault"
)

// TOTP parameters (RFC 6238 as authenticator apps expect them).
const (
	totpPeriod = 30
	totpSkew   = 1 // one step either side, for clocks a little off
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpState is what the users row holds about a person's second factor.
type totpState struct {
	secret   string // decrypted, "" when none
	enabled  bool
	lastStep int64
}

func (s *Store) totpState(ctx context.Context, userID string) (totpState, error) {
	var (
		st      totpState
		sealed  []byte
		enabled int64
	)
	err := s.d.R.QueryRowContext(ctx, `/* account.Store.totpState */
		SELECT totp_secret_sealed, totp_enabled_at, totp_last_step FROM users WHERE id = $1`, userID).
		Scan(&sealed, &enabled, &st.lastStep)
	if err != nil {
		return st, db.Translate(err)
	}
	st.enabled = enabled != 0
	if len(sealed) == 0 {
		return st, nil
	}
	key, err := s.vault.Lookup(ctx, vault.SystemTenant, userID)
	if err != nil {
		return st, fmt.Errorf("data key: %w", err)
	}
	if st.secret, err = key.OpenString(fieldTOTP, sealed); err != nil {
		return st, fmt.Errorf("open TOTP secret: %w", err)
	}
	return st, nil
}

// BeginTOTP makes a new TOTP secret for the person and stores it, sealed,
// not yet enabled (ConfirmTOTP enables it). It returns the secret (base32,
// for typing in) and the otpauth:// URL (for a QR code), labelled with the
// issuer and the person's email. ErrTOTPEnabled when a second factor is
// already on.
func (s *Store) BeginTOTP(ctx context.Context, userID, issuer string) (string, string, error) {
	st, err := s.totpState(ctx, userID)
	if err != nil {
		return "", "", fmt.Errorf("begin TOTP for user %s: %w", userID, err)
	}
	if st.enabled {
		return "", "", fmt.Errorf("begin TOTP for user %s: %w", userID, ErrTOTPEnabled)
	}
	u, err := s.user(ctx, s.d.R, userID)
	if err != nil {
		return "", "", fmt.Errorf("begin TOTP for user %s: %w", userID, err)
	}
	issuer = strings.TrimSpace(issuer)
	if issuer == "" {
		issuer = "avis"
	}
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: u.Email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, SecretSize: 20,
	})
	if err != nil {
		return "", "", fmt.Errorf("begin TOTP for user %s: %w", userID, err)
	}
	err = s.d.Tx(ctx, func(tx *sql.Tx) error {
		key, err := s.vault.Subject(ctx, tx, vault.SystemTenant, userID)
		if err != nil {
			return fmt.Errorf("data key: %w", err)
		}
		res, err := tx.ExecContext(ctx, `/* account.Store.BeginTOTP */
			UPDATE users SET totp_secret_sealed = $2, totp_last_step = 0
			WHERE id = $1 AND totp_enabled_at = 0`, userID, key.SealString(fieldTOTP, k.Secret()))
		if err != nil {
			return err
		}
		if err := oneRow(res); err != nil {
			return ErrTOTPEnabled // enabled meanwhile
		}
		return nil
	})
	if err != nil {
		return "", "", fmt.Errorf("begin TOTP for user %s: %w", userID, err)
	}
	return k.Secret(), k.URL(), nil
}

// matchStep returns the time step whose code equals code, within the skew
// around now, or -1.
func matchStep(secret, code string, now time.Time) int64 {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != 6 {
		return -1
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return -1
		}
	}
	step := now.Unix() / totpPeriod
	found := int64(-1)
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*totpPeriod, 0), totpOpts)
		if err != nil {
			return -1
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && found < 0 {
			found = step + d
		}
	}
	return found
}

// useCode checks a code against the person's secret and, when it matches a
// step later than the last used, records that step (and with enable, turns
// the second factor on) with the audit entry in one transaction. Wrong
// codes count as failures against the person's throttle counter.
func (s *Store) useCode(ctx context.Context, userID, code string, enable bool) error {
	throttle, err := s.vault.BlindIndex(ctx, nil, vault.SystemTenant, fieldThrottleTOTP, userID)
	if err != nil {
		return fmt.Errorf("throttle key: %w", err)
	}
	keys := []throttleKey{{throttle, s.o.MaxFailures}}
	if err := s.throttled(ctx, keys); err != nil {
		return err
	}
	st, err := s.totpState(ctx, userID)
	if err != nil {
		return err
	}
	if st.secret == "" || st.enabled == enable {
		if enable && st.enabled {
			return ErrTOTPEnabled
		}
		return ErrTOTPNotEnabled
	}
	now := s.now()
	step := matchStep(st.secret, code, now)
	ok := false
	err = s.d.Tx(ctx, func(tx *sql.Tx) error {
		if step >= 0 && step > st.lastStep {
			q := `/* account.Store.useCode */
				UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2 AND totp_enabled_at <> 0`
			args := []any{userID, step}
			if enable {
				q = `/* account.Store.useCode */
					UPDATE users SET totp_last_step = $2, totp_enabled_at = $3
					WHERE id = $1 AND totp_last_step < $2 AND totp_enabled_at = 0`
				args = append(args, db.Stamp(now))
			}
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			ok = n == 1
		}
		if !ok {
			return s.countFailure(ctx, tx, keys)
		}
		if err := s.clearFailures(ctx, tx, throttle); err != nil {
			return err
		}
		if enable {
			return s.audit.Record(ctx, tx, audit.Entry{
				Actor: userActor(userID), Action: "mfa.enable", ObjectKind: "user", ObjectID: userID, SubjectID: userID,
			})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !ok {
		return ErrBadTOTP
	}
	return nil
}

// ConfirmTOTP turns on the second factor begun with BeginTOTP when code is
// right for its secret (ErrBadTOTP otherwise; ErrTOTPNotEnabled when none
// was begun, ErrTOTPEnabled when it is already on). Wrong codes are
// throttled like logins (ErrThrottled).
func (s *Store) ConfirmTOTP(ctx context.Context, userID, code string) error {
	if err := s.useCode(ctx, userID, code, true); err != nil {
		return fmt.Errorf("confirm TOTP for user %s: %w", userID, err)
	}
	return nil
}

// VerifyTOTP checks a one-time code at login. A code is accepted once:
// the same or an earlier time step is refused afterwards (ErrBadTOTP).
// ErrTOTPNotEnabled when the person has no second factor; wrong codes are
// throttled like logins (ErrThrottled).
func (s *Store) VerifyTOTP(ctx context.Context, userID, code string) error {
	if err := s.useCode(ctx, userID, code, false); err != nil {
		return fmt.Errorf("verify TOTP for user %s: %w", userID, err)
	}
	return nil
}

// DisableTOTP turns off and forgets the person's second factor (pending or
// enabled). db.ErrNotFound for an unknown person.
func (s *Store) DisableTOTP(ctx context.Context, actor audit.Actor, userID string) error {
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `/* account.Store.DisableTOTP */
			UPDATE users SET totp_secret_sealed = NULL, totp_enabled_at = 0, totp_last_step = 0
			WHERE id = $1`, userID)
		if err != nil {
			return err
		}
		if err := oneRow(res); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			Actor: actor, Action: "mfa.disable", ObjectKind: "user", ObjectID: userID, SubjectID: userID,
		})
	})
	if err != nil {
		return fmt.Errorf("disable TOTP for user %s: %w", userID, err)
	}
	return nil
}
