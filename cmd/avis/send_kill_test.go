package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"avis/internal/audit"
	"avis/internal/channel/email/smtptest"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/demo"
	"avis/internal/jobs"
)

// TestSendKilledThenRestarted schedules a run of invitations, kills `avis
// serve` with SIGKILL while it sends them to a real SMTP server, starts it
// again, and counts what the server received: every person once, nobody
// twice. (The benchmark runs 100,000; the test 3,000, to stay quick.)
func TestSendKilledThenRestarted(t *testing.T) {
	const n = 3000
	te := newTestEnv(t)
	te.mustRun("", "tenant", "create", "--slug", "shop", "--name", "Shop")
	if te.vars["AVIS_DATABASE_URL"] != "" {
		te.vars["AVIS_MASTER_KEY_FILE"] = filepath.Join(te.dir, "master.key")
	}
	srv, err := smtptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Discard()
	var mu sync.Mutex
	got := map[string]int{}
	srv.OnData(func(m smtptest.Message) error {
		msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		if err != nil {
			return err
		}
		mu.Lock()
		got[msg.Header.Get("X-Avis-Invitation")]++
		mu.Unlock()
		return nil
	})
	te.vars["AVIS_SMTP_URL"] = srv.URL + "&pool=4"
	te.vars["AVIS_JOB_WORKERS"] = "16"

	// Seed as the UI and the API would: a flow, n contacts, n events.
	ctx := context.Background()
	c, err := loadConfigFromEnv(te)
	if err != nil {
		t.Fatal(err)
	}
	a, err := open(ctx, env{stderr: io.Discard, getenv: te.getenv}, c)
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(a.db, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a.dispatch.Queue = q
	tn, err := a.accounts.TenantBySlug(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	flow, err := demo.SeedFlow(ctx, a.journeys, a.surveys, a.dispatch, tn.ID, demo.FlowOptions{AnyHour: true, DKIM: "ed25519"})
	if err != nil {
		t.Fatal(err)
	}
	ins := make([]contact.Input, n)
	for i := range ins {
		ins[i] = contact.Input{Email: fmt.Sprintf("person%05d@example.org", i), FirstName: fmt.Sprintf("P%d", i)}
	}
	ids, err := a.contacts.CreateMany(ctx, audit.System("test"), tn.ID, ins)
	if err != nil {
		t.Fatal(err)
	}
	if err := demo.Events(ctx, a.db, a.journeys, a.dispatch, tn.ID, flow.StepKey, ids, time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	a.Close()

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "AVIS_TEST_CHILD_ARGS=serve")
		for k, v := range te.vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	cmd := start()
	deadline := time.Now().Add(120 * time.Second)
	for srv.Count() < n/4 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("only %d messages after 120 s", srv.Count())
		}
		time.Sleep(2 * time.Millisecond)
	}
	killedAt := time.Now()
	cmd.Process.Kill() // SIGKILL, mid-run
	cmd.Wait()
	atKill := srv.Count()
	if atKill >= n {
		t.Fatalf("the run was not cut mid-way (%d of %d)", atKill, n)
	}
	cmd = start()
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	// Wait until the restarted avis has handled every invitation.
	d, err := db.Open(ctx, c.DatabaseURL, c.Data, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	deadline = time.Now().Add(180 * time.Second)
	for {
		var waiting int
		if err := d.R.QueryRow(`SELECT COUNT(*) FROM invitations WHERE status = 'scheduled'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 && srv.Count() >= n-16 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart, %d of %d messages, %d invitations still scheduled (killed at %d)", srv.Count(), n, waiting, atKill)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a duplicate would arrive now
	mu.Lock()
	defer mu.Unlock()
	twice := 0
	for _, k := range got {
		if k > 1 {
			twice++
		}
	}
	if twice > 0 {
		t.Fatalf("killed at %d: %d people got more than one message", atKill, twice)
	}
	// Exactly once has one documented gap: a kill in the instant between
	// the commit that marks an invitation sent and the final dot of DATA
	// loses that message (sending it again could send it twice). Anyone
	// missing must be such a one: marked sent within a second of the kill,
	// and there can be at most one per SMTP connection.
	rows, err := d.R.Query(`SELECT id, status, sent_at FROM invitations`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lost []string
	total := 0
	for rows.Next() {
		var id, status string
		var sentAt int64
		if err := rows.Scan(&id, &status, &sentAt); err != nil {
			t.Fatal(err)
		}
		total++
		if got[id] == 1 {
			continue
		}
		if status != "sent" || db.Time(sentAt).Before(killedAt.Add(-time.Second)) || db.Time(sentAt).After(killedAt.Add(time.Second)) {
			t.Errorf("invitation %s never reached the SMTP server: status %s, marked sent at %v, killed at %v", id, status, db.Time(sentAt), killedAt)
		}
		lost = append(lost, id)
	}
	if total != n || len(lost) > 4 {
		t.Fatalf("killed at %d: %d invitations, %d received, %d lost in the commit-to-dot instant", atKill, total, len(got), len(lost))
	}
	t.Logf("killed after %d of %d messages; after the restart %d people got exactly one, nobody two, %d lost in the instant between commit and final dot", atKill, n, len(got), len(lost))
}
