package web

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestObserveAbort: a handler that cuts an answer it has begun (a page
// streamed when the database fails halfway) leaves the client with a
// broken answer, not a short one that looks whole; the failure is not
// logged as a panic, and the server goes on serving.
func TestObserveAbort(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{Deps: Deps{Log: slog.New(slog.NewTextHandler(&logs, nil))}, latency: prometheus.NewHistogramVec(
		prometheus.HistogramOpts{Name: "test_duration_seconds"}, []string{"route", "method", "code"})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cut", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"data":[{"id":"a"}`))
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	})
	mux.HandleFunc("GET /fine", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	srv := httptest.NewServer(s.observe(mux))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/cut")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		t.Fatalf("the cut answer was read whole: %q", body)
	}
	resp, err = http.Get(srv.URL + "/fine")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("after a cut answer: %q", body)
	}
	if bytes.Contains(logs.Bytes(), []byte("panic")) {
		t.Errorf("a cut answer is logged as a panic: %s", logs.String())
	}
}
