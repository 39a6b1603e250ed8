package crmsync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/feed"
)

// webhookSubject is the vault subject that seals a tenant's webhook
// secrets (a tenant-level key, not a person's).
const webhookSubject = "webhooks"

func hookSecretField(endpointID string) string   { return "webhook_secret:" + endpointID }
func hookPreviousField(endpointID string) string { return "webhook_previous_secret:" + endpointID }

const endpointCols = `tenant_id, id, url, description, events, include_personal, enabled, disabled_kind, disabled_reason,
	previous_secret_until, failing_since, created_at, updated_at`

func scanEndpoint(sc interface{ Scan(...any) error }) (Endpoint, error) {
	var e Endpoint
	var events string
	var prevUntil, failing, created, updated int64
	err := sc.Scan(&e.TenantID, &e.ID, &e.URL, &e.Description, &events, &e.IncludePersonal, &e.Enabled, &e.DisabledKind,
		&e.DisabledReason, &prevUntil, &failing, &created, &updated)
	if err != nil {
		return Endpoint{}, db.Translate(err)
	}
	e.Events = strings.Fields(events)
	e.PreviousSecretUntil, e.FailingSince = db.Time(prevUntil), db.Time(failing)
	e.CreatedAt, e.UpdatedAt = db.Time(created), db.Time(updated)
	return e, nil
}

// cleanInput checks and normalises an endpoint's settings (not its URL),
// and returns every problem found.
func cleanInput(in *EndpointInput) FieldErrors {
	var probs FieldErrors
	in.Description = strings.TrimSpace(in.Description)
	switch {
	case utf8.RuneCountInString(in.Description) > MaxDescriptionLength:
		probs = append(probs, &FieldError{Field: "description", Message: msgDescLong, Args: []any{MaxDescriptionLength}})
	case !utf8.ValidString(in.Description) || strings.IndexFunc(in.Description, unicode.IsControl) >= 0:
		probs = append(probs, &FieldError{Field: "description", Message: msgDescControl})
	}
	var evs []string
	for _, t := range in.Events {
		t = strings.TrimSpace(t)
		if !slices.Contains(feed.Types, t) {
			if len(t) > 40 {
				t = t[:40] + "…"
			}
			return append(probs, &FieldError{Field: "events", Message: msgEventUnknown, Args: []any{t}})
		}
		if !slices.Contains(evs, t) {
			evs = append(evs, t)
		}
	}
	if len(evs) == 0 {
		return append(probs, &FieldError{Field: "events", Message: msgEventsNone})
	}
	// Keep the order of feed.Types.
	in.Events = in.Events[:0]
	for _, t := range feed.Types {
		if slices.Contains(evs, t) {
			in.Events = append(in.Events, t)
		}
	}
	return probs
}

// checkInput checks all of an endpoint's settings, the URL too when
// checkURL, and returns the URL to store or every problem found.
func (w *Webhooks) checkInput(ctx context.Context, in *EndpointInput, checkURL bool) (string, error) {
	probs := cleanInput(in)
	u := strings.TrimSpace(in.URL)
	if checkURL {
		var err error
		if u, err = w.CheckURL(ctx, in.URL); err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				return "", err
			}
			probs = append(FieldErrors{fe}, probs...)
		}
	}
	if len(probs) > 0 {
		return "", probs
	}
	return u, nil
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Hostname()
	}
	return ""
}

// Create adds an endpoint to the tenant and returns it with its signing
// secret, which is shown once and never again.
func (w *Webhooks) Create(ctx context.Context, actor audit.Actor, tenantID string, in EndpointInput) (Endpoint, string, error) {
	u, err := w.checkInput(ctx, &in, true)
	if err != nil {
		return Endpoint{}, "", err
	}
	now := db.Stamp(w.o.Now())
	e := Endpoint{TenantID: tenantID, ID: db.NewID(), URL: u, Description: in.Description, Events: in.Events,
		IncludePersonal: in.IncludePersonal, Enabled: in.Enabled, CreatedAt: db.Time(now), UpdatedAt: db.Time(now)}
	if !e.Enabled {
		e.DisabledKind = DisabledByUser
	}
	secret := NewSecret()
	err = w.db.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `/* crmsync.Webhooks.Create */ SELECT COUNT(*) FROM webhook_endpoints WHERE tenant_id = $1`,
			tenantID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxEndpoints {
			return fieldErr("", msgTooMany, MaxEndpoints)
		}
		k, err := w.vault.Subject(ctx, tx, tenantID, webhookSubject)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `/* crmsync.Webhooks.Create */ INSERT INTO webhook_endpoints (tenant_id, id, url, description,
			events, include_personal, enabled, disabled_kind, secret_sealed, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
			tenantID, e.ID, e.URL, e.Description, strings.Join(e.Events, " "), e.IncludePersonal, e.Enabled, e.DisabledKind,
			k.SealString(hookSecretField(e.ID), secret), now)
		if err != nil {
			return err
		}
		return w.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "webhook.create", ObjectKind: "webhook",
			ObjectID: e.ID, Detail: map[string]string{"host": hostOf(e.URL), "events": strings.Join(e.Events, " "),
				"personal": strconv.FormatBool(e.IncludePersonal)}})
	})
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("create webhook endpoint: %w", err)
	}
	w.forget(tenantID)
	return e, secret, nil
}

// Get returns one endpoint of the tenant, or db.ErrNotFound.
func (w *Webhooks) Get(ctx context.Context, tenantID, id string) (Endpoint, error) {
	e, err := scanEndpoint(w.db.R.QueryRowContext(ctx, `/* crmsync.Webhooks.Get */ SELECT `+endpointCols+`
		FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return Endpoint{}, fmt.Errorf("webhook endpoint: %w", err)
	}
	return e, nil
}

// List returns the tenant's endpoints, oldest first.
func (w *Webhooks) List(ctx context.Context, tenantID string) ([]Endpoint, error) {
	return w.list(ctx, w.db.R, tenantID)
}

func (w *Webhooks) list(ctx context.Context, q db.Querier, tenantID string) ([]Endpoint, error) {
	rows, err := q.QueryContext(ctx, `/* crmsync.Webhooks.List */ SELECT `+endpointCols+`
		FROM webhook_endpoints WHERE tenant_id = $1 ORDER BY id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("webhook endpoints: %w", db.Translate(err))
	}
	defer rows.Close()
	var out []Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("webhook endpoints: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Update changes an endpoint's settings. Switching comments and contact
// details on or off is audited as such; enabling a disabled endpoint
// clears its failure and retries its waiting deliveries at once.
func (w *Webhooks) Update(ctx context.Context, actor audit.Actor, tenantID, id string, in EndpointInput) (Endpoint, error) {
	old, err := w.Get(ctx, tenantID, id)
	if err != nil {
		return Endpoint{}, err
	}
	u, err := w.checkInput(ctx, &in, strings.TrimSpace(in.URL) != old.URL)
	if err != nil {
		return Endpoint{}, err
	}
	e := old
	e.URL, e.Description, e.Events, e.IncludePersonal = u, in.Description, in.Events, in.IncludePersonal
	now := w.o.Now()
	e.UpdatedAt = db.Time(db.Stamp(now))
	reenabled := in.Enabled && !old.Enabled
	switch {
	case reenabled:
		e.Enabled, e.DisabledKind, e.DisabledReason, e.FailingSince = true, "", "", time.Time{}
	case !in.Enabled && old.Enabled:
		e.Enabled, e.DisabledKind, e.DisabledReason = false, DisabledByUser, probByUser
	}
	err = w.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.Update */ UPDATE webhook_endpoints SET url = $3, description = $4,
			events = $5, include_personal = $6, enabled = $7, disabled_kind = $8, disabled_reason = $9, failing_since = $10,
			updated_at = $11 WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, e.URL, e.Description, strings.Join(e.Events, " "), e.IncludePersonal, e.Enabled, e.DisabledKind,
			e.DisabledReason, db.Stamp(e.FailingSince), db.Stamp(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return db.ErrNotFound
		}
		if reenabled {
			if _, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.Update */ UPDATE webhook_deliveries SET next_attempt_at = 0,
				first_failed_at = 0 WHERE tenant_id = $1 AND endpoint_id = $2 AND status IN ('pending', 'retrying')`, tenantID, id); err != nil {
				return err
			}
			if err := w.enqueue(ctx, tx, tenantID, id, true); err != nil {
				return err
			}
		}
		detail := map[string]string{"host": hostOf(e.URL), "events": strings.Join(e.Events, " "), "enabled": strconv.FormatBool(e.Enabled)}
		if err := w.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "webhook.update", ObjectKind: "webhook",
			ObjectID: id, Detail: detail}); err != nil {
			return err
		}
		if e.IncludePersonal != old.IncludePersonal {
			action := "webhook.personal_off"
			if e.IncludePersonal {
				action = "webhook.personal_on"
			}
			return w.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: action, ObjectKind: "webhook",
				ObjectID: id, Detail: map[string]string{"host": hostOf(e.URL)}})
		}
		return nil
	})
	if err != nil {
		return Endpoint{}, fmt.Errorf("update webhook endpoint: %w", err)
	}
	w.forget(tenantID)
	return e, nil
}

// Delete removes an endpoint, its secrets and its waiting deliveries; its
// delivery log stays until purged, as the record of what it received.
func (w *Webhooks) Delete(ctx context.Context, actor audit.Actor, tenantID, id string) error {
	err := w.db.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.Delete */ DELETE FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return db.ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `/* crmsync.Webhooks.Delete */ UPDATE webhook_deliveries SET status = 'skipped',
			error = $4, updated_at = $3 WHERE tenant_id = $1 AND endpoint_id = $2 AND status IN ('pending', 'retrying')`,
			tenantID, id, db.Stamp(w.o.Now()), probDeleted); err != nil {
			return err
		}
		return w.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "webhook.delete", ObjectKind: "webhook", ObjectID: id})
	})
	if err != nil {
		return fmt.Errorf("delete webhook endpoint: %w", err)
	}
	w.forget(tenantID)
	return nil
}

// Rotate gives the endpoint a new secret and returns it (shown once). The
// replaced secret keeps signing, beside the new one, for
// PreviousSecretValidity, so that the receiver can switch without losing a
// delivery.
func (w *Webhooks) Rotate(ctx context.Context, actor audit.Actor, tenantID, id string) (string, error) {
	secret := NewSecret()
	now := w.o.Now()
	err := w.db.Tx(ctx, func(tx *sql.Tx) error {
		var sealed []byte
		if err := tx.QueryRowContext(ctx, `/* crmsync.Webhooks.Rotate */ SELECT secret_sealed FROM webhook_endpoints
			WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&sealed); err != nil {
			return err
		}
		k, err := w.vault.Subject(ctx, tx, tenantID, webhookSubject)
		if err != nil {
			return err
		}
		current, err := k.OpenString(hookSecretField(id), sealed)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `/* crmsync.Webhooks.Rotate */ UPDATE webhook_endpoints SET secret_sealed = $3,
			previous_secret_sealed = $4, previous_secret_until = $5, updated_at = $6 WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, k.SealString(hookSecretField(id), secret), k.SealString(hookPreviousField(id), current),
			db.Stamp(now.Add(PreviousSecretValidity)), db.Stamp(now))
		if err != nil {
			return err
		}
		return w.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "webhook.rotate", ObjectKind: "webhook", ObjectID: id})
	})
	if err != nil {
		return "", fmt.Errorf("rotate webhook secret: %w", err)
	}
	return secret, nil
}

// secrets returns the secrets that sign the endpoint's deliveries now: the
// current one, and the previous one while it is still valid.
func (w *Webhooks) secrets(ctx context.Context, tenantID, id string) ([]string, error) {
	var cur, prev []byte
	var until int64
	err := w.db.R.QueryRowContext(ctx, `/* crmsync.Webhooks.secrets */ SELECT secret_sealed, previous_secret_sealed, previous_secret_until
		FROM webhook_endpoints WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&cur, &prev, &until)
	if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", db.Translate(err))
	}
	k, err := w.vault.Lookup(ctx, tenantID, webhookSubject)
	if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	s, err := k.OpenString(hookSecretField(id), cur)
	if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	out := []string{s}
	if len(prev) > 0 && w.o.Now().Before(db.Time(until)) {
		p, err := k.OpenString(hookPreviousField(id), prev)
		if err != nil {
			return nil, fmt.Errorf("webhook secret: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}
