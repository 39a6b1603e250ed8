package crmsync

import (
	"fmt"
	"strings"
)

// FieldError is a problem with one field of an endpoint's settings. It
// wraps ErrInvalidEndpoint. Message is an English format (one of
// WebhookMessages) that a page translates before filling in Args.
type FieldError struct {
	// Field is "url", "description", "events" or "" for the endpoint as
	// a whole.
	Field   string
	Message string
	Args    []any
}

func (e *FieldError) Error() string { return fmt.Sprintf(e.Message, e.Args...) }

// Unwrap makes errors.Is(err, ErrInvalidEndpoint) true.
func (e *FieldError) Unwrap() error { return ErrInvalidEndpoint }

// FieldErrors are every problem of one form, in the order of its fields.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	var msgs []string
	for _, e := range es {
		msgs = append(msgs, e.Error())
	}
	return strings.Join(msgs, "; ")
}

// Unwrap gives each FieldError, so that errors.Is(err,
// ErrInvalidEndpoint) and errors.As work.
func (es FieldErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func fieldErr(field, msg string, args ...any) error {
	return &FieldError{Field: field, Message: msg, Args: args}
}

// The messages of FieldError, for the catalogues.
const (
	msgURLMissing     = "Give the URL that receives the events."
	msgURLLong        = "The URL is longer than %d characters."
	msgURLSpaces      = "The URL holds spaces or control characters."
	msgURLInvalid     = "The URL is not valid: write it whole, such as https://crm.example.com/avis/webhook."
	msgURLHTTP        = "The URL must start with https:// (plain http is refused unless the operator allows it)."
	msgURLScheme      = "The URL must start with https://."
	msgURLUser        = "The URL must not hold a user name or password: the signature authenticates avis."
	msgURLFragment    = "The URL must not hold a fragment (#…)."
	msgURLPort        = "The port of the URL is not a number between 1 and 65535."
	msgURLResolve     = "The host name %s could not be resolved: check its spelling and its DNS records."
	msgURLInternal    = "%s is an internal address (loopback, private, link-local or reserved): avis sends webhooks to public addresses only, unless the operator allows private ones."
	msgDescLong       = "The description is longer than %d characters."
	msgDescControl    = "The description holds control characters."
	msgEventUnknown   = "%q is not an event avis sends."
	msgEventsNone     = "Choose at least one event."
	msgTooMany        = "A company has at most %d webhook endpoints: delete one first."
	msgReplayTest     = "A test ping is not replayed: send a new one."
	msgReplayBackward = "The start of the range must come before its end."
)

// WebhookMessages lists every FieldError message, for the catalogue test.
var WebhookMessages = []string{msgURLMissing, msgURLLong, msgURLSpaces, msgURLInvalid, msgURLHTTP, msgURLScheme, msgURLUser,
	msgURLFragment, msgURLPort, msgURLResolve, msgURLInternal, msgDescLong, msgDescControl, msgEventUnknown, msgEventsNone,
	msgTooMany, msgReplayTest, msgReplayBackward}
