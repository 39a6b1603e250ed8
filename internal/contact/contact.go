// Package contact holds a tenant's customers: who they are (sealed by the
// vault under each contact's own key), how to reach them, and the blind
// indexes that find them again without decrypting anything.
package contact

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/feed"
	"avis/internal/vault"
)

// Vault field names; the blind indexes use the same names.
const (
	FieldEmail     = "email"
	FieldPhone     = "phone"
	FieldFirstName = "first_name"
	FieldLastName  = "last_name"
)

// ErrInvalidEmail says an email address cannot be used.
var ErrInvalidEmail = errors.New("invalid email address")

// Contact is one customer, decrypted.
type Contact struct {
	ID         string
	TenantID   string
	ExternalID string
	Email      string
	Phone      string
	FirstName  string
	LastName   string
	Language   string
	Country    string
	TimeZone   string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Input is what a caller gives to create a contact. Phone must already be in
// E.164 form; the import engine normalises it.
type Input struct {
	ExternalID, Email, Phone, FirstName, LastName, Language, Country, TimeZone string
}

// Store reads and writes contacts.
type Store struct {
	db    *db.DB
	vault *vault.Vault
	audit *audit.Log
	// feed hears of erasures (see UseFeed).
	feed *feed.Feed
	// eraseHooks run inside the erase transaction (see OnErase).
	eraseHooks []EraseHook
}

// EraseHook forgets what another package holds about a contact being
// erased, inside the erase transaction: the person's answers, their
// scheduled invitations, their access links. An error rolls the erasure
// back.
type EraseHook func(ctx context.Context, tx *sql.Tx, tenantID, contactID string) error

// UseFeed makes Erase tell f (subject.erased). Call it while wiring the
// stores, before serving; without it the events go to a feed without
// hooks.
func (s *Store) UseFeed(f *feed.Feed) { s.feed = f }

// OnErase adds a hook that Erase runs inside its transaction. Call it while
// wiring the stores, before serving.
func (s *Store) OnErase(h EraseHook) { s.eraseHooks = append(s.eraseHooks, h) }

// NewStore returns a Store.
func NewStore(d *db.DB, v *vault.Vault, a *audit.Log) *Store {
	return &Store{db: d, vault: v, audit: a, feed: feed.New(d)}
}

// NormaliseEmail trims an address, lower-cases it, turns an international
// domain into its ASCII form and checks its shape.
func NormaliseEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 {
		return "", ErrInvalidEmail
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return "", ErrInvalidEmail
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || !strings.Contains(domain, ".") {
		return "", ErrInvalidEmail
	}
	ascii, err := idna.Lookup.ToASCII(strings.ToLower(domain))
	if err != nil {
		return "", ErrInvalidEmail
	}
	return strings.ToLower(local) + "@" + ascii, nil
}

// Create stores a new contact; every personal field is sealed under the
// contact's own data key, email and phone also get blind indexes.
func (s *Store) Create(ctx context.Context, actor audit.Actor, tenantID string, in Input) (Contact, error) {
	c := Contact{ID: db.NewID(), TenantID: tenantID, ExternalID: in.ExternalID, Phone: in.Phone,
		FirstName: in.FirstName, LastName: in.LastName, Language: in.Language, Country: in.Country, TimeZone: in.TimeZone}
	if in.Email != "" {
		e, err := NormaliseEmail(in.Email)
		if err != nil {
			return Contact{}, err
		}
		c.Email = e
	}
	now := db.Now()
	c.CreatedAt, c.UpdatedAt = db.Time(now), db.Time(now)
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := s.insert(ctx, tx, &c, now); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "contact.create",
			ObjectKind: "contact", ObjectID: c.ID, SubjectID: c.ID})
	})
	if err != nil {
		return Contact{}, fmt.Errorf("create contact: %w", err)
	}
	return c, nil
}

// CreateMany stores contacts in one transaction with one audit entry; it is
// what the demo and tests use to seed data.
func (s *Store) CreateMany(ctx context.Context, actor audit.Actor, tenantID string, ins []Input) ([]string, error) {
	ids := make([]string, 0, len(ins))
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		now := db.Now()
		for _, in := range ins {
			c := Contact{ID: db.NewID(), TenantID: tenantID, ExternalID: in.ExternalID, Phone: in.Phone,
				FirstName: in.FirstName, LastName: in.LastName, Language: in.Language, Country: in.Country, TimeZone: in.TimeZone}
			if in.Email != "" {
				e, err := NormaliseEmail(in.Email)
				if err != nil {
					return err
				}
				c.Email = e
			}
			if err := s.insert(ctx, tx, &c, now); err != nil {
				return err
			}
			ids = append(ids, c.ID)
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "contact.create_many",
			ObjectKind: "contact", Detail: map[string]string{"count": fmt.Sprint(len(ids))}})
	})
	if err != nil {
		return nil, fmt.Errorf("create contacts: %w", err)
	}
	return ids, nil
}

func (s *Store) insert(ctx context.Context, tx *sql.Tx, c *Contact, now int64) error {
	k, err := s.vault.Subject(ctx, tx, c.TenantID, c.ID)
	if err != nil {
		return err
	}
	var emailIdx, phoneIdx []byte
	if c.Email != "" {
		if emailIdx, err = s.vault.BlindIndex(ctx, tx, c.TenantID, FieldEmail, c.Email); err != nil {
			return err
		}
	}
	if c.Phone != "" {
		if phoneIdx, err = s.vault.BlindIndex(ctx, tx, c.TenantID, FieldPhone, c.Phone); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `/* contact.Store.insert */
		INSERT INTO contacts (tenant_id, id, external_id, email_sealed, email_bidx, phone_sealed, phone_bidx,
			first_name_sealed, last_name_sealed, language, country, time_zone, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)`,
		c.TenantID, c.ID, c.ExternalID, k.SealString(FieldEmail, c.Email), emailIdx,
		k.SealString(FieldPhone, c.Phone), phoneIdx, k.SealString(FieldFirstName, c.FirstName),
		k.SealString(FieldLastName, c.LastName), c.Language, c.Country, c.TimeZone, now)
	return db.Translate(err)
}

const selectContact = `SELECT tenant_id, id, external_id, email_sealed, phone_sealed, first_name_sealed,
	last_name_sealed, language, country, time_zone, created_at, updated_at FROM contacts `

type row struct {
	c                         Contact
	email, phone, first, last []byte
	created, updated          int64
}

func scanRow(sc interface{ Scan(...any) error }) (row, error) {
	var r row
	err := sc.Scan(&r.c.TenantID, &r.c.ID, &r.c.ExternalID, &r.email, &r.phone, &r.first, &r.last,
		&r.c.Language, &r.c.Country, &r.c.TimeZone, &r.created, &r.updated)
	r.c.CreatedAt, r.c.UpdatedAt = db.Time(r.created), db.Time(r.updated)
	return r, err
}

func (s *Store) open(ctx context.Context, r row) (Contact, error) {
	k, err := s.vault.Lookup(ctx, r.c.TenantID, r.c.ID)
	if err != nil {
		return Contact{}, err
	}
	c := r.c
	for _, f := range []struct {
		name   string
		sealed []byte
		dst    *string
	}{{FieldEmail, r.email, &c.Email}, {FieldPhone, r.phone, &c.Phone}, {FieldFirstName, r.first, &c.FirstName}, {FieldLastName, r.last, &c.LastName}} {
		if *f.dst, err = k.OpenString(f.name, f.sealed); err != nil {
			return Contact{}, err
		}
	}
	return c, nil
}

// Get returns one contact of the tenant, decrypted; the read is audited.
// Another tenant's contact is db.ErrNotFound.
func (s *Store) Get(ctx context.Context, actor audit.Actor, tenantID, id string) (Contact, error) {
	r, err := scanRow(s.db.R.QueryRowContext(ctx, `/* contact.Store.Get */ `+selectContact+
		`WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil {
		return Contact{}, fmt.Errorf("get contact: %w", db.Translate(err))
	}
	c, err := s.open(ctx, r)
	if err != nil {
		return Contact{}, fmt.Errorf("get contact: %w", err)
	}
	if err := s.audit.Record(ctx, nil, audit.Entry{TenantID: tenantID, Actor: actor, Action: "contact.read",
		ObjectKind: "contact", ObjectID: id, SubjectID: id}); err != nil {
		return Contact{}, fmt.Errorf("get contact: %w", err)
	}
	return c, nil
}

// ByEmail finds a contact of the tenant by email through the blind index,
// without decrypting any other row. The read is audited.
func (s *Store) ByEmail(ctx context.Context, actor audit.Actor, tenantID, email string) (Contact, error) {
	e, err := NormaliseEmail(email)
	if err != nil {
		return Contact{}, err
	}
	idx, err := s.vault.BlindIndex(ctx, nil, tenantID, FieldEmail, e)
	if err != nil {
		return Contact{}, fmt.Errorf("find contact: %w", err)
	}
	var id string
	err = s.db.R.QueryRowContext(ctx, `/* contact.Store.ByEmail */ SELECT id FROM contacts
		WHERE tenant_id = $1 AND email_bidx = $2 ORDER BY id LIMIT 1`, tenantID, idx).Scan(&id)
	if err != nil {
		return Contact{}, fmt.Errorf("find contact: %w", db.Translate(err))
	}
	return s.Get(ctx, actor, tenantID, id)
}

// Page is one page of a contact list.
type Page struct {
	Contacts []Contact
	// Next is the cursor of the following page, empty on the last one.
	Next string
	// Total counts the tenant's contacts.
	Total int
}

// List returns up to limit contacts of the tenant after the cursor, newest
// last, decrypted; the listing is audited once.
func (s *Store) List(ctx context.Context, actor audit.Actor, tenantID, after string, limit int) (Page, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var p Page
	if err := s.db.R.QueryRowContext(ctx, `/* contact.Store.List */ SELECT count(*) FROM contacts WHERE tenant_id = $1`, tenantID).Scan(&p.Total); err != nil {
		return Page{}, fmt.Errorf("list contacts: %w", err)
	}
	rows, err := s.db.R.QueryContext(ctx, `/* contact.Store.List */ `+selectContact+
		`WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`, tenantID, after, limit+1)
	if err != nil {
		return Page{}, fmt.Errorf("list contacts: %w", err)
	}
	var rs []row
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			rows.Close()
			return Page{}, fmt.Errorf("list contacts: %w", err)
		}
		rs = append(rs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("list contacts: %w", err)
	}
	if len(rs) > limit {
		rs = rs[:limit]
		p.Next = rs[limit-1].c.ID
	}
	for _, r := range rs {
		c, err := s.open(ctx, r)
		if errors.Is(err, vault.ErrErased) {
			continue
		}
		if err != nil {
			return Page{}, fmt.Errorf("list contacts: %w", err)
		}
		p.Contacts = append(p.Contacts, c)
	}
	if err := s.audit.Record(ctx, nil, audit.Entry{TenantID: tenantID, Actor: actor, Action: "contact.list",
		ObjectKind: "contact", Detail: map[string]string{"count": fmt.Sprint(len(p.Contacts)), "after": after}}); err != nil {
		return Page{}, fmt.Errorf("list contacts: %w", err)
	}
	return p, nil
}

// Erase crypto-shreds a contact: its row is deleted, the erase hooks forget
// what other packages hold about them, then its data key is destroyed, in
// one transaction. What escaped into backups or exports can no longer be
// read.
func (s *Store) Erase(ctx context.Context, actor audit.Actor, tenantID, id string) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var external string
		err := tx.QueryRowContext(ctx, `/* contact.Store.Erase */ DELETE FROM contacts WHERE tenant_id = $1 AND id = $2 RETURNING external_id`,
			tenantID, id).Scan(&external)
		if err != nil {
			return fmt.Errorf("erase contact: %w", db.Translate(err))
		}
		for _, h := range s.eraseHooks {
			if err := h(ctx, tx, tenantID, id); err != nil {
				return fmt.Errorf("erase contact: %w", err)
			}
		}
		// The CRMs that received the person's data hear of the erasure by
		// their own id (subject.erased). After the hooks: a transaction
		// locks a person's responses before the tenant's feed counter, as
		// one that answers a survey does (no deadlock between the two).
		if err := s.feed.Emit(ctx, tx, tenantID, feed.Event{Type: feed.SubjectErased, ObjectID: id, ContactID: id, ExternalID: external}); err != nil {
			return fmt.Errorf("erase contact: %w", err)
		}
		if err := s.vault.EraseSubject(ctx, tx, tenantID, id); err != nil {
			return fmt.Errorf("erase contact: %w", err)
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "contact.erase",
			ObjectKind: "contact", ObjectID: id, SubjectID: id})
	})
}

// Count returns how many contacts the tenant has.
func (s *Store) Count(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := s.db.R.QueryRowContext(ctx, `/* contact.Store.Count */ SELECT count(*) FROM contacts WHERE tenant_id = $1`, tenantID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count contacts: %w", err)
	}
	return n, nil
}

// Exists reports whether the tenant has a contact with this id (without
// decrypting it): db.ErrNotFound otherwise.
func (s *Store) Exists(ctx context.Context, tenantID, id string) (bool, error) {
	var n int
	err := s.db.R.QueryRowContext(ctx, `/* contact.Store.Exists */ SELECT count(*) FROM contacts WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("contact: %w", err)
	}
	if n == 0 {
		return false, db.ErrNotFound
	}
	return true, nil
}

// Correction is what a person (or the tenant for them) corrects of a
// contact. A nil field is left as it is.
type Correction struct {
	FirstName, LastName, Email *string
}

// Limits of corrected fields, in characters.
const (
	MaxNameLen = 100
)

// ErrInvalidName says a corrected name is too long or not one line of
// text.
var ErrInvalidName = errors.New("a name is one line of at most 100 characters")

// Correct rectifies a contact's name or email (GDPR 16): the new values are
// sealed under the contact's key and the email's blind index is computed
// anew, so the next message goes to the new address and lookups find it.
// It returns which fields changed; the change is audited (field names only).
// An email may be emptied only when the contact has a phone.
func (s *Store) Correct(ctx context.Context, actor audit.Actor, tenantID, id string, c Correction) ([]string, error) {
	clean := func(p *string) error {
		if p == nil {
			return nil
		}
		v, err := CleanText(*p, MaxNameLen)
		if err != nil || strings.ContainsRune(v, '\n') {
			return ErrInvalidName
		}
		*p = v
		return nil
	}
	if err := clean(c.FirstName); err != nil {
		return nil, err
	}
	if err := clean(c.LastName); err != nil {
		return nil, err
	}
	if c.Email != nil && strings.TrimSpace(*c.Email) != "" {
		e, err := NormaliseEmail(*c.Email)
		if err != nil {
			return nil, err
		}
		c.Email = &e
	} else if c.Email != nil {
		e := ""
		c.Email = &e
	}
	var changed []string
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRow(tx.QueryRowContext(ctx, `/* contact.Store.Correct */ `+selectContact+`WHERE tenant_id = $1 AND id = $2`, tenantID, id))
		if err != nil {
			return db.Translate(err)
		}
		k, err := s.vault.Subject(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		cur, err := s.open(ctx, r)
		if err != nil {
			return err
		}
		sets := []string{}
		args := []any{tenantID, id}
		set := func(col string, v any) {
			args = append(args, v)
			sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)))
		}
		if c.FirstName != nil && *c.FirstName != cur.FirstName {
			set("first_name_sealed", k.SealString(FieldFirstName, *c.FirstName))
			changed = append(changed, FieldFirstName)
		}
		if c.LastName != nil && *c.LastName != cur.LastName {
			set("last_name_sealed", k.SealString(FieldLastName, *c.LastName))
			changed = append(changed, FieldLastName)
		}
		if c.Email != nil && *c.Email != cur.Email {
			if *c.Email == "" && cur.Phone == "" {
				return ErrInvalidEmail
			}
			var idx []byte
			if *c.Email != "" {
				if idx, err = s.vault.BlindIndex(ctx, tx, tenantID, FieldEmail, *c.Email); err != nil {
					return err
				}
			}
			set("email_sealed", k.SealString(FieldEmail, *c.Email))
			set("email_bidx", idx)
			changed = append(changed, FieldEmail)
		}
		if len(changed) == 0 {
			return nil
		}
		set("updated_at", db.Now())
		if _, err := tx.ExecContext(ctx, `/* contact.Store.Correct */ UPDATE contacts SET `+strings.Join(sets, ", ")+
			` WHERE tenant_id = $1 AND id = $2`, args...); err != nil {
			return db.Translate(err)
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "contact.rectify",
			ObjectKind: "contact", ObjectID: id, SubjectID: id, Detail: map[string]string{"fields": strings.Join(changed, ",")}})
	})
	if err != nil {
		return nil, fmt.Errorf("correct contact: %w", err)
	}
	return changed, nil
}

// Basis is one entry of the lawful-basis ledger of a contact: on which
// basis, for which purpose and from which source the tenant holds them.
type Basis struct {
	Basis, Purpose, SourceKind, SourceID string
	RecordedAt                           time.Time
}

// Bases returns a contact's lawful-basis ledger, oldest first.
func (s *Store) Bases(ctx context.Context, tenantID, id string) ([]Basis, error) {
	rows, err := s.db.R.QueryContext(ctx, `/* contact.Store.Bases */ SELECT basis, purpose, source_kind, source_id, recorded_at
		FROM contact_bases WHERE tenant_id = $1 AND contact_id = $2 ORDER BY recorded_at, id`, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("contact bases: %w", err)
	}
	defer rows.Close()
	var out []Basis
	for rows.Next() {
		var b Basis
		var at int64
		if err := rows.Scan(&b.Basis, &b.Purpose, &b.SourceKind, &b.SourceID, &at); err != nil {
			return nil, fmt.Errorf("contact bases: %w", err)
		}
		b.RecordedAt = db.Time(at)
		out = append(out, b)
	}
	return out, rows.Err()
}

// FindByAddress finds the contact of the tenant with this email or phone
// (field FieldEmail or FieldPhone; the value normalised already) through
// its blind index, without decrypting or auditing anything: it only says
// which contact id holds the address (the oldest one when several do).
// An unknown address is db.ErrNotFound.
func (s *Store) FindByAddress(ctx context.Context, tenantID, field, normalised string) (string, error) {
	col := "email_bidx"
	if field == FieldPhone {
		col = "phone_bidx"
	} else if field != FieldEmail {
		return "", fmt.Errorf("find contact: unknown address field %q", field)
	}
	idx, err := s.vault.BlindIndex(ctx, nil, tenantID, field, normalised)
	if err != nil {
		return "", fmt.Errorf("find contact: %w", err)
	}
	var id string
	err = s.db.R.QueryRowContext(ctx, `/* contact.Store.FindByAddress */ SELECT id FROM contacts
		WHERE tenant_id = $1 AND `+col+` = $2 ORDER BY id LIMIT 1`, tenantID, idx).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("find contact: %w", db.Translate(err))
	}
	return id, nil
}

// DefaultRegion returns the tenant's default region for reading phone
// numbers written without a country code ("" when none is set).
func (s *Store) DefaultRegion(ctx context.Context, tenantID string) (string, error) {
	var r string
	err := s.db.R.QueryRowContext(ctx, `/* contact.Store.DefaultRegion */ SELECT default_region FROM tenants WHERE id = $1`, tenantID).Scan(&r)
	if err != nil {
		return "", fmt.Errorf("default region: %w", db.Translate(err))
	}
	return r, nil
}
