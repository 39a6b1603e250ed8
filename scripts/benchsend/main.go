// Command benchsend measures invitation sending end to end (make
// bench-send): it seeds a tenant with n contacts and n delivery events
// whose invitations are due now, starts `avis serve` against a loopback
// SMTP server, and reports how fast every message was accepted, the peak
// RSS of the avis process, then the latency from an event posted to the
// API (zero delay) to its message accepted by the SMTP server.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/channel/email"
	"avis/internal/channel/email/smtptest"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/demo"
	"avis/internal/dispatch"
	"avis/internal/jobs"
	"avis/internal/journey"
	"avis/internal/survey"
	"avis/internal/vault"
	"avis/scripts/internal/proc"
)

// Result is what one run measured.
type Result struct {
	Database       string  `json:"database"`
	Messages       int     `json:"messages"`
	MessageBytes   int     `json:"message_bytes"`
	DKIM           string  `json:"dkim"`
	ScheduleRate   float64 `json:"schedule_per_s"`
	SendRate       float64 `json:"send_per_s"`
	SendSeconds    float64 `json:"send_seconds"`
	PeakRSSMB      int     `json:"peak_rss_mb"`
	LatencyP50Ms   float64 `json:"latency_p50_ms"`
	LatencyP99Ms   float64 `json:"latency_p99_ms"`
	LatencySamples int     `json:"latency_samples"`
	// AvisCPU and SMTPCPU are the CPU seconds the avis process and this
	// process (the SMTP server, mostly) used during the run.
	AvisCPU float64 `json:"avis_cpu_s"`
	SMTPCPU float64 `json:"smtp_server_cpu_s"`
}

func main() {
	avisBin := flag.String("avis", "bin/avis", "the avis binary")
	dbURL := flag.String("db", "", "PostgreSQL URL (empty: SQLite)")
	n := flag.Int("n", 100000, "invitations in the run")
	samples := flag.Int("latency", 200, "events posted one by one for the latency")
	dkimKind := flag.String("dkim", "rsa", "DKIM key: rsa (2048) or ed25519")
	workers := flag.Int("workers", 32, "AVIS_JOB_WORKERS")
	pool := flag.Int("pool", 8, "SMTP connections")
	flag.Parse()
	res, err := run(*avisBin, *dbURL, *n, *samples, *dkimKind, *workers, *pool)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchsend:", err)
		os.Exit(1)
	}
	json.NewEncoder(os.Stdout).Encode(res)
}

func run(avisBin, dbURL string, n, samples int, dkimKind string, workers, pool int) (Result, error) {
	ctx := context.Background()
	res := Result{Database: "sqlite", Messages: n, DKIM: dkimKind}
	if dbURL != "" {
		res.Database = "postgres"
	}
	dir, err := os.MkdirTemp("", "benchsend")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	addr := proc.FreePort()
	srv, err := smtptest.Start()
	if err != nil {
		return res, err
	}
	defer srv.Close()
	srv.Discard()
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	var first, last time.Time
	var size int
	srv.OnData(func(m smtptest.Message) error {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if first.IsZero() {
			first, size = now, len(m.Data)
		}
		last = now
		if i := bytes.Index(m.Data, []byte("X-Avis-Invitation: ")); i >= 0 {
			id := string(m.Data[i+19 : i+19+26])
			arrived[id] = now
		}
		return nil
	})
	envv := append(os.Environ(), "AVIS_DATA="+dir, "AVIS_DATABASE_URL="+dbURL, "AVIS_ADDR="+addr, "AVIS_LOG_LEVEL=warn",
		"AVIS_BASE_URL=https://avis.example.net",
		"AVIS_SMTP_URL="+srv.URL+"&pool="+strconv.Itoa(pool), "AVIS_JOB_WORKERS="+strconv.Itoa(workers))
	cmd := exec.Command(avisBin, "tenant", "create", "--slug", "bench", "--name", "Bench")
	cmd.Env, cmd.Stderr = envv, os.Stderr
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("tenant create: %w", err)
	}
	envv = append(envv, "AVIS_MASTER_KEY_FILE="+filepath.Join(dir, "master.key"))

	// Seed in this process, with the stores avis uses.
	d, err := db.Open(ctx, dbURL, dir, db.Options{})
	if err != nil {
		return res, err
	}
	key, _, err := vault.LoadMasterKey(vault.KeyOptions{DataDir: dir, KeyFile: filepath.Join(dir, "master.key"), DataExists: true})
	if err != nil {
		return res, err
	}
	v, err := vault.New(ctx, d, key)
	if err != nil {
		return res, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	au := audit.New(d)
	accounts := account.NewStore(d, v, au, account.Options{})
	contacts := contact.NewStore(d, v, au)
	journeys := journey.NewStore(d, au)
	surveys := survey.NewStore(d, au)
	disp := dispatch.NewStore(d, v, au, contacts, accounts, log, dispatch.Options{BaseURL: "https://avis.example.net"})
	if disp.Queue, err = jobs.New(d, log, nil, jobs.Options{}); err != nil {
		return res, err
	}
	tn, err := accounts.TenantBySlug(ctx, "bench")
	if err != nil {
		return res, err
	}
	kind := email.KeyKind("")
	if dkimKind == "ed25519" {
		kind = email.KeyKind("ed25519")
	}
	flow, err := demo.SeedFlow(ctx, journeys, surveys, disp, tn.ID, demo.FlowOptions{AnyHour: true, BodyPadding: 3500, DKIM: kind})
	if err != nil {
		return res, err
	}
	ids := make([]string, 0, n)
	for start := 0; start < n; start += 2000 {
		ins := make([]contact.Input, 0, 2000)
		for i := start; i < min(start+2000, n); i++ {
			ins = append(ins, contact.Input{ExternalID: fmt.Sprintf("C%07d", i), Email: fmt.Sprintf("client%07d@example.org", i),
				FirstName: "Camille", LastName: fmt.Sprintf("Martin%d", i), Language: "fr", TimeZone: "Europe/Paris"})
		}
		got, err := contacts.CreateMany(ctx, audit.System("bench"), tn.ID, ins)
		if err != nil {
			return res, err
		}
		ids = append(ids, got...)
	}
	fmt.Fprintf(os.Stderr, "%s: %d contacts; scheduling…\n", res.Database, n)
	t0 := time.Now()
	if err := demo.Events(ctx, d, journeys, disp, tn.ID, flow.StepKey, ids, time.Now().Add(-time.Minute)); err != nil {
		return res, err
	}
	res.ScheduleRate = float64(n) / time.Since(t0).Seconds()
	// What a database that has lived a while has: on PostgreSQL,
	// statistics of its tables as they are (as make bench-sync does).
	// Without it the first batches are planned on the statistics of empty
	// tables (a scan of the whole tenant for 256 invitations), and those
	// plans stay cached until autovacuum's next ANALYZE, a minute later:
	// longer than the run. SQLite keeps no statistics it was not asked for.
	if d.Dialect == db.Postgres {
		if _, err := d.W.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
			return res, fmt.Errorf("VACUUM ANALYZE: %w", err)
		}
	}
	apiKey, _, err := accounts.CreateAPIKey(ctx, audit.System("bench"), tn.ID, "bench", []string{"events:write"})
	if err != nil {
		return res, err
	}
	d.Close()

	// Send: start avis and wait for the last message.
	fmt.Fprintf(os.Stderr, "%s: scheduled at %.0f/s; sending…\n", res.Database, res.ScheduleRate)
	started := time.Now()
	selfBefore := proc.SelfCPU()
	serve, err := proc.Serve(avisBin, envv)
	if err != nil {
		return res, err
	}
	defer serve.Stop()
	deadline := started.Add(30 * time.Minute)
	for srv.Count() < n {
		if time.Now().After(deadline) {
			return res, fmt.Errorf("only %d of %d messages after 30 minutes", srv.Count(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	res.SendSeconds = last.Sub(started).Seconds()
	res.SendRate = float64(n) / res.SendSeconds
	res.MessageBytes = size
	mu.Unlock()
	res.PeakRSSMB = proc.PeakRSS(serve.Pid())
	res.AvisCPU = proc.CPU(serve.Pid())
	res.SMTPCPU = proc.SelfCPU() - selfBefore

	// Latency: events one by one through the API, zero delay.
	base := "http://" + addr
	var lat []float64
	for i := 0; i < samples; i++ {
		body := fmt.Sprintf(`{"contact": {"id": %q}, "step": %q, "idempotency_key": "lat-%d"}`, ids[i], flow.StepKey, i)
		req, _ := http.NewRequest("POST", base+"/api/v1/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Content-Type", "application/json")
		posted := time.Now()
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			return res, err
		}
		var out struct {
			Results []struct {
				InvitationID string `json:"invitation_id"`
			} `json:"results"`
		}
		json.NewDecoder(r.Body).Decode(&out)
		r.Body.Close()
		if len(out.Results) != 1 || out.Results[0].InvitationID == "" {
			return res, fmt.Errorf("event %d: status %d, no invitation", i, r.StatusCode)
		}
		id := out.Results[0].InvitationID
		for wait := time.Now().Add(30 * time.Second); ; {
			mu.Lock()
			at, ok := arrived[id]
			mu.Unlock()
			if ok {
				lat = append(lat, float64(at.Sub(posted).Microseconds())/1000)
				break
			}
			if time.Now().After(wait) {
				return res, fmt.Errorf("event %d: no message after 30 s", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		res.LatencyP50Ms = lat[len(lat)/2]
		res.LatencyP99Ms = lat[min(len(lat)-1, len(lat)*99/100)]
		res.LatencySamples = len(lat)
	}
	if rss := proc.PeakRSS(serve.Pid()); rss > res.PeakRSSMB {
		res.PeakRSSMB = rss
	}
	return res, nil
}
