package response_test

import (
	"context"
	"testing"

	"avis/internal/feed"
	"avis/internal/response"
	"avis/internal/survey"
)

// TestResponsesMoveInTheFeed follows one response through its pages: its
// creation and its completion reach the feed as events, in that order,
// and each change moves the response (and its invitation, once answered)
// to the end of the tenant's feed, where a CRM paging by sync_seq finds
// it again. A page with problems changes nothing.
func TestResponsesMoveInTheFeed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	contactID, invitationID := e.invitation("feed@example.org")
	seqOf := func(table, id string) int {
		return e.count(`SELECT sync_seq FROM `+table+` WHERE tenant_id = $1 AND id = $2`, e.tenant, id)
	}
	st := e.start(contactID, invitationID)

	first := e.submit(response.Submission{Start: st, Page: 0, Answers: survey.Answers{"nps": survey.Int(9)}})
	id := first.Response.ID
	afterFirst := seqOf("responses", id)
	if afterFirst == 0 {
		t.Fatal("a new response has no place in the feed")
	}
	bad := e.submit(response.Submission{Start: st, ResponseID: id, Page: 1, Answers: survey.Answers{"delivery": survey.Int(9)}})
	if len(bad.Errors) == 0 {
		t.Fatal("a CSAT of 9 was accepted")
	}
	if got := seqOf("responses", id); got != afterFirst {
		t.Errorf("a page with problems moved the response in the feed: %d → %d", afterFirst, got)
	}
	done := e.submit(response.Submission{Start: st, ResponseID: id, Page: 1, Answers: survey.Answers{"delivery": survey.Int(4)}})
	if !done.Completed {
		t.Fatalf("not completed: %+v", done.Errors)
	}
	afterDone := seqOf("responses", id)
	if afterDone <= afterFirst {
		t.Errorf("completing the response did not move it to the end of the feed (%d, then %d)", afterFirst, afterDone)
	}
	if inv := seqOf("invitations", invitationID); inv <= afterFirst {
		t.Errorf("the answered invitation did not move in the feed (%d)", inv)
	}
	evs, err := feed.New(e.db).After(ctx, e.tenant, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ev := range evs {
		if ev.ObjectID != id || ev.ContactID != contactID {
			t.Errorf("event %s is about %s/%s, want response %s of contact %s", ev.Type, ev.ObjectID, ev.ContactID, id, contactID)
		}
		types = append(types, ev.Type)
	}
	if len(types) != 2 || types[0] != feed.ResponseCreated || types[1] != feed.ResponseCompleted {
		t.Errorf("events %v, want response.created then response.completed", types)
	}
	// Submitting again (a replay) changes nothing.
	again := e.submit(response.Submission{Start: st, ResponseID: id, Page: 1, Answers: survey.Answers{"delivery": survey.Int(4)}})
	if !again.AlreadyComplete || seqOf("responses", id) != afterDone {
		t.Error("a replayed submission moved the response in the feed")
	}
	if evs, _ := feed.New(e.db).After(ctx, e.tenant, 0, 10); len(evs) != 2 {
		t.Errorf("a replay added events: %d", len(evs))
	}
}
