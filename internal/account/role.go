package account

import (
	"fmt"
	"strings"
)

// Role is what a person may do in one tenant. A person has one role per
// tenant they belong to.
type Role string

// The roles, from the most to the least powerful.
const (
	// RoleOwner may do everything, including the tenant's settings.
	RoleOwner Role = "owner"
	// RoleAdmin manages people, API keys and contacts and reads the audit
	// log.
	RoleAdmin Role = "admin"
	// RoleAnalyst reads results and contacts.
	RoleAnalyst Role = "analyst"
	// RoleModerator reads results and moderates reviews.
	RoleModerator Role = "moderator"
	// RoleViewer reads results.
	RoleViewer Role = "viewer"
)

// Roles lists every role, from the most to the least powerful.
func Roles() []Role {
	return []Role{RoleOwner, RoleAdmin, RoleAnalyst, RoleModerator, RoleViewer}
}

// ParseRole returns the role that s names (case and surrounding spaces are
// ignored), or an error naming the roles there are.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if r.valid() {
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q: choose owner, admin, analyst, moderator or viewer", s)
}

func (r Role) valid() bool {
	switch r {
	case RoleOwner, RoleAdmin, RoleAnalyst, RoleModerator, RoleViewer:
		return true
	}
	return false
}

// Permission is one thing a role may be allowed to do.
type Permission string

// The permissions roles grant.
const (
	// PermTenantSettings changes the tenant's settings (owner).
	PermTenantSettings Permission = "tenant.settings"
	// PermUsersManage adds, removes and changes the role of people (owner,
	// admin).
	PermUsersManage Permission = "users.manage"
	// PermAPIKeysManage creates and revokes API keys (owner, admin).
	PermAPIKeysManage Permission = "apikeys.manage"
	// PermAuditRead reads the audit log (owner, admin).
	PermAuditRead Permission = "audit.read"
	// PermContactsRead reads contacts' personal data (owner, admin,
	// analyst).
	PermContactsRead Permission = "contacts.read"
	// PermContactsWrite imports, changes and erases contacts (owner, admin).
	PermContactsWrite Permission = "contacts.write"
	// PermResultsRead reads scores, dashboards and answers (every role).
	PermResultsRead Permission = "results.read"
	// PermSurveysManage creates and edits surveys, invitation rules and
	// their texts (owner, admin).
	PermSurveysManage Permission = "surveys.manage"
	// PermReviewsModerate moderates and publishes reviews (owner, admin,
	// moderator).
	PermReviewsModerate Permission = "reviews.moderate"
)

// Can reports whether the role grants the permission. It is deny-by-default:
// an unknown role or an unknown permission is refused.
func (r Role) Can(p Permission) bool {
	switch p {
	case PermTenantSettings:
		return r == RoleOwner
	case PermUsersManage, PermAPIKeysManage, PermAuditRead, PermContactsWrite, PermSurveysManage:
		return r == RoleOwner || r == RoleAdmin
	case PermContactsRead:
		return r == RoleOwner || r == RoleAdmin || r == RoleAnalyst
	case PermReviewsModerate:
		return r == RoleOwner || r == RoleAdmin || r == RoleModerator
	case PermResultsRead:
		return r.valid()
	}
	return false
}

// CanAssign reports whether a person with role r may give the role target
// to someone (or take it away): an owner may assign any role, an admin any
// role but owner, the others none. It keeps an admin from making themselves
// or anyone else owner.
func (r Role) CanAssign(target Role) bool {
	if !target.valid() {
		return false
	}
	switch r {
	case RoleOwner:
		return true
	case RoleAdmin:
		return target != RoleOwner
	}
	return false
}

// Scopes lists the scopes an API key may be given. It is for display; the
// check that a scope exists does not read it.
var Scopes = []string{
	"contacts:read",
	"contacts:write",
	"events:write",
	"surveys:read",
	"surveys:write",
	"responses:read",
	"reviews:read",
	"webhooks:write",
	"subjects:write",
}

// validScope reports whether s is one of Scopes.
func validScope(s string) bool {
	switch s {
	case "contacts:read", "contacts:write", "events:write", "surveys:read",
		"surveys:write", "responses:read", "reviews:read", "webhooks:write", "subjects:write",
		"webhooks:manage": // webhooks:manage is the former name of webhooks:write
		return true
	}
	return false
}
