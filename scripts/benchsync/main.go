// Command benchsync measures how fast results go back to a CRM (make
// bench-sync). It seeds a tenant with n complete responses (an NPS, a CSAT
// and a choice each, from n contacts known by their CRM id), then:
//
//   - pull: starts `avis serve` on loopback and has one CRM client page
//     through every response with the cursor of GET /api/v1/responses
//     (pages of 1,000), as a CRM script would, and checks it got each
//     response exactly once;
//   - export: runs a scheduled export of every response to an SFTP server
//     on loopback (pkg/sftp over x/crypto/ssh, in this process) as CSV, with
//     the export engine avis's job runs, and checks the file's rows.
//
// It prints one JSON line with the figures.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/crmsync"
	"avis/internal/crmsync/sftptest"
	"avis/internal/db"
	"avis/internal/journey"
	"avis/internal/survey"
	"avis/internal/vault"
	"avis/scripts/internal/proc"
)

// Result is what one run measured.
type Result struct {
	Database  string  `json:"database"`
	Responses int     `json:"responses"`
	SeedS     float64 `json:"seed_s"`
	// Pull: pages of PageSize read, how long, pages per second, and the
	// responses read (each exactly once: Duplicates must be 0, Read must
	// be Responses).
	PageSize   int     `json:"page_size"`
	Pages      int     `json:"pages"`
	PullS      float64 `json:"pull_s"`
	PagesPerS  float64 `json:"pages_per_s"`
	PageP50Ms  float64 `json:"page_p50_ms"`
	PageP99Ms  float64 `json:"page_p99_ms"`
	Read       int     `json:"read"`
	Duplicates int     `json:"duplicates"`
	PullCPU    float64 `json:"avis_cpu_s"`
	PullPGCPU  float64 `json:"postgres_cpu_s"`
	PeakRSSMB  int     `json:"peak_rss_mb"`
	// Export: the rows and bytes written to the file, how long, rows per
	// second, and the data lines the SFTP server holds.
	ExportRows  int64   `json:"export_rows"`
	ExportBytes int64   `json:"export_bytes"`
	ExportS     float64 `json:"export_s"`
	RowsPerS    float64 `json:"rows_per_s"`
	FileRows    int     `json:"file_rows"`
}

func main() {
	avisBin := flag.String("avis", "bin/avis", "the avis binary")
	dbURL := flag.String("db", "", "PostgreSQL URL; empty for SQLite")
	pgData := flag.String("pgdata", "", "the PostgreSQL data directory, to measure its CPU")
	n := flag.Int("n", 1000000, "responses stored")
	keep := flag.String("keep", "", "a data directory to keep: seeded on the first run, reused as it is by the next ones (to try a change quickly)")
	pullOnly := flag.Bool("pull-only", false, "measure the pull only, not the export")
	flag.Parse()
	res, err := run(*avisBin, *dbURL, *pgData, *n, *keep, *pullOnly)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchsync:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
}

func run(avisBin, dbURL, pgData string, n int, keep string, pullOnly bool) (Result, error) {
	res := Result{Database: "sqlite", Responses: n, PageSize: 1000}
	if dbURL != "" {
		res.Database = "postgres"
	}
	dir, seeded := keep, false
	if keep == "" {
		var err error
		if dir, err = os.MkdirTemp("", "benchsync"); err != nil {
			return res, err
		}
		defer os.RemoveAll(dir)
	} else {
		_, err := os.Stat(filepath.Join(keep, "seeded"))
		seeded = err == nil
		if err := os.MkdirAll(keep, 0o700); err != nil {
			return res, err
		}
	}
	addr := proc.FreePort()
	envv := append(os.Environ(), "AVIS_DATA="+dir, "AVIS_DATABASE_URL="+dbURL, "AVIS_ADDR="+addr, "AVIS_LOG_LEVEL=warn",
		"AVIS_BASE_URL=http://"+addr, "AVIS_API_RATE=0")
	if !seeded {
		cmd := exec.Command(avisBin, "tenant", "create", "--slug", "bench", "--name", "Boutique Exemple")
		cmd.Env, cmd.Stderr = envv, os.Stderr
		if err := cmd.Run(); err != nil {
			return res, fmt.Errorf("tenant create: %w", err)
		}
	}
	envv = append(envv, "AVIS_MASTER_KEY_FILE="+filepath.Join(dir, "master.key"))

	ctx := context.Background()
	d, err := db.Open(ctx, dbURL, dir, db.Options{})
	if err != nil {
		return res, err
	}
	defer d.Close()
	key, _, err := vault.LoadMasterKey(vault.KeyOptions{DataDir: dir, KeyFile: filepath.Join(dir, "master.key"), DataExists: true})
	if err != nil {
		return res, err
	}
	v, err := vault.New(ctx, d, key)
	if err != nil {
		return res, err
	}
	au := audit.New(d)
	accounts := account.NewStore(d, v, au, account.Options{})
	tn, err := accounts.TenantBySlug(ctx, "bench")
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	if !seeded {
		if err := seed(ctx, d, au, tn.ID, n); err != nil {
			return res, fmt.Errorf("seed: %w", err)
		}
		// What a database that has lived a while has: statistics, and on
		// PostgreSQL no vacuum left to do (autovacuum would otherwise work on
		// the fresh tables during the measures).
		for _, q := range map[db.Dialect][]string{db.Postgres: {"VACUUM ANALYZE"}, db.SQLite: {"ANALYZE"}}[d.Dialect] {
			if _, err := d.W.ExecContext(ctx, q); err != nil {
				return res, fmt.Errorf("%s: %w", q, err)
			}
		}
		if keep != "" {
			if err := os.WriteFile(filepath.Join(keep, "seeded"), nil, 0o600); err != nil {
				return res, err
			}
		}
	}
	res.SeedS = time.Since(t0).Seconds()
	apiKey, _, err := accounts.CreateAPIKey(ctx, audit.System("bench"), tn.ID, "CRM", []string{"responses:read"})
	if err != nil {
		return res, err
	}
	fmt.Fprintf(os.Stderr, "%s: %d responses stored in %.0f s; pulling…\n", res.Database, n, res.SeedS)

	// Pull.
	serve, err := proc.Serve(avisBin, envv, "--role", "web")
	if err != nil {
		return res, err
	}
	stop := serve.Stop
	defer stop()
	base := "http://" + addr
	if err := proc.WaitReady(base); err != nil {
		return res, err
	}
	cpu0, pg0 := proc.CPU(serve.Pid()), proc.PostgresCPU(pgData)
	if err := pull(base, apiKey, &res); err != nil {
		return res, fmt.Errorf("pull: %w", err)
	}
	res.PullCPU, res.PullPGCPU = proc.CPU(serve.Pid())-cpu0, proc.PostgresCPU(pgData)-pg0
	res.PeakRSSMB = proc.PeakRSS(serve.Pid())
	stop()
	fmt.Fprintf(os.Stderr, "%s: %d pages in %.1f s\n", res.Database, res.Pages, res.PullS)
	if pullOnly {
		return res, nil
	}

	// Export.
	sftpDir, err := os.MkdirTemp("", "benchsync-sftp")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(sftpDir)
	if err := os.Mkdir(filepath.Join(sftpDir, "crm"), 0o700); err != nil {
		return res, err
	}
	srv, err := sftptest.New(sftpDir)
	if err != nil {
		return res, err
	}
	defer srv.Close()
	exports := crmsync.NewExportStore(d, v, au, contact.NewStore(d, v, au))
	sc, err := exports.Create(ctx, audit.System("bench"), tn.ID, crmsync.ExportInput{Name: "CRM", Kinds: []string{crmsync.KindResponses},
		Protocol: crmsync.ProtocolSFTP, Host: srv.Host, Port: srv.Port, Username: srv.User, AuthKind: crmsync.AuthPassword,
		Secret: srv.Password, HostKeyFingerprint: srv.Fingerprint(), Folder: "crm", Format: crmsync.FormatCSV}, false)
	if err != nil {
		return res, fmt.Errorf("export schedule: %w", err)
	}
	t0 = time.Now()
	r, err := exports.Run(ctx, tn.ID, sc.ID, crmsync.CauseManual)
	if err != nil {
		return res, fmt.Errorf("export: %w", err)
	}
	res.ExportS = time.Since(t0).Seconds()
	res.ExportRows, res.ExportBytes = r.Rows, r.Bytes
	res.RowsPerS = float64(r.Rows) / res.ExportS
	for _, f := range r.Files {
		lines, err := countLines(filepath.Join(srv.Dir, "crm", f))
		if err != nil {
			return res, err
		}
		res.FileRows += lines - 1 // the header
	}
	return res, nil
}

// pull reads every response through the API with the cursor, one page
// after the other, as a CRM script does.
func pull(base, key string, res *Result) error {
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	seen := make(map[string]struct{}, res.Responses)
	var lat []float64
	after := ""
	start := time.Now()
	for {
		u := base + "/api/v1/responses?limit=" + fmt.Sprint(res.PageSize)
		if after != "" {
			u += "&after=" + url.QueryEscape(after)
		}
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		t := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			NextCursor string `json:"next_cursor"`
			HasMore    bool   `json:"has_more"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("page %d: status %d", res.Pages+1, resp.StatusCode)
		}
		if err != nil {
			return fmt.Errorf("page %d: %w", res.Pages+1, err)
		}
		lat = append(lat, float64(time.Since(t).Microseconds())/1000)
		res.Pages++
		for _, r := range page.Data {
			if _, dup := seen[r.ID]; dup {
				res.Duplicates++
			}
			seen[r.ID] = struct{}{}
			res.Read++
		}
		if !page.HasMore {
			break
		}
		after = page.NextCursor
	}
	res.PullS = time.Since(start).Seconds()
	res.PagesPerS = float64(res.Pages) / res.PullS
	res.PageP50Ms, res.PageP99Ms = percentiles(lat)
	return nil
}

// seed stores n complete responses to a three-question survey, from n
// contacts known by their CRM id only, in the tenant's feed order, with
// plain SQL in large transactions (what the answer path writes, without
// its cost: the answer benchmark measures that).
func seed(ctx context.Context, d *db.DB, au *audit.Log, tenantID string, n int) error {
	def, err := survey.Parse([]byte(`{"avis_survey": 1, "name": "Après livraison", "default_language": "fr", "languages": ["fr"], "pages": [{"questions": [
		{"id": "nps", "type": "nps", "required": true, "text": {"fr": "Recommanderiez-vous notre boutique ?"}},
		{"id": "csat", "type": "csat", "required": true, "text": {"fr": "La livraison ?"}},
		{"id": "what", "type": "single", "text": {"fr": "Ce qui compte le plus ?"},
		 "choices": [{"key": "price", "text": {"fr": "Le prix"}}, {"key": "speed", "text": {"fr": "La rapidité"}}]}]}]}`))
	if err != nil {
		return err
	}
	sv, err := survey.NewStore(d, au).Create(ctx, audit.System("bench"), tenantID, def)
	if err != nil {
		return err
	}
	// Responses come from invitations at two steps of a journey.
	j, err := journey.NewStore(d, au).CreateJourney(ctx, audit.System("bench"), tenantID, "Commande en ligne",
		[]journey.StepInput{{Key: "delivery", Name: "Livraison"}, {Key: "support", Name: "Service client"}})
	if err != nil {
		return err
	}
	const perStatement, perTx = 250, 20000
	now := time.Now().Add(-time.Hour)
	for start := 0; start < n; start += perTx {
		end := min(start+perTx, n)
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			for s := start; s < end; s += perStatement {
				e := min(s+perStatement, end)
				var cs, rs, as strings.Builder
				var cargs, rargs, aargs []any
				for i := s; i < e; i++ {
					cid, rid := fmt.Sprintf("c%025d", i), fmt.Sprintf("r%025d", i)
					at := db.Stamp(now.Add(time.Duration(i) * time.Millisecond))
					sep := func(b *strings.Builder) {
						if b.Len() > 0 {
							b.WriteByte(',')
						}
					}
					sep(&cs)
					cs.WriteString(tuple(d, &cargs, tenantID, cid, fmt.Sprintf("C%07d", i), lit("'fr'"), at, at))
					sep(&rs)
					rs.WriteString(tuple(d, &rargs, tenantID, rid, sv.ID, cid, j.Steps[i%2].ID, at, int64(i+1), lit("1"), lit("'invitation'"),
						lit("'fr'"), lit("'complete'"), lit("1"), at, at))
					nps, cat := int64(i%11), "promoter"
					switch {
					case nps <= 6:
						cat = "detractor"
					case nps <= 8:
						cat = "passive"
					}
					sep(&as)
					as.WriteString(tuple(d, &aargs, tenantID, rid, "nps", "nps", nps, "", cat, at))
					as.WriteByte(',')
					as.WriteString(tuple(d, &aargs, tenantID, rid, "csat", "csat", int64(1+i%5), "", "", at))
					as.WriteByte(',')
					as.WriteString(tuple(d, &aargs, tenantID, rid, "what", "single", nil, []string{"price", "speed"}[i%2], "", at))
				}
				for _, q := range []struct {
					sql  string
					args []any
				}{
					{`INSERT INTO contacts (tenant_id, id, external_id, language, created_at, updated_at) VALUES ` + cs.String(), cargs},
					{`INSERT INTO responses (tenant_id, id, survey_id, contact_id, step_id, completed_at, sync_seq, survey_version, source, language,
						status, page, started_at, updated_at) VALUES ` + rs.String(), rargs},
					{`INSERT INTO response_answers (tenant_id, response_id, question_id, kind, number, choices, category, updated_at) VALUES ` +
						as.String(), aargs},
				} {
					if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	_, err = d.W.ExecContext(ctx, `INSERT INTO feed_seqs (tenant_id, seq) VALUES ($1, $2)
		ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq`, tenantID, int64(n))
	return err
}

// lit is SQL written as is in a tuple.
type lit string

// tuple returns "(…)" with a placeholder for each value, appended to
// args, and each lit as is.
func tuple(d *db.DB, args *[]any, vals ...any) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		if l, ok := v.(lit); ok {
			b.WriteString(string(l))
			continue
		}
		*args = append(*args, v)
		b.WriteString(d.Dialect.Arg(len(*args)))
	}
	b.WriteByte(')')
	return b.String()
}

// countLines counts the lines of a file.
func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}

// percentiles returns the 50th and 99th percentiles of xs.
func percentiles(xs []float64) (p50, p99 float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)]
}
