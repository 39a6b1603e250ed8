package contact

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"sort"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/vault"
)

// stored is a contact as the database holds it, decrypted for comparison.
type stored struct {
	id, ext, email, phone, first, last string
	lang, country, tz                  string
	attrs, pattrs                      map[string]string
}

// plan is what a chunk does to one contact.
type plan struct {
	isNew   bool
	cur     stored
	orig    stored
	rows    []*candidate
	emailIx []byte
	phoneIx []byte
}

func (p *plan) apply(c *candidate) bool {
	before := p.cur
	b := &p.cur
	if c.carried&carryExt != 0 {
		b.ext = c.ext
	}
	if c.carried&carryEmail != 0 {
		b.email = c.email
		p.emailIx = c.emailIdx
	}
	if c.carried&carryPhone != 0 {
		b.phone = c.phone
		p.phoneIx = c.phoneIdx
	}
	if c.carried&carryFirst != 0 {
		b.first = c.first
	}
	if c.carried&carryLast != 0 {
		b.last = c.last
	}
	if c.carried&carryLang != 0 {
		b.lang = c.lang
	}
	if c.carried&carryCountry != 0 {
		b.country = c.country
	}
	if c.carried&carryTZ != 0 {
		b.tz = c.tz
	}
	changed := false
	if len(c.attrs) > 0 {
		b.attrs = maps.Clone(b.attrs)
		if b.attrs == nil {
			b.attrs = map[string]string{}
		}
		for k, v := range c.attrs {
			if b.attrs[k] != v {
				b.attrs[k], changed = v, true
			}
		}
	}
	if len(c.pattrs) > 0 {
		b.pattrs = maps.Clone(b.pattrs)
		if b.pattrs == nil {
			b.pattrs = map[string]string{}
		}
		for k, v := range c.pattrs {
			if b.pattrs[k] != v {
				b.pattrs[k], changed = v, true
			}
		}
	}
	return changed || before.ext != b.ext || before.email != b.email || before.phone != b.phone || before.first != b.first ||
		before.last != b.last || before.lang != b.lang || before.country != b.country || before.tz != b.tz
}

type storedRow struct {
	id, ext                          string
	email, phone, first, last, pattr []byte
	emailIx, phoneIx                 []byte
	lang, country, tz, attrs         string
}

const storedCols = `id, external_id, email_sealed, phone_sealed, first_name_sealed, last_name_sealed, attributes_sealed,
	email_bidx, phone_bidx, language, country, time_zone, attributes`

// lookup reads the contacts whose column holds one of values.
func lookup[T string | []byte](ctx context.Context, d db.Dialect, q db.Querier, tenantID, col string, values []T) ([]*storedRow, error) {
	var out []*storedRow
	cond := ""
	if col == "external_id" {
		cond = "external_id <> '' AND " // lets the planner use the partial unique index
	}
	err := db.EachIn(d, []any{tenantID}, values, func(in string, args []any) error {
		rows, err := q.QueryContext(ctx, fmt.Sprintf("/* contact.Store.Import */ SELECT %s FROM contacts WHERE tenant_id = %s AND %s%s%s",
			storedCols, d.Arg(1), cond, col, in), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := &storedRow{}
			if err := rows.Scan(&r.id, &r.ext, &r.email, &r.phone, &r.first, &r.last, &r.pattr, &r.emailIx, &r.phoneIx,
				&r.lang, &r.country, &r.tz, &r.attrs); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("look up contacts: %w", err)
	}
	// Oldest first, so that the same file always matches the same contact.
	// (Sorted here: ORDER BY would let the planner walk the primary key.)
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

// writeChunk matches, updates and creates the contacts of a chunk in tx, and
// records them in the lawful-basis ledger.
func (im *importer) writeChunk(ctx context.Context, tx *db.BulkTx, cands []*candidate) (Progress, error) {
	var p Progress
	if len(cands) == 0 {
		return p, nil
	}
	var exts []string
	var emails, phones [][]byte
	seenExt, seenEmail, seenPhone := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, c := range cands {
		if c.ext != "" && !seenExt[c.ext] {
			seenExt[c.ext] = true
			exts = append(exts, c.ext)
		}
		if c.emailIdx != nil && !seenEmail[string(c.emailIdx)] {
			seenEmail[string(c.emailIdx)] = true
			emails = append(emails, c.emailIdx)
		}
		if c.phoneIdx != nil && !seenPhone[string(c.phoneIdx)] {
			seenPhone[string(c.phoneIdx)] = true
			phones = append(phones, c.phoneIdx)
		}
	}
	byID := map[string]*storedRow{}
	byExt, byEmail, byPhone := map[string]*storedRow{}, map[string][]*storedRow{}, map[string][]*storedRow{}
	// known keeps one storedRow per contact, whichever lookup found it.
	known := func(rows []*storedRow, err error) ([]*storedRow, error) {
		for i, r := range rows {
			if prev, ok := byID[r.id]; ok {
				rows[i] = prev
			} else {
				byID[r.id] = r
			}
		}
		return rows, err
	}
	d := im.s.db.Dialect
	rows, err := known(lookup(ctx, d, tx, im.tenantID, "external_id", exts))
	if err != nil {
		return p, err
	}
	for _, r := range rows {
		byExt[r.ext] = r
	}
	if rows, err = known(lookup(ctx, d, tx, im.tenantID, "email_bidx", emails)); err != nil {
		return p, err
	}
	for _, r := range rows {
		byEmail[string(r.emailIx)] = append(byEmail[string(r.emailIx)], r)
	}
	if rows, err = known(lookup(ctx, d, tx, im.tenantID, "phone_bidx", phones)); err != nil {
		return p, err
	}
	for _, r := range rows {
		byPhone[string(r.phoneIx)] = append(byPhone[string(r.phoneIx)], r)
	}

	plans := map[string]*plan{}
	var order []*plan
	pendExt, pendEmail, pendPhone := map[string]*plan{}, map[string]*plan{}, map[string]*plan{}
	planOf := func(r *storedRow) *plan {
		if pl, ok := plans[r.id]; ok {
			return pl
		}
		pl := &plan{cur: stored{id: r.id, ext: r.ext}, emailIx: r.emailIx, phoneIx: r.phoneIx}
		plans[r.id] = pl
		order = append(order, pl)
		return pl
	}
	// compatible: a contact with another CRM id is another person, even with
	// the same email or phone.
	compatible := func(ext string, c *candidate) bool { return c.ext == "" || ext == "" || ext == c.ext }
	for _, c := range cands {
		var pl *plan
		if c.ext != "" {
			if pl = pendExt[c.ext]; pl == nil {
				if r := byExt[c.ext]; r != nil {
					pl = planOf(r)
				}
			}
		}
		if pl == nil && c.emailIdx != nil {
			if q := pendEmail[string(c.emailIdx)]; q != nil && compatible(q.cur.ext, c) {
				pl = q
			} else {
				for _, r := range byEmail[string(c.emailIdx)] {
					if compatible(r.ext, c) {
						pl = planOf(r)
						break
					}
				}
			}
		}
		if pl == nil && c.phoneIdx != nil {
			if q := pendPhone[string(c.phoneIdx)]; q != nil && compatible(q.cur.ext, c) {
				pl = q
			} else {
				for _, r := range byPhone[string(c.phoneIdx)] {
					if compatible(r.ext, c) {
						pl = planOf(r)
						break
					}
				}
			}
		}
		if pl == nil {
			id := db.NewID()
			pl = &plan{isNew: true, cur: stored{id: id}}
			plans[id] = pl
			order = append(order, pl)
		}
		pl.rows = append(pl.rows, c)
		if c.ext != "" {
			pendExt[c.ext] = pl
		}
		if c.emailIdx != nil {
			pendEmail[string(c.emailIdx)] = pl
		}
		if c.phoneIdx != nil {
			pendPhone[string(c.phoneIdx)] = pl
		}
	}

	// Decrypt the existing contacts the chunk touches.
	var existingIDs []string
	for _, pl := range order {
		if !pl.isNew {
			existingIDs = append(existingIDs, pl.cur.id)
		}
	}
	keys, err := im.s.vault.Subjects(ctx, tx, im.tenantID, existingIDs)
	if err != nil {
		return p, err
	}
	for _, id := range existingIDs {
		pl, r := plans[id], byID[id]
		k := keys[id]
		if k == nil {
			return p, fmt.Errorf("contact %s has no data key: %w", id, vault.ErrErased)
		}
		cur, err := openStored(k, r)
		if err != nil {
			return p, err
		}
		pl.cur, pl.orig = cur, cur
	}

	// Apply the rows in order and count them.
	var newIDs []string
	for _, pl := range order {
		for i, c := range pl.rows {
			changed := pl.apply(c)
			switch {
			case pl.isNew && i == 0:
				p.Created++
			case changed:
				p.Updated++
			default:
				p.Unchanged++
			}
		}
		if pl.isNew {
			newIDs = append(newIDs, pl.cur.id)
		}
		if im.rep.RowIDs != nil {
			for _, c := range pl.rows {
				im.rep.RowIDs[c.row] = pl.cur.id
			}
		}
	}

	// Update the changed contacts.
	now := db.Now()
	for _, pl := range order {
		if pl.isNew || equalStored(pl.cur, pl.orig) {
			continue
		}
		k := keys[pl.cur.id]
		sealedAttrs, clearAttrs, err := sealAttrs(k, pl.cur)
		if err != nil {
			return p, err
		}
		_, err = tx.ExecContext(ctx, `/* contact.Store.Import */ UPDATE contacts SET external_id = $3, email_sealed = $4, email_bidx = $5,
			phone_sealed = $6, phone_bidx = $7, first_name_sealed = $8, last_name_sealed = $9, language = $10, country = $11,
			time_zone = $12, attributes = $13, attributes_sealed = $14, updated_at = $15 WHERE tenant_id = $1 AND id = $2`,
			im.tenantID, pl.cur.id, pl.cur.ext, k.SealString(FieldEmail, pl.cur.email), nilIfEmpty(pl.emailIx, pl.cur.email),
			k.SealString(FieldPhone, pl.cur.phone), nilIfEmpty(pl.phoneIx, pl.cur.phone), k.SealString(FieldFirstName, pl.cur.first),
			k.SealString(FieldLastName, pl.cur.last), pl.cur.lang, pl.cur.country, pl.cur.tz, clearAttrs, sealedAttrs, now)
		if err != nil {
			return p, fmt.Errorf("update contact: %w", db.Translate(err))
		}
	}

	// Create the new ones, many per statement.
	if len(newIDs) > 0 {
		newKeys, err := im.s.vault.NewSubjects(ctx, tx, im.tenantID, newIDs)
		if err != nil {
			return p, err
		}
		ins := db.Into(im.s.db.Dialect, tx, "contact.Store.Import", "contacts", "tenant_id", "id", "external_id", "email_sealed",
			"email_bidx", "phone_sealed", "phone_bidx", "first_name_sealed", "last_name_sealed", "language", "country", "time_zone",
			"attributes", "attributes_sealed", "created_at", "updated_at")
		for i, id := range newIDs {
			pl, k := plans[id], newKeys[i]
			sealedAttrs, clearAttrs, err := sealAttrs(k, pl.cur)
			if err != nil {
				return p, err
			}
			if err := ins.Add(ctx, im.tenantID, id, pl.cur.ext, k.SealString(FieldEmail, pl.cur.email), nilIfEmpty(pl.emailIx, pl.cur.email),
				k.SealString(FieldPhone, pl.cur.phone), nilIfEmpty(pl.phoneIx, pl.cur.phone), k.SealString(FieldFirstName, pl.cur.first),
				k.SealString(FieldLastName, pl.cur.last), pl.cur.lang, pl.cur.country, pl.cur.tz, clearAttrs, sealedAttrs, now, now); err != nil {
				return p, fmt.Errorf("create contacts: %w", db.Translate(err))
			}
		}
		if err := ins.Close(ctx); err != nil {
			return p, fmt.Errorf("create contacts: %w", db.Translate(err))
		}
	}

	// The ledger: one entry per contact of the chunk.
	ins := db.Into(im.s.db.Dialect, tx, "contact.Store.Import", "contact_bases", "tenant_id", "id", "contact_id", "basis", "purpose",
		"source_kind", "source_id", "recorded_at")
	src := ledgerSource(im.o.Source, im.rep.ImportID)
	for _, pl := range order {
		if err := ins.Add(ctx, im.tenantID, db.NewID(), pl.cur.id, im.o.Basis, im.o.Purpose, im.o.Source.Kind, src, now); err != nil {
			return p, fmt.Errorf("record lawful basis: %w", db.Translate(err))
		}
	}
	if err := ins.Close(ctx); err != nil {
		return p, fmt.Errorf("record lawful basis: %w", db.Translate(err))
	}
	return p, nil
}

// ledgerSource names the source in the ledger: the import, plus the key or
// SFTP source behind it.
func ledgerSource(s SourceRef, importID string) string {
	if s.ID == "" {
		return "import:" + importID
	}
	return "import:" + importID + " " + s.Kind + ":" + s.ID
}

func nilIfEmpty(ix []byte, v string) []byte {
	if v == "" {
		return nil
	}
	return ix
}

func openStored(k *vault.SubjectKey, r *storedRow) (stored, error) {
	s := stored{id: r.id, ext: r.ext, lang: r.lang, country: r.country, tz: r.tz}
	var err error
	for _, f := range []struct {
		name   string
		sealed []byte
		dst    *string
	}{{FieldEmail, r.email, &s.email}, {FieldPhone, r.phone, &s.phone}, {FieldFirstName, r.first, &s.first}, {FieldLastName, r.last, &s.last}} {
		if *f.dst, err = k.OpenString(f.name, f.sealed); err != nil {
			return s, fmt.Errorf("open contact %s: %w", r.id, err)
		}
	}
	if r.attrs != "" && r.attrs != "{}" {
		if err := json.Unmarshal([]byte(r.attrs), &s.attrs); err != nil {
			return s, fmt.Errorf("contact %s attributes: %w", r.id, err)
		}
	}
	if len(r.pattr) > 0 {
		b, err := k.Open(FieldSealedAttributes, r.pattr)
		if err != nil {
			return s, fmt.Errorf("open contact %s: %w", r.id, err)
		}
		if err := json.Unmarshal(b, &s.pattrs); err != nil {
			return s, fmt.Errorf("contact %s attributes: %w", r.id, err)
		}
	}
	return s, nil
}

func sealAttrs(k *vault.SubjectKey, s stored) (sealed []byte, clear string, err error) {
	clear = "{}"
	if len(s.attrs) > 0 {
		b, err := json.Marshal(s.attrs)
		if err != nil {
			return nil, "", err
		}
		clear = string(b)
	}
	if len(s.pattrs) > 0 {
		b, err := json.Marshal(s.pattrs)
		if err != nil {
			return nil, "", err
		}
		sealed = k.Seal(FieldSealedAttributes, b)
	}
	return sealed, clear, nil
}

func equalStored(a, b stored) bool {
	return a.ext == b.ext && a.email == b.email && a.phone == b.phone && a.first == b.first && a.last == b.last &&
		a.lang == b.lang && a.country == b.country && a.tz == b.tz && maps.Equal(a.attrs, b.attrs) && maps.Equal(a.pattrs, b.pattrs)
}

// writeRejects stores the chunk's rejects.
func (im *importer) writeRejects(ctx context.Context, tx db.Querier) error {
	return insertRejects(ctx, im.s.db.Dialect, tx, im.tenantID, im.rep.ImportID, im.rejects)
}

func insertRejects(ctx context.Context, d db.Dialect, q db.Querier, tenantID, importID string, rs []Reject) error {
	ins := db.NewInserter(d, q, `/* contact.Store.Import */ INSERT INTO import_rejects (tenant_id, import_id, row_num, column_name, reason, reason_text) VALUES `, 6).
		WithTail(" ON CONFLICT DO NOTHING")
	for _, r := range rs {
		if err := ins.Add(ctx, tenantID, importID, r.Row, truncate(r.Column, 200), truncate(r.Reason, 500), storedText(r.ReasonText)); err != nil {
			return fmt.Errorf("record rejected rows: %w", db.Translate(err))
		}
	}
	if err := ins.Close(ctx); err != nil {
		return fmt.Errorf("record rejected rows: %w", db.Translate(err))
	}
	return nil
}

func (s *Store) saveCounts(ctx context.Context, q db.Querier, tenantID string, r *Report) error {
	_, err := q.ExecContext(ctx, `/* contact.Store.Import */ UPDATE imports SET total_rows = $3, created_rows = $4, updated_rows = $5,
		unchanged_rows = $6, rejected_rows = $7 WHERE tenant_id = $1 AND id = $2`,
		tenantID, r.ImportID, r.Rows, r.Created, r.Updated, r.Unchanged, r.Rejected)
	if err != nil {
		return fmt.Errorf("import counts: %w", db.Translate(err))
	}
	return nil
}

// finishImport records the outcome. When the rows were written in one
// transaction that was rolled back, the rejects kept in the report are
// stored again.
func (s *Store) finishImport(ctx context.Context, actor audit.Actor, tenantID string, r *Report, rewriteRejects bool) error {
	ctx = context.WithoutCancel(ctx)
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if rewriteRejects {
			if err := insertRejects(ctx, s.db.Dialect, tx, tenantID, r.ImportID, r.Rejects); err != nil {
				return err
			}
		}
		if err := s.saveCounts(ctx, tx, tenantID, r); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `/* contact.Store.Import */ UPDATE imports SET status = $3, error = $4, error_text = $5,
			finished_at = $6 WHERE tenant_id = $1 AND id = $2`, tenantID, r.ImportID, r.Status, truncate(r.Error, 500), storedText(r.ErrorText),
			db.Now()); err != nil {
			return fmt.Errorf("finish import: %w", db.Translate(err))
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: tenantID, Actor: actor, Action: "import.finish", ObjectKind: "import",
			ObjectID: r.ImportID, Detail: map[string]string{"status": r.Status, "rows": fmt.Sprint(r.Rows), "created": fmt.Sprint(r.Created),
				"updated": fmt.Sprint(r.Updated), "unchanged": fmt.Sprint(r.Unchanged), "rejected": fmt.Sprint(r.Rejected)}})
	})
}
