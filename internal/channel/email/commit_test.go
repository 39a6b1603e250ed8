package email_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"avis/internal/channel/email"
	"avis/internal/channel/email/smtptest"
)

// TestSendCommit: the commit runs before the final dot; a failed commit
// leaves nothing at the relay, and the sender keeps working.
func TestSendCommit(t *testing.T) {
	srv, err := smtptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	relay, _ := email.ParseRelayURL(srv.URL)
	s, err := email.NewSMTP(relay, email.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	raw, err := email.Build(email.Message{From: email.Address{Email: "a@example.com"}, To: "b@example.org", Subject: "s", Text: "t"}, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	env := email.Envelope{From: "a@example.com", To: "b@example.org"}
	ctx := context.Background()

	seenBefore := -1
	if err := s.SendCommit(ctx, env, raw, func() error { seenBefore = srv.Count(); return nil }); err != nil {
		t.Fatal(err)
	}
	if seenBefore != 0 || srv.Count() != 1 {
		t.Fatalf("commit saw %d messages at the relay (want 0, before the dot); relay has %d (want 1)", seenBefore, srv.Count())
	}

	refused := errors.New("already sent by another run")
	if err := s.SendCommit(ctx, env, raw, func() error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("SendCommit with a failing commit = %v, want the commit's error", err)
	}
	if err := s.Send(ctx, env, raw); err != nil {
		t.Fatalf("Send after an abandoned message: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := srv.Count(); n != 2 {
		t.Fatalf("relay has %d messages, want 2 (the abandoned one discarded)", n)
	}
}
