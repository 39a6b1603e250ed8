package audit

import (
	"context"
	"fmt"
	"testing"

	"avis/internal/db"
	"avis/internal/db/dbtest"
)

// open returns a fresh database and its audit log.
func open(t testing.TB) (*db.DB, *Log) {
	t.Helper()
	d := dbtest.Open(t)
	return d, New(d)
}

// testEntry returns the i-th entry of a made-up sequence in tenant.
func testEntry(tenant string, i int) Entry {
	return Entry{
		TenantID:   tenant,
		Actor:      Actor{Kind: ActorUser, ID: fmt.Sprintf("u%d", i%3)},
		Action:     []string{"contact.read", "contact.update"}[i%2],
		ObjectKind: "contact",
		ObjectID:   fmt.Sprintf("c%d", i),
		SubjectID:  fmt.Sprintf("s%d", i%4),
		Detail:     map[string]string{"n": fmt.Sprint(i), "reason": "test"},
	}
}

// mustRecord appends n test entries to tenant, each in its own transaction.
func mustRecord(t testing.TB, l *Log, tenant string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if err := l.Record(context.Background(), nil, testEntry(tenant, i)); err != nil {
			t.Fatalf("Record %d in %q: %v", i, tenant, err)
		}
	}
}

func TestSystem(t *testing.T) {
	tests := []struct {
		component string
		want      Actor
	}{
		{"", Actor{Kind: ActorSystem, ID: "avis"}},
		{"retention", Actor{Kind: ActorSystem, ID: "retention"}},
	}
	for _, tt := range tests {
		t.Run(tt.want.ID, func(t *testing.T) {
			if got := System(tt.component); got != tt.want {
				t.Errorf("System(%q) = %+v, want %+v", tt.component, got, tt.want)
			}
		})
	}
}
