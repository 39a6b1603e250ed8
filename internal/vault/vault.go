// Package vault keeps personal data unreadable at rest. A master key wraps
// one key per tenant; each tenant key wraps one random data key per person
// (subject); fields are sealed with AES-256-GCM under the subject key, with
// additional data that binds tenant, subject and field name. Blind indexes
// (keyed HMAC-SHA256, per tenant) let stores find rows by a personal value
// without storing it in clear. Erasure destroys the subject key
// (crypto-shredding): whatever was sealed with it, in the database, a backup
// or an export, can no longer be read.
//
// Keys are cached in memory: tenant keys until RotateMaster, subject keys
// for at most a minute (see Vault), so that an erasure made by another avis
// process takes effect here within a minute.
package vault

import (
	"bytes"
	"container/list"
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"

	"avis/internal/db"
)

// SystemTenant is the vault scope of people who log in (users are not in a
// tenant). It is not a row of the tenants table.
const SystemTenant = "_system"

// Sentinel errors; test them with errors.Is.
var (
	// ErrWrongMasterKey is returned when the master key is not the one the
	// data was sealed with.
	ErrWrongMasterKey = errors.New("wrong master key")
	// ErrErased is returned when a person's data key was destroyed: their
	// personal data can no longer be read.
	ErrErased = errors.New("personal data erased")
	// ErrNoMasterKey is returned when no master key can be found and none
	// may be created.
	ErrNoMasterKey = errors.New("no master key")
	// ErrCorrupt is returned when sealed data or a key fails to open: it was
	// altered, truncated, or belongs to another field, person or tenant.
	ErrCorrupt = errors.New("corrupt or tampered data")
)

// HKDF info strings: each derived key has one purpose.
const (
	infoMasterWrap  = "avis vault v1 master wrap"
	infoTenantWrap  = "avis vault v1 tenant wrap"
	infoTenantIndex = "avis vault v1 blind index"
)

// Cache defaults.
const (
	defaultMaxSubjects = 10000
	defaultSubjectTTL  = time.Minute
	// pendingTTL bounds how long a key created inside a caller's transaction
	// is treated as possibly uncommitted.
	pendingTTL = 10 * time.Minute
)

// Vault holds the master key and caches of the tenant and subject keys. It
// is safe for concurrent use.
//
// Caching: tenant keys are kept until RotateMaster. Subject keys are kept in
// a bounded cache (the oldest go first) for at most a minute: an erasure made
// by this Vault takes effect at once, one made by another avis process on
// the same database within a minute. Keys created inside a caller's
// transaction are not cached until they are seen committed, so a rolled-back
// transaction never leaves a key in memory that the database does not hold.
type Vault struct {
	d *db.DB
	// rq prepares the key reads of Lookup once (SQLite parses every
	// unprepared query).
	rq *db.Stmts

	// now, maxSubjects and subjectTTL are fixed by New; tests change them.
	now         func() time.Time
	maxSubjects int
	subjectTTL  time.Duration

	mu         sync.Mutex
	masterAEAD cipher.AEAD
	masterID   string
	tenants    map[string]*tenantKey
	// tenantPending holds tenants whose key this Vault created in a
	// caller's transaction, not yet seen committed.
	tenantPending map[string]time.Time
	subjects      map[subjectRef]*list.Element // of *subjectEntry
	order         *list.List                   // newest at the front
	// subjectPending holds subject keys created in a caller's transaction,
	// not yet seen committed; erasing holds subjects erased in a caller's
	// transaction, whose keys must not be cached until the time given.
	subjectPending map[subjectRef]time.Time
	erasing        map[subjectRef]time.Time
}

type subjectRef struct{ tenant, subject string }

type subjectEntry struct {
	ref    subjectRef
	key    *SubjectKey
	loaded time.Time
}

// tenantKey holds what is derived from one tenant key.
type tenantKey struct {
	wrap  cipher.AEAD // seals subject keys
	index []byte      // keys blind indexes
	macs  sync.Pool   // of hash.Hash: HMAC-SHA256 under index
}

func newTenantKey(k []byte) (*tenantKey, error) {
	wk, err := hkdf.Key(sha256.New, k, nil, infoTenantWrap, 32)
	if err != nil {
		return nil, fmt.Errorf("vault: derive tenant wrap key: %w", err)
	}
	ik, err := hkdf.Key(sha256.New, k, nil, infoTenantIndex, 32)
	if err != nil {
		return nil, fmt.Errorf("vault: derive tenant index key: %w", err)
	}
	a, err := newAEAD(wk)
	if err != nil {
		return nil, err
	}
	t := &tenantKey{wrap: a, index: ik}
	t.macs.New = func() any { return hmac.New(sha256.New, t.index) }
	return t, nil
}

func masterAEAD(master []byte) (cipher.AEAD, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("vault: master key has %d bytes, not %d", len(master), MasterKeySize)
	}
	wk, err := hkdf.Key(sha256.New, master, nil, infoMasterWrap, 32)
	if err != nil {
		return nil, fmt.Errorf("vault: derive master wrap key: %w", err)
	}
	return newAEAD(wk)
}

// New checks master against vault_state and returns a Vault. On an empty
// vault_state it records the key's id (KeyID); when the recorded id differs
// it returns an error wrapping ErrWrongMasterKey: avis refuses to start with
// a key other than the one the data was sealed with.
func New(ctx context.Context, d *db.DB, master []byte) (*Vault, error) {
	a, err := masterAEAD(master)
	if err != nil {
		return nil, err
	}
	id := KeyID(master)
	stored, err := readKeyID(ctx, d.W, "/* vault.New */ SELECT master_key_id FROM vault_state WHERE id = 1")
	if errors.Is(err, db.ErrNotFound) {
		// A first start, unless tenant keys exist already (vault_state was
		// lost): then they say which key sealed them.
		var other string
		err = d.W.QueryRowContext(ctx, "/* vault.New */ SELECT master_key_id FROM tenant_keys WHERE master_key_id <> $1 LIMIT 1", id).Scan(&other)
		if err == nil {
			return nil, wrongKey(other, id)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("vault: read tenant keys: %w", db.Translate(err))
		}
		_, err = d.W.ExecContext(ctx, "/* vault.New */ INSERT INTO vault_state (id, master_key_id, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING", id, db.Now())
		if err != nil {
			return nil, fmt.Errorf("vault: record master key id: %w", db.Translate(err))
		}
		stored, err = readKeyID(ctx, d.W, "/* vault.New */ SELECT master_key_id FROM vault_state WHERE id = 1")
	}
	if err != nil {
		return nil, fmt.Errorf("vault: read vault state: %w", err)
	}
	if stored != id {
		return nil, wrongKey(stored, id)
	}
	return &Vault{
		d:              d,
		rq:             db.NewStmts(d.R),
		now:            time.Now,
		maxSubjects:    defaultMaxSubjects,
		subjectTTL:     defaultSubjectTTL,
		masterAEAD:     a,
		masterID:       id,
		tenants:        map[string]*tenantKey{},
		tenantPending:  map[string]time.Time{},
		subjects:       map[subjectRef]*list.Element{},
		order:          list.New(),
		subjectPending: map[subjectRef]time.Time{},
		erasing:        map[subjectRef]time.Time{},
	}, nil
}

func wrongKey(stored, given string) error {
	return fmt.Errorf("vault: %w: the data was sealed with master key %s but the key given is %s; avis refuses to start with a different key than the one the data was sealed with: set AVIS_MASTER_KEY_FILE to the backed-up key", ErrWrongMasterKey, stored, given)
}

func readKeyID(ctx context.Context, q db.Querier, query string) (string, error) {
	var id string
	if err := q.QueryRowContext(ctx, query).Scan(&id); err != nil {
		return "", db.Translate(err)
	}
	return id, nil
}

// validRef checks ids used in additional data: they are joined with 0x00.
func validRef(tenantID, subjectID string) error {
	if tenantID == "" || strings.IndexByte(tenantID, 0) >= 0 {
		return fmt.Errorf("vault: invalid tenant id %q", tenantID)
	}
	if subjectID == "" || strings.IndexByte(subjectID, 0) >= 0 {
		return fmt.Errorf("vault: invalid subject id %q", subjectID)
	}
	return nil
}

// master returns the master AEAD whose id is want. A rotation in this
// process swaps the key just after its commit, so a short wait covers a
// transaction that saw the commit first.
func (v *Vault) master(ctx context.Context, want string) (cipher.AEAD, error) {
	for i := 0; ; i++ {
		v.mu.Lock()
		a, id := v.masterAEAD, v.masterID
		v.mu.Unlock()
		if id == want {
			return a, nil
		}
		if i == 100 {
			return nil, fmt.Errorf("vault: %w: the data is now sealed with master key %s but this process holds %s (was the key rotated by another process?): restart avis with the current key", ErrWrongMasterKey, want, id)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("vault: wait for master key: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// tenant returns the key of tenantID, reading through q (or d.R when q is
// nil). When create is set a missing key is created: in q, or in a
// transaction of its own when q is nil.
func (v *Vault) tenant(ctx context.Context, q db.Querier, tenantID string, create bool) (*tenantKey, error) {
	v.mu.Lock()
	t := v.tenants[tenantID]
	v.mu.Unlock()
	if t != nil {
		return t, nil
	}
	rq := q
	if rq == nil {
		rq = v.d.R
	}
	var keyID string
	var wrapped []byte
	err := rq.QueryRowContext(ctx, "/* vault.Vault.tenant */ SELECT master_key_id, wrapped_key FROM tenant_keys WHERE tenant_id = $1", tenantID).Scan(&keyID, &wrapped)
	switch {
	case err == nil:
		t, err = v.unwrapTenant(ctx, tenantID, keyID, wrapped)
		if err != nil {
			return nil, err
		}
		v.cacheTenant(tenantID, t, q == nil)
		return t, nil
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("vault: read tenant key: %w", db.Translate(err))
	case !create:
		return nil, fmt.Errorf("vault: tenant key of %s: %w", tenantID, db.ErrNotFound)
	}
	if q != nil {
		t, mine, err := v.createTenant(ctx, q, tenantID)
		if err != nil {
			return nil, err
		}
		if mine {
			v.mu.Lock()
			v.tenantPending[tenantID] = v.now()
			v.mu.Unlock()
		} else {
			v.cacheTenant(tenantID, t, false)
		}
		return t, nil
	}
	err = v.d.Tx(ctx, func(tx *sql.Tx) error {
		t, _, err = v.createTenant(ctx, tx, tenantID)
		return err
	})
	if err != nil {
		return nil, err
	}
	v.cacheTenant(tenantID, t, true)
	return t, nil
}

// cacheTenant caches t. A key read or created outside a committed
// transaction is cached only when this Vault did not create it in a
// transaction that may still roll back.
func (v *Vault) cacheTenant(tenantID string, t *tenantKey, committed bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if at, ok := v.tenantPending[tenantID]; ok && !committed && v.now().Sub(at) < pendingTTL {
		return
	}
	delete(v.tenantPending, tenantID)
	v.tenants[tenantID] = t
}

func (v *Vault) unwrapTenant(ctx context.Context, tenantID, keyID string, wrapped []byte) (*tenantKey, error) {
	m, err := v.master(ctx, keyID)
	if err != nil {
		return nil, err
	}
	k, err := unseal(m, wrapped, []byte(tenantID))
	if err != nil {
		return nil, fmt.Errorf("vault: open tenant key of %s: %w", tenantID, err)
	}
	return newTenantKey(k)
}

// createTenant inserts a new tenant key in q unless one exists, and returns
// the key stored; mine tells whether it is the one this call made.
func (v *Vault) createTenant(ctx context.Context, q db.Querier, tenantID string) (t *tenantKey, mine bool, err error) {
	// Lock vault_state against a rotation (PostgreSQL) and wrap with the key
	// it names, so that no tenant key escapes a rotation.
	lock := "/* vault.Vault.createTenant */ SELECT master_key_id FROM vault_state WHERE id = 1"
	if v.d.Dialect == db.Postgres {
		lock += " FOR SHARE"
	}
	stored, err := readKeyID(ctx, q, lock)
	if err != nil {
		return nil, false, fmt.Errorf("vault: read vault state: %w", err)
	}
	m, err := v.master(ctx, stored)
	if err != nil {
		return nil, false, err
	}
	k := make([]byte, 32)
	rand.Read(k)
	sealed := seal(m, k, []byte(tenantID))
	_, err = q.ExecContext(ctx, "/* vault.Vault.createTenant */ INSERT INTO tenant_keys (tenant_id, master_key_id, wrapped_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO NOTHING",
		tenantID, stored, sealed, db.Now())
	if err != nil {
		return nil, false, fmt.Errorf("vault: create tenant key: %w", db.Translate(err))
	}
	var keyID string
	var wrapped []byte
	err = q.QueryRowContext(ctx, "/* vault.Vault.createTenant */ SELECT master_key_id, wrapped_key FROM tenant_keys WHERE tenant_id = $1", tenantID).Scan(&keyID, &wrapped)
	if err != nil {
		return nil, false, fmt.Errorf("vault: read tenant key: %w", db.Translate(err))
	}
	if bytes.Equal(wrapped, sealed) {
		t, err = newTenantKey(k)
		return t, true, err
	}
	t, err = v.unwrapTenant(ctx, tenantID, keyID, wrapped)
	return t, false, err
}

// cached returns the cached key of a subject, if fresh.
func (v *Vault) cached(r subjectRef) *SubjectKey {
	v.mu.Lock()
	defer v.mu.Unlock()
	el, ok := v.subjects[r]
	if !ok {
		return nil
	}
	e := el.Value.(*subjectEntry)
	if v.now().Sub(e.loaded) >= v.subjectTTL {
		v.order.Remove(el)
		delete(v.subjects, r)
		return nil
	}
	return e.key
}

// cacheSubject caches k unless the subject is being erased, or its key was
// created by this Vault in a transaction that may still roll back and k was
// not read from committed data.
func (v *Vault) cacheSubject(k *SubjectKey, committed bool) {
	r := subjectRef{k.tenantID, k.subjectID}
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if until, ok := v.erasing[r]; ok {
		if now.Before(until) {
			return
		}
		delete(v.erasing, r)
	}
	if at, ok := v.subjectPending[r]; ok {
		if !committed && now.Sub(at) < pendingTTL {
			return
		}
		delete(v.subjectPending, r)
	}
	if el, ok := v.subjects[r]; ok {
		v.order.Remove(el)
	}
	v.subjects[r] = v.order.PushFront(&subjectEntry{ref: r, key: k, loaded: now})
	for v.order.Len() > v.maxSubjects {
		old := v.order.Back()
		v.order.Remove(old)
		delete(v.subjects, old.Value.(*subjectEntry).ref)
	}
}

// markPending records that the key of r was created in a caller's
// transaction. Stale marks are swept when there are many.
func (v *Vault) markPending(r subjectRef) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	if len(v.subjectPending) >= v.maxSubjects {
		for p, at := range v.subjectPending {
			if now.Sub(at) >= pendingTTL {
				delete(v.subjectPending, p)
			}
		}
	}
	v.subjectPending[r] = now
}

// evict drops the cached key of r.
func (v *Vault) evict(r subjectRef) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if el, ok := v.subjects[r]; ok {
		v.order.Remove(el)
		delete(v.subjects, r)
	}
}

// readSubject reads the stored key of a subject through q: db.ErrNotFound
// when there is none, ErrErased when it was shredded.
func (v *Vault) readSubject(ctx context.Context, q db.Querier, caller string, r subjectRef) (wrapped []byte, err error) {
	var erasedAt int64
	err = q.QueryRowContext(ctx, "/* vault.Vault."+caller+" */ SELECT wrapped_key, erased_at FROM subject_keys WHERE tenant_id = $1 AND subject_id = $2", r.tenant, r.subject).Scan(&wrapped, &erasedAt)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("vault: key of subject %s: %w", r.subject, db.ErrNotFound)
		}
		return nil, fmt.Errorf("vault: read subject key: %w", db.Translate(err))
	}
	if wrapped == nil || erasedAt != 0 {
		return nil, fmt.Errorf("vault: subject %s: %w", r.subject, ErrErased)
	}
	return wrapped, nil
}

func (v *Vault) unwrapSubject(t *tenantKey, r subjectRef, wrapped []byte) (*SubjectKey, error) {
	var buf [96]byte
	ad := append(append(append(buf[:0], r.tenant...), 0), r.subject...)
	k, err := unseal(t.wrap, wrapped, ad)
	if err != nil {
		return nil, fmt.Errorf("vault: open key of subject %s: %w", r.subject, err)
	}
	return newSubjectKey(r.tenant, r.subject, k)
}

// Subject returns the data key of one person, creating it when missing: a
// random 32-byte key sealed by the tenant key, in a subject_keys row. The
// tenant key (random 32 bytes sealed by the master key) is created the same
// way when missing.
//
// q is the transaction to create keys in: pass the caller's *sql.Tx when
// inside one (on SQLite the single writer connection is held by that
// transaction), or nil to let the Vault use the database directly. Two
// callers creating the same key at once get the same key.
//
// It returns an error wrapping ErrErased when the person's key was
// shredded.
func (v *Vault) Subject(ctx context.Context, q db.Querier, tenantID, subjectID string) (*SubjectKey, error) {
	if err := validRef(tenantID, subjectID); err != nil {
		return nil, err
	}
	r := subjectRef{tenantID, subjectID}
	if k := v.cached(r); k != nil {
		return k, nil
	}
	rq := q
	if rq == nil {
		rq = v.d.R
	}
	wrapped, err := v.readSubject(ctx, rq, "Subject", r)
	if err == nil {
		t, err := v.tenant(ctx, q, tenantID, false)
		if err != nil {
			return nil, err
		}
		k, err := v.unwrapSubject(t, r, wrapped)
		if err != nil {
			return nil, err
		}
		v.cacheSubject(k, q == nil)
		return k, nil
	}
	if !errors.Is(err, db.ErrNotFound) {
		return nil, err
	}
	if q != nil {
		k, mine, err := v.createSubject(ctx, q, r)
		if err != nil {
			return nil, err
		}
		if mine {
			v.markPending(r)
		} else {
			v.cacheSubject(k, false)
		}
		return k, nil
	}
	// Get (or create and commit) the tenant key first, so that it is
	// cached as committed.
	if _, err := v.tenant(ctx, nil, tenantID, true); err != nil {
		return nil, err
	}
	var k *SubjectKey
	err = v.d.Tx(ctx, func(tx *sql.Tx) error {
		k, _, err = v.createSubject(ctx, tx, r)
		return err
	})
	if err != nil {
		return nil, err
	}
	v.cacheSubject(k, true)
	return k, nil
}

// createSubject inserts a new key for r in q unless one exists, and returns
// the key stored; mine tells whether it is the one this call made.
func (v *Vault) createSubject(ctx context.Context, q db.Querier, r subjectRef) (k *SubjectKey, mine bool, err error) {
	t, err := v.tenant(ctx, q, r.tenant, true)
	if err != nil {
		return nil, false, err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	var buf [96]byte
	ad := append(append(append(buf[:0], r.tenant...), 0), r.subject...)
	sealed := seal(t.wrap, raw, ad)
	_, err = q.ExecContext(ctx, "/* vault.Vault.createSubject */ INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, subject_id) DO NOTHING",
		r.tenant, r.subject, sealed, db.Now())
	if err != nil {
		return nil, false, fmt.Errorf("vault: create subject key: %w", db.Translate(err))
	}
	wrapped, err := v.readSubject(ctx, q, "createSubject", r)
	if err != nil {
		return nil, false, err
	}
	if bytes.Equal(wrapped, sealed) {
		k, err = newSubjectKey(r.tenant, r.subject, raw)
		return k, true, err
	}
	k, err = v.unwrapSubject(t, r, wrapped)
	return k, false, err
}

// Lookup returns the existing key of a person without creating one. It
// returns an error wrapping db.ErrNotFound when there is none and ErrErased
// when it was shredded. It reads through d.R, so it sees committed keys
// only.
func (v *Vault) Lookup(ctx context.Context, tenantID, subjectID string) (*SubjectKey, error) {
	if err := validRef(tenantID, subjectID); err != nil {
		return nil, err
	}
	r := subjectRef{tenantID, subjectID}
	if k := v.cached(r); k != nil {
		return k, nil
	}
	wrapped, err := v.readSubject(ctx, v.rq, "Lookup", r)
	if err != nil {
		return nil, err
	}
	t, err := v.tenant(ctx, nil, tenantID, false)
	if err != nil {
		return nil, err
	}
	k, err := v.unwrapSubject(t, r, wrapped)
	if err != nil {
		return nil, err
	}
	v.cacheSubject(k, true)
	return k, nil
}

// BlindIndex returns the blind index of a normalised value: HMAC-SHA256
// (32 bytes) of field, 0x00 and normalised, under an index key derived from
// the tenant key. The same value in the same tenant and field always gives
// the same index; another tenant or field gives another. The caller
// normalises (e.g. lower-cases an email) before. q is as for Subject: the
// tenant key may be created.
func (v *Vault) BlindIndex(ctx context.Context, q db.Querier, tenantID, field, normalised string) ([]byte, error) {
	if tenantID == "" || strings.IndexByte(tenantID, 0) >= 0 {
		return nil, fmt.Errorf("vault: invalid tenant id %q", tenantID)
	}
	if strings.IndexByte(field, 0) >= 0 {
		return nil, fmt.Errorf("vault: invalid field name %q", field)
	}
	t, err := v.tenant(ctx, q, tenantID, true)
	if err != nil {
		return nil, err
	}
	m := t.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(normalised))
	out := m.Sum(make([]byte, 0, sha256.Size))
	t.macs.Put(m)
	return out, nil
}

// EraseSubject crypto-shreds a person's data: it sets
// subject_keys.wrapped_key to NULL and erased_at to now (the row stays as
// proof) and drops the key from this Vault's cache; other avis processes
// drop it within a minute. It is idempotent and keeps the first erased_at.
// A person who never had a key gets an erased row too, so that no later
// Subject call creates a key for them by accident. q is as for Subject.
func (v *Vault) EraseSubject(ctx context.Context, q db.Querier, tenantID, subjectID string) error {
	if err := validRef(tenantID, subjectID); err != nil {
		return err
	}
	r := subjectRef{tenantID, subjectID}
	// Keep the key out of the cache for a while: the caller's transaction
	// may commit later, and a concurrent read may have started before.
	v.mu.Lock()
	now := v.now()
	if len(v.erasing) >= v.maxSubjects {
		for e, until := range v.erasing {
			if !now.Before(until) {
				delete(v.erasing, e)
			}
		}
	}
	v.erasing[r] = now.Add(v.subjectTTL)
	v.mu.Unlock()
	v.evict(r)
	wq := q
	if wq == nil {
		wq = v.d.W
	}
	_, err := wq.ExecContext(ctx, `/* vault.Vault.EraseSubject */ INSERT INTO subject_keys (tenant_id, subject_id, wrapped_key, created_at, erased_at) VALUES ($1, $2, NULL, $3, $3)
ON CONFLICT (tenant_id, subject_id) DO UPDATE SET wrapped_key = NULL,
erased_at = CASE WHEN subject_keys.erased_at = 0 THEN excluded.erased_at ELSE subject_keys.erased_at END`, tenantID, subjectID, db.Now())
	if err != nil {
		return fmt.Errorf("vault: erase subject %s: %w", subjectID, db.Translate(err))
	}
	v.evict(r)
	return nil
}

// RotateMaster re-wraps every tenant key with newMaster in one transaction
// and records the new key id and rotated_at in vault_state. Subject keys
// and sealed fields are not touched. Afterwards New fails with the old key
// (ErrWrongMasterKey) and opens everything with the new one. Other avis
// processes running on the same database must be restarted with the new
// key.
func (v *Vault) RotateMaster(ctx context.Context, newMaster []byte) error {
	newAEAD, err := masterAEAD(newMaster)
	if err != nil {
		return err
	}
	newID := KeyID(newMaster)
	v.mu.Lock()
	oldAEAD, oldID := v.masterAEAD, v.masterID
	v.mu.Unlock()
	type row struct {
		tenantID, keyID string
		wrapped         []byte
	}
	err = v.d.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "/* vault.Vault.RotateMaster */ UPDATE vault_state SET master_key_id = $1, rotated_at = $2 WHERE id = 1 AND master_key_id = $3", newID, db.Now(), oldID)
		if err != nil {
			return fmt.Errorf("vault: rotate: update vault state: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("vault: rotate: update vault state: %w", err)
		} else if n != 1 {
			return fmt.Errorf("vault: rotate: %w: vault_state no longer names this process's master key %s", ErrWrongMasterKey, oldID)
		}
		rows, err := tx.QueryContext(ctx, "/* vault.Vault.RotateMaster */ SELECT tenant_id, master_key_id, wrapped_key FROM tenant_keys ORDER BY tenant_id")
		if err != nil {
			return fmt.Errorf("vault: rotate: read tenant keys: %w", err)
		}
		var all []row
		for rows.Next() {
			var x row
			if err := rows.Scan(&x.tenantID, &x.keyID, &x.wrapped); err != nil {
				rows.Close()
				return fmt.Errorf("vault: rotate: read tenant keys: %w", err)
			}
			all = append(all, x)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("vault: rotate: read tenant keys: %w", err)
		}
		rows.Close()
		for _, x := range all {
			if x.keyID != oldID {
				return fmt.Errorf("vault: rotate: %w: tenant key of %s is sealed with master key %s, not %s", ErrWrongMasterKey, x.tenantID, x.keyID, oldID)
			}
			k, err := unseal(oldAEAD, x.wrapped, []byte(x.tenantID))
			if err != nil {
				return fmt.Errorf("vault: rotate: open tenant key of %s: %w", x.tenantID, err)
			}
			_, err = tx.ExecContext(ctx, "/* vault.Vault.RotateMaster */ UPDATE tenant_keys SET master_key_id = $1, wrapped_key = $2 WHERE tenant_id = $3",
				newID, seal(newAEAD, k, []byte(x.tenantID)), x.tenantID)
			if err != nil {
				return fmt.Errorf("vault: rotate: update tenant key of %s: %w", x.tenantID, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.masterAEAD, v.masterID = newAEAD, newID
	v.tenants = map[string]*tenantKey{}
	v.mu.Unlock()
	return nil
}
