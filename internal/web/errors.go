package web

import (
	"errors"
	"net/http"

	"avis/internal/db"
)

// PublicError is the only thing a user ever sees of an error: a status, a
// stable code and a message that says what to do. Anything else becomes a
// generic 500 and its detail goes to the log, never to the user.
type PublicError struct {
	Status  int
	Code    string
	Message string
}

func (e *PublicError) Error() string { return e.Code + ": " + e.Message }

// Errors handlers return.
var (
	errNotFound     = &PublicError{http.StatusNotFound, "not_found", "Nothing here: the address is wrong, or it belongs to another account."}
	errCSRF         = &PublicError{http.StatusForbidden, "csrf", "This form has expired or did not come from avis. Go back, reload the page and try again."}
	errForbidden    = &PublicError{http.StatusForbidden, "forbidden", "Your role does not allow this. Ask an owner or an administrator of this account."}
	errUnauthorized = &PublicError{http.StatusUnauthorized, "unauthorized", "Give a valid API key as 'Authorization: Bearer avis_…'."}
	errTooLarge     = &PublicError{http.StatusRequestEntityTooLarge, "too_large", "The request is too large."}
)

func publicError(err error) *PublicError {
	var pe *PublicError
	if errors.As(err, &pe) {
		return pe
	}
	// Whatever a store did not find, in the caller's tenant, is a 404: the
	// same answer whether it never existed or belongs to another tenant.
	if errors.Is(err, db.ErrNotFound) {
		return errNotFound
	}
	return &PublicError{http.StatusInternalServerError, "internal", "Something went wrong on our side. It has been logged; try again in a moment."}
}

// problem writes an RFC 9457 problem+json body (see api_problems.go).
func problem(w http.ResponseWriter, pe *PublicError) { writeProblem(w, pe, nil) }
