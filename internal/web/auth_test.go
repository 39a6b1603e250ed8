package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/config"
)

func TestLoginLogout(t *testing.T) {
	e := newEnv(t)
	e.tenant("shop", account.RoleOwner)
	b := e.browser()
	if r := b.get("/"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Fatalf("anonymous / = %d %s, want redirect to /login", r.status, r.header.Get("Location"))
	}
	if r := b.login("shop-owner@example.com", "wrong password!!"); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong email or password") && !strings.Contains(r.body, "incorrect") {
		t.Fatalf("wrong password: %d", r.status)
	}
	if r := b.login("nobody@example.com", testPassword); r.status != http.StatusUnauthorized {
		t.Fatalf("unknown email: %d", r.status)
	}
	r := b.login("SHOP-owner@example.com", testPassword)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q", r.status, r.header.Get("Location"))
	}
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "avis_session=") && (!strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax")) {
			t.Fatalf("session cookie lacks HttpOnly or SameSite=Lax: %s", c)
		}
	}
	home := b.get("/")
	if home.status != http.StatusOK || !strings.Contains(home.body, "Company shop") {
		t.Fatalf("home: %d", home.status)
	}
	if csp := home.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("CSP = %q", csp)
	}
	if strings.Contains(home.body, "http://") && !strings.Contains(home.body, e.srv.URL) && strings.Contains(home.body, "<script src=\"http") {
		t.Fatal("page loads a third-party script")
	}
	if r := b.post("/logout", nil); r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	if r := b.get("/"); r.status != http.StatusSeeOther {
		t.Fatalf("after logout / = %d, want a redirect to login", r.status)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	e.tenant("shop", account.RoleOwner)
	b := e.loggedIn("shop-owner@example.com")
	cases := []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"missing token", url.Values{"name": {"k"}, "scope": {"contacts:read"}}, nil},
		{"wrong token", url.Values{"csrf": {"forged"}, "name": {"k"}, "scope": {"contacts:read"}}, nil},
		{"foreign origin", url.Values{"csrf": {b.csrf("/apikeys")}, "name": {"k"}, "scope": {"contacts:read"}}, []string{"Origin", "https://evil.example"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := b.do("POST", "/apikeys", c.form, c.hdr...)
			if r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", r.status)
			}
			keys, _ := e.accounts.APIKeys(context.Background(), mustTenant(t, e, "shop"))
			if len(keys) != 0 {
				t.Fatal("a key was created without a valid CSRF token")
			}
		})
	}
	// A login form posted without its cookie token is refused too.
	anon := e.browser()
	if r := anon.do("POST", "/login", url.Values{"email": {"shop-owner@example.com"}, "password": {testPassword}}); r.status != http.StatusForbidden {
		t.Fatalf("login without CSRF: %d", r.status)
	}
}

func mustTenant(t *testing.T, e *env, slug string) string {
	t.Helper()
	tn, err := e.accounts.TenantBySlug(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

func TestLoginThrottled(t *testing.T) {
	e := newEnv(t)
	e.tenant("shop", account.RoleOwner)
	b := e.browser()
	for i := range 5 {
		if r := b.login("shop-owner@example.com", "not the password"); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	r := b.login("shop-owner@example.com", testPassword)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("right password after 5 failures: %d (Retry-After %q), want 429", r.status, r.header.Get("Retry-After"))
	}
	e.advance(16 * time.Minute)
	if r := b.login("shop-owner@example.com", testPassword); r.status != http.StatusSeeOther {
		t.Fatalf("after the lockout: %d", r.status)
	}
}

func TestSessionExpires(t *testing.T) {
	e := newEnv(t)
	e.tenant("shop", account.RoleOwner)
	b := e.loggedIn("shop-owner@example.com")
	if r := b.get("/"); r.status != http.StatusOK {
		t.Fatalf("home: %d", r.status)
	}
	e.advance(13 * time.Hour)
	if r := b.get("/"); r.status != http.StatusSeeOther {
		t.Fatalf("expired session: %d, want redirect to login", r.status)
	}
}

func TestRolesDenyByDefault(t *testing.T) {
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	if _, err := e.accounts.CreateUser(context.Background(), audit.System("test"), tn.ID, "viewer@example.com", "", testPassword, account.RoleViewer); err != nil {
		t.Fatal(err)
	}
	b := e.loggedIn("viewer@example.com")
	for _, path := range []string{"/users", "/apikeys", "/audit", "/contacts", "/settings"} {
		if r := b.get(path); r.status != http.StatusForbidden {
			t.Errorf("viewer GET %s = %d, want 403", path, r.status)
		}
	}
	if r := b.post("/apikeys", url.Values{"csrf": {b.csrf("/")}, "name": {"x"}, "scope": {"contacts:read"}}); r.status != http.StatusForbidden {
		t.Errorf("viewer POST /apikeys = %d", r.status)
	}
	if r := b.get("/"); r.status != http.StatusOK {
		t.Errorf("viewer home = %d", r.status)
	}
	recs, err := e.audit.List(context.Background(), tn.ID, audit.Filter{Action: "authz.denied"})
	if err != nil || len(recs) < 5 {
		t.Fatalf("authorization failures audited: %d, %v", len(recs), err)
	}
}

func TestSecondFactor(t *testing.T) {
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	b := e.loggedIn("shop-owner@example.com")
	// The owner requires a second factor: the next page asks to set it up.
	if r := b.post("/settings/mfa", url.Values{"csrf": {b.csrf("/settings")}, "require": {"1"}}); r.status != http.StatusOK {
		t.Fatalf("require MFA: %d", r.status)
	}
	if r := b.get("/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/account/mfa" {
		t.Fatalf("home with MFA required = %d %q", r.status, r.header.Get("Location"))
	}
	page := b.get("/account/mfa")
	secret := regexpFind(t, page.body, `<code class="key">([A-Z2-7]+)</code>`)
	code, _ := totp.GenerateCode(secret, e.now)
	if r := b.post("/account/mfa", url.Values{"csrf": {csrfRe.FindStringSubmatch(page.body)[1]}, "code": {code}}); r.status != http.StatusSeeOther {
		t.Fatalf("confirm TOTP: %d", r.status)
	}
	if r := b.get("/"); r.status != http.StatusOK {
		t.Fatalf("home after set-up: %d", r.status)
	}
	// A new login now needs the code.
	b2 := e.browser()
	if r := b2.login("shop-owner@example.com", testPassword); r.header.Get("Location") != "/login/mfa" {
		t.Fatalf("login with TOTP goes to %q", r.header.Get("Location"))
	}
	if r := b2.get("/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login/mfa" {
		t.Fatalf("before the code, / = %d %q", r.status, r.header.Get("Location"))
	}
	if r := b2.post("/login/mfa", url.Values{"csrf": {b2.csrf("/login/mfa")}, "code": {"000000"}}); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d", r.status)
	}
	e.advance(30 * time.Second)
	code, _ = totp.GenerateCode(secret, e.now)
	if r := b2.post("/login/mfa", url.Values{"csrf": {b2.csrf("/login/mfa")}, "code": {code}}); r.status != http.StatusSeeOther {
		t.Fatalf("right code: %d", r.status)
	}
	if r := b2.get("/"); r.status != http.StatusOK {
		t.Fatalf("after the code, / = %d", r.status)
	}
	_ = tn
}

func regexpFind(t *testing.T, s, re string) string {
	t.Helper()
	m := regexpMust(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%s not found in page", re)
	}
	return m[1]
}

// TestSecureCookiesBehindHTTPS: with an https base URL the session cookie is
// Secure and HSTS is sent.
func TestSecureCookiesBehindHTTPS(t *testing.T) {
	e := newEnvWith(t, func(c *config.Config) { c.BaseURL = "https://avis.example.com" })
	e.tenant("shop", account.RoleOwner)
	b := e.browser()
	r := b.login("shop-owner@example.com", testPassword)
	found := false
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "avis_session=") {
			found = true
			if !strings.Contains(c, "; Secure") || !strings.Contains(c, "HttpOnly") {
				t.Fatalf("session cookie over https: %s", c)
			}
		}
	}
	if !found || r.header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("no session cookie (%v) or no HSTS", found)
	}
}
