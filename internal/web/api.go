package web

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
)

type apiKeyCtx struct{}

type apiHandler func(w http.ResponseWriter, r *http.Request, k account.APIKey)

// api wraps a REST handler with API-key authentication, a scope check, the
// key's rate limit (RateLimit headers on every answer, 429 past it) and,
// for POST and DELETE sent with an Idempotency-Key, the replay of the first
// answer (api_idempotency.go). Every failure is an RFC 9457 problem+json
// answer.
func (s *Server) api(h apiHandler, scope string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="avis"`)
			problem(w, errUnauthorized)
			return
		}
		k, err := s.Accounts.AuthenticateAPIKey(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, account.ErrBadAPIKey) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="avis", error="invalid_token"`)
			problem(w, &PublicError{http.StatusUnauthorized, "invalid_api_key", "This API key is malformed, unknown or revoked. Create a new one under API keys."})
			return
		}
		if err != nil {
			s.Log.Error("api: authenticate", "err", err)
			problem(w, publicError(err))
			return
		}
		if scope != "" && !k.HasScope(scope) {
			_ = s.Audit.Record(r.Context(), nil, audit.Entry{TenantID: k.TenantID, Actor: audit.Actor{Kind: audit.ActorAPIKey, ID: k.ID},
				Action: "authz.denied", ObjectKind: "route", ObjectID: r.Pattern, Detail: map[string]string{"scope": scope}})
			problem(w, &PublicError{http.StatusForbidden, "insufficient_scope", "This API key lacks the scope " + scope + ". Create a key with it."})
			return
		}
		st := s.apiLim.take(k.ID)
		s.apiLim.setHeaders(w.Header(), st)
		if !st.ok {
			problem(w, errRateLimited)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), apiKeyCtx{}, k))
		if idempotentMethod(r.Method) && r.Header.Get("Idempotency-Key") != "" {
			s.withIdempotency(w, r, k, h)
			return
		}
		h(w, r, k)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	t, err := s.Accounts.TenantByID(r.Context(), k.TenantID)
	if err != nil {
		problem(w, publicError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"key":    map[string]any{"id": k.ID, "name": k.Name, "scopes": k.Scopes},
		"tenant": map[string]any{"id": t.ID, "slug": t.Slug, "name": t.Name},
	})
}

type apiContact struct {
	ID         string    `json:"id"`
	ExternalID string    `json:"external_id,omitempty"`
	Email      string    `json:"email,omitempty"`
	Phone      string    `json:"phone,omitempty"`
	FirstName  string    `json:"first_name,omitempty"`
	LastName   string    `json:"last_name,omitempty"`
	Language   string    `json:"language,omitempty"`
	Country    string    `json:"country,omitempty"`
	TimeZone   string    `json:"time_zone,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func toAPIContact(c contact.Contact) apiContact {
	return apiContact{c.ID, c.ExternalID, c.Email, c.Phone, c.FirstName, c.LastName, c.Language, c.Country, c.TimeZone, c.CreatedAt, c.UpdatedAt}
}

func keyActor(k account.APIKey) audit.Actor { return audit.Actor{Kind: audit.ActorAPIKey, ID: k.ID} }

func (s *Server) apiContacts(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	after := r.URL.Query().Get("cursor")
	if after != "" && !db.ValidID(after) {
		problem(w, &PublicError{http.StatusBadRequest, "bad_cursor", "The cursor is not one avis gave: use the next_cursor of the previous page."})
		return
	}
	p, err := s.Contacts.List(r.Context(), keyActor(k), k.TenantID, after, 100)
	if err != nil {
		problem(w, publicError(err))
		return
	}
	out := struct {
		Data       []apiContact `json:"data"`
		NextCursor string       `json:"next_cursor,omitempty"`
		Total      int          `json:"total"`
	}{Data: []apiContact{}, NextCursor: p.Next, Total: p.Total}
	for _, c := range p.Contacts {
		out.Data = append(out.Data, toAPIContact(c))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiContact(w http.ResponseWriter, r *http.Request, k account.APIKey) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		problem(w, errNotFound)
		return
	}
	c, err := s.Contacts.Get(r.Context(), keyActor(k), k.TenantID, id)
	if errors.Is(err, db.ErrNotFound) {
		problem(w, errNotFound)
		return
	}
	if err != nil {
		s.Log.Error("api: get contact", "err", err)
		problem(w, publicError(err))
		return
	}
	writeJSON(w, http.StatusOK, toAPIContact(c))
}

//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPIDoc)
}
