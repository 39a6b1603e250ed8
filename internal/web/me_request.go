package web

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/privacy"
)

// Limits of the access-link form, kept in memory only (never stored): per
// address asked for, and per caller's IP address.
const (
	meLinksPerAddress = 5
	meLinksPerIP      = 20
	meLinksWindow     = time.Hour
	meAddressMaxLen   = 254
)

// meLimiter counts recent access-link requests by key (a hash of the
// address, or the caller's IP) in a sliding window.
type meLimiter struct {
	mu    sync.Mutex
	hits  map[string][]time.Time
	swept time.Time
}

// allow records one hit for key at now and reports whether it is within
// max per window; when not, how long until one is free again.
func (l *meLimiter) allow(key string, max int, window time.Duration, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hits == nil {
		l.hits = map[string][]time.Time{}
	}
	if now.Sub(l.swept) > window {
		for k, ts := range l.hits {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) > window {
				delete(l.hits, k)
			}
		}
		l.swept = now
	}
	ts := l.hits[key]
	for len(ts) > 0 && now.Sub(ts[0]) > window {
		ts = ts[1:]
	}
	if len(ts) >= max {
		l.hits[key] = ts
		return false, window - now.Sub(ts[0])
	}
	l.hits[key] = append(ts, now)
	return true, 0
}

// meRequestView is the access-link form.
type meRequestView struct {
	TenantID, Address, Error string
	Sent                     bool
}

// meRequestForm asks for an email address or phone number on file.
func (s *Server) meRequestForm(w http.ResponseWriter, r *http.Request) {
	tid := r.PathValue("tenant")
	if !db.ValidID(tid) {
		s.publicPage(w, r, http.StatusNotFound, "public_me_state", publicOpts{Title: "This link is not valid"}, map[string]any{"Unknown": true})
		return
	}
	if _, err := s.Accounts.TenantByID(r.Context(), tid); err != nil {
		s.publicPage(w, r, http.StatusNotFound, "public_me_state", publicOpts{Title: "This link is not valid"}, map[string]any{"Unknown": true})
		return
	}
	s.publicPage(w, r, http.StatusOK, "public_me_request", publicOpts{Title: "See your data", Brand: s.brandFor(r.Context(), tid)}, meRequestView{TenantID: tid})
}

// meRequestSubmit sends an access link to the address when it is on file,
// and answers the same page with the same status whether or not it is:
// nobody learns from it who is a customer. The address is never logged.
func (s *Server) meRequestSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tid := r.PathValue("tenant")
	if !db.ValidID(tid) {
		s.publicPage(w, r, http.StatusNotFound, "public_me_state", publicOpts{Title: "This link is not valid"}, map[string]any{"Unknown": true})
		return
	}
	if _, err := s.Accounts.TenantByID(ctx, tid); err != nil {
		s.publicPage(w, r, http.StatusNotFound, "public_me_state", publicOpts{Title: "This link is not valid"}, map[string]any{"Unknown": true})
		return
	}
	opts := publicOpts{Title: "See your data", Brand: s.brandFor(ctx, tid)}
	lang := publicLang(r, "")
	perr := r.ParseForm()
	if isTooLarge(perr) {
		s.tooLargePublic(w, r)
		return
	}
	if perr != nil || !s.originOK(r) {
		s.publicPage(w, r, http.StatusForbidden, "public_me_state", opts, map[string]any{"Forged": true})
		return
	}
	raw := strings.TrimSpace(r.PostFormValue("address"))
	v := meRequestView{TenantID: tid, Address: raw}
	region := ""
	if !strings.Contains(raw, "@") {
		var err error
		if region, err = s.Contacts.DefaultRegion(ctx, tid); err != nil {
			s.Log.Error("me: default region", "tenant", tid, "err", err)
		}
	}
	field, norm, problem := parseAddress(raw, region)
	if problem != "" {
		v.Error = s.cat.T(lang, problem)
	}
	if v.Error != "" {
		s.publicPage(w, r, http.StatusUnprocessableEntity, "public_me_request", opts, v)
		return
	}
	now := time.Now()
	h := sha256.Sum256([]byte(tid + "\x00" + field + "\x00" + norm))
	okIP, waitIP := s.meLimits.allow("ip:"+s.clientIP(r), meLinksPerIP, meLinksWindow, now)
	okAddr, waitAddr := s.meLimits.allow("addr:"+string(h[:]), meLinksPerAddress, meLinksWindow, now)
	if !okIP || !okAddr {
		wait := max(waitIP, waitAddr)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.Log.Info("me: access link refused by the rate limit", "tenant", tid, "per_ip", !okIP, "per_address", !okAddr)
		s.publicPage(w, r, http.StatusTooManyRequests, "public_me_state", opts, map[string]any{"Limited": true, "Minutes": int(wait.Minutes()) + 1})
		return
	}
	// The address is looked up and the link sent after the answer, so that
	// neither the answer nor its timing says whether the address is known.
	// A link lost to a restart is asked for again.
	go func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := s.meSendLink(ctx, tid, field, norm, lang); err != nil {
			s.Log.Error("me: access link not sent", "tenant", tid, "err", err)
		}
	}(context.WithoutCancel(ctx))
	s.publicPage(w, r, http.StatusOK, "public_me_request", opts, meRequestView{TenantID: tid, Sent: true})
}

// Problems of an address typed in the access-link form.
const (
	addressMissing  = "Give the email address or the mobile phone number at which this company writes to you."
	addressTooLong  = "This is too long for an email address or a phone number (at most 254 characters)."
	addressBadEmail = "This is not an email address we can write to: check it, e.g. name@example.com."
	addressBadPhone = "This is not a phone number we can read: write it with its country code, e.g. +33 6 12 34 56 78."
)

// parseAddress reads what a person typed in the access-link form: an email
// address (it has an @) or a phone number (read in region, France when
// none). It returns the contact field, the normalised value, or the
// problem to tell the person (an English message).
func parseAddress(raw, region string) (field, norm, problem string) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return "", "", addressMissing
	case len(raw) > meAddressMaxLen:
		return "", "", addressTooLong
	case strings.Contains(raw, "@"):
		e, err := contact.NormaliseEmail(raw)
		if err != nil {
			return "", "", addressBadEmail
		}
		return contact.FieldEmail, e, ""
	}
	if region == "" {
		region = "FR"
	}
	p, err := contact.NormalisePhone(raw, region)
	if err != nil || p == "" {
		return "", "", addressBadPhone
	}
	return contact.FieldPhone, p, ""
}

// meSendLink sends an access link to the contact holding the address, if
// any, by the same channel, and logs the request.
func (s *Server) meSendLink(ctx context.Context, tid, field, norm, lang string) error {
	cid, err := s.Contacts.FindByAddress(ctx, tid, field, norm)
	if errors.Is(err, db.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ch := dispatch.Email
	if field == contact.FieldPhone {
		ch = dispatch.SMS
	}
	token, a, err := privacy.IssueAccess(ctx, s.DB.W, tid, cid, ch, time.Now())
	if err != nil {
		return err
	}
	company := ""
	if b := s.brandFor(ctx, tid); b != nil {
		company = b.Name
	}
	m := dispatch.Transactional{Kind: "access_link", Lang: lang, LinkPath: "/me/" + token,
		Subject:   s.cat.T(lang, "Your data at %s", company),
		Lines:     []string{s.cat.T(lang, "You asked to see the data %s holds about you. This link opens your page for one hour:", company)},
		LinkLabel: s.cat.T(lang, "See my data"),
		After:     []string{s.cat.T(lang, "If you did not ask for it, ignore this message: nothing will happen.")}}
	if ch == dispatch.SMS {
		m.Lines = []string{s.cat.T(lang, "Your data at %s, for one hour:", company)}
	}
	if _, err := s.Dispatch.SendTransactional(ctx, tid, cid, ch, m); err != nil {
		return err
	}
	_, err = s.Requests.Record(ctx, nil, audit.Actor{Kind: audit.ActorPublic, ID: a.ID}, tid, privacy.Request{Kind: privacy.RequestAccessLink,
		SubjectID: cid, Channel: privacy.ChannelSelfService, Outcome: privacy.OutcomeLinkSent})
	return err
}
