package web

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// maxFormBytes bounds every form and JSON body the server reads.
const maxFormBytes = 1 << 20

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe logs each request (method, route pattern, status, duration: never
// the raw URL, which may carry a token), feeds the latency histogram and turns
// a panic into a 500 while the server keeps serving.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == http.ErrAbortHandler {
				// A handler cut an answer it had begun: net/http closes the
				// connection once this is counted.
				defer panic(p)
			} else if p != nil {
				s.Log.Error("panic while serving a request", "route", r.Pattern, "panic", p)
				if rec.status == 0 {
					s.fail(rec, r, publicError(nil))
				}
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			d := time.Since(start)
			s.latency.WithLabelValues(route, r.Method, strconv.Itoa(rec.status/100)+"xx").Observe(d.Seconds())
			if route == "GET /healthz" || route == "GET /readyz" || route == "GET /metrics" || strings.HasPrefix(route, "GET /static/") {
				return
			}
			s.Log.Info("http", "method", r.Method, "route", route, "status", rec.status, "bytes", rec.bytes, "ms", float64(d.Microseconds())/1000)
		}()
		next.ServeHTTP(rec, r)
	})
}

// secure sets the headers every answer carries: no third party may load
// anything, no framing, no sniffing, no referrer leaking tokens. It also
// bounds request bodies.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.Config.SecureCookies() {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		limit := int64(maxFormBytes)
		upload := r.Method == http.MethodPost && r.URL.Path == "/imports/upload"
		switch {
		case upload:
			// The file and the form's other fields; the handler refuses a
			// file over the limit with a page that says the limit.
			limit = s.Config.MaxUploadBytes + uploadFormOverhead
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/contacts":
			limit = s.Config.MaxUploadBytes
		}
		// A survey page answers a body over the limit itself, in the
		// person's language and saying the limit of a written answer.
		answer := r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/s/")
		if r.ContentLength > limit && !upload && !answer {
			if personPage(r.URL.Path) {
				s.tooLargePublic(w, r)
				return
			}
			s.fail(w, r, errTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// clientIP returns the caller's address: the connection's, or the last
// untrusted hop of X-Forwarded-For when the connection comes from a trusted
// proxy.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if s.Config.TrustedProxies == "" {
		return host
	}
	if !s.trusted(host) {
		return host
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if h == "" {
			continue
		}
		if !s.trusted(h) {
			return h
		}
	}
	return host
}

func (s *Server) trusted(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, p := range strings.Split(s.Config.TrustedProxies, ",") {
		p = strings.TrimSpace(p)
		if pre, err := netip.ParsePrefix(p); err == nil && pre.Contains(a) {
			return true
		}
		if b, err := netip.ParseAddr(p); err == nil && b == a {
			return true
		}
	}
	return false
}
