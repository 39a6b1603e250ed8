package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/survey"
)

// apiCall sends a JSON body (unknown length when chunked) with an API key.
func apiCall(t *testing.T, e *env, method, path, key string, body io.Reader, chunked bool) (int, http.Header, map[string]any) {
	t.Helper()
	if chunked && body != nil {
		body = io.MultiReader(body) // hides the length: sent chunked
	}
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %s", method, path, r.StatusCode, raw)
	}
	return r.StatusCode, r.Header, out
}

func TestAPISurveys(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	reader, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "reader", []string{"surveys:read"})
	writer, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "writer", []string{"surveys:read", "surveys:write"})
	contacts, _, _ := e.accounts.CreateAPIKey(ctx, audit.System("test"), tn.ID, "contacts", []string{"contacts:read"})
	doc, _ := survey.Export(surveyFixture("Après livraison"))

	// Scopes: reading needs surveys:read, writing surveys:write.
	if st, _, p := apiCall(t, e, "POST", "/api/v1/surveys", reader, strings.NewReader(string(doc)), false); st != 403 || p["code"] != "insufficient_scope" {
		t.Fatalf("POST with a read-only key: %d %v", st, p)
	}
	if st, _, _ := apiCall(t, e, "GET", "/api/v1/surveys", contacts, nil, false); st != 403 {
		t.Fatalf("GET with a contacts key: %d", st)
	}

	// Create, as active.
	body := strings.Replace(string(doc), `"avis_survey": 1,`, `"avis_survey": 1, "status": "active",`, 1)
	st, hdr, created := apiCall(t, e, "POST", "/api/v1/surveys", writer, strings.NewReader(body), false)
	if st != 201 || created["version"] != float64(1) || created["status"] != "active" || created["name"] != "Après livraison" {
		t.Fatalf("create: %d %v", st, created)
	}
	id, _ := created["id"].(string)
	if hdr.Get("Location") != "/api/v1/surveys/"+id {
		t.Errorf("Location %q", hdr.Get("Location"))
	}

	// Read: the list, the survey, in the export format plus id, status,
	// version.
	_, _, list := apiCall(t, e, "GET", "/api/v1/surveys", reader, nil, false)
	if data, _ := list["data"].([]any); len(data) != 1 || data[0].(map[string]any)["questions"] != float64(3) {
		t.Fatalf("list: %v", list)
	}
	st, _, got := apiCall(t, e, "GET", "/api/v1/surveys/"+id, reader, nil, false)
	if st != 200 || got["avis_survey"] != float64(1) || got["id"] != id || got["default_language"] != "fr" {
		t.Fatalf("get: %d %v", st, got)
	}

	// PUT what was read, with a new name: version 2. The same again
	// changes nothing. An old version number is a conflict.
	got["name"] = "Après livraison (v2)"
	b, _ := json.Marshal(got)
	st, _, put := apiCall(t, e, "PUT", "/api/v1/surveys/"+id, writer, strings.NewReader(string(b)), false)
	if st != 200 || put["version"] != float64(2) || put["name"] != "Après livraison (v2)" {
		t.Fatalf("put: %d %v", st, put)
	}
	got["version"] = float64(2)
	b, _ = json.Marshal(got)
	if st, _, again := apiCall(t, e, "PUT", "/api/v1/surveys/"+id, writer, strings.NewReader(string(b)), false); st != 200 || again["version"] != float64(2) {
		t.Fatalf("same put: %d %v", st, again)
	}
	got["version"] = float64(1)
	b, _ = json.Marshal(got)
	if st, _, p := apiCall(t, e, "PUT", "/api/v1/surveys/"+id, writer, strings.NewReader(string(b)), false); st != 409 || p["code"] != "version_conflict" {
		t.Fatalf("put on version 1: %d %v", st, p)
	}
	if st, _, p := apiCall(t, e, "PUT", "/api/v1/surveys/"+id, reader, strings.NewReader(string(doc)), false); st != 403 || p["code"] != "insufficient_scope" {
		t.Fatalf("put with a read-only key: %d", st)
	}

	// Versions.
	_, _, vs := apiCall(t, e, "GET", "/api/v1/surveys/"+id+"/versions", reader, nil, false)
	if data, _ := vs["data"].([]any); len(data) != 2 || vs["current_version"] != float64(2) {
		t.Fatalf("versions: %v", vs)
	}
	if st, _, v1 := apiCall(t, e, "GET", "/api/v1/surveys/"+id+"/versions/1", reader, nil, false); st != 200 || v1["name"] != "Après livraison" || v1["version"] != float64(1) {
		t.Fatalf("version 1: %d %v", st, v1)
	}
	for _, v := range []string{"3", "0", "x"} {
		if st, _, p := apiCall(t, e, "GET", "/api/v1/surveys/"+id+"/versions/"+v, reader, nil, false); st != 404 || p["code"] != "not_found" {
			t.Errorf("version %s: %d", v, st)
		}
	}

	// 422 with a path for each problem; 400 for a body that is not JSON.
	bad := strings.Replace(string(doc), `"type": "longtext"`, `"type": "essay"`, 1)
	bad = strings.Replace(bad, `"value": 6`, `"value": 60`, 1)
	st, _, p := apiCall(t, e, "POST", "/api/v1/surveys", writer, strings.NewReader(bad), false)
	if st != 422 || p["code"] != "invalid_survey" {
		t.Fatalf("invalid: %d %v", st, p)
	}
	paths := map[string]string{}
	for _, fe := range p["errors"].([]any) {
		m := fe.(map[string]any)
		paths[m["path"].(string)] = m["message"].(string)
	}
	if !strings.Contains(paths["pages[1].questions[0].type"], "is not a question type") {
		t.Errorf("errors %v lack the type's path", paths)
	}
	st, _, p = apiCall(t, e, "POST", "/api/v1/surveys", writer, strings.NewReader(`{"avis_survey": 1,`), false)
	if st != 400 || p["code"] != "bad_json" || len(p["errors"].([]any)) != 1 {
		t.Fatalf("broken JSON: %d %v", st, p)
	}

	// Over 1 MiB: 413, whether the length is announced or not.
	huge := `{"avis_survey": 1, "name": "` + strings.Repeat("x", 1<<20) + `"}`
	for _, chunked := range []bool{false, true} {
		st, hdr, p := apiCall(t, e, "POST", "/api/v1/surveys", writer, strings.NewReader(huge), chunked)
		if st != 413 || hdr.Get("Content-Type") != "application/problem+json" || p["status"] != float64(413) {
			t.Errorf("huge body (chunked %v): %d %v", chunked, st, p)
		}
	}
	if list, _ := e.surveys.List(ctx, tn.ID); len(list) != 1 {
		t.Errorf("%d surveys after refused requests, want 1", len(list))
	}
}
