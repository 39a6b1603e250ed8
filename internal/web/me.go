package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/privacy"
	"avis/internal/vault"
)

// meRoutes registers the person's own page /me/{token} and the magic link that reaches it.
func (s *Server) meRoutes(mux *recordingMux) {
	mux.HandleFunc("GET /me/request/{tenant}", s.meRequestForm)
	mux.HandleFunc("POST /me/request/{tenant}", s.meRequestSubmit)
	mux.HandleFunc("GET /me/{token}", s.mePage)
	mux.HandleFunc("GET /me/{token}/{what}", s.meGet)
	mux.HandleFunc("POST /me/{token}/{what}", s.mePost)
	mux.Handle("GET /requests", s.authed(s.requestsPage, authOpts{perm: account.PermContactsRead}))
	mux.Handle("POST /requests", s.authed(s.requestRecord, authOpts{perm: account.PermContactsWrite}))
	mux.Handle("POST /requests/{id}/extend", s.authed(s.requestExtend, authOpts{perm: account.PermContactsWrite}))
	mux.Handle("POST /requests/{id}/complete", s.authed(s.requestComplete, authOpts{perm: account.PermContactsWrite}))
}

// meSubject is the person a /me/ token stands for.
type meSubject struct {
	Token               string
	TenantID, ContactID string
	// Actor is the data subject in the audit log: public, with the id of
	// the invitation or the access link they came with.
	Actor audit.Actor
	// Via is "invitation" (the personal token of an invitation) or "link"
	// (an access link sent on request).
	Via string
	// Lang is the language of the invitation, when there is one.
	Lang string
	// ExpiresAt is when an access link stops working.
	ExpiresAt time.Time
}

// Why a token opens no page.
var (
	errMeUnknown = errors.New("me: unknown token")
	errMeExpired = errors.New("me: access link expired")
	errMeErased  = errors.New("me: the person's data was erased")
)

// meResolve finds the person of a token: an invitation's personal token
// (22 characters) or an access link (43). The tenant id comes back with
// errMeExpired and errMeErased, for the state page.
func (s *Server) meResolve(ctx context.Context, token string) (meSubject, error) {
	sub := meSubject{Token: token}
	switch len(token) {
	case dispatch.TokenLen:
		tid, inv, err := s.Dispatch.ByToken(ctx, token)
		if errors.Is(err, db.ErrNotFound) {
			return sub, errMeUnknown
		}
		if err != nil {
			return sub, err
		}
		sub.TenantID, sub.ContactID, sub.Via, sub.Lang = tid, inv.ContactID, "invitation", inv.Language
		sub.Actor = audit.Actor{Kind: audit.ActorPublic, ID: inv.ID}
	case privacy.AccessTokenLen:
		a, err := privacy.AccessByToken(ctx, s.DB.R, token, time.Now())
		if errors.Is(err, db.ErrNotFound) {
			return sub, errMeUnknown
		}
		sub.TenantID = a.TenantID
		if errors.Is(err, privacy.ErrAccessExpired) {
			return sub, errMeExpired
		}
		if err != nil {
			return sub, err
		}
		sub.ContactID, sub.Via, sub.ExpiresAt = a.ContactID, "link", a.ExpiresAt
		sub.Actor = audit.Actor{Kind: audit.ActorPublic, ID: a.ID}
	default:
		return sub, errMeUnknown
	}
	if _, err := s.Contacts.Exists(ctx, sub.TenantID, sub.ContactID); errors.Is(err, db.ErrNotFound) {
		return sub, errMeErased
	} else if err != nil {
		return sub, err
	}
	return sub, nil
}

// meState answers a token that opens no page, in the person's language.
func (s *Server) meState(w http.ResponseWriter, r *http.Request, sub meSubject, err error) {
	switch {
	case errors.Is(err, errMeUnknown):
		s.publicPage(w, r, http.StatusNotFound, "public_me_state", publicOpts{Title: "This link is not valid"}, map[string]any{"Unknown": true})
	case errors.Is(err, errMeExpired):
		s.publicPage(w, r, http.StatusGone, "public_me_state", publicOpts{Title: "This link has expired", Brand: s.brandFor(r.Context(), sub.TenantID)},
			map[string]any{"Expired": true, "TenantID": sub.TenantID})
	case errors.Is(err, errMeErased):
		s.publicPage(w, r, http.StatusGone, "public_me_state", publicOpts{Title: "Your data was erased", Brand: s.brandFor(r.Context(), sub.TenantID)},
			map[string]any{"Erased": true})
	default:
		s.Log.Error("me: resolve token", "err", err)
		s.publicPage(w, r, http.StatusInternalServerError, "public_me_state", publicOpts{Title: "Something went wrong"}, map[string]any{"Failed": true})
	}
}

// meFormToken is the anti-forgery field of the page's forms. The secret
// is the token in the URL itself (no cookie exists to tie a form to): the
// field proves the form came from a page that token opened, and the
// Origin check refuses a post from another site.
func meFormToken(sub meSubject) string {
	h := sha256.Sum256([]byte("avis me form\x00" + sub.Token))
	return base64.RawURLEncoding.EncodeToString(h[:18])
}

// meFormOK checks a POST of the page: same origin when the browser says,
// and the page's anti-forgery field.
func (s *Server) meFormOK(r *http.Request, sub meSubject) bool {
	if !s.originOK(r) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(r.PostFormValue("form")), []byte(meFormToken(sub))) == 1
}

// meLog records a request of the person in the tenant's request log (and
// the audit log), completed at once.
func (s *Server) meLog(ctx context.Context, sub meSubject, kind, outcome string) (privacy.Request, error) {
	return s.Requests.Record(ctx, nil, sub.Actor, sub.TenantID, privacy.Request{Kind: kind, SubjectID: sub.ContactID,
		Channel: privacy.ChannelSelfService, Outcome: outcome})
}

// mePage shows everything the tenant holds on the person.
func (s *Server) mePage(w http.ResponseWriter, r *http.Request) {
	sub, err := s.meResolve(r.Context(), r.PathValue("token"))
	if err != nil {
		s.meState(w, r, sub, err)
		return
	}
	d, err := s.meData(r.Context(), sub)
	if err != nil {
		s.meState(w, r, sub, err)
		return
	}
	if _, err := s.meLog(r.Context(), sub, privacy.RequestAccess, privacy.OutcomeDone); err != nil {
		s.meState(w, r, sub, err)
		return
	}
	s.meRender(w, r, http.StatusOK, sub, d)
}

func (s *Server) meRender(w http.ResponseWriter, r *http.Request, status int, sub meSubject, d *meView) {
	s.publicPage(w, r, status, "public_me", publicOpts{Title: "Your data", Lang: d.lang, Brand: s.brandFor(r.Context(), sub.TenantID)}, d)
}

// meGet serves the export and the erase confirmation.
func (s *Server) meGet(w http.ResponseWriter, r *http.Request) {
	what := r.PathValue("what")
	if what != "export.json" && what != "erase" {
		s.publicPage(w, r, http.StatusNotFound, "public_me_state", publicOpts{Title: "This link is not valid"}, map[string]any{"Unknown": true})
		return
	}
	sub, err := s.meResolve(r.Context(), r.PathValue("token"))
	if err != nil {
		s.meState(w, r, sub, err)
		return
	}
	d, err := s.meData(r.Context(), sub)
	if err != nil {
		s.meState(w, r, sub, err)
		return
	}
	if what == "erase" {
		s.publicPage(w, r, http.StatusOK, "public_me_erase", publicOpts{Title: "Erase your data", Lang: d.lang, Brand: s.brandFor(r.Context(), sub.TenantID)}, d)
		return
	}
	s.meExport(w, r, sub, d)
}

// mePost carries out one of the person's requests.
func (s *Server) mePost(w http.ResponseWriter, r *http.Request) {
	sub, err := s.meResolve(r.Context(), r.PathValue("token"))
	if err != nil {
		s.meState(w, r, sub, err)
		return
	}
	perr := r.ParseForm()
	if isTooLarge(perr) {
		s.tooLargePublic(w, r)
		return
	}
	if perr != nil || !s.meFormOK(r, sub) {
		s.publicPage(w, r, http.StatusForbidden, "public_me_state", publicOpts{Title: "This form has expired", Brand: s.brandFor(r.Context(), sub.TenantID)},
			map[string]any{"Forged": true, "Token": sub.Token})
		return
	}
	switch r.PathValue("what") {
	case "correct":
		s.meCorrect(w, r, sub)
	case "withdraw":
		s.meWithdraw(w, r, sub)
	case "unsubscribe":
		s.meUnsubscribe(w, r, sub)
	case "erase":
		s.meErase(w, r, sub)
	default:
		s.publicPage(w, r, http.StatusNotFound, "public_me_state", publicOpts{Title: "This link is not valid"}, map[string]any{"Unknown": true})
	}
}

// meAfter shows the page again after an action, with what was done.
func (s *Server) meAfter(w http.ResponseWriter, r *http.Request, sub meSubject, status int, edit func(*meView)) {
	d, err := s.meData(r.Context(), sub)
	if err != nil {
		s.meState(w, r, sub, err)
		return
	}
	edit(d)
	s.meRender(w, r, status, sub, d)
}

// meCorrect rectifies the person's name or email (GDPR 16).
func (s *Server) meCorrect(w http.ResponseWriter, r *http.Request, sub meSubject) {
	first, last, mail := r.PostFormValue("first_name"), r.PostFormValue("last_name"), r.PostFormValue("email")
	errs := map[string]string{}
	lang := s.meLangOf(r, sub)
	for _, f := range []struct{ name, value string }{{"first_name", first}, {"last_name", last}} {
		if v, err := contact.CleanText(f.value, contact.MaxNameLen); err != nil || strings.ContainsRune(v, '\n') {
			errs[f.name] = s.cat.T(lang, "A name is one line of at most 100 characters.")
		}
	}
	if strings.TrimSpace(mail) != "" {
		if _, err := contact.NormaliseEmail(mail); err != nil {
			errs["email"] = s.cat.T(lang, "This is not an email address we can write to: check it, e.g. name@example.com.")
		}
	}
	var changed []string
	if len(errs) == 0 {
		var err error
		changed, err = s.Contacts.Correct(r.Context(), sub.Actor, sub.TenantID, sub.ContactID, contact.Correction{FirstName: &first, LastName: &last, Email: &mail})
		switch {
		case errors.Is(err, contact.ErrInvalidEmail):
			errs["email"] = s.cat.T(lang, "Give an email address: it is the only way we have to reach you.")
		case errors.Is(err, contact.ErrInvalidName):
			errs["first_name"] = s.cat.T(lang, "A name is one line of at most 100 characters.")
		case errors.Is(err, db.ErrNotFound):
			s.meState(w, r, sub, errMeErased)
			return
		case err != nil:
			s.meState(w, r, sub, err)
			return
		}
	}
	if len(errs) > 0 {
		s.meAfter(w, r, sub, http.StatusUnprocessableEntity, func(d *meView) {
			d.Errors = errs
			d.Form = meForm{FirstName: first, LastName: last, Email: mail}
		})
		return
	}
	outcome := privacy.OutcomeDone
	if len(changed) == 0 {
		outcome = privacy.OutcomeNoChange
	}
	if _, err := s.meLog(r.Context(), sub, privacy.RequestRectification, outcome); err != nil {
		s.meState(w, r, sub, err)
		return
	}
	s.meAfter(w, r, sub, http.StatusOK, func(d *meView) {
		if len(changed) == 0 {
			d.Done = s.cat.T(d.lang, "Nothing changed: your details were already these.")
		} else {
			d.Done = s.cat.T(d.lang, "Your details are corrected. The next message will use them.")
		}
	})
}

// meUnsubscribe puts the person's address on one channel on the
// suppression list, and suppresses at once the invitations left without a
// channel.
func (s *Server) meUnsubscribe(w http.ResponseWriter, r *http.Request, sub meSubject) {
	ch := r.PostFormValue("channel")
	if ch != dispatch.Email && ch != dispatch.SMS {
		s.publicPage(w, r, http.StatusNotFound, "public_me_state", publicOpts{Title: "This link is not valid"}, map[string]any{"Unknown": true})
		return
	}
	reach, err := s.Contacts.Reachability(r.Context(), nil, sub.TenantID, sub.ContactID)
	if err != nil {
		s.meState(w, r, sub, err)
		return
	}
	ix, kind := reach.EmailIndex, privacy.SuppressEmail
	if ch == dispatch.SMS {
		ix, kind = reach.PhoneIndex, privacy.SuppressPhone
	}
	outcome := privacy.OutcomeNoChange
	if len(ix) > 0 {
		err := s.DB.Tx(r.Context(), func(tx *sql.Tx) error {
			already, _, err := privacy.Suppressed(r.Context(), tx, sub.TenantID, ix)
			if err != nil {
				return err
			}
			if err := privacy.Suppress(r.Context(), tx, sub.TenantID, ix, kind, privacy.ReasonUnsubscribed); err != nil {
				return err
			}
			if already {
				return nil
			}
			return s.Dispatch.Unsubscribed(r.Context(), tx, sub.TenantID, sub.ContactID, ch)
		})
		if err != nil {
			s.meState(w, r, sub, err)
			return
		}
		if _, err := s.Dispatch.Recheck(r.Context(), sub.TenantID, sub.ContactID); err != nil {
			s.meState(w, r, sub, err)
			return
		}
		outcome = privacy.OutcomeDone
	}
	if _, err := s.meLog(r.Context(), sub, privacy.RequestUnsubscribe, outcome); err != nil {
		s.meState(w, r, sub, err)
		return
	}
	s.meAfter(w, r, sub, http.StatusOK, func(d *meView) {
		if ch == dispatch.SMS {
			d.Done = s.cat.T(d.lang, "You will receive no more SMS asking for your opinion from this company.")
		} else {
			d.Done = s.cat.T(d.lang, "You will receive no more emails asking for your opinion from this company.")
		}
	})
}

// meErase erases everything the tenant holds on the person, after the
// confirmation step, and shows a receipt.
func (s *Server) meErase(w http.ResponseWriter, r *http.Request, sub meSubject) {
	ctx := r.Context()
	d, err := s.meData(ctx, sub)
	if err != nil {
		s.meState(w, r, sub, err)
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		s.publicPage(w, r, http.StatusUnprocessableEntity, "public_me_erase", publicOpts{Title: "Erase your data", Lang: d.lang, Brand: s.brandFor(ctx, sub.TenantID)}, d)
		return
	}
	rec := meReceipt{Company: d.Company, Answers: len(d.Answers), Invitations: len(d.Invitations), Consents: len(d.Consents)}
	for _, inv := range d.Invitations {
		if inv.Status == dispatch.StatusScheduled {
			rec.Cancelled++
		}
	}
	if r.PostFormValue("keep_out") == "yes" {
		reach, err := s.Contacts.Reachability(ctx, nil, sub.TenantID, sub.ContactID)
		if err != nil {
			s.meState(w, r, sub, err)
			return
		}
		for _, a := range []struct {
			ix   []byte
			kind string
		}{{reach.EmailIndex, privacy.SuppressEmail}, {reach.PhoneIndex, privacy.SuppressPhone}} {
			if len(a.ix) == 0 {
				continue
			}
			if err := privacy.Suppress(ctx, s.DB.W, sub.TenantID, a.ix, a.kind, privacy.ReasonObjection); err != nil {
				s.meState(w, r, sub, err)
				return
			}
		}
	}
	rec.Suppressed = d.EmailSuppressed || d.SMSSuppressed || r.PostFormValue("keep_out") == "yes"
	if err := s.Contacts.Erase(ctx, sub.Actor, sub.TenantID, sub.ContactID); err != nil {
		if errors.Is(err, db.ErrNotFound) || errors.Is(err, vault.ErrErased) {
			s.meState(w, r, sub, errMeErased)
			return
		}
		s.meState(w, r, sub, err)
		return
	}
	req, err := s.meLog(ctx, sub, privacy.RequestErasure, privacy.OutcomeDone)
	if err != nil {
		s.meState(w, r, sub, err)
		return
	}
	rec.ID, rec.At = req.ID, req.CompletedAt
	s.publicPage(w, r, http.StatusOK, "public_me_receipt", publicOpts{Title: "Your data is erased", Lang: d.lang, Brand: s.brandFor(ctx, sub.TenantID)}, rec)
}

// meReceipt is what the erasure receipt shows.
type meReceipt struct {
	ID                                        string
	At                                        time.Time
	Company                                   string
	Answers, Invitations, Consents, Cancelled int
	Suppressed                                bool
}

// meLangOf is the language the person's pages are in.
func (s *Server) meLangOf(r *http.Request, sub meSubject) string {
	return publicLang(r, sub.Lang)
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// isGone reports whether an error says the person's data is no longer
// there (erased, or never in this tenant).
func isGone(err error) bool {
	return errors.Is(err, db.ErrNotFound) || errors.Is(err, vault.ErrErased)
}
