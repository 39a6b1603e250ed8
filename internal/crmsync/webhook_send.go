package crmsync

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"avis/internal/feed"
)

// Payload is the body of every delivery: the event's type, when it
// happened, and its data (Standard Webhooks' recommended shape).
type Payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// maxAnswerRead is how much of a receiver's answer is read (then dropped).
const maxAnswerRead = 4 << 10

// outcome is what one attempt gave.
type outcome struct {
	status   int
	duration time.Duration
	// problem is empty on success, else says in plain words what failed.
	problem string
	// gone is set when the endpoint answered 410 Gone.
	gone bool
}

func (o outcome) ok() bool { return o.problem == "" }

// body builds the JSON body of an event for an endpoint. It returns
// ErrObjectGone when the event's data no longer exists.
func (w *Webhooks) body(ctx context.Context, ep Endpoint, ev feed.Event) ([]byte, error) {
	var data any
	switch {
	case ev.Type == feed.SubjectErased:
		data = map[string]string{"external_id": ev.ExternalID}
	case w.o.Data != nil:
		var err error
		if data, err = w.o.Data.EventData(ctx, ep.TenantID, ev, ep.IncludePersonal); err != nil {
			return nil, err
		}
	default:
		data = map[string]string{"id": ev.ObjectID}
	}
	return marshalPayload(Payload{Type: ev.Type, Timestamp: ev.At.UTC(), Data: data})
}

func marshalPayload(p Payload) ([]byte, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("webhook payload: %w", err)
	}
	return b, nil
}

// post sends one signed body to the endpoint and says what came of it.
func (w *Webhooks) post(ctx context.Context, ep Endpoint, eventID string, body []byte, secrets []string) outcome {
	at := w.o.Now()
	sig, err := Sign(eventID, at, body, secrets...)
	if err != nil {
		return outcome{problem: probSecret}
	}
	ctx, cancel := context.WithTimeout(ctx, w.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return outcome{problem: fmt.Sprintf(probURL, err.Error())}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "avis-webhooks/1")
	h.Set("webhook-id", eventID)
	h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	h.Set("webhook-signature", sig)
	start := time.Now()
	resp, err := w.client.Do(req)
	o := outcome{duration: time.Since(start)}
	if err != nil {
		o.problem = describe(err, w.o.Timeout)
		return o
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerRead))
	resp.Body.Close()
	o.duration = time.Since(start)
	o.status = resp.StatusCode
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
	case resp.StatusCode == http.StatusGone:
		o.gone = true
		o.problem = probGone
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		loc := resp.Header.Get("Location")
		if len(loc) > 200 {
			loc = loc[:200] + "…"
		}
		o.problem = fmt.Sprintf(probRedirect, strconv.Itoa(resp.StatusCode), strconv.Quote(loc))
	default:
		o.problem = fmt.Sprintf(probStatus, strconv.Itoa(resp.StatusCode), http.StatusText(resp.StatusCode))
	}
	return o
}

// describe says in plain words why a request failed.
func describe(err error, timeout time.Duration) string {
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		dnsErr    *net.DNSError
		forbidden *forbiddenError
	)
	switch {
	case errors.As(err, &forbidden):
		return fmt.Sprintf(probForbidden, forbidden.ip)
	case errors.As(err, &unknownCA):
		return probUnknownCA
	case errors.As(err, &hostname):
		return probHostname
	case errors.As(err, &invalid):
		return probCertInvalid
	case errors.As(err, &verify):
		return fmt.Sprintf(probCert, verify.Err.Error())
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return fmt.Sprintf(probTimeout, timeout)
	case errors.As(err, &dnsErr):
		return probDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return probRefused
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return probClosed
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Sprintf(probFailed, err.Error())
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
