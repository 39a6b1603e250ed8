// Package audit keeps the append-only, hash-chained audit log of avis: who
// (a user, an API key, avis itself or the public) did what, to which object,
// concerning which person, and when.
//
// Every read of a person's decrypted data and every admin action writes one
// entry. Entries are chained per tenant: each carries the SHA-256 of the
// previous entry of the same tenant (tenant id "" is the chain of events
// outside any tenant), so that editing, deleting or reordering a stored entry
// is found by Verify. The log never holds personal data, only ids, tokens,
// counts and short codes; Record refuses values that look like an email
// address or a phone number.
package audit

import (
	"errors"
	"time"

	"avis/internal/db"
)

// Actor kinds.
const (
	// ActorUser is a person who logged in; the actor id is the user id.
	ActorUser = "user"
	// ActorAPIKey is a client of the REST API; the actor id is the key id.
	ActorAPIKey = "apikey"
	// ActorSystem is avis itself or one of its components (see System).
	ActorSystem = "system"
	// ActorPublic is someone on a public page (a survey, the my-data page);
	// the actor id is the id of the token they came with, if any.
	ActorPublic = "public"
)

// Actor is who did something: a kind (ActorUser, ActorAPIKey, ActorSystem or
// ActorPublic) and an id of that kind.
type Actor struct {
	Kind string
	ID   string
}

// System returns the actor for avis itself (ID "avis") when component is
// empty, or for the named component (ID component, e.g. "retention").
func System(component string) Actor {
	if component == "" {
		component = "avis"
	}
	return Actor{Kind: ActorSystem, ID: component}
}

// Entry is one event to write to the log.
type Entry struct {
	// TenantID is the tenant the event belongs to, "" for events outside
	// any tenant (e.g. a user created by the command line).
	TenantID string
	// Actor is who did it.
	Actor Actor
	// Action is a dotted verb, e.g. "user.create", "contact.read",
	// "login.fail", "apikey.create".
	Action string
	// ObjectKind is the kind of the object acted on, e.g. "user",
	// "contact", "apikey", "tenant".
	ObjectKind string
	// ObjectID is the id of the object acted on.
	ObjectID string
	// SubjectID is the person whose data is concerned, if any (a contact or
	// user id), else "".
	SubjectID string
	// Detail holds ids, counts and reasons as short codes; never personal
	// data. A nil and an empty map are stored alike and read back as nil.
	Detail map[string]string
}

// Record is a stored entry.
type Record struct {
	Entry
	// Seq numbers the entries of a tenant from 1, without gaps.
	Seq int64
	// At is when the entry was written, in UTC, to the microsecond.
	At time.Time
	// PrevHash is the Hash of the previous entry of the tenant, or 32 zero
	// bytes for the first.
	PrevHash []byte
	// Hash is the SHA-256 of an unambiguous, length-prefixed encoding of
	// every field above, PrevHash included.
	Hash []byte
}

// ErrPersonalData is returned by Record when an id, an action, a detail key
// or a detail value looks like personal data: it contains '@', holds a run
// of 7 to 15 digits that looks like a phone number, or is longer than 200
// bytes.
var ErrPersonalData = errors.New("audit: value looks like personal data (the audit log holds ids, counts and short codes only)")

// Log is the audit log of one avis database. It is safe for concurrent use.
type Log struct {
	db *db.DB
}

// New returns the audit log stored in d.
func New(d *db.DB) *Log {
	return &Log{db: d}
}
