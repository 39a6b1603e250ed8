package email

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Address is a mailbox with an optional display name.
type Address struct {
	// Name is the display name ("Boutique Dupont"); it may be non-ASCII.
	Name string
	// Email is the bare address (contact@example.com).
	Email string
}

// Message is one rendered invitation, ready to be built into RFC 5322 bytes.
type Message struct {
	// From is the sender shown to the recipient; its domain should be the
	// DKIM key's domain (or a subdomain of it) for DMARC to pass.
	From Address
	// ReplyTo is an optional address, bare or as "Name <address>".
	ReplyTo string
	// To is the one recipient, bare or as "Name <address>".
	To string
	// Subject is the subject line, in any language.
	Subject string
	// Text is the plain-text body; it is required.
	Text string
	// HTML is the HTML body; empty sends a text/plain message.
	HTML string
	// ListUnsubscribeURL is the one-click unsubscribe endpoint (https://…):
	// it yields List-Unsubscribe-Post (RFC 8058) too.
	ListUnsubscribeURL string
	// ListUnsubscribeMailto is an unsubscribe address ("mailto:…" or a bare
	// address), listed after the URL.
	ListUnsubscribeMailto string
	// MessageID is the Message-ID ("<id@domain>" or "id@domain"); empty
	// generates a random one under the From domain.
	MessageID string
	// Headers are extra header fields (X-Avis-Invitation: id, …), written in
	// name order and signed. They cannot replace a field Build writes.
	Headers map[string]string
}

// ErrHeaderInjection is wrapped by the error of Build when a header field
// holds a line break or another control character.
var ErrHeaderInjection = errors.New("control character in a header field")

// maxLine is the longest header line Build folds to; RFC 5322 wants 78.
const maxLine = 78

// reservedHeaders are the fields Build writes itself (lower case).
var reservedHeaders = []string{
	"bcc", "cc", "content-disposition", "content-id", "content-transfer-encoding",
	"content-type", "date", "dkim-signature", "from", "list-unsubscribe",
	"list-unsubscribe-post", "message-id", "mime-version", "received",
	"reply-to", "return-path", "sender", "subject", "to",
}

// Build returns m as RFC 5322 bytes with CRLF line endings, dated now, and
// DKIM-signed when dkim is not nil. Every header value is checked: a CR, LF
// or other control character, invalid UTF-8 or a malformed address is an
// error that names the field (never its value).
func Build(m Message, now time.Time, dkim *DKIMKey) ([]byte, error) {
	var b builder
	if dkim != nil {
		b.headroom = sigHeadroom
	}
	raw, err := b.build(&m, now)
	if err != nil {
		return nil, err
	}
	if dkim == nil {
		return raw, nil
	}
	sig, err := dkim.signature(raw, b.signed, now)
	if err != nil {
		return nil, err
	}
	// The signature goes in the room left in front of the message, so the
	// message is not copied again.
	if len(sig) <= b.headroom {
		all := b.buf.Bytes()[:b.headroom+len(raw)]
		start := b.headroom - len(sig)
		copy(all[start:], sig)
		return all[start:], nil
	}
	out := make([]byte, 0, len(sig)+len(raw))
	return append(append(out, sig...), raw...), nil
}

// sigHeadroom is the room Build leaves in front of a message for its
// DKIM-Signature field (an RSA-2048 one is about 700 bytes).
const sigHeadroom = 1024

// builder holds the state of one Build.
type builder struct {
	buf      bytes.Buffer
	headroom int      // bytes left free at the start of buf
	signed   []string // header names for the DKIM h= tag
}

func (b *builder) build(m *Message, now time.Time) ([]byte, error) {
	if now.IsZero() {
		return nil, errors.New("email: build: no date")
	}
	if m.Text == "" {
		return nil, errors.New("email: build: the message has no text body (the plain-text part is required)")
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) {
		return nil, errors.New("email: build: the body is not valid UTF-8")
	}
	from, err := formatMailbox("From", m.From.Name, m.From.Email)
	if err != nil {
		return nil, err
	}
	fromDomain := m.From.Email[strings.LastIndexByte(m.From.Email, '@')+1:]
	to, err := formatAddressField("To", m.To)
	if err != nil {
		return nil, err
	}
	var replyTo string
	if m.ReplyTo != "" {
		if replyTo, err = formatAddressField("Reply-To", m.ReplyTo); err != nil {
			return nil, err
		}
	}
	if err := checkHeaderText("Subject", m.Subject); err != nil {
		return nil, err
	}
	if strings.TrimSpace(m.Subject) == "" {
		return nil, errors.New("email: build: the message has no subject")
	}
	msgID, err := messageID(m.MessageID, fromDomain)
	if err != nil {
		return nil, err
	}
	unsub, err := listUnsubscribe(m.ListUnsubscribeURL, m.ListUnsubscribeMailto)
	if err != nil {
		return nil, err
	}
	extra := make([]string, 0, len(m.Headers))
	for name, value := range m.Headers {
		if err := checkExtraHeader(name, value); err != nil {
			return nil, err
		}
		extra = append(extra, name)
	}
	slices.Sort(extra)

	b.buf.Grow(b.headroom + 1024 + len(m.Subject)*3 + len(m.To) + len(m.From.Name)*3 + qpLen(m.Text) + qpLen(m.HTML))
	b.buf.Write(make([]byte, b.headroom))
	b.signed = make([]string, 0, 24+len(extra))
	// Over-signed fields (listed twice in h=) cannot be added a second
	// time on the way without breaking the signature.
	b.header("From", from, 2)
	b.header("Reply-To", replyTo, 2)
	b.header("To", to, 2)
	b.header("Subject", mime.QEncoding.Encode("utf-8", m.Subject), 2)
	b.header("Date", now.Format(time.RFC1123Z), 2)
	b.header("Message-ID", msgID, 2)
	if unsub != "" {
		b.header("List-Unsubscribe", unsub, 2)
		if m.ListUnsubscribeURL != "" {
			b.header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click", 2)
		} else {
			// One-click needs an https URL; signed absent all the same.
			b.signed = append(b.signed, "List-Unsubscribe-Post", "List-Unsubscribe-Post")
		}
	} else {
		// Nobody may add them later either.
		b.signed = append(b.signed, "List-Unsubscribe", "List-Unsubscribe-Post")
	}
	for _, name := range extra {
		b.header(name, mime.QEncoding.Encode("utf-8", m.Headers[name]), 1)
	}
	b.header("MIME-Version", "1.0", 2)

	if m.HTML == "" {
		b.header("Content-Type", "text/plain; charset=utf-8", 2)
		b.header("Content-Transfer-Encoding", "quoted-printable", 2)
		b.buf.WriteString("\r\n")
		if err := b.qp(m.Text); err != nil {
			return nil, err
		}
		if !bytes.HasSuffix(b.buf.Bytes(), []byte("\r\n")) {
			b.buf.WriteString("\r\n")
		}
		return b.buf.Bytes()[b.headroom:], nil
	}
	// "=_" never occurs in quoted-printable text, so the boundary cannot
	// collide with the parts.
	boundary := "=_avis_" + rand.Text()
	b.header("Content-Type", `multipart/alternative; boundary="`+boundary+`"`, 2)
	b.buf.WriteString("\r\n")
	for _, part := range [...]struct{ ctype, body string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		b.buf.WriteString("--")
		b.buf.WriteString(boundary)
		b.buf.WriteString("\r\nContent-Type: ")
		b.buf.WriteString(part.ctype)
		b.buf.WriteString("\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		if err := b.qp(part.body); err != nil {
			return nil, err
		}
		b.buf.WriteString("\r\n")
	}
	b.buf.WriteString("--")
	b.buf.WriteString(boundary)
	b.buf.WriteString("--\r\n")
	return b.buf.Bytes()[b.headroom:], nil
}

// qpLen returns about the length of s quoted-printable, part headers
// included, so that the buffer grows once.
func qpLen(s string) int {
	n := len(s) + 128
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 || c == '=' || c < ' ' && c != '\n' && c != '\t' {
			n += 2
		}
	}
	return n + n/70*3
}

// qp writes s quoted-printable, line breaks as CRLF.
func (b *builder) qp(s string) error {
	w := quotedprintable.NewWriter(&b.buf)
	if _, err := w.Write([]byte(s)); err != nil {
		return fmt.Errorf("email: build: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("email: build: %w", err)
	}
	return nil
}

// header writes "Name: value" folded at spaces to maxLine where it can, and
// lists the name sign times for DKIM. An empty value writes nothing but is
// still signed (so the field cannot be added later).
func (b *builder) header(name, value string, sign int) {
	for range sign {
		b.signed = append(b.signed, name)
	}
	if value == "" {
		return
	}
	b.buf.WriteString(name)
	b.buf.WriteString(":")
	n := len(name) + 1
	for _, word := range strings.Split(value, " ") {
		if word != "" && n > 0 && n+1+len(word) > maxLine {
			b.buf.WriteString("\r\n")
			n = 0
		}
		b.buf.WriteByte(' ')
		b.buf.WriteString(word)
		n += 1 + len(word)
	}
	b.buf.WriteString("\r\n")
}

// checkHeaderText refuses control characters and invalid UTF-8 in the value
// of the named field.
func checkHeaderText(field, v string) error {
	if strings.ContainsFunc(v, isCtl) || strings.ContainsRune(v, '\u0085') || strings.ContainsRune(v, '\u2028') || strings.ContainsRune(v, '\u2029') {
		return fmt.Errorf("email: build: %s: %w", field, ErrHeaderInjection)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("email: build: %s is not valid UTF-8", field)
	}
	if len(v) > 900 {
		return fmt.Errorf("email: build: %s is longer than 900 bytes", field)
	}
	return nil
}

// formatMailbox formats name and a bare address for the named field.
func formatMailbox(field, name, addr string) (string, error) {
	if err := checkHeaderText(field, name); err != nil {
		return "", err
	}
	if err := checkAddress(field, addr); err != nil {
		return "", err
	}
	name = strings.TrimSpace(name)
	if isASCII(name) {
		// A quoted-string where needed.
		return (&mail.Address{Name: name, Address: addr}).String(), nil
	}
	angle := (&mail.Address{Address: addr}).String()
	// RFC 2047 §5(3): in a phrase, a Q-encoded word may only hold letters,
	// digits and !*+-/ (net/mail's own String lets a '\' through).
	enc := mime.QEncoding
	if strings.ContainsFunc(name, func(r rune) bool {
		return r < 0x80 && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" !*+-/", r))
	}) {
		enc = mime.BEncoding
	}
	return enc.Encode("utf-8", name) + " " + angle, nil
}

// isASCII reports whether s is all ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// formatAddressField reads "address" or "Name <address>" for the named field.
func formatAddressField(field, s string) (string, error) {
	if err := checkHeaderText(field, s); err != nil {
		return "", err
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("email: build: %s is not an email address", field)
	}
	return formatMailbox(field, a.Name, a.Address)
}

// checkAddress checks a bare address (addr-spec) for the named field.
func checkAddress(field, addr string) error {
	if addr == "" {
		return fmt.Errorf("email: build: %s has no address", field)
	}
	if err := checkHeaderText(field, addr); err != nil {
		return err
	}
	if len(addr) > 254 {
		return fmt.Errorf("email: build: %s address is longer than 254 bytes", field)
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" {
		return fmt.Errorf("email: build: %s is not a bare email address (local@domain)", field)
	}
	return nil
}

// messageID returns id as "<left@right>", or a random one under domain.
func messageID(id, domain string) (string, error) {
	if id == "" {
		return "<" + strings.ToLower(rand.Text()) + "@" + domain + ">", nil
	}
	if strings.ContainsFunc(id, isCtl) {
		return "", fmt.Errorf("email: build: Message-ID: %w", ErrHeaderInjection)
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	left, right, ok := strings.Cut(inner, "@")
	if !ok || left == "" || right == "" || len(inner) > 250 ||
		strings.ContainsFunc(inner, func(r rune) bool { return r <= ' ' || r >= 0x7f }) ||
		strings.ContainsAny(inner, `<>()[]\,;:"`) || strings.Contains(right, "@") {
		return "", errors.New("email: build: Message-ID must look like <unique-part@domain>, in printable ASCII")
	}
	return "<" + inner + ">", nil
}

// listUnsubscribe returns the List-Unsubscribe value for an https URL and a
// mailto (either may be empty).
func listUnsubscribe(httpsURL, mailto string) (string, error) {
	var parts []string
	if httpsURL != "" {
		if err := checkHeaderText("List-Unsubscribe URL", httpsURL); err != nil {
			return "", err
		}
		u, err := url.Parse(httpsURL)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil ||
			strings.ContainsAny(httpsURL, "<>, \"") || strings.ContainsFunc(httpsURL, func(r rune) bool { return r >= 0x7f }) {
			return "", errors.New("email: build: the List-Unsubscribe URL must be an absolute https:// URL in printable ASCII (percent-encode the rest)")
		}
		parts = append(parts, "<"+httpsURL+">")
	}
	if mailto != "" {
		if err := checkHeaderText("List-Unsubscribe mailto", mailto); err != nil {
			return "", err
		}
		if !strings.HasPrefix(strings.ToLower(mailto), "mailto:") {
			if err := checkAddress("List-Unsubscribe mailto", mailto); err != nil {
				return "", err
			}
			mailto = "mailto:" + mailto
		}
		if strings.ContainsAny(mailto, "<>, \"") || strings.ContainsFunc(mailto, func(r rune) bool { return r >= 0x7f }) || len(mailto) <= len("mailto:") {
			return "", errors.New("email: build: the List-Unsubscribe mailto must be mailto:address (with an optional ?subject=…), percent-encoded ASCII")
		}
		parts = append(parts, "<"+mailto+">")
	}
	return strings.Join(parts, ", "), nil
}

// checkExtraHeader checks the name and value of an extra header field.
func checkExtraHeader(name, value string) error {
	if name == "" || len(name) > 64 {
		return errors.New("email: build: an extra header has an empty or too long name")
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			if c < ' ' || c == 0x7f {
				return fmt.Errorf("email: build: extra header name: %w", ErrHeaderInjection)
			}
			return errors.New("email: build: an extra header name must be letters, digits and '-' (such as X-Avis-Invitation)")
		}
	}
	if slices.Contains(reservedHeaders, strings.ToLower(name)) {
		return fmt.Errorf("email: build: the extra header %s is one Build writes itself: use the Message field", name)
	}
	return checkHeaderText(name, value)
}
