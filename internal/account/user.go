package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/vault"
)

// Vault field names of a user's sealed columns.
const (
	fieldEmail = "email"
	fieldName  = "name"
	fieldTOTP  = "totp_secret"
)

// NormaliseEmail returns the email trimmed and lower-cased, or
// ErrInvalidEmail when it is not a plain address (no display name).
func NormaliseEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" || len(e) > 254 {
		return "", ErrInvalidEmail
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", ErrInvalidEmail
	}
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" || strings.HasPrefix(domain, "[") {
		return "", ErrInvalidEmail
	}
	return e, nil
}

// emailIndex returns the blind index of a normalised email; q is the
// caller's transaction or nil.
func (s *Store) emailIndex(ctx context.Context, q db.Querier, email string) ([]byte, error) {
	b, err := s.vault.BlindIndex(ctx, q, vault.SystemTenant, fieldEmail, email)
	if err != nil {
		return nil, fmt.Errorf("email index: %w", err)
	}
	return b, nil
}

// CreateUser gives the person with this email the role in the tenant. When
// nobody has the email yet, it creates the person with the name and the
// password (which must pass the policy: ErrWeakPassword); when somebody has,
// it only adds the membership and leaves their name and password as they
// are (password may then be empty). A person already in the tenant gives
// db.ErrConflict; an unknown tenant db.ErrNotFound.
func (s *Store) CreateUser(ctx context.Context, actor audit.Actor, tenantID, email, name, password string, role Role) (User, error) {
	if !role.valid() {
		return User{}, fmt.Errorf("create user: unknown role %q", role)
	}
	email, err := NormaliseEmail(email)
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	if _, err := s.TenantByID(ctx, tenantID); err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	bidx, err := s.emailIndex(ctx, nil, email)
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	var existing string
	err = s.d.R.QueryRowContext(ctx, `/* account.Store.CreateUser */
		SELECT id FROM users WHERE email_bidx = $1`, bidx).Scan(&existing)
	if err != nil && !errors.Is(db.Translate(err), db.ErrNotFound) {
		return User{}, fmt.Errorf("create user: %w", db.Translate(err))
	}
	// Hash outside the transaction: it is slow and must not hold the writer.
	var hash string
	if existing == "" {
		// A person's name is optional; when given it must fit.
		if strings.TrimSpace(name) != "" {
			if name, err = cleanName(name); err != nil {
				return User{}, fmt.Errorf("create user: %w", err)
			}
		}
		if err := checkPassword(password, email); err != nil {
			return User{}, err
		}
		if hash, err = s.hashPassword(ctx, password); err != nil {
			return User{}, fmt.Errorf("create user: %w", err)
		}
	}
	now := db.Stamp(s.now())
	var (
		u       User
		created bool
	)
	err = s.d.Tx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `/* account.Store.CreateUser */
			SELECT id FROM users WHERE email_bidx = $1`, bidx).Scan(&id)
		switch err = db.Translate(err); {
		case errors.Is(err, db.ErrNotFound):
			if hash == "" {
				// The person was erased between the look-up and now.
				return fmt.Errorf("the account changed meanwhile, try again: %w", db.ErrConflict)
			}
			id = db.NewID()
			key, err := s.vault.Subject(ctx, tx, vault.SystemTenant, id)
			if err != nil {
				return fmt.Errorf("data key: %w", err)
			}
			_, err = tx.ExecContext(ctx, `/* account.Store.CreateUser */
				INSERT INTO users (id, email_bidx, email_sealed, name_sealed, password_hash, created_at)
				VALUES ($1, $2, $3, $4, $5, $6)`,
				id, bidx, key.SealString(fieldEmail, email), key.SealString(fieldName, name), hash, now)
			if err != nil {
				return err
			}
			if err := s.audit.Record(ctx, tx, audit.Entry{
				TenantID: tenantID, Actor: actor, Action: "user.create",
				ObjectKind: "user", ObjectID: id, SubjectID: id,
			}); err != nil {
				return err
			}
			u = User{ID: id, Email: email, Name: name, CreatedAt: db.Time(now)}
			created = true
		case err != nil:
			return err
		default:
			// Decrypted after the commit: the vault reads outside tx.
			u = User{ID: id}
		}
		_, err = tx.ExecContext(ctx, `/* account.Store.CreateUser */
			INSERT INTO memberships (tenant_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)`,
			tenantID, u.ID, string(role), now)
		if err != nil {
			if err = db.Translate(err); errors.Is(err, db.ErrConflict) {
				return fmt.Errorf("this person is already a member of the tenant: %w", db.ErrConflict)
			}
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			TenantID: tenantID, Actor: actor, Action: "member.add",
			ObjectKind: "user", ObjectID: u.ID, SubjectID: u.ID,
			Detail: map[string]string{"role": string(role)},
		})
	})
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	if !created {
		if u, err = s.user(ctx, s.d.R, u.ID); err != nil {
			return User{}, fmt.Errorf("create user: %w", err)
		}
	}
	return u, nil
}

// user reads and decrypts one person through q (d.R or the caller's tx).
func (s *Store) user(ctx context.Context, q db.Querier, id string) (User, error) {
	var (
		u               User
		email, name     []byte
		totpOn, created int64
	)
	err := q.QueryRowContext(ctx, `/* account.Store.user */
		SELECT id, email_sealed, name_sealed, language, totp_enabled_at, created_at
		FROM users WHERE id = $1`, id).Scan(&u.ID, &email, &name, &u.Language, &totpOn, &created)
	if err != nil {
		return User{}, db.Translate(err)
	}
	u.TOTPEnabled = totpOn != 0
	u.CreatedAt = db.Time(created)
	if err := s.open(ctx, &u, email, name); err != nil {
		return User{}, err
	}
	return u, nil
}

// open decrypts a person's email and name into u.
func (s *Store) open(ctx context.Context, u *User, email, name []byte) error {
	key, err := s.vault.Lookup(ctx, vault.SystemTenant, u.ID)
	if err != nil {
		return fmt.Errorf("data key of user %s: %w", u.ID, err)
	}
	if u.Email, err = key.OpenString(fieldEmail, email); err != nil {
		return fmt.Errorf("open email of user %s: %w", u.ID, err)
	}
	if len(name) > 0 {
		if u.Name, err = key.OpenString(fieldName, name); err != nil {
			return fmt.Errorf("open name of user %s: %w", u.ID, err)
		}
	}
	return nil
}

// UserByID returns the person with their email and name decrypted, or
// db.ErrNotFound. The read is audited ("user.read").
func (s *Store) UserByID(ctx context.Context, actor audit.Actor, id string) (User, error) {
	u, err := s.user(ctx, s.d.R, id)
	if err != nil {
		return User{}, fmt.Errorf("user %s: %w", id, err)
	}
	if err := s.audit.Record(ctx, nil, audit.Entry{
		Actor: actor, Action: "user.read", ObjectKind: "user", ObjectID: id, SubjectID: id,
	}); err != nil {
		return User{}, fmt.Errorf("user %s: %w", id, err)
	}
	return u, nil
}

// Members returns the people of the tenant with their roles, in the order
// they joined, decrypted. The read is audited once ("user.list").
func (s *Store) Members(ctx context.Context, actor audit.Actor, tenantID string) ([]Member, error) {
	rows, err := s.d.R.QueryContext(ctx, `/* account.Store.Members */
		SELECT u.id, u.email_sealed, u.name_sealed, u.language, u.totp_enabled_at, u.created_at,
		       m.role, m.created_at
		FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = $1
		ORDER BY m.created_at, u.id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("members of tenant %s: %w", tenantID, db.Translate(err))
	}
	defer rows.Close()
	type sealed struct{ email, name []byte }
	var (
		out  []Member
		seal []sealed
	)
	for rows.Next() {
		var (
			m                      Member
			email, name            []byte
			totpOn, created, since int64
			role                   string
		)
		if err := rows.Scan(&m.ID, &email, &name, &m.Language, &totpOn, &created, &role, &since); err != nil {
			return nil, fmt.Errorf("members of tenant %s: %w", tenantID, db.Translate(err))
		}
		m.TOTPEnabled = totpOn != 0
		m.CreatedAt = db.Time(created)
		m.Role = Role(role)
		m.Since = db.Time(since)
		out = append(out, m)
		seal = append(seal, sealed{email, name})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("members of tenant %s: %w", tenantID, db.Translate(err))
	}
	rows.Close()
	for i := range out {
		// An erased person stays listed, without email or name, so that the
		// membership can still be removed.
		if err := s.open(ctx, &out[i].User, seal[i].email, seal[i].name); err != nil && !errors.Is(err, vault.ErrErased) {
			return nil, fmt.Errorf("members of tenant %s: %w", tenantID, err)
		}
	}
	if err := s.audit.Record(ctx, nil, audit.Entry{
		TenantID: tenantID, Actor: actor, Action: "user.list", ObjectKind: "tenant", ObjectID: tenantID,
		Detail: map[string]string{"count": strconv.Itoa(len(out))},
	}); err != nil {
		return nil, fmt.Errorf("members of tenant %s: %w", tenantID, err)
	}
	return out, nil
}

// SetRole changes the person's role in the tenant. It gives db.ErrNotFound
// when they are not a member of this tenant and ErrLastOwner when it would
// leave the tenant without an owner.
func (s *Store) SetRole(ctx context.Context, actor audit.Actor, tenantID, userID string, role Role) error {
	if !role.valid() {
		return fmt.Errorf("set role: unknown role %q", role)
	}
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		old, err := s.lockedMemberRole(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		if old == role {
			return nil
		}
		if old == RoleOwner {
			if err := lastOwnerCheck(ctx, tx, tenantID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `/* account.Store.SetRole */
			UPDATE memberships SET role = $3 WHERE tenant_id = $1 AND user_id = $2`,
			tenantID, userID, string(role)); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			TenantID: tenantID, Actor: actor, Action: "member.role",
			ObjectKind: "user", ObjectID: userID, SubjectID: userID,
			Detail: map[string]string{"from": string(old), "to": string(role)},
		})
	})
	if err != nil {
		return fmt.Errorf("set role of user %s in tenant %s: %w", userID, tenantID, err)
	}
	return nil
}

// RemoveMember takes the person out of the tenant and ends their sessions
// in it. It gives db.ErrNotFound when they are not a member of this tenant
// and ErrLastOwner when they are its last owner. The person's account
// stays (they may belong to other tenants).
func (s *Store) RemoveMember(ctx context.Context, actor audit.Actor, tenantID, userID string) error {
	err := s.d.Tx(ctx, func(tx *sql.Tx) error {
		old, err := s.lockedMemberRole(ctx, tx, tenantID, userID)
		if err != nil {
			return err
		}
		if old == RoleOwner {
			if err := lastOwnerCheck(ctx, tx, tenantID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `/* account.Store.RemoveMember */
			DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `/* account.Store.RemoveMember */
			DELETE FROM sessions WHERE user_id = $1 AND tenant_id = $2`, userID, tenantID); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			TenantID: tenantID, Actor: actor, Action: "member.remove",
			ObjectKind: "user", ObjectID: userID, SubjectID: userID,
			Detail: map[string]string{"role": string(old)},
		})
	})
	if err != nil {
		return fmt.Errorf("remove user %s from tenant %s: %w", userID, tenantID, err)
	}
	return nil
}

// lockedMemberRole locks the tenant and returns the person's role in it,
// db.ErrNotFound when either is unknown.
func (s *Store) lockedMemberRole(ctx context.Context, tx *sql.Tx, tenantID, userID string) (Role, error) {
	if err := lockTenant(ctx, tx, tenantID); err != nil {
		return "", err
	}
	var role string
	err := tx.QueryRowContext(ctx, `/* account.Store.lockedMemberRole */
		SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID).Scan(&role)
	if err != nil {
		return "", db.Translate(err)
	}
	return Role(role), nil
}

// lastOwnerCheck returns ErrLastOwner when the tenant has one owner or
// fewer (the tenant row must be locked).
func lastOwnerCheck(ctx context.Context, tx *sql.Tx, tenantID string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `/* account.lastOwnerCheck */
		SELECT count(*) FROM memberships WHERE tenant_id = $1 AND role = $2`,
		tenantID, string(RoleOwner)).Scan(&n); err != nil {
		return err
	}
	if n <= 1 {
		return ErrLastOwner
	}
	return nil
}

// Memberships returns the tenants the person belongs to with their role in
// each, ordered by tenant name.
func (s *Store) Memberships(ctx context.Context, userID string) ([]Membership, error) {
	rows, err := s.d.R.QueryContext(ctx, `/* account.Store.Memberships */
		SELECT t.id, t.slug, t.name, t.default_language, t.require_mfa, t.created_at, m.role
		FROM memberships m JOIN tenants t ON t.id = m.tenant_id
		WHERE m.user_id = $1
		ORDER BY t.name, t.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("memberships of user %s: %w", userID, db.Translate(err))
	}
	defer rows.Close()
	var out []Membership
	for rows.Next() {
		var (
			m       Membership
			created int64
			role    string
		)
		if err := rows.Scan(&m.Tenant.ID, &m.Tenant.Slug, &m.Tenant.Name, &m.Tenant.DefaultLanguage,
			&m.Tenant.RequireMFA, &created, &role); err != nil {
			return nil, fmt.Errorf("memberships of user %s: %w", userID, db.Translate(err))
		}
		m.Tenant.CreatedAt = db.Time(created)
		m.Role = Role(role)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("memberships of user %s: %w", userID, db.Translate(err))
	}
	return out, nil
}

// RoleOf returns the person's role in the tenant, db.ErrNotFound when they
// are not a member of it.
func (s *Store) RoleOf(ctx context.Context, tenantID, userID string) (Role, error) {
	var role string
	err := s.d.R.QueryRowContext(ctx, `/* account.Store.RoleOf */
		SELECT role FROM memberships WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID).Scan(&role)
	if err != nil {
		return "", fmt.Errorf("role of user %s in tenant %s: %w", userID, tenantID, db.Translate(err))
	}
	return Role(role), nil
}
