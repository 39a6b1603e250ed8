package privacy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/i18n"
)

// Kinds of notice.
const (
	// KindInformation is the information notice of GDPR Art. 13, 14 and
	// 26: who does what with a person's data, and their rights.
	KindInformation = "information"
	// KindPublication is the terms under which reviews are published.
	KindPublication = "publication"
)

// ErrBadKind says a notice kind is neither information nor publication.
var ErrBadKind = errors.New("privacy: unknown notice kind")

// Notice is one immutable version of a text shown to people. Text is plain
// text: blocks separated by blank lines, a block starting with "## " is a
// heading, lines starting with "- " are list items, anything else a
// paragraph. Hash is the hex SHA-256 of Text.
type Notice struct {
	ID        string
	TenantID  string
	Kind      string
	Version   int
	Lang      string
	Hash      string
	Text      string
	CreatedAt time.Time
	// blocks are the text cut into blocks once, for a notice that Current
	// keeps in its cache (shown on every survey page).
	blocks []Block
}

// Block is a heading, a paragraph or a list of a notice, for templates.
type Block struct {
	// Kind is "h" (heading), "p" (paragraph) or "ul" (list).
	Kind string
	// Text is the heading's or paragraph's text; Segments the same text
	// cut around web and email addresses, which templates may link.
	Text     string
	Segments []Segment
	// Items are a list's items.
	Items []Block
}

// Segment is a run of text, with Href set when it is a web or email
// address (https://…, mailto:…).
type Segment struct {
	Text, Href string
}

// Blocks cuts the notice's text into headings, paragraphs and lists. The
// text is never HTML: templates escape every piece. The blocks of a notice
// from Current are cut once and shared: read them only.
func (n Notice) Blocks() []Block {
	if n.blocks != nil {
		return n.blocks
	}
	var out []Block
	for _, chunk := range strings.Split(n.Text, "\n\n") {
		chunk = strings.Trim(chunk, "\n")
		if chunk == "" {
			continue
		}
		if h, ok := strings.CutPrefix(chunk, "## "); ok && !strings.Contains(h, "\n") {
			out = append(out, Block{Kind: "h", Text: h, Segments: segments(h)})
			continue
		}
		var para []string
		var list *Block
		flush := func() {
			if len(para) > 0 {
				t := strings.Join(para, " ")
				out = append(out, Block{Kind: "p", Text: t, Segments: segments(t)})
				para = nil
			}
		}
		for _, line := range strings.Split(chunk, "\n") {
			if item, ok := strings.CutPrefix(line, "- "); ok {
				flush()
				if list == nil {
					out = append(out, Block{Kind: "ul"})
					list = &out[len(out)-1]
				}
				list.Items = append(list.Items, Block{Kind: "li", Text: item, Segments: segments(item)})
				continue
			}
			list = nil
			para = append(para, line)
		}
		flush()
	}
	return out
}

// segments cuts text around https:// and http:// addresses and email
// addresses so that a template can link them.
func segments(text string) []Segment {
	var out []Segment
	var plain strings.Builder
	words := strings.SplitAfter(text, " ")
	for _, w := range words {
		core := strings.TrimRight(w, " ")
		trail := w[len(core):]
		// Punctuation after an address is not part of it.
		end := strings.TrimRight(core, ".,;:)»\"'")
		punct := core[len(end):]
		start := strings.TrimLeft(end, "(«\"'")
		lead := end[:len(end)-len(start)]
		href := ""
		switch {
		case strings.HasPrefix(start, "https://") || strings.HasPrefix(start, "http://"):
			href = start
		case strings.HasPrefix(start, "www.") && strings.Count(start, ".") >= 2:
			href = "https://" + start
		case strings.Count(start, "@") == 1 && validEmail(start):
			href = "mailto:" + start
		}
		if href == "" {
			plain.WriteString(w)
			continue
		}
		plain.WriteString(lead)
		if plain.Len() > 0 {
			out = append(out, Segment{Text: plain.String()})
			plain.Reset()
		}
		out = append(out, Segment{Text: start, Href: href})
		plain.WriteString(punct + trail)
	}
	if plain.Len() > 0 {
		out = append(out, Segment{Text: plain.String()})
	}
	return out
}

// Operator is who runs this avis server: the joint controller named in
// every notice next to the company.
type Operator struct {
	// Name is the operator's legal name; empty names it by Site.
	Name string
	// Address is its postal address, Email its data-protection contact.
	Address, Email string
	// Site is the host name of the avis server (from AVIS_BASE_URL).
	Site string
}

// Notices keeps tenants' privacy profiles and the versioned notices made
// from them.
type Notices struct {
	db    *db.DB
	audit *audit.Log
	op    Operator
	cat   *i18n.Catalogs

	mu       sync.Mutex
	current  map[noticeKey]cachedNotice
	profiles map[string]cachedProfile
}

type noticeKey struct{ tenant, kind, lang string }

type cachedNotice struct {
	n  Notice
	at time.Time
}

type cachedProfile struct {
	p    Profile
	name string
	at   time.Time
}

// cacheFor is how long a process reuses a tenant's profile and current
// notices before reading them again; a save in this process forgets them
// at once. Another process sees a change within this time.
const cacheFor = 10 * time.Second

// NewNotices returns the store of profiles and notices. op is the operator
// of this avis server, named as joint controller in every notice.
func NewNotices(d *db.DB, a *audit.Log, op Operator) *Notices {
	return &Notices{db: d, audit: a, op: op, cat: i18n.MustLoad(),
		current: map[noticeKey]cachedNotice{}, profiles: map[string]cachedProfile{}}
}

// Operator returns the operator named in the notices.
func (s *Notices) Operator() Operator { return s.op }

// Profile returns a tenant's whole privacy profile as stored now, logo
// bytes included, or DefaultProfile when it never saved one. An unknown
// tenant is db.ErrNotFound.
func (s *Notices) Profile(ctx context.Context, tenantID string) (Profile, error) {
	p, _, err := s.read(ctx, tenantID, true)
	return p, err
}

// Brand returns a tenant's profile without the logo's bytes (LogoType says
// whether there is a logo), from a short cache: what every public page
// needs.
func (s *Notices) Brand(ctx context.Context, tenantID string) (Profile, error) {
	p, _, err := s.cached(ctx, tenantID)
	return p, err
}

// Public returns what a tenant's public pages show of it, from the same
// short cache as Brand: its name and its profile without the logo's
// bytes. An unknown tenant is db.ErrNotFound.
func (s *Notices) Public(ctx context.Context, tenantID string) (name string, p Profile, err error) {
	p, name, err = s.cached(ctx, tenantID)
	return name, p, err
}

// maxCached bounds each cache; past it the cache starts afresh.
const maxCached = 5000

// cached returns the profile without logo bytes and the tenant's name,
// from the cache when fresh.
func (s *Notices) cached(ctx context.Context, tenantID string) (Profile, string, error) {
	s.mu.Lock()
	c, ok := s.profiles[tenantID]
	s.mu.Unlock()
	if ok && time.Since(c.at) < cacheFor {
		return c.p, c.name, nil
	}
	p, name, err := s.read(ctx, tenantID, false)
	if err != nil {
		return p, name, err
	}
	s.mu.Lock()
	if len(s.profiles) >= maxCached {
		clear(s.profiles)
	}
	s.profiles[tenantID] = cachedProfile{p: p, name: name, at: time.Now()}
	s.mu.Unlock()
	return p, name, nil
}

// read loads a profile and the tenant's name; withLogo reads the logo's
// bytes too.
func (s *Notices) read(ctx context.Context, tenantID string, withLogo bool) (Profile, string, error) {
	p := DefaultProfile(tenantID)
	var name string
	var legal, address, dpoName, dpoEmail, policy, authority, color, logoType sql.NullString
	var months, updated sql.NullInt64
	var logo []byte
	query := `/* privacy.Notices.read */ SELECT t.name, p.legal_name, p.postal_address, p.dpo_name,
		p.dpo_email, p.policy_url, p.retention_months, p.authority, p.brand_color, NULL, p.logo_type, p.updated_at
		FROM tenants t LEFT JOIN privacy_profiles p ON p.tenant_id = t.id WHERE t.id = $1`
	if withLogo {
		query = strings.Replace(query, "NULL", "p.logo", 1)
	}
	err := s.db.R.QueryRowContext(ctx, query, tenantID).Scan(
		&name, &legal, &address, &dpoName, &dpoEmail, &policy, &months, &authority, &color, &logo, &logoType, &updated)
	if err != nil {
		return p, "", fmt.Errorf("privacy profile: %w", db.Translate(err))
	}
	if updated.Valid {
		p.LegalName, p.Address, p.DPOName, p.DPOEmail = legal.String, address.String, dpoName.String, dpoEmail.String
		p.PolicyURL, p.RetentionMonths, p.Authority, p.BrandColor = policy.String, int(months.Int64), authority.String, color.String
		p.Logo, p.LogoType, p.UpdatedAt = logo, logoType.String, db.Time(updated.Int64)
		if len(p.Logo) == 0 {
			p.Logo = nil
		}
	}
	return p, name, nil
}

// SaveProfile validates and stores a tenant's whole profile (logo
// included: pass the current one to keep it) and records which fields
// changed in the audit log. Invalid profiles return ProfileErrors.
func (s *Notices) SaveProfile(ctx context.Context, actor audit.Actor, p Profile) (Profile, error) {
	p.Normalize()
	if err := p.Validate(); err != nil {
		return p, err
	}
	if len(p.Logo) > 0 {
		typ, ferr := CheckLogo(p.Logo)
		if ferr != nil {
			return p, ProfileErrors{*ferr}
		}
		p.LogoType = typ
	} else {
		p.Logo, p.LogoType = nil, ""
	}
	old, _, err := s.read(ctx, p.TenantID, true)
	if err != nil {
		return p, err
	}
	var changed []string
	for _, f := range []struct {
		name   string
		before string
		after  string
	}{
		{"legal_name", old.LegalName, p.LegalName}, {"address", old.Address, p.Address}, {"dpo_name", old.DPOName, p.DPOName},
		{"dpo_email", old.DPOEmail, p.DPOEmail}, {"policy_url", old.PolicyURL, p.PolicyURL},
		{"retention_months", fmt.Sprint(old.RetentionMonths), fmt.Sprint(p.RetentionMonths)}, {"authority", old.Authority, p.Authority},
		{"brand_color", old.BrandColor, p.BrandColor}, {"logo", string(old.Logo), string(p.Logo)},
	} {
		if f.before != f.after {
			changed = append(changed, f.name)
		}
	}
	now := db.Now()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `/* privacy.Notices.SaveProfile */ INSERT INTO privacy_profiles (tenant_id, legal_name,
			postal_address, dpo_name, dpo_email, policy_url, retention_months, authority, brand_color, logo, logo_type, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (tenant_id) DO UPDATE SET legal_name = excluded.legal_name, postal_address = excluded.postal_address,
			dpo_name = excluded.dpo_name, dpo_email = excluded.dpo_email, policy_url = excluded.policy_url,
			retention_months = excluded.retention_months, authority = excluded.authority, brand_color = excluded.brand_color,
			logo = excluded.logo, logo_type = excluded.logo_type, updated_at = excluded.updated_at`,
			p.TenantID, p.LegalName, p.Address, p.DPOName, p.DPOEmail, p.PolicyURL, p.RetentionMonths, p.Authority,
			p.BrandColor, p.Logo, p.LogoType, now)
		if err != nil {
			return fmt.Errorf("save privacy profile: %w", err)
		}
		return s.audit.Record(ctx, tx, audit.Entry{TenantID: p.TenantID, Actor: actor, Action: "privacy.profile",
			ObjectKind: "tenant", ObjectID: p.TenantID, Detail: map[string]string{"changed": strings.Join(changed, ",")}})
	})
	if err != nil {
		return p, err
	}
	p.UpdatedAt = db.Time(now)
	s.forget(p.TenantID)
	return p, nil
}

// forget drops a tenant's cached profile and notices.
func (s *Notices) forget(tenantID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.profiles, tenantID)
	for k := range s.current {
		if k.tenant == tenantID {
			delete(s.current, k)
		}
	}
}

// Current returns the current version of a tenant's notice of a kind in a
// language (an unsupported language gives the default one). The text is
// generated from the profile and the operator; when it differs from the
// latest stored version a new version is stored. Concurrent calls, in one
// process or several, store one version.
func (s *Notices) Current(ctx context.Context, tenantID, kind, lang string) (Notice, error) {
	if kind != KindInformation && kind != KindPublication {
		return Notice{}, ErrBadKind
	}
	if !i18n.Supported(lang) {
		lang = i18n.Default
	}
	key := noticeKey{tenantID, kind, lang}
	s.mu.Lock()
	c, ok := s.current[key]
	s.mu.Unlock()
	if ok && time.Since(c.at) < cacheFor {
		return c.n, nil
	}
	p, name, err := s.cached(ctx, tenantID)
	if err != nil {
		return Notice{}, err
	}
	// A sentence missing from a catalogue stands in English (a test keeps
	// the catalogues complete).
	text, _ := s.Generate(kind, lang, p, name)
	n, err := s.store(ctx, tenantID, kind, lang, text)
	if err != nil {
		return Notice{}, err
	}
	n.blocks = n.Blocks()
	s.mu.Lock()
	if len(s.current) >= maxCached {
		clear(s.current)
	}
	s.current[key] = cachedNotice{n: n, at: time.Now()}
	s.mu.Unlock()
	return n, nil
}

// Hash returns the hex SHA-256 of a notice text.
func Hash(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:])
}

// store returns the latest version when its text is text, else stores a
// new version. The unique (tenant, kind, language, version) index makes
// concurrent writers agree: the loser reads the winner's row.
func (s *Notices) store(ctx context.Context, tenantID, kind, lang, text string) (Notice, error) {
	hash := Hash(text)
	for range 10 {
		latest, err := s.latest(ctx, tenantID, kind, lang)
		if err != nil && !errors.Is(err, db.ErrNotFound) {
			return Notice{}, err
		}
		if err == nil && latest.Hash == hash && latest.Text == text {
			return latest, nil
		}
		n := Notice{ID: db.NewID(), TenantID: tenantID, Kind: kind, Version: latest.Version + 1, Lang: lang,
			Hash: hash, Text: text, CreatedAt: db.Time(db.Now())}
		res, err := s.db.W.ExecContext(ctx, `/* privacy.Notices.store */ INSERT INTO notices (tenant_id, id, kind, language, version,
			hash, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (tenant_id, kind, language, version) DO NOTHING`,
			n.TenantID, n.ID, n.Kind, n.Lang, n.Version, n.Hash, n.Text, db.Stamp(n.CreatedAt))
		if err != nil {
			return Notice{}, fmt.Errorf("store notice: %w", db.Translate(err))
		}
		if k, _ := res.RowsAffected(); k == 1 {
			return n, nil
		}
		// Another writer stored this version first: look again.
	}
	return Notice{}, errors.New("store notice: too many concurrent versions")
}

const noticeColumns = `id, tenant_id, kind, version, language, hash, body, created_at`

func scanNotice(row interface{ Scan(...any) error }) (Notice, error) {
	var n Notice
	var created int64
	if err := row.Scan(&n.ID, &n.TenantID, &n.Kind, &n.Version, &n.Lang, &n.Hash, &n.Text, &created); err != nil {
		return Notice{}, db.Translate(err)
	}
	n.CreatedAt = db.Time(created)
	return n, nil
}

// latest reads the highest version of a notice. It reads from the read
// pool: each read sees every version committed before it began, which is
// all store needs after a lost race.
func (s *Notices) latest(ctx context.Context, tenantID, kind, lang string) (Notice, error) {
	n, err := scanNotice(s.db.R.QueryRowContext(ctx, `/* privacy.Notices.latest */ SELECT `+noticeColumns+` FROM notices
		WHERE tenant_id = $1 AND kind = $2 AND language = $3 ORDER BY version DESC LIMIT 1`, tenantID, kind, lang))
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return n, fmt.Errorf("latest notice: %w", err)
	}
	return n, err
}

// ByID returns a stored version of a notice exactly as it was shown, in
// the tenant; db.ErrNotFound when it has no such version.
func (s *Notices) ByID(ctx context.Context, tenantID, id string) (Notice, error) {
	n, err := scanNotice(s.db.R.QueryRowContext(ctx, `/* privacy.Notices.ByID */ SELECT `+noticeColumns+` FROM notices
		WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if err != nil && !errors.Is(err, db.ErrNotFound) {
		return n, fmt.Errorf("notice: %w", err)
	}
	return n, err
}

// Versions lists the stored versions of a tenant's notice of a kind in a
// language, newest first, at most limit.
func (s *Notices) Versions(ctx context.Context, tenantID, kind, lang string, limit int) ([]Notice, error) {
	rows, err := s.db.R.QueryContext(ctx, `/* privacy.Notices.Versions */ SELECT `+noticeColumns+` FROM notices
		WHERE tenant_id = $1 AND kind = $2 AND language = $3 ORDER BY version DESC LIMIT $4`, tenantID, kind, lang, limit)
	if err != nil {
		return nil, fmt.Errorf("notice versions: %w", db.Translate(err))
	}
	defer rows.Close()
	var out []Notice
	for rows.Next() {
		n, err := scanNotice(rows)
		if err != nil {
			return nil, fmt.Errorf("notice versions: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
