// Command benchanswer measures answering surveys end to end (make
// bench-answer): it seeds a tenant with a five-question survey and n
// invitations already sent, starts `avis serve` on loopback, and has
// concurrent clients answer every invitation as a browser without
// JavaScript would: GET the survey page, fill in the form, POST it with
// the form's hidden fields, follow the redirect, and so on until the
// thank-you page. It prints one JSON line: completed responses per second,
// the latency of each HTTP request and of each whole response, the survey
// page's size, the peak RSS and CPU of avis, and whether every response
// acknowledged (a thank-you page received) is complete in the database.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/crmsync"
	"avis/internal/db"
	"avis/internal/demo"
	"avis/internal/dispatch"
	"avis/internal/feed"
	"avis/internal/jobs"
	"avis/internal/journey"
	"avis/internal/privacy"
	"avis/internal/survey"
	"avis/internal/vault"
	"avis/scripts/internal/proc"
)

// Result is what one run measured.
type Result struct {
	Database string `json:"database"`
	// Invitations is the number of invitations answered; Clients the
	// clients answering at once.
	Invitations int `json:"invitations"`
	Clients     int `json:"clients"`
	// Acknowledged counts the thank-you pages received after a last page
	// was sent; Stored the complete responses in the database after the
	// run; Lost the acknowledged responses not stored (must be 0).
	Acknowledged int `json:"acknowledged"`
	Stored       int `json:"stored"`
	Lost         int `json:"lost"`
	// Failed counts the responses abandoned on an unexpected answer of
	// the server (a status other than 200 or 303, or a network error).
	Failed int `json:"failed"`
	// Requests is the number of HTTP requests; Seconds the time from the
	// first request to the last thank-you page.
	Requests      int     `json:"requests"`
	Seconds       float64 `json:"seconds"`
	ResponsesPerS float64 `json:"responses_per_s"`
	RequestsPerS  float64 `json:"requests_per_s"`
	// Latencies in milliseconds, of each HTTP request and of each
	// response (from the first GET to the thank-you page).
	RequestP50Ms  float64 `json:"request_p50_ms"`
	RequestP99Ms  float64 `json:"request_p99_ms"`
	ResponseP50Ms float64 `json:"response_p50_ms"`
	ResponseP99Ms float64 `json:"response_p99_ms"`
	// PageHTMLBytes is the first survey page's HTML, PageCSSBytes its
	// style sheets (bodies, uncompressed: avis does not compress).
	PageHTMLBytes int `json:"page_html_bytes"`
	PageCSSBytes  int `json:"page_css_bytes"`
	// PeakRSSMB is the peak resident set of avis; AvisCPU and ClientCPU
	// the CPU seconds avis and this process used during the run.
	PeakRSSMB int     `json:"peak_rss_mb"`
	AvisCPU   float64 `json:"avis_cpu_s"`
	ClientCPU float64 `json:"client_cpu_s"`
	// PostgresCPU is the CPU seconds of the PostgreSQL server (its
	// postmaster and backends), when -pgdata names its data directory.
	PostgresCPU float64 `json:"postgres_cpu_s"`
	// Rate is the pace at which clients started responses (0: as fast as
	// they could).
	Rate float64 `json:"rate"`
	// Direct is set when the responses were written through the response
	// store in the benchmark's process, not by browsers (-direct).
	Direct bool `json:"direct"`
	// Floor is set when the clients answered recorded pages replayed by a
	// stub server instead of avis (-floor): nothing was stored, and the
	// avis figures (CPU, RSS) are the stub's.
	Floor bool `json:"floor"`
	// With -webhook: the response.completed webhooks the loopback receiver
	// accepted, those missing at the end, and the time from each
	// response's completion (its completed_at) to its webhook's arrival.
	Webhooks       int     `json:"webhooks"`
	WebhookMissing int     `json:"webhook_missing"`
	WebhookP50Ms   float64 `json:"webhook_p50_ms"`
	WebhookP99Ms   float64 `json:"webhook_p99_ms"`
	WebhookMaxMs   float64 `json:"webhook_max_ms"`
}

func main() {
	avisBin := flag.String("avis", "bin/avis", "the avis binary")
	dbURL := flag.String("db", "", "PostgreSQL URL (empty: SQLite)")
	n := flag.Int("n", 50000, "invitations to answer")
	clients := flag.Int("clients", 64, "clients answering at once")
	pgData := flag.String("pgdata", "", "the PostgreSQL server's data directory, to measure its CPU")
	rate := flag.Float64("rate", 0, "responses started per second, all clients together (0: as fast as they can)")
	webhook := flag.Bool("webhook", false, "send each completed response to a webhook receiver on loopback and measure the delay")
	directly := flag.Bool("direct", false, "answer through the response store in this process, as the survey page does but without HTTP (with -webhook: responses arrive faster than browsers could bring them)")
	floor := flag.Bool("floor", false, "answer pages that avis served for one invitation, replayed by a stub server with nothing behind it: the most the clients and HTTP allow on this machine")
	stubFile := flag.String("stub", "", "(internal) serve the recorded pages of this file as the -floor stub")
	stubAddr := flag.String("stub-addr", "", "(internal) the -floor stub's address")
	flag.Parse()
	if *stubFile != "" {
		fmt.Fprintln(os.Stderr, "benchanswer stub:", stub(*stubFile, *stubAddr))
		os.Exit(1)
	}
	res, err := run(*avisBin, *dbURL, *pgData, *n, *clients, *rate, *webhook, *directly, *floor)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchanswer:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(res)
}

// surveyJSON is the benchmark's survey, like the demo's with five
// questions on two pages: a score, a comment asked of detractors only
// (the page comes back with it, without JavaScript), a choice, a CSAT and
// a free comment.
const surveyJSON = `{"avis_survey": 1, "name": "Après la livraison", "default_language": "fr", "languages": ["fr", "en"],
 "pages": [
  {"questions": [
   {"id": "nps", "type": "nps", "required": true,
    "text": {"fr": "Recommanderiez-vous notre boutique à un proche ?", "en": "Would you recommend our shop to a friend?"},
    "low_label": {"fr": "Pas du tout", "en": "Not at all"}, "high_label": {"fr": "Certainement", "en": "Certainly"}},
   {"id": "why", "type": "longtext",
    "text": {"fr": "Qu'est-ce qui n'a pas été ?", "en": "What went wrong?"},
    "condition": {"question": "nps", "op": "le", "value": 6}}
  ]},
  {"questions": [
   {"id": "channel", "type": "single", "text": {"fr": "Comment avez-vous commandé ?", "en": "How did you order?"},
    "choices": [{"key": "web", "text": {"fr": "Sur le site", "en": "On the website"}},
     {"key": "app", "text": {"fr": "Avec l'application", "en": "With the app"}},
     {"key": "shop", "text": {"fr": "En magasin", "en": "In a shop"}}]},
   {"id": "delivery", "type": "csat", "required": true,
    "text": {"fr": "Êtes-vous satisfait de la livraison ?", "en": "Are you satisfied with the delivery?"}},
   {"id": "comment", "type": "longtext", "text": {"fr": "Un commentaire ?", "en": "Any comment?"}}
  ]}
 ]}`

func run(avisBin, dbURL, pgData string, n, clients int, rate float64, webhook, directly, floor bool) (Result, error) {
	res := Result{Database: "sqlite", Invitations: n, Clients: clients, Rate: rate, Direct: directly, Floor: floor}
	if dbURL != "" {
		res.Database = "postgres"
	}
	dir, err := os.MkdirTemp("", "benchanswer")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	addr := proc.FreePort()
	envv := append(os.Environ(), "AVIS_DATA="+dir, "AVIS_DATABASE_URL="+dbURL, "AVIS_ADDR="+addr, "AVIS_LOG_LEVEL=warn",
		"AVIS_BASE_URL=http://"+addr)
	cmd := exec.Command(avisBin, "tenant", "create", "--slug", "bench", "--name", "Boutique Exemple")
	cmd.Env, cmd.Stderr = envv, os.Stderr
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("tenant create: %w", err)
	}
	envv = append(envv, "AVIS_MASTER_KEY_FILE="+filepath.Join(dir, "master.key"))
	var recv *receiver
	if webhook {
		if recv, err = startReceiver(); err != nil {
			return res, err
		}
		defer recv.close()
		envv = append(envv, "AVIS_WEBHOOK_ALLOW_PRIVATE=true", "AVIS_WEBHOOK_ALLOW_HTTP=true")
	}
	t0 := time.Now()
	tenantID, tokens, err := seed(dir, dbURL, n, recv)
	if err != nil {
		return res, fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(os.Stderr, "%s: %d invitations sent in %.0f s; answering with %d clients…\n", res.Database, n, time.Since(t0).Seconds(), clients)

	// On SQLite the benchmark's process, which writes the responses, also
	// delivers their webhooks (see direct); avis serve then only serves.
	deliverHere := directly && dbURL == ""
	if deliverHere {
		envv = append(envv, "AVIS_ROLE=web")
	}
	serve, err := proc.Serve(avisBin, envv)
	if err != nil {
		return res, err
	}
	stop := serve.Stop
	defer stop()
	base := "http://" + addr
	if err := proc.WaitReady(base); err != nil {
		return res, err
	}
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: 2 * clients, DisableCompression: true},
		// Redirects are followed by hand: each request is measured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if !directly {
		if res.PageHTMLBytes, res.PageCSSBytes, err = pageSize(client, base, tokens[0]); err != nil {
			return res, err
		}
	}
	pid := serve.Pid()
	if floor {
		steps, err := record(client, base, tokens[0])
		if err != nil {
			return res, err
		}
		stop()
		addr := proc.FreePort()
		cmd, err := startStub(dir, addr, steps)
		if err != nil {
			return res, err
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		base, pid, tokens = "http://"+addr, cmd.Process.Pid, tokens[1:]
		if err := proc.WaitReady(base); err != nil {
			return res, err
		}
	}

	if dbURL != "" {
		stopAnalyse := analyseWhileFilling(dbURL, dir)
		defer stopAnalyse()
	}
	avisCPU0, selfCPU0, pgCPU0 := proc.CPU(pid), proc.CPU(os.Getpid()), proc.PostgresCPU(pgData)
	var next, acked, failed atomic.Int64
	reqLat := make([][]float64, clients)
	respLat := make([][]float64, clients)
	var wg sync.WaitGroup
	started := time.Now()
	// pace hands out the starts of responses at the rate asked for.
	var pace <-chan time.Time
	if rate > 0 {
		tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer tick.Stop()
		pace = tick.C
	}
	if directly {
		lat, nfailed, stopDirect, err := direct(dir, dbURL, tenantID, clients, rate, deliverHere)
		if err != nil {
			return res, err
		}
		defer stopDirect()
		for _, l := range lat {
			acked.Add(int64(len(l)))
		}
		failed.Add(nfailed)
		respLat = lat
	}
	for c := range clients {
		if directly {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := &browser{client: client, base: base}
			for {
				i := int(next.Add(1)) - 1
				if i >= len(tokens) {
					break
				}
				if pace != nil {
					<-pace
				}
				b.rng = newRand(i)
				t := time.Now()
				err := b.answer(tokens[i])
				if err != nil {
					if failed.Add(1) <= 5 {
						fmt.Fprintf(os.Stderr, "response %d: %v\n", i, err)
					}
					continue
				}
				acked.Add(1)
				respLat[c] = append(respLat[c], ms(time.Since(t)))
			}
			reqLat[c] = b.latencies
		}()
	}
	wg.Wait()
	res.Seconds = time.Since(started).Seconds()
	res.AvisCPU = proc.CPU(pid) - avisCPU0
	res.ClientCPU = proc.CPU(os.Getpid()) - selfCPU0
	res.PostgresCPU = proc.PostgresCPU(pgData) - pgCPU0
	res.PeakRSSMB = proc.PeakRSS(pid)
	if recv != nil {
		// Every acknowledged response's webhook, or 60 s of waiting.
		deadline := time.Now().Add(60 * time.Second)
		for recv.count() < int(acked.Load()) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		lat := recv.latencies()
		res.Webhooks = len(lat)
		res.WebhookMissing = max(0, int(acked.Load())-len(lat))
		res.WebhookP50Ms, res.WebhookP99Ms = percentiles(lat)
		if len(lat) > 0 {
			res.WebhookMaxMs = slices.Max(lat)
		}
	}
	stop()

	res.Acknowledged, res.Failed = int(acked.Load()), int(failed.Load())
	allReq, allResp := slices.Concat(reqLat...), slices.Concat(respLat...)
	res.Requests = len(allReq)
	res.ResponsesPerS = float64(res.Acknowledged) / res.Seconds
	res.RequestsPerS = float64(res.Requests) / res.Seconds
	res.RequestP50Ms, res.RequestP99Ms = percentiles(allReq)
	res.ResponseP50Ms, res.ResponseP99Ms = percentiles(allResp)
	if floor {
		return res, nil // nothing was stored: the stub keeps nothing
	}

	// Zero lost: every acknowledged response is complete in the database.
	d, err := db.Open(context.Background(), dbURL, dir, db.Options{})
	if err != nil {
		return res, err
	}
	defer d.Close()
	if err := d.R.QueryRow(`SELECT COUNT(*) FROM responses WHERE tenant_id = $1 AND status = 'complete'`, tenantID).Scan(&res.Stored); err != nil {
		return res, err
	}
	res.Lost = max(0, res.Acknowledged-res.Stored)
	return res, nil
}

// seed makes, in this process and with the stores avis uses, what a
// tenant would have before its customers answer: a privacy profile with a
// brand colour, a journey, the survey and its rule, n contacts with a
// delivery event each and their invitations, marked sent as the sending
// run would. It returns the tenant and the invitations' link tokens.
func seed(dir, dbURL string, n int, recv *receiver) (string, []string, error) {
	ctx := context.Background()
	d, err := db.Open(ctx, dbURL, dir, db.Options{})
	if err != nil {
		return "", nil, err
	}
	defer d.Close()
	key, _, err := vault.LoadMasterKey(vault.KeyOptions{DataDir: dir, KeyFile: filepath.Join(dir, "master.key"), DataExists: true})
	if err != nil {
		return "", nil, err
	}
	v, err := vault.New(ctx, d, key)
	if err != nil {
		return "", nil, err
	}
	log := slog.New(slog.DiscardHandler)
	actor := audit.System("bench")
	au := audit.New(d)
	accounts := account.NewStore(d, v, au, account.Options{})
	contacts := contact.NewStore(d, v, au)
	journeys := journey.NewStore(d, au)
	surveys := survey.NewStore(d, au)
	disp := dispatch.NewStore(d, v, au, contacts, accounts, log, dispatch.Options{BaseURL: "http://avis.example.net"})
	if disp.Queue, err = jobs.New(d, log, nil, jobs.Options{}); err != nil {
		return "", nil, err
	}
	tn, err := accounts.TenantBySlug(ctx, "bench")
	if err != nil {
		return "", nil, err
	}
	notices := privacy.NewNotices(d, au, privacy.Operator{Site: "avis.example.net"})
	if _, err := notices.SaveProfile(ctx, actor, privacy.Profile{TenantID: tn.ID, LegalName: "Boutique Exemple SAS",
		Address: "1 rue de la Paix\n75002 Paris", DPOEmail: "dpo@boutique.example", RetentionMonths: 24,
		Authority: privacy.DefaultAuthority, BrandColor: "#1d5c4d"}); err != nil {
		return "", nil, err
	}
	if recv != nil {
		hooks := crmsync.NewWebhooks(d, v, au, crmsync.WebhookOptions{AllowPrivate: true, AllowHTTP: true})
		if _, _, err := hooks.Create(ctx, actor, tn.ID, crmsync.EndpointInput{URL: recv.url, Description: "CRM",
			Events: []string{feed.ResponseCompleted}, Enabled: true}); err != nil {
			return "", nil, fmt.Errorf("webhook endpoint: %w", err)
		}
	}
	j, err := journeys.CreateJourney(ctx, actor, tn.ID, "Commande en ligne", []journey.StepInput{
		{Key: "order", Name: "Commande"}, {Key: "delivery", Name: "Livraison"}})
	if err != nil {
		return "", nil, err
	}
	def, err := survey.Parse([]byte(surveyJSON))
	if err != nil {
		return "", nil, err
	}
	sv, err := surveys.Create(ctx, actor, tn.ID, def)
	if err != nil {
		return "", nil, err
	}
	if err := surveys.SetStatus(ctx, actor, tn.ID, sv.ID, survey.StatusActive); err != nil {
		return "", nil, err
	}
	rule := dispatch.DefaultRule(j.Steps[1].ID, sv.ID)
	all := [7]bool{true, true, true, true, true, true, true}
	rule.EmailWindow = dispatch.Window{Days: all, From: 0, To: 1440}
	rule.Reminders = 0
	if _, err := disp.SaveRule(ctx, actor, tn.ID, rule); err != nil {
		return "", nil, err
	}
	ids := make([]string, 0, n)
	for start := 0; start < n; start += 2000 {
		ins := make([]contact.Input, 0, 2000)
		for i := start; i < min(start+2000, n); i++ {
			ins = append(ins, contact.Input{ExternalID: fmt.Sprintf("C%07d", i), Email: fmt.Sprintf("client%07d@example.org", i),
				FirstName: "Camille", LastName: fmt.Sprintf("Martin%d", i), Language: "fr", TimeZone: "Europe/Paris"})
		}
		got, err := contacts.CreateMany(ctx, actor, tn.ID, ins)
		if err != nil {
			return "", nil, err
		}
		ids = append(ids, got...)
	}
	if err := demo.Events(ctx, d, journeys, disp, tn.ID, "delivery", ids, time.Now().Add(-time.Minute)); err != nil {
		return "", nil, err
	}
	// What the sending run records (the send benchmark measures it).
	now := time.Now()
	if _, err := d.W.ExecContext(ctx, `UPDATE invitations SET status = 'sent', sent_at = $2, expires_at = $3, updated_at = $2
		WHERE tenant_id = $1 AND status = 'scheduled'`, tn.ID, db.Stamp(now), db.Stamp(now.Add(30*24*time.Hour))); err != nil {
		return "", nil, err
	}
	rows, err := d.R.QueryContext(ctx, `SELECT id FROM invitations WHERE tenant_id = $1 AND status = 'sent' ORDER BY id`, tn.ID)
	if err != nil {
		return "", nil, err
	}
	var invs []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return "", nil, err
		}
		invs = append(invs, id)
	}
	rows.Close()
	if len(invs) != n {
		return "", nil, fmt.Errorf("%d invitations sent, want %d", len(invs), n)
	}
	// The link token, derived as dispatch does for the message (a MAC of
	// the invitation id under the tenant's key).
	tokens := make([]string, len(invs))
	for i, id := range invs {
		mac, err := v.BlindIndex(ctx, nil, tn.ID, dispatch.TokenField, id)
		if err != nil {
			return "", nil, err
		}
		tokens[i] = base64.RawURLEncoding.EncodeToString(mac[:16])
	}
	var one int
	if err := d.R.QueryRow(`SELECT COUNT(*) FROM invitations WHERE token_hash = $1`, dispatch.TokenHash(tokens[0])).Scan(&one); err != nil || one != 1 {
		return "", nil, fmt.Errorf("the link token does not find its invitation (%d, %v): has its derivation changed?", one, err)
	}
	// What a database that has lived a while has: on PostgreSQL,
	// statistics of the tables the seed filled, not of them empty (see
	// benchsend). The tables the run fills are analysed while it runs
	// (see analyseWhileFilling).
	if d.Dialect == db.Postgres {
		if _, err := d.W.ExecContext(ctx, "ANALYZE contacts, subject_keys, contact_bases, touchpoints, invitations"); err != nil {
			return "", nil, fmt.Errorf("ANALYZE: %w", err)
		}
	}
	return tn.ID, tokens, nil
}

// pageSize fetches the first page of a survey and the style sheets it
// links, as a browser with an empty cache would, and returns their sizes.
// It sends nothing, so the invitation stays unanswered.
func pageSize(c *http.Client, base, token string) (htmlBytes, cssBytes int, err error) {
	body, _, err := fetch(c, "GET", base+"/s/"+token, nil, nil)
	if err != nil {
		return 0, 0, err
	}
	var sheets []string
	tags(body, `<link rel="stylesheet"`, func(tag string) { sheets = append(sheets, attr(tag, "href")) })
	for _, href := range sheets {
		css, _, err := fetch(c, "GET", base+href, nil, nil)
		if err != nil {
			return 0, 0, err
		}
		cssBytes += len(css)
	}
	return len(body), cssBytes, nil
}

// fetch makes one request and returns the body and the redirect target;
// a status other than 200 or 303 is an error.
func fetch(c *http.Client, method, u string, form url.Values, rec *recorder) (body, location string, err error) {
	var req *http.Request
	if form != nil {
		req, err = http.NewRequest(method, u, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			// What a browser sends under the page's no-referrer policy.
			req.Header.Set("Origin", "null")
		}
	} else {
		req, err = http.NewRequest(method, u, nil)
	}
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Accept-Language", "fr-FR,fr;q=0.9,en;q=0.8")
	r, err := c.Do(req)
	if err != nil {
		return "", "", err
	}
	b, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return "", "", err
	}
	if rec != nil {
		rec.add(r, b)
	}
	switch r.StatusCode {
	case http.StatusOK:
		return string(b), "", nil
	case http.StatusSeeOther:
		return "", r.Header.Get("Location"), nil
	}
	return "", "", fmt.Errorf("%s %s: status %d", method, u[strings.Index(u, "/s/"):], r.StatusCode)
}

// browser answers surveys as a person with a browser without JavaScript.
type browser struct {
	client    *http.Client
	base      string
	rng       *rand.Rand
	latencies []float64
	rec       *recorder // with -floor: keeps what avis answered
}

// newRand is the choices of the i-th response.
func newRand(i int) *rand.Rand { return rand.New(rand.NewPCG(uint64(i), 42)) }

// do is fetch, measured.
func (b *browser) do(method, u string, form url.Values) (string, string, error) {
	t := time.Now()
	body, loc, err := fetch(b.client, method, u, form, b.rec)
	b.latencies = append(b.latencies, ms(time.Since(t)))
	return body, loc, err
}

// tags calls fn with each tag of body that starts with prefix (up to its
// closing '>'). Plain string search: the browser must cost the benchmark's
// 2 cores as little as it can.
func tags(body, prefix string, fn func(tag string)) {
	for {
		i := strings.Index(body, prefix)
		if i < 0 {
			return
		}
		body = body[i:]
		end := strings.IndexByte(body, '>')
		if end < 0 {
			return
		}
		fn(body[:end])
		body = body[end:]
	}
}

// attr returns the value of an attribute of a tag, unescaped.
func attr(tag, name string) string {
	_, v, ok := strings.Cut(tag, " "+name+`="`)
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, `"`)
	return html.UnescapeString(v)
}

const formTag = `<form method="post"`

// comments are what people write.
var comments = []string{
	"Livraison rapide, colis bien emballé. Merci !",
	"Le livreur est passé en avance et n'a pas attendu, j'ai dû aller chercher le colis au point relais.",
	"Très bien, comme d'habitude.",
	"Produit conforme à la description, mais le suivi de commande n'était pas à jour pendant deux jours.",
}

// answer answers one invitation, page after page, until the thank-you
// page; it returns an error when the server answered anything else.
func (b *browser) answer(token string) error {
	u := b.base + "/s/" + token
	body, _, err := b.do("GET", u, nil)
	if err != nil {
		return err
	}
	chosen := map[string]string{}
	for sent := 0; ; sent++ {
		if !strings.Contains(body, formTag) {
			if sent > 0 && strings.Contains(body, `href="/me/`+token+`"`) {
				return nil // the thank-you page
			}
			return errors.New("neither a survey page nor the thank-you page")
		}
		if sent > 10 {
			return errors.New("still no thank-you page after 10 pages sent")
		}
		form := url.Values{"action": {"next"}}
		tags(body, `<input type="hidden"`, func(tag string) { form.Set(attr(tag, "name"), attr(tag, "value")) })
		options := map[string][]string{}
		var names []string
		tags(body, `<input type="radio"`, func(tag string) {
			name := attr(tag, "name")
			if _, ok := options[name]; !ok {
				names = append(names, name)
			}
			options[name] = append(options[name], attr(tag, "value"))
		})
		for _, name := range names {
			if _, ok := chosen[name]; !ok {
				chosen[name] = b.pick(options[name])
			}
			form.Set(name, chosen[name])
		}
		tags(body, `<textarea`, func(tag string) {
			name := attr(tag, "name")
			if _, ok := chosen[name]; !ok {
				chosen[name] = ""
				if b.rng.IntN(2) == 0 {
					chosen[name] = comments[b.rng.IntN(len(comments))]
				}
			}
			form.Set(name, chosen[name])
		})
		if strings.Contains(body, `name="consent"`) && b.rng.IntN(3) == 0 {
			form.Set("consent", "1")
		}
		_, loc, err := b.do("POST", u, form)
		if err != nil {
			return err
		}
		if loc == "" {
			return errors.New("a page sent was not accepted")
		}
		if body, _, err = b.do("GET", b.base+loc, nil); err != nil {
			return err
		}
	}
}

// pick chooses one of a question's options: scores of 0 to 10 are drawn
// as people give them (most promoters, some detractors), others evenly.
func (b *browser) pick(opts []string) string {
	if len(opts) == 11 {
		switch x := b.rng.IntN(100); {
		case x < 55:
			return opts[9+b.rng.IntN(2)]
		case x < 80:
			return opts[7+b.rng.IntN(2)]
		default:
			return opts[b.rng.IntN(7)]
		}
	}
	return opts[b.rng.IntN(len(opts))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentiles returns the 50th and 99th percentiles of xs.
func percentiles(xs []float64) (p50, p99 float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2], xs[min(len(xs)-1, len(xs)*99/100)]
}

// receiver is the CRM's webhook endpoint on loopback: it accepts every
// response.completed event and notes how long after the response's
// completion it arrived.
type receiver struct {
	srv *http.Server
	url string
	mu  sync.Mutex
	lat []float64
	ids map[string]bool
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/avis", ids: map[string]bool{}}
	r.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		at := time.Now()
		var ev struct {
			Type string `json:"type"`
			Data struct {
				ResponseID  string    `json:"response_id"`
				CompletedAt time.Time `json:"completed_at"`
			} `json:"data"`
		}
		if err := json.NewDecoder(req.Body).Decode(&ev); err != nil || req.Header.Get("webhook-signature") == "" {
			http.Error(w, "bad webhook", http.StatusBadRequest)
			return
		}
		if ev.Type == "response.completed" {
			r.mu.Lock()
			if !r.ids[ev.Data.ResponseID] { // a redelivery counts once
				r.ids[ev.Data.ResponseID] = true
				r.lat = append(r.lat, ms(at.Sub(ev.Data.CompletedAt)))
			}
			r.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lat)
}

func (r *receiver) latencies() []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lat)
}

func (r *receiver) close() { r.srv.Close() }

// analyseWhileFilling analyses, on PostgreSQL, the tables a run fills from
// empty (responses, answers, feed events, webhook deliveries) 1, 4, 13,
// 40… seconds into it (each wait three times the one before), until the
// returned function is called. Autovacuum does
// so on a server that has run a while (after 50 rows and each 10% more),
// but its first pass comes a minute after start: until then PostgreSQL
// plans the lookups of those tables on no statistics, such as finding a
// response by invitation through an index on the tenant alone, a scan of
// all the tenant's responses (0.9 ms each at 20,000), and keeps such plans
// in the connections' prepared statements.
func analyseWhileFilling(dbURL, dir string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		d, err := db.Open(context.Background(), dbURL, dir, db.Options{MaxConns: 1})
		if err != nil {
			fmt.Fprintf(os.Stderr, "analyse: %v\n", err)
			return
		}
		defer d.Close()
		for wait := time.Second; ; wait *= 3 {
			select {
			case <-done:
				return
			case <-time.After(wait):
			}
			if _, err := d.W.Exec("ANALYZE responses, response_answers, feed_events, webhook_deliveries"); err != nil {
				fmt.Fprintf(os.Stderr, "analyse: %v\n", err)
			}
		}
	}()
	return func() { close(done); <-finished }
}
