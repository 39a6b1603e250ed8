package crmsync

import (
	"regexp"
	"strings"
)

// What a delivery's log says went wrong: English formats with %s only,
// stored filled in (error column), and translated for a page by
// TranslateProblem.
const (
	probSecret      = "The endpoint's secret cannot be read: rotate it."
	probURL         = "The endpoint's URL cannot be used: %s"
	probGone        = "The endpoint answered 410 Gone: it says it no longer exists, so avis disabled it."
	probRedirect    = "The endpoint answered %s, a redirect to %s; avis does not follow redirects: save the final URL instead."
	probStatus      = "The endpoint answered %s %s."
	probForbidden   = "avis refused to connect to %s, an internal address (loopback, private, link-local or reserved); the operator can allow private addresses (AVIS_WEBHOOK_ALLOW_PRIVATE)."
	probUnknownCA   = "The endpoint's TLS certificate is not signed by a trusted authority."
	probHostname    = "The endpoint's TLS certificate is not valid for its host name."
	probCertInvalid = "The endpoint's TLS certificate is invalid (expired or not yet valid, or not for a server)."
	probCert        = "The endpoint's TLS certificate was refused: %s"
	probTimeout     = "No answer within %s."
	probDNS         = "The endpoint's host name could not be resolved."
	probRefused     = "The endpoint refused the connection (nothing listens at that address and port)."
	probClosed      = "The endpoint closed the connection without answering."
	probFailed      = "The request failed: %s"
	probObjectGone  = "Not sent: the data of this event no longer exists (the person was erased)."
	probErased      = "Not sent: the person was erased before this was delivered."
	probDeleted     = "Not sent: the endpoint was deleted."
	probGaveUp      = "Deliveries kept failing for %s. The last attempt: %s"
	probByUser      = "A person of the company disabled it."
)

// ProblemMessages lists the formats of delivery problems, for the
// catalogue test.
var ProblemMessages = []string{probSecret, probURL, probGone, probRedirect, probStatus, probForbidden, probUnknownCA, probHostname,
	probCertInvalid, probCert, probTimeout, probDNS, probRefused, probClosed, probFailed, probObjectGone, probErased, probDeleted,
	probGaveUp, probByUser}

// problemPatterns match a stored problem back to its format and
// arguments.
var problemPatterns = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(ProblemMessages))
	for i, f := range ProblemMessages {
		parts := strings.Split(f, "%s")
		for j := range parts {
			parts[j] = regexp.QuoteMeta(parts[j])
		}
		out[i] = regexp.MustCompile("^" + strings.Join(parts, "(.*?)") + "$")
	}
	return out
}()

// TranslateProblem writes a stored delivery problem with t, the page's
// translation of a format (called with the format's arguments as the
// stored text holds them); a problem avis does not know is returned as it
// is. A nested problem (the last attempt of a give-up) is translated too.
func TranslateProblem(stored string, t func(format string, args ...any) string) string {
	for i, re := range problemPatterns {
		m := re.FindStringSubmatch(stored)
		if m == nil {
			continue
		}
		f := ProblemMessages[i]
		args := make([]any, 0, len(m)-1)
		for _, a := range m[1:] {
			args = append(args, a)
		}
		if f == probGaveUp && len(args) == 2 {
			args[1] = TranslateProblem(args[1].(string), t)
		}
		return t(f, args...)
	}
	return stored
}
