package main

import (
	"avis/internal/audit"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	"avis/internal/demo"
	"avis/internal/jobs"
	"avis/internal/privacy"
	"avis/internal/web"
)

func serve(ctx context.Context, e env, args []string) error {
	c, _, err := loadConfig(e, "serve", args, nil)
	if err != nil {
		return err
	}
	// A server's live heap is small and its garbage is short-lived (pages,
	// query rows): collecting when the heap has grown by 400% rather than
	// Go's 100% spends a quarter less CPU on it for tens of MB more. GOGC
	// and GOMEMLIMIT in the environment win.
	if e.getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	start := time.Now()
	a, err := open(ctx, e, c)
	if err != nil {
		return err
	}
	defer a.Close()
	log := a.log

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	workers := river.NewWorkers()
	registerWorkers(workers, a)
	q, err := jobs.New(a.db, log, workers, jobs.Options{
		Work:            c.Role != "web",
		Workers:         c.JobWorkers,
		ShutdownTimeout: c.ShutdownTimeout,
		Periodic:        periodicJobs(),
	})
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	reg.MustRegister(q.Collector())
	a.dispatch.Queue = q
	a.webhooks.Queue = q

	if c.Demo {
		login, err := demo.Seed(ctx, a.accounts, a.contacts, 300)
		if err != nil {
			return err
		}
		file := filepath.Join(c.Data, "demo-login.txt")
		if login.Created {
			if err := seedDemoFlow(ctx, a); err != nil {
				return err
			}
			if err := os.WriteFile(file, []byte(login.Email+"\n"+login.Password+"\n"), 0o600); err != nil {
				return fmt.Errorf("demo: save login: %w", err)
			}
		} else if b, err := os.ReadFile(file); err == nil {
			if lines := strings.Split(string(b), "\n"); len(lines) > 1 {
				login.Password = lines[1]
			}
		}
		fmt.Fprintf(e.stdout, "\navis demo is ready: open %s/login\n  email:    %s\n  password: %s\n  (fake data only; the login is also in %s)\n\n",
			strings.TrimRight(c.BaseURL, "/"), login.Email, orUnknown(login.Password), file)
	}

	srv, err := web.New(web.Deps{Config: c, Log: log, DB: a.db, Accounts: a.accounts, Audit: a.audit,
		Responses: a.responses, Consents: a.consents,
		Exports:  a.exports,
		Webhooks: a.webhooks,
		Contacts: a.contacts, Journeys: a.journeys, Uploads: a.uploads, SFTP: a.sftp, Surveys: a.surveys, Dispatch: a.dispatch, Notices: a.notices, Jobs: q, Requests: a.requests, Feed: a.feed, Registry: reg, Version: versionString(), OpsOnly: c.Role == "worker"})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another avis running? choose another with --addr)", c.Addr, err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	if err := q.Start(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("job queue: %w", err)
	}
	errc := make(chan error, 1)
	go func() {
		var err error
		if c.TLSCert != "" {
			err = hs.ServeTLS(ln, c.TLSCert, c.TLSKey)
		} else {
			err = hs.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
		close(errc)
	}()
	log.Info("avis is serving", "addr", ln.Addr().String(), "role", c.Role, "database", a.db.Safe,
		"version", versionString(), "startup_ms", time.Since(start).Milliseconds())

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: finishing requests and jobs", "timeout", c.ShutdownTimeout.String())
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("HTTP shutdown", "err", err)
	}
	if err := q.Stop(sctx); err != nil {
		log.Warn("job queue shutdown", "err", err)
	}
	log.Info("avis stopped")
	return serveErr
}

func orUnknown(s string) string {
	if s == "" {
		return "(shown at the first start only)"
	}
	return s
}

// seedDemoFlow gives the demo tenant a journey, a survey, an invitation rule
// and 25 delivery events, so that the outbox shows invitations at once.
func seedDemoFlow(ctx context.Context, a *app) error {
	t, err := a.accounts.TenantBySlug(ctx, demo.Slug)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	// A privacy profile, so that the survey pages and notices of the demo
	// name a (fictitious) company, its address and its data-protection
	// contact as a real tenant's do.
	_, err = a.notices.SaveProfile(ctx, audit.System("demo"), privacy.Profile{TenantID: t.ID, LegalName: "Boutique Démo SAS",
		Address: "12 rue de l'Exemple\n75011 Paris", DPOName: "Délégué à la protection des données", DPOEmail: "dpo@demo.example",
		RetentionMonths: privacy.DefaultRetentionMonths, Authority: "CNIL, 3 place de Fontenoy, 75007 Paris — www.cnil.fr", BrandColor: "#0b6e4f"})
	if err != nil {
		return fmt.Errorf("demo: privacy profile: %w", err)
	}
	flow, err := demo.SeedFlow(ctx, a.journeys, a.surveys, a.dispatch, t.ID, demo.FlowOptions{AnyHour: true, Reminders: 1})
	if err != nil {
		return err
	}
	page, err := a.contacts.List(ctx, audit.System("demo"), t.ID, "", 25)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	ids := make([]string, len(page.Contacts))
	for i, c := range page.Contacts {
		ids[i] = c.ID
	}
	return demo.Events(ctx, a.db, a.journeys, a.dispatch, t.ID, flow.StepKey, ids, time.Now().Add(-time.Hour))
}
