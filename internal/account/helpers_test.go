package account

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/vault"
)

// clock is a settable time for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a Store over a fresh database with a settable clock.
type env struct {
	s     *Store
	d     *db.DB
	log   *audit.Log
	clock *clock
}

var (
	admin = audit.Actor{Kind: audit.ActorUser, ID: "01jtestadmin0000000000000a"}
	ctx   = context.Background()
)

const goodPassword = "plum-harbour-lantern-42"

func newEnv(t *testing.T) *env {
	t.Helper()
	d := dbtest.Open(t)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(ctx, d, key)
	if err != nil {
		t.Fatalf("vault: %v", err)
	}
	log := audit.New(d)
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s := NewStore(d, v, log, Options{Now: c.Now, Argon2Memory: 64, Argon2Time: 1})
	return &env{s: s, d: d, log: log, clock: c}
}

func (e *env) tenant(t *testing.T, slug string) Tenant {
	t.Helper()
	tn, err := e.s.CreateTenant(ctx, admin, slug, "Tenant "+slug)
	if err != nil {
		t.Fatalf("create tenant %s: %v", slug, err)
	}
	return tn
}

func (e *env) user(t *testing.T, tenantID, email string, role Role) User {
	t.Helper()
	u, err := e.s.CreateUser(ctx, admin, tenantID, email, "Camille Martin", goodPassword, role)
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// actions returns the actions of a tenant's audit chain, oldest first.
func (e *env) actions(t *testing.T, tenantID string) []string {
	t.Helper()
	recs, err := e.log.List(ctx, tenantID, audit.Filter{Limit: audit.MaxLimit})
	if err != nil {
		t.Fatalf("audit list: %v", err)
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[len(recs)-1-i] = r.Action
	}
	return out
}

func (e *env) count(t *testing.T, tenantID, action string) int {
	t.Helper()
	n := 0
	for _, a := range e.actions(t, tenantID) {
		if a == action {
			n++
		}
	}
	return n
}

// tableContains reports whether any column of any row of the table holds
// needle in its bytes.
func tableContains(t *testing.T, d *db.DB, table string, needle []byte) bool {
	t.Helper()
	rows, err := d.R.QueryContext(ctx, "SELECT * FROM "+table)
	if err != nil {
		t.Fatalf("scan %s: %v", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	found := false
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
		for _, v := range vals {
			var b []byte
			switch x := v.(type) {
			case []byte:
				b = x
			case string:
				b = []byte(x)
			default:
				b = []byte(fmt.Sprint(x))
			}
			if bytes.Contains(bytes.ToLower(b), bytes.ToLower(needle)) {
				found = true
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("table %s is empty: the scan proves nothing", table)
	}
	return found
}
