package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/vault"
)

// Vault fields of the keyed hashes that name throttle counters. They are
// blind indexes under vault.SystemTenant: the email or the address cannot
// be read back from login_throttle.
const (
	fieldThrottleAccount = "throttle.account"
	fieldThrottleIP      = "throttle.ip"
	fieldThrottleTOTP    = "throttle.totp"
)

// throttleKey is one counter of failures and its limit.
type throttleKey struct {
	hash  []byte
	limit int
}

// clientPrefix returns the client address as counted: IPv4 addresses whole,
// IPv6 addresses by their /64 (one subscriber's block). It returns "" for
// an empty address and the trimmed text for one that does not parse.
func clientPrefix(clientIP string) string {
	ip := strings.TrimSpace(clientIP)
	if ip == "" {
		return ""
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(ip)
		if err2 != nil {
			return strings.ToLower(ip)
		}
		a = ap.Addr()
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// throttleKeys returns the counters an attempt counts against: the account
// (a keyed hash of the normalised email) and, when known, the client
// address (a keyed hash of it).
func (s *Store) throttleKeys(ctx context.Context, email, clientIP string) ([]throttleKey, error) {
	acct, err := s.vault.BlindIndex(ctx, nil, vault.SystemTenant, fieldThrottleAccount, email)
	if err != nil {
		return nil, fmt.Errorf("throttle key: %w", err)
	}
	keys := []throttleKey{{acct, s.o.MaxFailures}}
	if p := clientPrefix(clientIP); p != "" {
		ip, err := s.vault.BlindIndex(ctx, nil, vault.SystemTenant, fieldThrottleIP, p)
		if err != nil {
			return nil, fmt.Errorf("throttle key: %w", err)
		}
		keys = append(keys, throttleKey{ip, s.o.MaxIPFailures})
	}
	return keys, nil
}

// throttled returns a *ThrottleError when any of the counters is locked
// now, else nil.
func (s *Store) throttled(ctx context.Context, keys []throttleKey) error {
	now := db.Stamp(s.now())
	var wait int64
	for _, k := range keys {
		var until int64
		err := s.d.R.QueryRowContext(ctx, `/* account.Store.throttled */
			SELECT locked_until FROM login_throttle WHERE key_hash = $1`, k.hash).Scan(&until)
		if err != nil {
			if err = db.Translate(err); errors.Is(err, db.ErrNotFound) {
				continue
			}
			return fmt.Errorf("read login throttle: %w", err)
		}
		if until > now && until-now > wait {
			wait = until - now
		}
	}
	if wait > 0 {
		return &ThrottleError{RetryAfter: time.Duration(wait) * time.Microsecond}
	}
	return nil
}

// countFailure adds a failure to each counter inside tx and locks those
// that reach their limit. A counter whose window or lock has passed starts
// again from one.
func (s *Store) countFailure(ctx context.Context, tx *sql.Tx, keys []throttleKey) error {
	now := s.now()
	n := db.Stamp(now)
	windowStart := db.Stamp(now.Add(-s.o.Window))
	lockUntil := db.Stamp(now.Add(s.o.Lockout))
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `/* account.Store.countFailure */
			INSERT INTO login_throttle (key_hash, failures, window_start, locked_until)
			VALUES ($1, 0, $2, 0) ON CONFLICT (key_hash) DO NOTHING`, k.hash, n); err != nil {
			return err
		}
		var failures int
		// One UPDATE both counts and locks the row (on PostgreSQL until
		// the commit), so concurrent failures are all counted.
		err := tx.QueryRowContext(ctx, `/* account.Store.countFailure */
			UPDATE login_throttle SET
				failures = CASE WHEN window_start <= $2 OR (locked_until > 0 AND locked_until <= $3)
					THEN 1 ELSE failures + 1 END,
				window_start = CASE WHEN window_start <= $2 OR (locked_until > 0 AND locked_until <= $3)
					THEN $3 ELSE window_start END,
				locked_until = CASE WHEN locked_until > 0 AND locked_until <= $3
					THEN 0 ELSE locked_until END
			WHERE key_hash = $1
			RETURNING failures`, k.hash, windowStart, n).Scan(&failures)
		if err != nil {
			return err
		}
		if failures >= k.limit {
			if _, err := tx.ExecContext(ctx, `/* account.Store.countFailure */
				UPDATE login_throttle SET locked_until = $2 WHERE key_hash = $1 AND locked_until < $2`,
				k.hash, lockUntil); err != nil {
				return err
			}
		}
	}
	return nil
}

// clearFailures forgets the failures of a counter after a success.
func (s *Store) clearFailures(ctx context.Context, tx *sql.Tx, key []byte) error {
	_, err := tx.ExecContext(ctx, `/* account.Store.clearFailures */
		DELETE FROM login_throttle WHERE key_hash = $1 AND locked_until <= $2`, key, db.Stamp(s.now()))
	return err
}

// Authenticate checks an email and a password. Unknown emails and wrong
// passwords both give ErrBadCredentials after the same work. Failures are
// counted per account and per client address (as keyed hashes, never in
// clear); after Options.MaxFailures (per account) or MaxIPFailures (per
// address) within Window, attempts give a *ThrottleError (ErrThrottled),
// even with the right password, until Lockout has passed. A disabled
// person cannot log in. Each attempt is audited in the chain outside any
// tenant ("login.ok", "login.fail", "login.throttled") with ids only.
func (s *Store) Authenticate(ctx context.Context, email, password, clientIP string) (User, error) {
	norm, err := NormaliseEmail(email)
	if err != nil {
		// Not an address: nothing to look up, but the same answer.
		norm = strings.ToLower(strings.TrimSpace(email))
	}
	keys, err := s.throttleKeys(ctx, norm, clientIP)
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	if err := s.throttled(ctx, keys); err != nil {
		var te *ThrottleError
		if !errors.As(err, &te) {
			return User{}, fmt.Errorf("authenticate: %w", err)
		}
		if aerr := s.audit.Record(ctx, nil, audit.Entry{
			Actor: audit.Actor{Kind: audit.ActorPublic}, Action: "login.throttled", ObjectKind: "user",
		}); aerr != nil {
			return User{}, fmt.Errorf("authenticate: %w", aerr)
		}
		return User{}, err
	}

	var (
		id, hash string
		disabled int64
	)
	bidx, err := s.emailIndex(ctx, nil, norm)
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	err = s.d.R.QueryRowContext(ctx, `/* account.Store.Authenticate */
		SELECT id, password_hash, disabled_at FROM users WHERE email_bidx = $1`, bidx).Scan(&id, &hash, &disabled)
	if err != nil {
		if err = db.Translate(err); !errors.Is(err, db.ErrNotFound) {
			return User{}, fmt.Errorf("authenticate: %w", err)
		}
		id = ""
	}
	ok, stale := false, false
	if id == "" {
		_, _, _ = s.verifyPassword(ctx, s.dummyPasswordHash(ctx), password)
	} else {
		ok, stale, err = s.verifyPassword(ctx, hash, password)
		if err != nil && !errors.Is(err, errMalformedHash) {
			return User{}, fmt.Errorf("authenticate: %w", err)
		}
		ok = ok && err == nil && disabled == 0
	}
	if !ok {
		err := s.d.Tx(ctx, func(tx *sql.Tx) error {
			if err := s.countFailure(ctx, tx, keys); err != nil {
				return err
			}
			return s.audit.Record(ctx, tx, audit.Entry{
				Actor: audit.Actor{Kind: audit.ActorPublic}, Action: "login.fail",
				ObjectKind: "user", ObjectID: id, SubjectID: id,
			})
		})
		if err != nil {
			return User{}, fmt.Errorf("authenticate: %w", err)
		}
		return User{}, ErrBadCredentials
	}

	var rehash string
	if stale {
		// The parameters were raised since: store a hash made with them.
		rehash, _ = s.hashPassword(ctx, password)
	}
	err = s.d.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.clearFailures(ctx, tx, keys[0].hash); err != nil {
			return err
		}
		if rehash != "" {
			if _, err := tx.ExecContext(ctx, `/* account.Store.Authenticate */
				UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash = $3`, id, rehash, hash); err != nil {
				return err
			}
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			Actor: userActor(id), Action: "login.ok", ObjectKind: "user", ObjectID: id, SubjectID: id,
		})
	})
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	u, err := s.user(ctx, s.d.R, id)
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	return u, nil
}
