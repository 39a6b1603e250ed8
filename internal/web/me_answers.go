package web

import (
	"context"
	"net/http"
)

// meAnswers lists the person's responses, question by question, in lang.
func (s *Server) meAnswers(ctx context.Context, sub meSubject, lang string) ([]meResponse, error) {
	return nil, nil
}

// meConsents lists the person's consent receipts.
func (s *Server) meConsents(ctx context.Context, sub meSubject) ([]meConsent, error) {
	return nil, nil
}

// meWithdraw withdraws one of the person's consents.
func (s *Server) meWithdraw(w http.ResponseWriter, r *http.Request, sub meSubject) {
	s.publicPage(w, r, http.StatusNotFound, "public_me_state", publicOpts{Title: "This link is not valid"}, map[string]any{"Unknown": true})
}
