package contact

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"avis/internal/db"
	"avis/internal/vault"
)

// Reach says how a contact can be reached, without decrypting anything.
type Reach struct {
	HasEmail, HasPhone bool
	// EmailIndex and PhoneIndex are the blind indexes the suppression list
	// is checked against (nil when the contact has no such address).
	EmailIndex, PhoneIndex []byte
	Language, Country      string
	TimeZone               string
	// Restricted is true while the contact's processing is restricted
	// (GDPR Art. 18): they must not be invited.
	Restricted bool
}

// Reachability reads how a contact can be reached, through q (a
// transaction, or nil for the read pool). Another tenant's contact is
// db.ErrNotFound.
func (s *Store) Reachability(ctx context.Context, q db.Querier, tenantID, id string) (Reach, error) {
	if q == nil {
		q = s.db.R
	}
	var r Reach
	var restricted int64
	err := q.QueryRowContext(ctx, `/* contact.Store.Reachability */ SELECT email_bidx, phone_bidx, language, country, time_zone,
		restricted_at FROM contacts WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&r.EmailIndex, &r.PhoneIndex, &r.Language, &r.Country,
		&r.TimeZone, &restricted)
	if err != nil {
		return Reach{}, fmt.Errorf("contact reachability: %w", db.Translate(err))
	}
	r.HasEmail, r.HasPhone, r.Restricted = len(r.EmailIndex) > 0, len(r.PhoneIndex) > 0, restricted != 0
	return r, nil
}

// Recipient is a contact as an invitation needs it: decrypted, with its
// segment attributes (clear and personal merged) and its blind indexes.
type Recipient struct {
	Contact
	Attributes map[string]string
	Reach      Reach
}

// Recipient reads and decrypts one contact for sending, through q (nil for
// the read pool). It is not audited: the invitation it serves is the record
// of that processing. An erased contact is vault.ErrErased; another tenant's
// is db.ErrNotFound.
func (s *Store) Recipient(ctx context.Context, q db.Querier, tenantID, id string) (Recipient, error) {
	if q == nil {
		q = s.db.R
	}
	var (
		r            row
		attrs        string
		pattrs       []byte
		eidx, phidx  []byte
		restricted   int64
		out          Recipient
		decodedAttrs map[string]string
	)
	err := q.QueryRowContext(ctx, `/* contact.Store.Recipient */ SELECT tenant_id, id, external_id, email_sealed, phone_sealed,
		first_name_sealed, last_name_sealed, language, country, time_zone, created_at, updated_at, attributes, attributes_sealed,
		email_bidx, phone_bidx, restricted_at FROM contacts WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(
		&r.c.TenantID, &r.c.ID, &r.c.ExternalID, &r.email, &r.phone, &r.first, &r.last, &r.c.Language, &r.c.Country,
		&r.c.TimeZone, &r.created, &r.updated, &attrs, &pattrs, &eidx, &phidx, &restricted)
	if err != nil {
		return Recipient{}, fmt.Errorf("recipient: %w", db.Translate(err))
	}
	r.c.CreatedAt, r.c.UpdatedAt = db.Time(r.created), db.Time(r.updated)
	c, err := s.open(ctx, r)
	if err != nil {
		return Recipient{}, fmt.Errorf("recipient %s: %w", id, err)
	}
	out.Contact = c
	out.Reach = Reach{HasEmail: c.Email != "", HasPhone: c.Phone != "", EmailIndex: eidx, PhoneIndex: phidx,
		Language: c.Language, Country: c.Country, TimeZone: c.TimeZone, Restricted: restricted != 0}
	out.Attributes = map[string]string{}
	if attrs != "" && attrs != "{}" {
		if err := json.Unmarshal([]byte(attrs), &decodedAttrs); err != nil {
			return Recipient{}, fmt.Errorf("recipient %s attributes: %w", id, err)
		}
		maps.Copy(out.Attributes, decodedAttrs)
	}
	if len(pattrs) > 0 {
		k, err := s.vault.Lookup(ctx, tenantID, id)
		if err != nil {
			return Recipient{}, fmt.Errorf("recipient %s: %w", id, err)
		}
		b, err := k.Open(FieldSealedAttributes, pattrs)
		if err != nil {
			return Recipient{}, fmt.Errorf("recipient %s: %w", id, err)
		}
		decodedAttrs = nil
		if err := json.Unmarshal(b, &decodedAttrs); err != nil {
			return Recipient{}, fmt.Errorf("recipient %s attributes: %w", id, err)
		}
		maps.Copy(out.Attributes, decodedAttrs)
	}
	return out, nil
}

// ReachabilityMany is Reachability for many contacts at once, through q;
// contacts that do not exist in the tenant are missing from the map.
func (s *Store) ReachabilityMany(ctx context.Context, q db.Querier, tenantID string, ids []string) (map[string]Reach, error) {
	if q == nil {
		q = s.db.R
	}
	out := make(map[string]Reach, len(ids))
	const per = 500
	for start := 0; start < len(ids); start += per {
		end := min(start+per, len(ids))
		in, args := db.InList(s.db.Dialect, []any{tenantID}, ids[start:end])
		rows, err := q.QueryContext(ctx, `/* contact.Store.ReachabilityMany */ SELECT id, email_bidx, phone_bidx, language, country, time_zone,
			restricted_at FROM contacts WHERE tenant_id = `+s.db.Dialect.Arg(1)+` AND id IN `+in, args...)
		if err != nil {
			return nil, fmt.Errorf("contact reachability: %w", err)
		}
		for rows.Next() {
			var id string
			var r Reach
			var restricted int64
			if err := rows.Scan(&id, &r.EmailIndex, &r.PhoneIndex, &r.Language, &r.Country, &r.TimeZone, &restricted); err != nil {
				rows.Close()
				return nil, fmt.Errorf("contact reachability: %w", err)
			}
			r.HasEmail, r.HasPhone, r.Restricted = len(r.EmailIndex) > 0, len(r.PhoneIndex) > 0, restricted != 0
			out[id] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("contact reachability: %w", err)
		}
	}
	return out, nil
}

// Recipients is Recipient for many contacts at once, through q (nil for the
// read pool): one query for the contacts and one for their keys. Contacts
// that do not exist, or whose data was erased, are missing from the map.
func (s *Store) Recipients(ctx context.Context, q db.Querier, tenantID string, ids []string) (map[string]Recipient, error) {
	if q == nil {
		q = s.db.R
	}
	out := make(map[string]Recipient, len(ids))
	keys, err := s.vault.Subjects(ctx, q, tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("recipients: %w", err)
	}
	for start := 0; start < len(ids); start += 500 {
		in, args := db.InList(s.db.Dialect, []any{tenantID}, ids[start:min(start+500, len(ids))])
		rows, err := q.QueryContext(ctx, `/* contact.Store.Recipients */ SELECT tenant_id, id, external_id, email_sealed, phone_sealed,
			first_name_sealed, last_name_sealed, language, country, time_zone, created_at, updated_at, attributes, attributes_sealed,
			email_bidx, phone_bidx, restricted_at FROM contacts WHERE tenant_id = `+s.db.Dialect.Arg(1)+` AND id IN `+in, args...)
		if err != nil {
			return nil, fmt.Errorf("recipients: %w", err)
		}
		for rows.Next() {
			var r row
			var attrs string
			var pattrs, eidx, phidx []byte
			var restricted int64
			if err := rows.Scan(&r.c.TenantID, &r.c.ID, &r.c.ExternalID, &r.email, &r.phone, &r.first, &r.last, &r.c.Language,
				&r.c.Country, &r.c.TimeZone, &r.created, &r.updated, &attrs, &pattrs, &eidx, &phidx, &restricted); err != nil {
				rows.Close()
				return nil, fmt.Errorf("recipients: %w", err)
			}
			k := keys[r.c.ID]
			if k == nil {
				continue // erased
			}
			rc, err := recipientOf(k, r, attrs, pattrs, eidx, phidx)
			if err != nil {
				rows.Close()
				return nil, err
			}
			rc.Reach.Restricted = restricted != 0
			out[r.c.ID] = rc
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("recipients: %w", err)
		}
	}
	return out, nil
}

// recipientOf opens a contact row with its key.
func recipientOf(k *vault.SubjectKey, r row, attrs string, pattrs, eidx, phidx []byte) (Recipient, error) {
	r.c.CreatedAt, r.c.UpdatedAt = db.Time(r.created), db.Time(r.updated)
	c := r.c
	var err error
	for _, f := range []struct {
		name   string
		sealed []byte
		dst    *string
	}{{FieldEmail, r.email, &c.Email}, {FieldPhone, r.phone, &c.Phone}, {FieldFirstName, r.first, &c.FirstName}, {FieldLastName, r.last, &c.LastName}} {
		if *f.dst, err = k.OpenString(f.name, f.sealed); err != nil {
			return Recipient{}, fmt.Errorf("recipient %s: %w", c.ID, err)
		}
	}
	out := Recipient{Contact: c, Attributes: map[string]string{}, Reach: Reach{HasEmail: c.Email != "", HasPhone: c.Phone != "",
		EmailIndex: eidx, PhoneIndex: phidx, Language: c.Language, Country: c.Country, TimeZone: c.TimeZone}}
	if attrs != "" && attrs != "{}" {
		var m map[string]string
		if err := json.Unmarshal([]byte(attrs), &m); err != nil {
			return Recipient{}, fmt.Errorf("recipient %s attributes: %w", c.ID, err)
		}
		maps.Copy(out.Attributes, m)
	}
	if len(pattrs) > 0 {
		b, err := k.Open(FieldSealedAttributes, pattrs)
		if err != nil {
			return Recipient{}, fmt.Errorf("recipient %s: %w", c.ID, err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			return Recipient{}, fmt.Errorf("recipient %s attributes: %w", c.ID, err)
		}
		maps.Copy(out.Attributes, m)
	}
	return out, nil
}
