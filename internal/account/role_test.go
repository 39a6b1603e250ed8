package account

import (
	"slices"
	"testing"
)

func TestRoleCan(t *testing.T) {
	all := []Permission{PermTenantSettings, PermUsersManage, PermAPIKeysManage, PermAuditRead,
		PermContactsRead, PermContactsWrite, PermResultsRead, PermReviewsModerate, PermSurveysManage}
	// want lists, per role, the permissions it has; every other is refused.
	want := map[Role][]Permission{
		RoleOwner:     all,
		RoleAdmin:     {PermUsersManage, PermAPIKeysManage, PermAuditRead, PermContactsRead, PermContactsWrite, PermResultsRead, PermReviewsModerate, PermSurveysManage},
		RoleAnalyst:   {PermContactsRead, PermResultsRead},
		RoleModerator: {PermResultsRead, PermReviewsModerate},
		RoleViewer:    {PermResultsRead},
		"":            nil,
		"root":        nil,
		"Owner":       nil,
	}
	for role, perms := range want {
		has := map[Permission]bool{}
		for _, p := range perms {
			has[p] = true
		}
		for _, p := range append(all, "tenant.delete", "") {
			t.Run(string(role)+"/"+string(p), func(t *testing.T) {
				if got := role.Can(p); got != has[p] {
					t.Errorf("Role(%q).Can(%q) = %v, want %v", role, p, got, has[p])
				}
			})
		}
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in      string
		want    Role
		wantErr bool
	}{
		{"owner", RoleOwner, false},
		{" Admin ", RoleAdmin, false},
		{"viewer", RoleViewer, false},
		{"root", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRole(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseRole(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCanAssign(t *testing.T) {
	tests := []struct {
		by, target Role
		want       bool
	}{
		{RoleOwner, RoleOwner, true},
		{RoleOwner, RoleViewer, true},
		{RoleAdmin, RoleOwner, false},
		{RoleAdmin, RoleAdmin, true},
		{RoleAdmin, RoleModerator, true},
		{RoleAnalyst, RoleViewer, false},
		{RoleViewer, RoleViewer, false},
		{RoleOwner, "root", false},
		{"root", RoleViewer, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.by)+"->"+string(tt.target), func(t *testing.T) {
			if got := tt.by.CanAssign(tt.target); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestScopesAreValid(t *testing.T) {
	for _, s := range Scopes {
		if !validScope(s) {
			t.Errorf("Scopes lists %q but validScope refuses it", s)
		}
	}
	for _, s := range []string{"", "admin", "contacts:*", "Contacts:read"} {
		if validScope(s) {
			t.Errorf("validScope(%q) = true", s)
		}
	}
	// The scopes of issue 6's API: each must be offered.
	for _, want := range []string{"contacts:read", "contacts:write", "events:write", "surveys:read", "responses:read", "webhooks:write", "subjects:write"} {
		if !slices.Contains(Scopes, want) {
			t.Errorf("Scopes lacks %q", want)
		}
	}
}
