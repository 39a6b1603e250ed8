package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/crmsync"
	"avis/internal/db"
	"avis/internal/feed"
	"avis/internal/jobs"
	"avis/internal/journey"
	"avis/internal/privacy"
	"avis/internal/response"
	"avis/internal/survey"
	"avis/internal/vault"
)

// direct answers every invitation of the tenant in this process, through
// the response store as the survey page's POST does (page by page, the
// notice of the survey's language, the webhook hook run in the
// transaction), without HTTP or page rendering: to bring responses to avis
// faster than browsers on the same two cores could. clients goroutines
// start at most rate responses a second. With deliver, this process also
// delivers the webhooks, as avis serve does beside the survey pages (on
// SQLite: one process writes the database, as avis always does, instead
// of two taking turns at its file lock); stop ends that once the run has
// waited for them. It returns the latencies of the responses acknowledged
// (ms) and the number that failed.
func direct(dir, dbURL, tenantID string, clients int, rate float64, deliver bool) (lat [][]float64, failed int64, stop func(), err error) {
	ctx := context.Background()
	d, err := db.Open(ctx, dbURL, dir, db.Options{MaxConns: clients})
	if err != nil {
		return nil, 0, nil, err
	}
	stop = func() { d.Close() }
	defer func() {
		if err != nil {
			stop()
		}
	}()
	key, _, err := vault.LoadMasterKey(vault.KeyOptions{DataDir: dir, KeyFile: filepath.Join(dir, "master.key"), DataExists: true})
	if err != nil {
		return nil, 0, nil, err
	}
	v, err := vault.New(ctx, d, key)
	if err != nil {
		return nil, 0, nil, err
	}
	log := slog.New(slog.DiscardHandler)
	au := audit.New(d)
	fd := feed.New(d)
	responses := response.NewStore(d, v, au, privacy.NewConsents(d), log, response.Options{Feed: fd})
	hooks := crmsync.OpenWebhooks(d, v, au, fd, crmsync.WebhookOptions{AllowPrivate: true, AllowHTTP: true, Log: log,
		Data: crmsync.StoreData{Responses: responses, Contacts: contact.NewStore(d, v, au), Journeys: journey.NewStore(d, au), DB: d}})
	var workers *river.Workers
	if deliver {
		workers = river.NewWorkers()
		crmsync.AddWebhookWorkers(workers, hooks)
	}
	q, err := jobs.New(d, log, workers, jobs.Options{Work: deliver})
	if err != nil {
		return nil, 0, nil, err
	}
	hooks.Queue = q
	if deliver {
		if err := q.Start(ctx); err != nil {
			return nil, 0, nil, err
		}
		stop = func() { q.Stop(ctx); d.Close() }
	}
	notices := privacy.NewNotices(d, au, privacy.Operator{Site: "avis.example.net"})
	notice, err := notices.Current(ctx, tenantID, privacy.KindInformation, "fr")
	if err != nil {
		return nil, 0, nil, err
	}
	surveys := survey.NewStore(d, au)

	type invitation struct{ id, contact, step, survey string }
	rows, err := d.R.QueryContext(ctx, `SELECT id, contact_id, step_id, survey_id FROM invitations WHERE tenant_id = $1 ORDER BY id`, tenantID)
	if err != nil {
		return nil, 0, nil, err
	}
	var invs []invitation
	for rows.Next() {
		var i invitation
		if err := rows.Scan(&i.id, &i.contact, &i.step, &i.survey); err != nil {
			rows.Close()
			return nil, 0, nil, err
		}
		invs = append(invs, i)
	}
	rows.Close()
	if len(invs) == 0 {
		return nil, 0, nil, fmt.Errorf("no invitation to answer")
	}
	version, err := surveys.CurrentVersion(ctx, tenantID, invs[0].survey)
	if err != nil {
		return nil, 0, nil, err
	}
	def, err := surveys.Definition(ctx, tenantID, invs[0].survey, version)
	if err != nil {
		return nil, 0, nil, err
	}

	// Response i starts at begin + i/rate: a schedule, not a ticker, so
	// that a late start does not lower the rate asked for.
	var next atomic.Int64
	begin := time.Now()
	lat = make([][]float64, clients)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(invs) {
					return
				}
				if rate > 0 {
					time.Sleep(time.Until(begin.Add(time.Duration(float64(i) * float64(time.Second) / rate))))
				}
				inv := invs[i]
				rng := rand.New(rand.NewPCG(uint64(i), 42))
				nps := rng.IntN(11)
				pages := []survey.Answers{{"nps": survey.Int(nps)},
					{"channel": survey.Answer{Choices: []string{[]string{"web", "app", "shop"}[rng.IntN(3)]}}, "delivery": survey.Int(1 + rng.IntN(5))}}
				if nps <= 6 && rng.IntN(2) == 0 {
					pages[0]["why"] = survey.Answer{Text: comments[rng.IntN(len(comments))]}
				}
				start := response.Start{TenantID: tenantID, SurveyID: inv.survey, SurveyVersion: version, InvitationID: inv.id,
					ContactID: inv.contact, StepID: inv.step, Language: "fr", NoticeID: notice.ID, NoticeHash: notice.Hash}
				t := time.Now()
				var out response.Outcome
				var err error
				for p, answers := range pages {
					sub := response.Submission{Start: start, Def: def, Page: p, Answers: answers, ResponseID: out.Response.ID}
					if out, err = responses.Submit(ctx, sub); err != nil || out.Errors != nil {
						break
					}
				}
				if err != nil || out.Errors != nil || !out.Completed {
					if atomic.AddInt64(&failed, 1) <= 5 {
						fmt.Fprintf(os.Stderr, "response %d: %v %v\n", i, err, out.Errors)
					}
					continue
				}
				lat[c] = append(lat[c], ms(time.Since(t)))
			}
		}()
	}
	wg.Wait()
	return lat, failed, stop, nil
}
