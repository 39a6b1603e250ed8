package dispatch

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/channel/sms"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/feed"
	"avis/internal/jobs"
	"avis/internal/vault"
)

// Store keeps rules, invitations, messaging settings and the outbox, and
// sends invitations through its Transports.
type Store struct {
	db       *db.DB
	vault    *vault.Vault
	audit    *audit.Log
	contacts *contact.Store
	accounts *account.Store
	log      *slog.Logger
	o        Options

	// Queue enqueues send jobs. Set it once the job queue exists (the queue
	// needs this Store's workers first).
	Queue *jobs.Queue

	rules    ruleCache
	settings settingsCache
	runs     runs
	// limits hold each tenant's rate limiter (*sms.Limiter).
	limits sync.Map
	// rq and wq prepare the queries of a sending run once (read pool,
	// writer).
	rq, wq *db.Stmts
	// sent groups the transactions that record messages as sent.
	sent *db.GroupCommit
	now  func() time.Time
}

// Options tune a Store.
type Options struct {
	// BaseURL is avis's public URL: survey and unsubscribe links start
	// with it unless the tenant set its own link domain.
	BaseURL string
	// Transports deliver messages; nil fields mean the outbox.
	Transports Transports
	// Outbox sends every message to the outbox whatever is configured
	// (demo mode).
	Outbox bool
	// TenantRate bounds the messages per second of each tenant (0: none).
	TenantRate int
	// Now replaces the clock in tests.
	Now func() time.Time
	// Feed receives the invitation.bounced and contact.unsubscribed
	// events; nil for a feed without hooks.
	Feed *feed.Feed
}

// NewStore returns a Store.
func NewStore(d *db.DB, v *vault.Vault, a *audit.Log, contacts *contact.Store, accounts *account.Store, log *slog.Logger, o Options) *Store {
	s := &Store{db: d, vault: v, audit: a, contacts: contacts, accounts: accounts, log: log, o: o, now: o.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.o.Feed == nil {
		s.o.Feed = feed.New(d)
	}
	s.rules.m = map[string]ruleEntry{}
	s.settings.m = map[string]settingsEntry{}
	s.runs.active = map[string]*runFlag{}
	s.rq, s.wq = db.NewStmts(d.R), db.NewStmts(d.W)
	s.sent = db.NewGroupCommit(d, func(err error) bool { return errors.Is(err, errNotCommitted) })
	return s
}

// TokenField is the vault field under which invitation tokens are derived.
const TokenField = "invitation_token"

// TokenLen is the length of a survey link token (see token).
const TokenLen = 22

// token derives the survey link token of an invitation: 16 bytes of a
// tenant-keyed MAC of the id, base64url (TokenLen characters). Only its SHA-256
// is stored, so the database alone cannot rebuild a link.
func (s *Store) token(ctx context.Context, q db.Querier, tenantID, invitationID string) (string, error) {
	mac, err := s.vault.BlindIndex(ctx, q, tenantID, TokenField, invitationID)
	if err != nil {
		return "", fmt.Errorf("invitation token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(mac[:16]), nil
}

// TokenHash is what the invitations table keeps of a token.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// ruleCache keeps each tenant's rules by step for a few seconds, so a
// sending run does not read the rule for every message.
type ruleCache struct {
	mu sync.Mutex
	m  map[string]ruleEntry
}

type ruleEntry struct {
	byID  map[string]*compiledRule
	until time.Time
}

const cacheTTL = 10 * time.Second

func (c *ruleCache) forget(tenantID string) {
	c.mu.Lock()
	delete(c.m, tenantID)
	c.mu.Unlock()
}

// rule returns a tenant's rule by id from the cache or the database;
// db.ErrNotFound when it was deleted.
func (s *Store) cachedRule(ctx context.Context, tenantID, id string) (*compiledRule, error) {
	s.rules.mu.Lock()
	e, ok := s.rules.m[tenantID]
	s.rules.mu.Unlock()
	if !ok || time.Now().After(e.until) {
		rules, err := s.Rules(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		e = ruleEntry{byID: map[string]*compiledRule{}, until: time.Now().Add(cacheTTL)}
		for i := range rules {
			e.byID[rules[i].ID] = compileRule(&rules[i])
		}
		s.rules.mu.Lock()
		s.rules.m[tenantID] = e
		s.rules.mu.Unlock()
	}
	r := e.byID[id]
	if r == nil {
		return nil, db.ErrNotFound
	}
	return r, nil
}

// waitTurn waits for the tenant's rate limit, when there is one.
func (s *Store) waitTurn(ctx context.Context, tenantID string) error {
	if s.o.TenantRate <= 0 {
		return nil
	}
	l, ok := s.limits.Load(tenantID)
	if !ok {
		l, _ = s.limits.LoadOrStore(tenantID, sms.NewLimiter(float64(s.o.TenantRate), max(1, s.o.TenantRate/10), nil))
	}
	return l.(*sms.Limiter).Wait(ctx)
}
