// Package email builds, DKIM-signs and sends invitation emails over SMTP.
//
// The package is pure: it holds no database and no vault. The caller gives
// it a relay configuration (ParseRelayURL), a tenant's DKIM key (the caller
// unseals the PEM from the vault and calls ParseDKIMKey) and the rendered
// invitation (Message); Build returns the RFC 5322 bytes, and an SMTP
// sender (NewSMTP) delivers them through a small pool of reused
// connections, at the relay's rate limit.
//
// # Messages
//
// Build writes multipart/alternative (text/plain then text/html, UTF-8,
// quoted-printable) with CRLF line endings, RFC 2047 encoded words for a
// non-ASCII subject and display names, and the RFC 8058 one-click
// unsubscribe headers (List-Unsubscribe with an https URL and a mailto,
// List-Unsubscribe-Post). A CR or LF (or any other control character) in a
// header field is refused with an error, so no header can be injected.
// With a DKIM key, the message is signed (relaxed/relaxed, SHA-256) over
// the headers that matter, both List-Unsubscribe fields included, as RFC
// 8058 §4 requires; the main ones are over-signed so that no second copy
// can be added on the way.
//
// # Sending and errors
//
// Send returns nil or a *SendError the caller inspects with errors.As:
//
//	what the relay said                         Temporary HardBounce Auth
//	network error, timeout, connection dropped   yes       no         no
//	  (also mid-DATA: the caller retries later)
//	any 4xx reply (421, 450, 451, 452, 454, …)   yes       no         no
//	530, 534, 535, 538 (authentication)          no        no         yes
//	  credentials refused or impossible          no        no         yes
//	RCPT 5xx with 5.1.x or 5.2.1, or without an  no        yes        no
//	  enhanced code 550/551/553
//	RCPT other 5xx (e.g. 550 5.7.1 policy)       no        no         no
//	MAIL 5xx, DATA 5xx (552, 554, …)             no        no         no
//	  (a 5.1.x after DATA is a hard bounce too)
//	TLS certificate refused, no STARTTLS         no        no         no
//
// After an authentication failure the sender stops: every later Send
// returns the same error at once, without connecting, until the sender is
// replaced with a corrected configuration. The reply text in a SendError
// has every email address scrubbed, since servers often echo the
// recipient; the envelope addresses never appear in errors or logs.
package email
