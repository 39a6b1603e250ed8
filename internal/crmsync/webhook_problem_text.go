package crmsync

// What a delivery's log says went wrong: English formats with %s only,
// stored filled in (error column), and translated for a page by
// TranslateProblem (problem_text.go).
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

// webhookProblems lists the formats of delivery problems (see
// ProblemMessages).
var webhookProblems = []string{probSecret, probURL, probGone, probRedirect, probStatus, probForbidden, probUnknownCA, probHostname,
	probCertInvalid, probCert, probTimeout, probDNS, probRefused, probClosed, probFailed, probObjectGone, probErased, probDeleted,
	probGaveUp, probByUser}
