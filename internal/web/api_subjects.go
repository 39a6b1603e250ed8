package web

import (
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"avis/internal/account"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/privacy"
	"avis/internal/vault"
)

// maxExternalID bounds the external id in the path of a subject request.
const maxExternalID = 200

// apiErasure is the receipt of an erasure requested by the CRM.
type apiErasure struct {
	// RequestID is the entry of the tenant's data-subject request log.
	RequestID  string    `json:"request_id"`
	ExternalID string    `json:"external_id"`
	ContactID  string    `json:"contact_id"`
	ErasedAt   time.Time `json:"erased_at"`
	Erased     struct {
		// Contact is 1: the contact, its sealed fields and its key.
		Contact int `json:"contact"`
		// Responses had their comments deleted and lost the link to the
		// person; their scores stay as anonymous statistics.
		Responses int `json:"responses"`
		// Invitations lost the link to the person; CancelledInvitations
		// were waiting to be sent and never will be.
		Invitations          int `json:"invitations"`
		CancelledInvitations int `json:"cancelled_invitations"`
		// Events are the person's journey events.
		Events int `json:"events"`
		// ConsentsWithdrawn are the standing consents withdrawn.
		ConsentsWithdrawn int `json:"consents_withdrawn"`
	} `json:"erased"`
}

var errBadExternalID = &PublicError{http.StatusNotFound, "not_found",
	"No contact has this external id in this account: check the id your CRM sent to avis (it may have been erased already)."}

// apiSubjectErase erases the person the CRM knows by an external id: the
// same erasure as the admin's button and the person's own page (the
// contact's key is shredded, their comments deleted, their invitations
// cancelled), recorded in the data-subject request log with channel api
// and audited with the key's id. A second call finds no contact: 404 (the
// same Idempotency-Key gets the first receipt again).
func (s *Server) apiSubjectErase(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	ctx := r.Context()
	ext := r.PathValue("external_id")
	if ext == "" || len(ext) > maxExternalID || !utf8.ValidString(ext) {
		problem(w, errBadExternalID)
		return
	}
	id, err := s.Contacts.IDByExternal(ctx, k.TenantID, ext)
	if errors.Is(err, db.ErrNotFound) {
		problem(w, errBadExternalID)
		return
	}
	if err != nil {
		s.Log.Error("api: subject", "err", err)
		problem(w, publicError(err))
		return
	}
	var rec apiErasure
	rec.ExternalID, rec.ContactID = ext, id
	rec.Erased.Contact = 1
	rs, err := s.Responses.ForContact(ctx, k.TenantID, id)
	if err != nil && !isGone(err) {
		s.Log.Error("api: subject: responses", "err", err)
		problem(w, publicError(err))
		return
	}
	rec.Erased.Responses = len(rs)
	invs, err := s.Dispatch.InvitationsOf(ctx, k.TenantID, id)
	if err != nil {
		problem(w, publicError(err))
		return
	}
	rec.Erased.Invitations = len(invs)
	for _, inv := range invs {
		if inv.Status == dispatch.StatusScheduled {
			rec.Erased.CancelledInvitations++
		}
	}
	tps, err := s.Journeys.Touchpoints(ctx, k.TenantID, id)
	if err != nil {
		problem(w, publicError(err))
		return
	}
	rec.Erased.Events = len(tps)
	if s.Consents != nil {
		cs, err := s.Consents.ForSubject(ctx, k.TenantID, id)
		if err != nil {
			problem(w, publicError(err))
			return
		}
		for _, c := range cs {
			if c.Valid() {
				rec.Erased.ConsentsWithdrawn++
			}
		}
	}
	if err := s.Contacts.Erase(ctx, keyActor(k), k.TenantID, id); err != nil {
		if errors.Is(err, db.ErrNotFound) || errors.Is(err, vault.ErrErased) {
			problem(w, errBadExternalID)
			return
		}
		s.Log.Error("api: subject: erase", "err", err)
		problem(w, publicError(err))
		return
	}
	req, err := s.Requests.Record(ctx, nil, keyActor(k), k.TenantID, privacy.Request{Kind: privacy.RequestErasure, SubjectID: id,
		Channel: privacy.ChannelAPI, Outcome: privacy.OutcomeDone})
	if err != nil {
		s.Log.Error("api: subject: request log", "err", err)
		problem(w, publicError(err))
		return
	}
	rec.RequestID, rec.ErasedAt = req.ID, req.CompletedAt.UTC()
	writeJSON(w, http.StatusOK, rec)
}
