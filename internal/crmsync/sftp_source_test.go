package crmsync

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"avis/internal/db"
	"avis/internal/vault"
)

// validInput is a SourceInput that Create accepts.
func validInput() SourceInput {
	return SourceInput{
		Name: "CRM", Host: "sftp.example.com", Username: "crm", AuthKind: AuthPassword, Secret: "pw",
		HostKeyFingerprint: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", Folder: "/exports/avis",
		Enabled: true,
	}
}

func TestCreateValidates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, pemKey := newSigner(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	locked, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(in *SourceInput)
		want   string // in the error; "" for no error
	}{
		{"valid", func(in *SourceInput) {}, ""},
		{"valid key", func(in *SourceInput) { in.AuthKind, in.Secret = AuthKey, pemKey }, ""},
		{"relative folder", func(in *SourceInput) { in.Folder = "exports/avis" }, ""},
		{"IPv6 host", func(in *SourceInput) { in.Host = "[::1]" }, ""},
		{"no name", func(in *SourceInput) { in.Name = " " }, "the name is empty"},
		{"no host", func(in *SourceInput) { in.Host = "" }, "the host is empty"},
		{"scheme", func(in *SourceInput) { in.Host = "sftp://sftp.example.com" }, `remove "sftp://"`},
		{"user in host", func(in *SourceInput) { in.Host = "crm@sftp.example.com" }, "name or an IP address only"},
		{"path in host", func(in *SourceInput) { in.Host = "sftp.example.com/exports" }, "name or an IP address only"},
		{"port 0 means 22", func(in *SourceInput) { in.Port = 0 }, ""},
		{"port too big", func(in *SourceInput) { in.Port = 65536 }, "between 1 and 65535"},
		{"negative port", func(in *SourceInput) { in.Port = -1 }, "between 1 and 65535"},
		{"no user", func(in *SourceInput) { in.Username = "" }, "user name is empty"},
		{"no fingerprint", func(in *SourceInput) { in.HostKeyFingerprint = "" }, "fingerprint is empty"},
		{"MD5 fingerprint", func(in *SourceInput) {
			in.HostKeyFingerprint = "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48"
		}, "MD5"},
		{"short fingerprint", func(in *SourceInput) { in.HostKeyFingerprint = "SHA256:abcd" }, "not a whole SHA256 fingerprint"},
		{"dotdot folder", func(in *SourceInput) { in.Folder = "/exports/../etc" }, `must not contain ".."`},
		{"dotdot relative", func(in *SourceInput) { in.Folder = "../up" }, `must not contain ".."`},
		{"bad pattern", func(in *SourceInput) { in.Pattern = "[a-" }, "is not valid"},
		{"pattern with slash", func(in *SourceInput) { in.Pattern = "sub/*.csv" }, "must not contain /"},
		{"interval too short", func(in *SourceInput) { in.Interval = 30 * time.Second }, "interval must be between"},
		{"no auth kind", func(in *SourceInput) { in.AuthKind = "" }, "choose how to log in"},
		{"unknown auth kind", func(in *SourceInput) { in.AuthKind = "kerberos" }, `not "kerberos"`},
		{"no password", func(in *SourceInput) { in.Secret = "" }, "the password is empty"},
		{"no key", func(in *SourceInput) { in.AuthKind, in.Secret = AuthKey, "" }, "the private key is empty"},
		{"public key given", func(in *SourceInput) {
			signer, _ := newSigner(t)
			in.AuthKind, in.Secret = AuthKey, string(ssh.MarshalAuthorizedKey(signer.PublicKey()))
		}, "not the .pub public key"},
		{"key with passphrase", func(in *SourceInput) {
			in.AuthKind, in.Secret = AuthKey, string(pem.EncodeToMemory(locked))
		}, "protected by a passphrase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := validInput()
			in.Name = tt.name
			tt.change(&in)
			src, err := e.s.Create(t.Context(), e.admin, e.tenant, in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Create = %v, want ErrInvalid saying %q", err, tt.want)
			}
			if src.ID != "" {
				t.Error("a refused source has an id")
			}
		})
	}
}

func TestCreateDefaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := validInput()
	in.Port, in.Folder, in.Pattern, in.Interval = 0, "", "", 0
	in.HostKeyFingerprint = "256 " + in.HostKeyFingerprint + "= root@sftp (ED25519)"
	src := e.create(t, in)
	got, err := e.s.Get(t.Context(), e.tenant, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Port != 22 || got.Folder != "." || got.Pattern != "*.csv" || got.Interval != 5*time.Minute ||
		got.HostKeyFingerprint != "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8" {
		t.Errorf("defaults: %+v", got)
	}
	if got.ID != src.ID || got.TenantID != e.tenant || !got.Enabled || !got.LastRunAt.IsZero() || got.CreatedAt.IsZero() {
		t.Errorf("stored %+v", got)
	}
	if _, err := e.s.Create(t.Context(), e.admin, e.tenant, in); !errors.Is(err, db.ErrConflict) {
		t.Errorf("a second source of the same name: %v, want ErrConflict", err)
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	src := e.create(t, validInput())
	intruder := e.admin

	if _, err := e.s.Get(ctx, e.other, src.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("Get from another tenant: %v, want ErrNotFound", err)
	}
	in := validInput()
	in.Host = "evil.example.com"
	if _, err := e.s.Update(ctx, intruder, e.other, src.ID, in); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("Update from another tenant: %v, want ErrNotFound", err)
	}
	if err := e.s.Delete(ctx, intruder, e.other, src.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("Delete from another tenant: %v, want ErrNotFound", err)
	}
	if _, err := e.s.Fetch(ctx, e.other, src.ID, &recImporter{}); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("Fetch from another tenant: %v, want ErrNotFound", err)
	}
	if l, err := e.s.List(ctx, e.other); err != nil || len(l) != 0 {
		t.Errorf("List of another tenant = %v, %v", l, err)
	}
	got, err := e.s.Get(ctx, e.tenant, src.ID)
	if err != nil || got.Host != "sftp.example.com" {
		t.Errorf("the source changed: %+v, %v", got, err)
	}
	if l, err := e.s.List(ctx, e.tenant); err != nil || len(l) != 1 || l[0].ID != src.ID {
		t.Errorf("List = %v, %v", l, err)
	}
}

func TestUpdateKeepsOrReplacesSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	src := e.create(t, validInput())

	in := validInput()
	in.Secret, in.Host, in.Enabled, in.Interval = "", "sftp2.example.com", false, 10*time.Minute
	got, err := e.s.Update(ctx, e.admin, e.tenant, src.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != "sftp2.example.com" || got.Enabled || got.Interval != 10*time.Minute || got.ID != src.ID {
		t.Errorf("Update = %+v", got)
	}
	if s, err := e.s.secret(ctx, got); err != nil || s != "pw" {
		t.Errorf("secret after an update without one = %q, %v, want the old one", s, err)
	}

	in.Secret = "new-pw"
	if _, err := e.s.Update(ctx, e.admin, e.tenant, src.ID, in); err != nil {
		t.Fatal(err)
	}
	if s, err := e.s.secret(ctx, got); err != nil || s != "new-pw" {
		t.Errorf("secret after an update with one = %q, %v", s, err)
	}

	in.Secret, in.AuthKind = "", AuthKey
	if _, err := e.s.Update(ctx, e.admin, e.tenant, src.ID, in); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "give the new private key") {
		t.Errorf("switching to a key without giving one: %v", err)
	}

	if err := e.s.Delete(ctx, e.admin, e.tenant, src.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Get(ctx, e.tenant, src.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if _, err := e.v.Lookup(ctx, e.tenant, src.ID); !errors.Is(err, vault.ErrErased) {
		t.Errorf("the secret's key after Delete: %v, want it shredded", err)
	}
	if err := e.s.Delete(ctx, e.admin, e.tenant, src.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
}

func TestSecretStoredSealed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	_, keyPEM := newSigner(t)
	password := "Corr3ct-Horse-Battery-Staple"
	in := validInput()
	in.Secret = password
	a := e.create(t, in)
	in.Name, in.AuthKind, in.Secret = "with key", AuthKey, keyPEM
	b := e.create(t, in)

	rows, err := e.d.R.QueryContext(ctx, `SELECT * FROM sftp_sources`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		n++
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			raw := []byte(fmt.Sprint(v))
			if b, ok := v.([]byte); ok {
				raw = b
			}
			for _, secret := range []string{password, keyPEM, "PRIVATE KEY", keyPEM[40:80]} {
				if bytes.Contains(raw, []byte(secret)) {
					t.Errorf("column %s holds the secret in clear", cols[i])
				}
			}
			if cols[i] == "secret_sealed" && !vault.IsSealed(v.([]byte)) {
				t.Errorf("secret_sealed is not a vault ciphertext")
			}
		}
	}
	if err := rows.Err(); err != nil || n != 2 {
		t.Fatalf("read %d rows: %v", n, err)
	}
	for _, src := range []Source{a, b} {
		if s, err := e.s.secret(ctx, src); err != nil || (s != password && s != keyPEM) {
			t.Errorf("the secret does not open back: %v", err)
		}
	}
}

func TestDue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	mk := func(name string, enabled bool, interval time.Duration, lastRun time.Time) string {
		in := validInput()
		in.Name, in.Enabled, in.Interval = name, enabled, interval
		src := e.create(t, in)
		if _, err := e.d.W.ExecContext(ctx, `UPDATE sftp_sources SET last_run_at = $1 WHERE id = $2`, db.Stamp(lastRun), src.ID); err != nil {
			t.Fatal(err)
		}
		return src.ID
	}
	never := mk("never run", true, 5*time.Minute, time.Time{})
	fiveAgo := mk("ran 5 min ago, every 5", true, 5*time.Minute, base.Add(-5*time.Minute))
	_ = mk("ran 4 min ago, every 5", true, 5*time.Minute, base.Add(-4*time.Minute))
	_ = mk("disabled", false, 5*time.Minute, time.Time{})
	hourly := mk("ran 30 min ago, hourly", true, time.Hour, base.Add(-30*time.Minute))
	// Another tenant's source is due too.
	in := validInput()
	in.Name = "other tenant"
	otherSrc, err := e.s.Create(ctx, e.admin, e.other, in)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		at   time.Time
		want []string
	}{
		{base, []string{never, otherSrc.ID, fiveAgo}},
		{base.Add(-time.Second), []string{never, otherSrc.ID}},
	}
	for _, tt := range tests {
		got, err := e.s.Due(ctx, tt.at)
		if err != nil {
			t.Fatal(err)
		}
		if !sameIDs(got, tt.want) {
			t.Errorf("Due(%s) = %v, want %v", tt.at.Format(time.TimeOnly), ids(got), tt.want)
		}
	}
	got, err := e.s.Due(ctx, base.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || !sameIDs(got[2:3], []string{hourly}) {
		t.Errorf("Due(+30 min) = %v: want every enabled source, the longest waiting first", ids(got))
	}
}

func ids(ss []Source) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func sameIDs(got []Source, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[string]bool{}
	for _, s := range got {
		seen[s.ID] = true
	}
	for _, id := range want {
		if !seen[id] {
			return false
		}
	}
	return true
}

func TestParseFingerprint(t *testing.T) {
	t.Parallel()
	const fp = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
	tests := []struct {
		in, want, err string
	}{
		{fp, fp, ""},
		{"  " + fp + "\n", fp, ""},
		{fp + "=", fp, ""},
		{"sha256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", fp, ""},
		{"256 " + fp + " root@host (ED25519)", fp, ""},
		{"", "", "is empty"},
		{"nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", "", "must start with SHA256:"},
		{"16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48", "", "MD5"},
		{"SHA256:", "", "not a whole"},
		{"SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY", "", "not a whole"},
		{"SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8AA", "", "not a whole"},
		{"SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5S!8", "", "not a whole"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseFingerprint(tt.in)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Errorf("ParseFingerprint = %q, %v, want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseFingerprint = %q, %v, want an error saying %q", got, err, tt.err)
			}
		})
	}
}

func FuzzFingerprint(f *testing.F) {
	for _, s := range []string{
		"SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", "256 SHA256:x== a b", "MD5:aa", "SHA256:", ":", "",
		"sha256:\xff\xfe", "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8====",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseFingerprint(s)
		if err != nil {
			return
		}
		again, err := ParseFingerprint(got)
		if err != nil || again != got {
			t.Fatalf("canonical %q does not parse back to itself: %q, %v", got, again, err)
		}
		if !strings.HasPrefix(got, "SHA256:") || len(got) != 7+43 {
			t.Fatalf("canonical form %q", got)
		}
	})
}
