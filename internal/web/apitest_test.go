package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"avis/internal/web"
)

// The API contract: the OpenAPI document (internal/web/openapi.json),
// loaded once, and its router.
var contract struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func loadContract() (*openapi3.T, routers.Router, error) {
	contract.once.Do(func() {
		openapi3filter.RegisterBodyDecoder("application/x-ndjson", jsonLinesDecoder)
		b, err := os.ReadFile("openapi.json")
		if err != nil {
			contract.err = err
			return
		}
		l := openapi3.NewLoader()
		doc, err := l.LoadFromData(b)
		if err != nil {
			contract.err = fmt.Errorf("load openapi.json: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			contract.err = fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
			return
		}
		contract.doc = doc
		contract.router, contract.err = gorillamux.NewRouter(doc)
	})
	return contract.doc, contract.router, contract.err
}

// jsonLinesDecoder reads a JSON Lines body as an array of its values.
func jsonLinesDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	var out []any
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var v any
		if err := json.Unmarshal(line, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

// apiContract wraps the server so that every request the tests send under
// /api/v1/ and every answer they get is checked against the OpenAPI
// document: a request the document calls invalid must be refused (4xx), an
// answer must be one the document describes (status, headers, body), and
// an operation the server answers must be in the document. Every API test
// goes through it, since newEnv serves through it.
func apiContract(t testing.TB, h http.Handler) http.Handler {
	_, router, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	return contractChecker(t, router, h)
}

// reporter is where contract breaches are reported (a *testing.T).
type reporter interface {
	Errorf(format string, args ...any)
}

func contractChecker(t reporter, router routers.Router, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/v1/") || r.URL.Path == "/api/v1/openapi.json" {
			h.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		res := rec.Result()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		w.Write(rec.Body.Bytes())
		checkContract(t, router, r, body, rec)
	})
}

func checkContract(t reporter, router routers.Router, r *http.Request, body []byte, rec *httptest.ResponseRecorder) {
	what := r.Method + " " + r.URL.Path
	// The router matches on the full URL's path only.
	req := r.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := router.FindRoute(req)
	if err != nil {
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("API contract: %s answered %d but is not in openapi.json (%v)", what, rec.Code, err)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && (rec.Code < 400 || rec.Code >= 500) {
		t.Errorf("API contract: %s: openapi.json calls the request invalid, yet avis answered %d:\n%v", what, rec.Code, err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("API contract: %s: the answer (%d) is not what openapi.json says:\n%v\n%.600s", what, rec.Code, err, rec.Body.String())
	}
}

// TestOpenAPIRoutes checks that every /api/v1 route the server registers
// is in the document, and every operation of the document is a route.
func TestOpenAPIRoutes(t *testing.T) {
	doc, _, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	inDoc := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inDoc[method+" /api/v1"+path] = true
		}
	}
	served := map[string]bool{}
	for _, p := range web.Routes() {
		if strings.Contains(p, " /api/v1/") {
			served[p] = true
		}
	}
	var missing, extra []string
	for p := range served {
		if !inDoc[p] {
			missing = append(missing, p)
		}
	}
	for p := range inDoc {
		if !served[p] {
			extra = append(extra, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, p := range missing {
		t.Errorf("route %s is served but not in openapi.json", p)
	}
	for _, p := range extra {
		t.Errorf("openapi.json has %s, which the server does not serve", p)
	}
	// Every operation names its scope (or says it needs none) and an id.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" || len(op.Tags) == 0 {
				t.Errorf("%s %s: no operationId or tag", method, path)
			}
			if _, ok := op.Extensions["x-scope"]; !ok && (op.Security == nil || len(*op.Security) > 0) && path != "/me" {
				t.Errorf("%s %s: no x-scope", method, path)
			}
		}
	}
}

// breaches collects what the contract checker reports.
type breaches struct {
	mu   sync.Mutex
	msgs []string
}

func (b *breaches) Errorf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, fmt.Sprintf(format, args...))
}

// TestAPIContractCatchesDrift shows that the checker fails a test when the
// code and the document disagree: an answer of the wrong shape, an
// undocumented status, an undocumented route, and an invalid request that
// the server accepts.
func TestAPIContractCatchesDrift(t *testing.T) {
	_, router, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		answer, want             string
	}{
		{"wrong shape", "GET", "/api/v1/me", "", 200, `{"key": 1}`, "is not what openapi.json says"},
		{"undocumented status", "GET", "/api/v1/me", "", 418, `{}`, "is not what openapi.json says"},
		{"undocumented route", "GET", "/api/v1/nowhere", "", 200, `{}`, "is not in openapi.json"},
		{"invalid request accepted", "GET", "/api/v1/responses?limit=5000", "", 200, `{"data":[],"next_cursor":"x","has_more":false}`, "calls the request invalid"},
		{"valid", "GET", "/api/v1/responses?limit=5", "", 200, `{"data":[],"next_cursor":"x","has_more":false}`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b breaches
			h := contractChecker(&b, router, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.answer)
			}))
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer x")
			h.ServeHTTP(httptest.NewRecorder(), req)
			got := strings.Join(b.msgs, "\n")
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Fatalf("reported %q, want %q", got, tc.want)
			}
		})
	}
}
