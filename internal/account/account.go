// Package account holds who may use avis: tenants, the people who log in and
// their role in each tenant, login sessions, second factors (TOTP), API keys
// and the throttling of login attempts.
//
// People are global (one person may belong to several tenants); their email
// and name are sealed by the vault under vault.SystemTenant with the user id
// as subject, and found by a blind index of the normalised email. Secrets
// (passwords, session tokens, API keys) are stored only as hashes. Every
// change writes an audit entry in the same transaction, with ids only.
//
// The package knows nothing of HTTP; the web layer calls it.
package account

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/vault"
)

// Errors the user interface tells apart. Functions wrap them with more
// detail; test with errors.Is.
var (
	// ErrSlugTaken says another tenant already has the slug.
	ErrSlugTaken = errors.New("this slug is already taken: choose another slug")
	// ErrInvalidSlug says a slug does not have the allowed shape.
	ErrInvalidSlug = errors.New("a slug is 3 to 40 characters: lower-case letters, digits and hyphens, starting and ending with a letter or digit")
	// ErrInvalidName says a required name is empty or too long.
	ErrInvalidName = errors.New("give a name of 1 to 200 characters")
	// ErrWeakPassword says a password was refused; it is wrapped with the
	// reason in plain words.
	ErrWeakPassword = errors.New("password refused")
	// ErrBadCredentials says the email or the password is wrong (which one
	// is not told).
	ErrBadCredentials = errors.New("wrong email or password")
	// ErrThrottled says too many attempts failed; a *ThrottleError carries
	// how long to wait.
	ErrThrottled = errors.New("too many failed attempts: try again later")
	// ErrSessionExpired says a session token is unknown or has expired.
	ErrSessionExpired = errors.New("session expired: log in again")
	// ErrBadAPIKey says an API key is malformed, unknown or revoked.
	ErrBadAPIKey = errors.New("invalid API key")
	// ErrLastOwner says a change would leave a tenant without an owner.
	ErrLastOwner = errors.New("a tenant needs at least one owner: make someone else owner first")
	// ErrBadTOTP says a one-time code is wrong, expired or already used.
	ErrBadTOTP = errors.New("wrong or already used code")
	// ErrTOTPEnabled says two-factor login is already on; it must be
	// turned off before a new secret is made.
	ErrTOTPEnabled = errors.New("two-factor login is already enabled: disable it first to set up a new device")
	// ErrTOTPNotEnabled says there is no (pending or enabled) second factor
	// for the operation.
	ErrTOTPNotEnabled = errors.New("two-factor login is not set up")
	// ErrInvalidEmail says an email address is not valid.
	ErrInvalidEmail = errors.New("not a valid email address")
	// ErrInvalidScope says an API key scope is unknown, or none was given.
	ErrInvalidScope = errors.New("invalid API key scope")
)

// ThrottleError is returned when login attempts are throttled;
// errors.Is(err, ErrThrottled) holds for it.
type ThrottleError struct {
	// RetryAfter is how long until attempts are accepted again.
	RetryAfter time.Duration
}

// Error tells how long to wait, in whole minutes at least one.
func (e *ThrottleError) Error() string {
	m := int((e.RetryAfter + time.Minute - 1) / time.Minute)
	if m < 1 {
		m = 1
	}
	return fmt.Sprintf("%s (in %d min)", ErrThrottled.Error(), m)
}

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottleError) Is(target error) bool { return target == ErrThrottled }

// Tenant is a company using avis.
type Tenant struct {
	ID              string
	Slug            string
	Name            string
	DefaultLanguage string
	// RequireMFA makes a second factor mandatory for every member.
	RequireMFA bool
	CreatedAt  time.Time
}

// User is a person who logs in, with email and name decrypted.
type User struct {
	ID       string
	Email    string
	Name     string
	Language string
	// TOTPEnabled says the person has a confirmed second factor.
	TOTPEnabled bool
	CreatedAt   time.Time
}

// Member is a person in a tenant with their role there.
type Member struct {
	User
	Role Role
	// Since is when the person joined the tenant.
	Since time.Time
}

// Membership is a tenant a person belongs to, with their role there.
type Membership struct {
	Tenant Tenant
	Role   Role
}

// Session is a logged-in browser.
type Session struct {
	UserID string
	// TenantID is the tenant the session works in, "" before one is chosen.
	TenantID string
	// CSRFToken is the token forms of this session must carry.
	CSRFToken string
	// MFAOK says the second factor was checked in this session.
	MFAOK     bool
	ExpiresAt time.Time
}

// APIKey is a key for the REST API of one tenant. The secret is not kept.
type APIKey struct {
	ID       string
	TenantID string
	Name     string
	Scopes   []string
	// CreatedAt, LastUsedAt and RevokedAt are zero when not (yet) so.
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// HasScope reports whether the key was given the scope.
func (k APIKey) HasScope(s string) bool {
	for _, x := range k.Scopes {
		if x == s {
			return true
		}
	}
	return false
}

// Options tune a Store; zero fields take the defaults.
type Options struct {
	// SessionTTL is how long a session lives after login (default 12h).
	SessionTTL time.Duration
	// MaxFailures is how many failed logins one account may have in Window
	// before it is locked (default 5).
	MaxFailures int
	// MaxIPFailures is how many failed logins may come from one client
	// address (an IPv6 /64) in Window before it is locked (default 20).
	MaxIPFailures int
	// Window is the span failures are counted over (default 15m).
	Window time.Duration
	// Lockout is how long a locked account or address waits (default 15m).
	Lockout time.Duration
	// Now gives the time; tests set it (default time.Now).
	Now func() time.Time
	// Argon2Memory is the memory of one password hash in KiB (default
	// 65536, 64 MiB).
	Argon2Memory uint32
	// Argon2Time is the number of argon2id passes (default 1).
	Argon2Time uint32
}

func (o Options) withDefaults() Options {
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = 5
	}
	if o.MaxIPFailures <= 0 {
		o.MaxIPFailures = 20
	}
	if o.Window <= 0 {
		o.Window = 15 * time.Minute
	}
	if o.Lockout <= 0 {
		o.Lockout = 15 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Argon2Memory == 0 {
		o.Argon2Memory = 64 * 1024
	}
	if o.Argon2Time == 0 {
		o.Argon2Time = 1
	}
	return o
}

// Store keeps tenants, people, memberships, sessions and API keys.
type Store struct {
	d     *db.DB
	vault *vault.Vault
	audit *audit.Log
	o     Options

	// hashSlots bounds how many password hashes run at once, and with them
	// the memory argon2id takes.
	hashSlots chan struct{}
	dummyOnce sync.Once
	dummyHash string
}

// NewStore returns a Store over the database, sealing personal data with
// the vault and writing to the audit log.
func NewStore(d *db.DB, v *vault.Vault, a *audit.Log, o Options) *Store {
	return &Store{
		d:         d,
		vault:     v,
		audit:     a,
		o:         o.withDefaults(),
		hashSlots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0))),
	}
}

// now returns the current time from Options.Now.
func (s *Store) now() time.Time { return s.o.Now() }

// userActor is the actor for something a person does to their own account.
func userActor(userID string) audit.Actor {
	return audit.Actor{Kind: audit.ActorUser, ID: userID}
}
