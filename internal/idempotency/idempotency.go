// Package idempotency keeps the first answer to an API request sent with
// an Idempotency-Key, per API key, for 24 hours: a retry with the same key
// and the same request gets that answer again and the work is not done
// twice; the same key with a different request is refused; a retry while
// the first request still runs is told to wait.
//
// The Idempotency-Key is stored only as a hash, and the answer is sealed
// (AES-256-GCM) with a key derived from the Idempotency-Key and the API
// key's id: the database alone cannot read it.
package idempotency

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"avis/internal/db"
)

// TTL is how long an answer is kept and replayed.
const TTL = 24 * time.Hour

// Stale is how long a request may run before another with its key may take
// it over (the first one's process died).
const Stale = 10 * time.Minute

// MaxKey is the longest Idempotency-Key accepted, in bytes.
const MaxKey = 255

// State is what Begin found.
type State int

// States of a key.
const (
	// Fresh: the caller runs the request, then calls Finish or Abort.
	Fresh State = iota
	// Running: a request with this key is still running.
	Running
	// Done: the first answer is in the Answer returned.
	Done
)

// Answer is a stored answer.
type Answer struct {
	Status      int    `json:"status"`
	ContentType string `json:"content_type,omitempty"`
	Location    string `json:"location,omitempty"`
	Body        []byte `json:"body"`
	// RequestHash is the hash of the request that got this answer.
	RequestHash []byte `json:"-"`
}

// Ref names one Idempotency-Key of one API key.
type Ref struct {
	TenantID, APIKeyID, Key string
}

func (r Ref) keyHash() []byte {
	h := sha256.New()
	h.Write([]byte("avis idempotency key\x00" + r.APIKeyID + "\x00" + r.Key))
	return h.Sum(nil)
}

func (r Ref) aead() (cipher.AEAD, error) {
	k := sha256.Sum256([]byte("avis idempotency answer\x00" + r.APIKeyID + "\x00" + r.Key))
	b, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// ValidKey reports whether k can be an Idempotency-Key: 1 to MaxKey
// printable ASCII characters.
func ValidKey(k string) bool {
	if k == "" || len(k) > MaxKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// Store keeps idempotency records.
type Store struct {
	db  *db.DB
	now func() time.Time
}

// New returns the store of the database d.
func New(d *db.DB) *Store { return &Store{db: d, now: time.Now} }

// Begin claims the key for a new request (Fresh), or reports that a request
// with it runs (Running) or is done (Done, with its answer). A record
// older than TTL counts as absent, and one left running longer than Stale
// is taken over.
func (s *Store) Begin(ctx context.Context, ref Ref) (State, Answer, error) {
	kh := ref.keyHash()
	now := s.now()
	var state State
	var ans Answer
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `/* idempotency.Store.Begin */ INSERT INTO api_idempotency
			(tenant_id, api_key_id, key_hash, status, created_at) VALUES ($1, $2, $3, 0, $4)
			ON CONFLICT (tenant_id, api_key_id, key_hash) DO NOTHING`, ref.TenantID, ref.APIKeyID, kh, db.Stamp(now))
		if err != nil {
			return db.Translate(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			state = Fresh
			return nil
		}
		var status, created int64
		var reqHash, sealed []byte
		err = tx.QueryRowContext(ctx, `/* idempotency.Store.Begin */ SELECT status, request_hash, answer_ciphertext, created_at
			FROM api_idempotency WHERE tenant_id = $1 AND api_key_id = $2 AND key_hash = $3`,
			ref.TenantID, ref.APIKeyID, kh).Scan(&status, &reqHash, &sealed, &created)
		if err != nil {
			return db.Translate(err)
		}
		age := now.Sub(db.Time(created))
		if age > TTL || (status == 0 && age > Stale) {
			if _, err := tx.ExecContext(ctx, `/* idempotency.Store.Begin */ UPDATE api_idempotency
				SET status = 0, request_hash = NULL, answer_ciphertext = NULL, created_at = $4
				WHERE tenant_id = $1 AND api_key_id = $2 AND key_hash = $3`, ref.TenantID, ref.APIKeyID, kh, db.Stamp(now)); err != nil {
				return db.Translate(err)
			}
			state = Fresh
			return nil
		}
		if status == 0 {
			state = Running
			return nil
		}
		a, err := ref.aead()
		if err != nil {
			return err
		}
		ns := a.NonceSize()
		if len(sealed) < ns {
			return errors.New("stored answer is too short")
		}
		plain, err := a.Open(nil, sealed[:ns], sealed[ns:], kh)
		if err != nil {
			return fmt.Errorf("open stored answer: %w", err)
		}
		if err := json.Unmarshal(plain, &ans); err != nil {
			return fmt.Errorf("stored answer: %w", err)
		}
		ans.RequestHash = reqHash
		state = Done
		return nil
	})
	if err != nil {
		return 0, Answer{}, fmt.Errorf("idempotency: begin: %w", err)
	}
	return state, ans, nil
}

// Same reports whether a request hash is the one the answer was given to.
func (a Answer) Same(requestHash []byte) bool {
	return subtle.ConstantTimeCompare(a.RequestHash, requestHash) == 1
}

// Finish stores the answer to the request that Begin let run.
func (s *Store) Finish(ctx context.Context, ref Ref, requestHash []byte, ans Answer) error {
	if ans.Status <= 0 {
		return errors.New("idempotency: finish: no status")
	}
	plain, err := json.Marshal(ans)
	if err != nil {
		return fmt.Errorf("idempotency: finish: %w", err)
	}
	a, err := ref.aead()
	if err != nil {
		return fmt.Errorf("idempotency: finish: %w", err)
	}
	kh := ref.keyHash()
	nonce := make([]byte, a.NonceSize())
	rand.Read(nonce)
	sealed := a.Seal(nonce, nonce, plain, kh)
	_, err = s.db.W.ExecContext(ctx, `/* idempotency.Store.Finish */ UPDATE api_idempotency
		SET status = $4, request_hash = $5, answer_ciphertext = $6
		WHERE tenant_id = $1 AND api_key_id = $2 AND key_hash = $3 AND status = 0`,
		ref.TenantID, ref.APIKeyID, kh, int64(ans.Status), requestHash, sealed)
	if err != nil {
		return fmt.Errorf("idempotency: finish: %w", db.Translate(err))
	}
	return nil
}

// Abort forgets a request that Begin let run and whose answer is not to
// be replayed (a server error): a retry runs it again.
func (s *Store) Abort(ctx context.Context, ref Ref) error {
	_, err := s.db.W.ExecContext(ctx, `/* idempotency.Store.Abort */ DELETE FROM api_idempotency
		WHERE tenant_id = $1 AND api_key_id = $2 AND key_hash = $3 AND status = 0`, ref.TenantID, ref.APIKeyID, ref.keyHash())
	if err != nil {
		return fmt.Errorf("idempotency: abort: %w", db.Translate(err))
	}
	return nil
}

// Purge deletes the records older than TTL and returns how many.
func (s *Store) Purge(ctx context.Context) (int64, error) {
	res, err := s.db.W.ExecContext(ctx, `/* idempotency.Store.Purge */ DELETE FROM api_idempotency WHERE created_at < $1`,
		db.Stamp(s.now().Add(-TTL)))
	if err != nil {
		return 0, fmt.Errorf("idempotency: purge: %w", db.Translate(err))
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// SetClock replaces the clock (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }
