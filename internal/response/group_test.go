package response_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"avis/internal/privacy"
	"avis/internal/response"
	"avis/internal/survey"
)

// TestGroupedCompletions answers 64 invitations at once, page after page,
// while other people send pages with problems or answer after their data
// was erased: every completion is stored exactly once and acknowledged to
// its own caller, and the failures of the others change nothing of it.
func TestGroupedCompletions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const good, bad, erased = 64, 8, 4
	type person struct{ contact, invitation string }
	people := make([]person, good+bad+erased)
	for i := range people {
		people[i].contact, people[i].invitation = e.invitation(fmt.Sprintf("p%d@example.org", i))
	}
	for _, p := range people[good+bad:] {
		if err := e.db.Tx(ctx, func(tx *sql.Tx) error { return e.vault.EraseSubject(ctx, tx, e.tenant, p.contact) }); err != nil {
			t.Fatal(err)
		}
	}
	consent := &response.Consent{Purpose: privacy.PurposePublishReview, Wording: consentWording, Language: "fr"}

	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, len(people))
	outs := make([][]response.Outcome, len(people))
	for i, p := range people {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			st := e.start(p.contact, p.invitation)
			nps := strconv.Itoa(i % 11)
			pages := []response.Submission{
				{Start: st, Def: e.def, Page: 0, Answers: survey.Answers{"nps": survey.Int(i % 11), "why": {Text: "Commentaire " + nps}}},
				{Start: st, Def: e.def, Page: 1, Answers: survey.Answers{"delivery": survey.Int(1 + i%5)}, Consent: consent},
			}
			switch {
			case i >= good+bad: // a detractor's comment cannot be sealed any more
				pages[0].Answers = survey.Answers{"nps": survey.Int(3), "why": {Text: "Effacé"}}
			case i >= good:
				pages = pages[:1]
				pages[0].Answers = survey.Answers{"nps": survey.Int(11)}
			}
			for _, sub := range pages {
				out, err := e.s.Submit(ctx, sub)
				if err != nil {
					errs[i] = err
					return
				}
				outs[i] = append(outs[i], out)
			}
		}()
	}
	close(start)
	wg.Wait()

	for i := range people {
		switch {
		case i < good:
			if errs[i] != nil || len(outs[i]) != 2 || outs[i][0].Response.Page != 1 || !outs[i][1].Completed || outs[i][1].ConsentID == "" {
				t.Errorf("person %d: %v, %+v", i, errs[i], outs[i])
			}
		case i < good+bad:
			if errs[i] != nil || len(outs[i]) != 1 || outs[i][0].Errors["nps"] == nil {
				t.Errorf("person %d (a page with a problem): %v, %+v", i, errs[i], outs[i])
			}
		default:
			if !errors.Is(errs[i], response.ErrErased) {
				t.Errorf("person %d (erased): %v, want ErrErased", i, errs[i])
			}
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM responses WHERE tenant_id = $1`, e.tenant); n != good {
		t.Errorf("%d responses, want %d", n, good)
	}
	if n := e.count(`SELECT COUNT(*) FROM responses WHERE tenant_id = $1 AND status = 'complete'`, e.tenant); n != good {
		t.Errorf("%d complete responses, want %d", n, good)
	}
	if n := e.count(`SELECT COUNT(*) FROM invitations WHERE tenant_id = $1 AND status = 'answered'`, e.tenant); n != good {
		t.Errorf("%d invitations answered, want %d", n, good)
	}
	if n := e.count(`SELECT COUNT(*) FROM consents WHERE tenant_id = $1`, e.tenant); n != good {
		t.Errorf("%d consents, want %d", n, good)
	}
	// Each kept the answers it gave: the score, the CSAT, and the comment
	// of the detractors (NPS 0 to 6), readable.
	for i := range good {
		r, err := e.s.ByInvitation(ctx, e.tenant, people[i].invitation)
		if err != nil {
			t.Fatal(err)
		}
		wantWhy := ""
		if i%11 <= 6 {
			wantWhy = "Commentaire " + strconv.Itoa(i%11)
		}
		if !r.Complete() || *r.Answers["nps"].Number != i%11 || *r.Answers["delivery"].Number != 1+i%5 || r.Answers["why"].Text != wantWhy {
			t.Errorf("person %d: stored %+v", i, r.Answers)
		}
	}
	detractors := 0
	for i := range good {
		if i%11 <= 6 {
			detractors++
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM response_answers WHERE tenant_id = $1`, e.tenant); n != 2*good+detractors {
		t.Errorf("%d answers stored, want %d", n, 2*good+detractors)
	}
}
