package crmsync

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/feed"
	"avis/internal/jobs"
	"avis/internal/vault"
)

// Webhook endpoint limits and defaults.
const (
	// MaxURLLength bounds an endpoint's URL.
	MaxURLLength = 2000
	// MaxDescriptionLength bounds an endpoint's description (characters).
	MaxDescriptionLength = 200
	// MaxEndpoints bounds the endpoints of one tenant.
	MaxEndpoints = 20
	// DefaultDeliveryTimeout bounds one delivery: connection, request and
	// answer.
	DefaultDeliveryTimeout = 10 * time.Second
	// DefaultGiveUpAfter is how long the first delivery in an endpoint's
	// queue may keep failing before the endpoint is disabled.
	DefaultGiveUpAfter = 72 * time.Hour
	// DeliveryRetention is how long the delivery log is kept.
	DeliveryRetention = 30 * 24 * time.Hour
	// PreviousSecretValidity is how long the secret replaced by a rotation
	// still signs deliveries, beside the new one.
	PreviousSecretValidity = 24 * time.Hour
	// MaxReplay bounds the deliveries one time-range replay queues again.
	MaxReplay = 10000
)

// DefaultBackoff is the wait before each new attempt of a failed delivery:
// 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then every 3 hours (the last
// value repeats) until DefaultGiveUpAfter.
var DefaultBackoff = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 3 * time.Hour}

// TestEvent is the type of the ping that "Test" sends.
const TestEvent = "webhook.test"

// Why an endpoint is disabled (Endpoint.DisabledKind).
const (
	// DisabledByUser: a person disabled it. Nothing is queued for it.
	DisabledByUser = "user"
	// DisabledFailing: its first delivery kept failing for GiveUpAfter.
	// Events are still queued, so that nothing is lost when it is enabled
	// again.
	DisabledFailing = "failing"
	// DisabledGone: it answered 410 Gone. Nothing is queued for it.
	DisabledGone = "gone"
)

// Delivery statuses.
const (
	// StatusPending: not tried yet.
	StatusPending = "pending"
	// StatusRetrying: tried, failed, tried again at NextAttemptAt.
	StatusRetrying = "retrying"
	// StatusDelivered: the endpoint answered 2xx.
	StatusDelivered = "delivered"
	// StatusFailed: a test ping that failed (never retried).
	StatusFailed = "failed"
	// StatusSkipped: not sent, because the data it was about is gone (the
	// person was erased first) or the endpoint was deleted.
	StatusSkipped = "skipped"
)

// ErrInvalidEndpoint wraps the problems of an endpoint's settings; the text
// after it is fit to show to the tenant.
var ErrInvalidEndpoint = errors.New("invalid webhook endpoint")

// ErrObjectGone is returned by a DataSource when the event's object no
// longer exists (an erased person's data): the delivery is skipped.
var ErrObjectGone = errors.New("the data of this event no longer exists")

// Endpoint is one receiver of a tenant's events.
type Endpoint struct {
	TenantID    string
	ID          string
	URL         string
	Description string
	// Events are the event types it receives (feed.Types).
	Events []string
	// IncludePersonal switches on comments and contact details in the
	// payloads: a transfer of personal data to this recipient.
	IncludePersonal bool
	Enabled         bool
	// DisabledKind says why it is disabled (Disabled* constants);
	// DisabledReason says it in plain words.
	DisabledKind, DisabledReason string
	// PreviousSecretUntil is when the secret replaced by the last rotation
	// stops signing; zero when there is none.
	PreviousSecretUntil time.Time
	// FailingSince is when its first queued delivery started failing; zero
	// while healthy.
	FailingSince         time.Time
	CreatedAt, UpdatedAt time.Time
}

// Wants reports whether the endpoint's filter lists the event type.
func (e Endpoint) Wants(typ string) bool {
	for _, t := range e.Events {
		if t == typ {
			return true
		}
	}
	return false
}

// queues reports whether events are queued for the endpoint: when enabled,
// or disabled only because it kept failing.
func (e Endpoint) queues() bool { return e.Enabled || e.DisabledKind == DisabledFailing }

// EndpointInput is what a caller gives to create or change an endpoint.
type EndpointInput struct {
	URL             string
	Description     string
	Events          []string
	IncludePersonal bool
	Enabled         bool
}

// Delivery is one event for one endpoint, as the delivery log shows it.
type Delivery struct {
	ID, EndpointID string
	Event          feed.Event
	Status         string
	Attempts       int
	// HTTPStatus is the last answer's status code, 0 when none came.
	HTTPStatus int
	Duration   time.Duration
	// Error says in plain words why the last attempt failed.
	Error         string
	FirstFailedAt time.Time
	NextAttemptAt time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// DataSource builds the "data" object of an event's payload. personal
// says whether comments and contact details may be in it. It returns
// ErrObjectGone when the event's object no longer exists.
type DataSource interface {
	EventData(ctx context.Context, tenantID string, ev feed.Event, personal bool) (any, error)
}

// Notifier tells the tenant's administrators that an endpoint was
// disabled. What it sends holds no personal data of contacts.
type Notifier interface {
	EndpointDisabled(ctx context.Context, ep Endpoint) error
}

// WebhookOptions tune Webhooks. Zero values take the defaults.
type WebhookOptions struct {
	// AllowPrivate lets endpoints resolve to loopback, private, link-local
	// and other internal addresses (AVIS_WEBHOOK_ALLOW_PRIVATE).
	AllowPrivate bool
	// AllowHTTP accepts http:// endpoints besides https://
	// (AVIS_WEBHOOK_ALLOW_HTTP).
	AllowHTTP bool
	// Timeout bounds one delivery (DefaultDeliveryTimeout).
	Timeout time.Duration
	// Backoff is the wait before each retry; the last repeats
	// (DefaultBackoff).
	Backoff []time.Duration
	// GiveUpAfter is how long a delivery may fail before its endpoint is
	// disabled (DefaultGiveUpAfter).
	GiveUpAfter time.Duration
	// RootCAs are the certificate authorities trusted for https endpoints;
	// nil: the system's.
	RootCAs *x509.CertPool
	// Data builds payloads; Notify tells admins of a disabled endpoint
	// (nil: only the audit log and the page say it).
	Data   DataSource
	Notify Notifier
	// Log receives what an operator should know (never payloads).
	Log *slog.Logger
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Webhooks keeps the tenants' webhook endpoints and their delivery log, and
// delivers their events. Its Hook runs in the transaction of each change
// (feed.Feed.OnEmit).
type Webhooks struct {
	db    *db.DB
	vault *vault.Vault
	audit *audit.Log
	o     WebhookOptions
	// Queue enqueues delivery jobs; set once the job queue exists. While
	// nil, deliveries wait for the periodic sweep.
	Queue  *jobs.Queue
	client *http.Client

	mu    sync.Mutex
	cache map[string]cachedEndpoints
}

type cachedEndpoints struct {
	eps   []Endpoint
	until time.Time
}

// endpointCacheTTL bounds how long another process's change to a tenant's
// endpoints takes to reach this process's Hook.
const endpointCacheTTL = time.Second

// NewWebhooks returns the webhook store and sender.
func NewWebhooks(d *db.DB, v *vault.Vault, a *audit.Log, o WebhookOptions) *Webhooks {
	if o.Timeout <= 0 {
		o.Timeout = DefaultDeliveryTimeout
	}
	if len(o.Backoff) == 0 {
		o.Backoff = DefaultBackoff
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = DefaultGiveUpAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	w := &Webhooks{db: d, vault: v, audit: a, o: o, cache: map[string]cachedEndpoints{}}
	w.client = newClient(o)
	return w
}

// AllowHTTP reports whether http:// endpoints are accepted.
func (w *Webhooks) AllowHTTP() bool { return w.o.AllowHTTP }

// forget drops the tenant's cached endpoints after a change.
func (w *Webhooks) forget(tenantID string) {
	w.mu.Lock()
	delete(w.cache, tenantID)
	w.mu.Unlock()
}

// backoff returns the wait after the n-th failed attempt (from 1).
func (w *Webhooks) backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > len(w.o.Backoff) {
		n = len(w.o.Backoff)
	}
	return w.o.Backoff[n-1]
}
