package web

import (
	"encoding/json"
	"net/http"
	"strings"
)

// problemTypePrefix starts the type URI of every problem avis answers
// with: urn:avis:problem:<name>, the same on every avis server, so that a
// client can rely on it. docs/api.md and /api/docs list the names.
const problemTypePrefix = "urn:avis:problem:"

// problemType describes one kind of problem: its stable name (the code of
// PublicError with '-' for '_') and its title, the same for every
// occurrence (RFC 9457 3.1.3).
type problemType struct {
	Code, Title, When string
}

// problemTypes lists every problem the API answers with, in the order the
// reference shows them.
var problemTypes = []problemType{
	{"unauthorized", "Authentication required", "No API key was given: send 'Authorization: Bearer avis_…'."},
	{"invalid_api_key", "Invalid API key", "The key is malformed, unknown or revoked."},
	{"insufficient_scope", "Insufficient scope", "The key lacks the scope the operation needs."},
	{"not_found", "Not found", "No such resource in the key's tenant (or no such route)."},
	{"bad_body", "Bad request body", "The body is not what the operation reads: not JSON, the wrong shape, or empty."},
	{"bad_json", "Malformed JSON", "The body is not a JSON document."},
	{"unknown_field", "Unknown field", "The body has a field the operation does not know: errors names it."},
	{"bad_field", "Unknown or invalid field", "A field of a contact cannot be mapped."},
	{"bad_cursor", "Bad cursor", "The cursor is not one avis gave."},
	{"bad_parameter", "Bad parameter", "A query parameter is out of range or unknown: errors names it."},
	{"invalid_survey", "Invalid survey", "The survey document breaks the format's rules: errors lists each problem."},
	{"version_conflict", "Version conflict", "The resource changed since the version given."},
	{"too_large", "Request too large", "The body is over the limit of the operation."},
	{"too_many_items", "Too many items", "More items than one request may carry."},
	{"bad_idempotency_key", "Bad Idempotency-Key", "The Idempotency-Key header is empty, too long or not printable ASCII."},
	{"idempotency_key_reused", "Idempotency-Key reused", "The key was used within 24 hours for a different request."},
	{"idempotency_key_in_use", "Request in progress", "A request with the same Idempotency-Key is still running."},
	{"rate_limited", "Too many requests", "The key made more requests than its rate allows: wait Retry-After seconds."},
	{"internal", "Internal error", "Something failed on the server; it was logged."},
}

var problemTitles = func() map[string]string {
	m := map[string]string{}
	for _, p := range problemTypes {
		m[p.Code] = p.Title
	}
	return m
}()

// problemURI is the type URI of a problem code.
func problemURI(code string) string {
	return problemTypePrefix + strings.ReplaceAll(code, "_", "-")
}

// apiFieldError is one problem of a field of a request and what to do
// about it: in the body (pointer, an RFC 6901 JSON pointer, "" for the
// whole body; path, the same written the survey format's way), or in the
// query (parameter, its name).
type apiFieldError struct {
	Pointer   *string `json:"pointer,omitempty"`
	Path      string  `json:"path,omitempty"`
	Parameter string  `json:"parameter,omitempty"`
	Message   string  `json:"message"`
}

// fieldError makes a body field error from a path such as
// pages[1].questions[0].text.fr.
func fieldError(path, message string) apiFieldError {
	p := jsonPointer(path)
	return apiFieldError{Pointer: &p, Path: path, Message: message}
}

// jsonPointer turns pages[1].questions[0].text.fr into
// /pages/1/questions/0/text/fr; an empty path is the whole document ("").
func jsonPointer(path string) string {
	if path == "" {
		return ""
	}
	var b strings.Builder
	for _, part := range strings.Split(strings.ReplaceAll(path, "[", "."), ".") {
		part = strings.TrimSuffix(part, "]")
		if part == "" {
			continue
		}
		part = strings.ReplaceAll(part, "~", "~0")
		part = strings.ReplaceAll(part, "/", "~1")
		b.WriteString("/" + part)
	}
	return b.String()
}

// writeProblem writes an RFC 9457 problem+json body: a stable type URI,
// the title of that type, the status, a detail saying what to do, the
// code (the type's name, for older clients) and, for field problems, the
// list of errors.
func writeProblem(w http.ResponseWriter, pe *PublicError, errs []apiFieldError) {
	title := problemTitles[pe.Code]
	if title == "" {
		title = http.StatusText(pe.Status)
	}
	body := map[string]any{
		"type":   problemURI(pe.Code),
		"title":  title,
		"status": pe.Status,
		"code":   pe.Code,
		"detail": pe.Message,
	}
	if errs != nil {
		body["errors"] = errs
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(pe.Status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
}

// problemErrors writes a problem+json body that lists field errors.
func problemErrors(w http.ResponseWriter, pe *PublicError, errs []apiFieldError) {
	if errs == nil {
		errs = []apiFieldError{}
	}
	writeProblem(w, pe, errs)
}
