// Package sms sends survey invitations by SMS and reads what SMS providers
// send back.
//
// # Sending
//
// A Provider sends one Message (To in E.164, From a sender id, Text,
// Reference = our invitation id) and returns a Result with the provider's
// message id. Three providers are built in, each configured from JSON
// (Load): Twilio and Twilio-compatible REST APIs (Twilio), the OVHcloud SMS
// API (OVH), and a generic HTTP provider described by templates (Generic).
// A failed send is a *SendError that says what the caller should do:
// retry later (Temporary, RateLimited with RetryAfter), stop trying this
// number (Unsupported: invalid number or country not served), or fix the
// configuration (Auth, Permanent). Every provider refuses a number whose
// country is not in its allow-list before any HTTP request. A Limiter
// (token bucket) paces the calls a caller makes to one provider.
//
// # Text
//
// Analyse tells whether a text goes as GSM-7 or UCS-2 and in how many
// segments; Estimate prices it from a per-country table; Normalise swaps
// typographic punctuation for GSM equivalents when that keeps a message in
// GSM-7.
//
// # Callbacks
//
// The functions in callback.go are pure: the web layer hands them the
// request's form, query or body and gets a Receipt (delivery status) or an
// Inbound message back, and checks signatures with VerifyTwilioSignature or
// VerifyGenericSignature. IsStop recognises opt-out replies.
//
// # Personal data
//
// Phone numbers and message texts never appear in an error string: provider
// messages are scrubbed of digit runs of six digits or more, and nothing in
// this package logs.
package sms
