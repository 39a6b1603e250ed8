package account

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"avis/internal/db"
)

func TestTOTP(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant(t, "acme")
	u := e.user(t, acme.ID, "camille@example.org", RoleOwner)
	code := func(at time.Time) string {
		t.Helper()
		c, err := totp.GenerateCode(secretOf(t, e, u.ID), at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	if err := e.s.VerifyTOTP(ctx, u.ID, "123456"); !errors.Is(err, ErrTOTPNotEnabled) {
		t.Errorf("verify without TOTP: err = %v, want ErrTOTPNotEnabled", err)
	}
	secret, link, err := e.s.BeginTOTP(ctx, u.ID, "avis Acme")
	if err != nil {
		t.Fatal(err)
	}
	l, err := url.Parse(link)
	if err != nil || l.Scheme != "otpauth" || l.Host != "totp" || l.Query().Get("secret") != secret ||
		l.Query().Get("algorithm") != "SHA1" || l.Query().Get("digits") != "6" || l.Query().Get("period") != "30" ||
		!strings.Contains(l.Path, "camille@example.org") {
		t.Errorf("otpauth URL %q", link)
	}
	if tableContains(t, e.d, "users", []byte(secret)) {
		t.Error("the TOTP secret is stored in clear")
	}
	if err := e.s.VerifyTOTP(ctx, u.ID, code(e.clock.Now())); !errors.Is(err, ErrTOTPNotEnabled) {
		t.Errorf("verify before confirming: err = %v, want ErrTOTPNotEnabled", err)
	}
	if got, _ := e.s.UserByID(ctx, admin, u.ID); got.TOTPEnabled {
		t.Error("enabled before confirmation")
	}
	if err := e.s.ConfirmTOTP(ctx, u.ID, wrongCode(code(e.clock.Now()))); !errors.Is(err, ErrBadTOTP) {
		t.Errorf("confirm with a wrong code: err = %v, want ErrBadTOTP", err)
	}
	if err := e.s.ConfirmTOTP(ctx, u.ID, code(e.clock.Now())); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	if got, _ := e.s.UserByID(ctx, admin, u.ID); !got.TOTPEnabled {
		t.Error("not enabled after confirmation")
	}
	if n := e.count(t, "", "mfa.enable"); n != 1 {
		t.Errorf("%d mfa.enable entries, want 1", n)
	}
	if _, _, err := e.s.BeginTOTP(ctx, u.ID, "avis"); !errors.Is(err, ErrTOTPEnabled) {
		t.Errorf("begin again while enabled: err = %v, want ErrTOTPEnabled", err)
	}

	// The confirmation code cannot be used again to log in.
	if err := e.s.VerifyTOTP(ctx, u.ID, code(e.clock.Now())); !errors.Is(err, ErrBadTOTP) {
		t.Errorf("replay of the confirmation code: err = %v, want ErrBadTOTP", err)
	}
	e.clock.Add(30 * time.Second)
	c := code(e.clock.Now())
	if err := e.s.VerifyTOTP(ctx, u.ID, c[:3]+" "+c[3:]); err != nil {
		t.Fatalf("verify next step (with a space): %v", err)
	}
	if err := e.s.VerifyTOTP(ctx, u.ID, c); !errors.Is(err, ErrBadTOTP) {
		t.Errorf("replay: err = %v, want ErrBadTOTP", err)
	}
	e.clock.Add(30 * time.Second)
	// A code of the previous step (clock skew) is refused once a later one
	// was used; a code of the next step is accepted.
	if err := e.s.VerifyTOTP(ctx, u.ID, code(e.clock.Now().Add(-60*time.Second))); !errors.Is(err, ErrBadTOTP) {
		t.Errorf("older step: err = %v, want ErrBadTOTP", err)
	}
	if err := e.s.VerifyTOTP(ctx, u.ID, code(e.clock.Now().Add(30*time.Second))); err != nil {
		t.Errorf("next step within skew: %v", err)
	}
	e.clock.Add(5 * time.Minute)
	for _, bad := range []string{wrongCode(code(e.clock.Now())), "", "12345", "1234567", "abcdef", code(e.clock.Now().Add(-2 * time.Minute))} {
		if err := e.s.VerifyTOTP(ctx, u.ID, bad); !errors.Is(err, ErrBadTOTP) && !errors.Is(err, ErrThrottled) {
			t.Errorf("VerifyTOTP(%q): err = %v, want ErrBadTOTP", bad, err)
		}
	}
	// After MaxFailures wrong codes even the right one is throttled.
	if err := e.s.VerifyTOTP(ctx, u.ID, code(e.clock.Now())); !errors.Is(err, ErrThrottled) {
		t.Errorf("right code after many wrong ones: err = %v, want ErrThrottled", err)
	}
	e.clock.Add(16 * time.Minute)
	if err := e.s.VerifyTOTP(ctx, u.ID, code(e.clock.Now())); err != nil {
		t.Errorf("after the lockout: %v", err)
	}

	if err := e.s.DisableTOTP(ctx, admin, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.s.UserByID(ctx, admin, u.ID); got.TOTPEnabled {
		t.Error("still enabled after DisableTOTP")
	}
	if n := e.count(t, "", "mfa.disable"); n != 1 {
		t.Errorf("%d mfa.disable entries, want 1", n)
	}
	if err := e.s.DisableTOTP(ctx, admin, db.NewID()); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("unknown user: err = %v, want db.ErrNotFound", err)
	}
	if _, _, err := e.s.BeginTOTP(ctx, u.ID, "avis"); err != nil {
		t.Errorf("begin after disable: %v", err)
	}
}

// secretOf reads a person's TOTP secret as the vault opens it.
func secretOf(t *testing.T, e *env, userID string) string {
	t.Helper()
	st, err := e.s.totpState(ctx, userID)
	if err != nil || st.secret == "" {
		t.Fatalf("TOTP secret: %v", err)
	}
	return st.secret
}

// wrongCode returns a 6-digit code that differs from c.
func wrongCode(c string) string {
	b := []byte(c)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}
