package email

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

// testNow is the date of every test message.
var testNow = time.Date(2025, 3, 14, 9, 26, 53, 0, time.FixedZone("CET", 3600))

// sampleMessage is an invitation with non-ASCII everywhere it may be.
func sampleMessage() Message {
	return Message{
		From:                  Address{Name: "Boutique Dupont & Fils, Lyon", Email: "avis@shop.example"},
		ReplyTo:               "Service client <service@shop.example>",
		To:                    "Zoë Ångström <zoe@customer.example>",
		Subject:               "Votre avis sur votre commande n°1234 — ça compte pour nous ✨",
		Text:                  "Bonjour Zoë,\n\nDonnez-nous votre avis : https://avis.example/s/tok123\n\n.\nLigne qui commence par un point.\n",
		HTML:                  "<p>Bonjour Zoë,</p>\n<p><a href=\"https://avis.example/s/tok123\">Donnez votre avis</a></p>\n",
		ListUnsubscribeURL:    "https://avis.example/u/tok123",
		ListUnsubscribeMailto: "unsubscribe+tok123@avis.example",
		MessageID:             "<inv-01HX@avis.example>",
		Headers:               map[string]string{"X-Avis-Invitation": "01HXINV", "X-Avis-Tenant": "t1"},
	}
}

// Shared test keys: generating RSA-2048 keys takes time.
var (
	testKeysOnce      sync.Once
	testRSA, testEd   *DKIMKey
	testTXT           map[string]string
	testKeysGenerated error
)

func testKeys(t testing.TB) (rsaKey, edKey *DKIMKey, lookup func(string) ([]string, error)) {
	t.Helper()
	testKeysOnce.Do(func() {
		r, err := GenerateDKIMKey(KeyRSA)
		if err != nil {
			testKeysGenerated = err
			return
		}
		e, err := GenerateDKIMKey(KeyEd25519)
		if err != nil {
			testKeysGenerated = err
			return
		}
		testRSA = &DKIMKey{Domain: "shop.example", Selector: "avis-rsa", Signer: r}
		testEd = &DKIMKey{Domain: "shop.example", Selector: "avis-ed", Signer: e}
		testTXT = map[string]string{}
		for _, k := range []*DKIMKey{testRSA, testEd} {
			name, value, err := k.DNSRecord()
			if err != nil {
				testKeysGenerated = err
				return
			}
			testTXT[name] = value
		}
	})
	if testKeysGenerated != nil {
		t.Fatal(testKeysGenerated)
	}
	return testRSA, testEd, func(domain string) ([]string, error) {
		if v, ok := testTXT[domain]; ok {
			return []string{v}, nil
		}
		return nil, errors.New("no such TXT record")
	}
}

// parsed is a message as a mail client reads it.
type parsed struct {
	header      mail.Header
	subject     string
	from, to    *mail.Address
	text, html  string
	contentType string
}

// parseMessage reads raw with net/mail and mime/multipart, as a mail
// client would, and fails the test on anything malformed.
func parseMessage(t testing.TB, raw []byte) parsed {
	t.Helper()
	checkCRLF(t, raw)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v", err)
	}
	var p parsed
	p.header = msg.Header
	dec := new(mime.WordDecoder)
	if p.subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("Subject: %v", err)
	}
	froms, err := msg.Header.AddressList("From")
	if err != nil || len(froms) != 1 {
		t.Fatalf("From: %v %v", froms, err)
	}
	p.from = froms[0]
	tos, err := msg.Header.AddressList("To")
	if err != nil || len(tos) != 1 {
		t.Fatalf("To: %v %v", tos, err)
	}
	p.to = tos[0]
	if _, err := msg.Header.Date(); err != nil {
		t.Fatalf("Date: %v", err)
	}
	if msg.Header.Get("MIME-Version") != "1.0" {
		t.Fatalf("MIME-Version %q", msg.Header.Get("MIME-Version"))
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	p.contentType = mt
	switch mt {
	case "text/plain":
		p.text = readQP(t, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	case "multipart/alternative":
		mr := multipart.NewReader(msg.Body, params["boundary"])
		var types []string
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("multipart: %v", err)
			}
			pt, pp, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
			if err != nil || pp["charset"] != "utf-8" {
				t.Fatalf("part Content-Type %q: %v", part.Header.Get("Content-Type"), err)
			}
			types = append(types, pt)
			body := readQP(t, part.Header.Get("Content-Transfer-Encoding"), part)
			switch pt {
			case "text/plain":
				p.text = body
			case "text/html":
				p.html = body
			}
		}
		if !slices.Equal(types, []string{"text/plain", "text/html"}) {
			t.Fatalf("parts %v, want text/plain then text/html", types)
		}
	default:
		t.Fatalf("Content-Type %s", mt)
	}
	return p
}

func readQP(t testing.TB, cte string, r io.Reader) string {
	t.Helper()
	if cte != "quoted-printable" {
		t.Fatalf("Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(r))
	if err != nil {
		t.Fatalf("quoted-printable: %v", err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// checkCRLF fails on a bare CR or LF, a line over 998 bytes, or a header
// line that is neither a field nor a continuation.
func checkCRLF(t testing.TB, raw []byte) {
	t.Helper()
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			t.Fatalf("bare LF at byte %d", i)
		}
		if c == '\r' && (i+1 == len(raw) || raw[i+1] != '\n') {
			t.Fatalf("bare CR at byte %d", i)
		}
	}
	head, _, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatal("no blank line after the header")
	}
	for line := range strings.SplitSeq(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line of %d bytes", len(line))
		}
	}
	for line := range strings.SplitSeq(string(head), "\r\n") {
		if line == "" || (line[0] != ' ' && line[0] != '\t' && !strings.Contains(line, ":")) {
			t.Fatalf("header line %q is neither a field nor a continuation", line)
		}
	}
}

// verifyDKIM checks raw carries one valid signature by key that covers
// every field in mustSign, and returns its h= list.
func verifyDKIM(t testing.TB, raw []byte, key *DKIMKey, lookup func(string) ([]string, error), mustSign ...string) []string {
	t.Helper()
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{LookupTXT: lookup})
	if err != nil {
		t.Fatalf("dkim.Verify: %v", err)
	}
	if len(verifs) != 1 {
		t.Fatalf("%d DKIM signatures", len(verifs))
	}
	v := verifs[0]
	if v.Err != nil {
		t.Fatalf("DKIM signature does not verify: %v", v.Err)
	}
	if v.Domain != key.Domain {
		t.Fatalf("DKIM d=%s", v.Domain)
	}
	for _, h := range mustSign {
		if !slices.ContainsFunc(v.HeaderKeys, func(k string) bool { return strings.EqualFold(k, h) }) {
			t.Fatalf("%s is not in the signed h= list %v", h, v.HeaderKeys)
		}
	}
	sigHeader := string(raw[:bytes.Index(raw, []byte("\r\n\r\n"))])
	if !strings.Contains(sigHeader, "c=relaxed/relaxed") {
		t.Fatalf("DKIM canonicalization is not relaxed/relaxed:\n%s", sigHeader)
	}
	return v.HeaderKeys
}

// signedFields are the fields every signature must cover.
var signedFields = []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
	"Content-Type", "List-Unsubscribe", "List-Unsubscribe-Post", "Reply-To", "X-Avis-Invitation"}

// checkSample checks a received or built sampleMessage.
func checkSample(t testing.TB, raw []byte) parsed {
	t.Helper()
	want := sampleMessage()
	p := parseMessage(t, raw)
	if p.subject != want.Subject {
		t.Fatalf("Subject %q, want %q", p.subject, want.Subject)
	}
	if p.from.Name != want.From.Name || p.from.Address != want.From.Email {
		t.Fatalf("From %+v", p.from)
	}
	if p.to.Name != "Zoë Ångström" || p.to.Address != "zoe@customer.example" {
		t.Fatalf("To %+v", p.to)
	}
	if p.text != want.Text || p.html != want.HTML {
		t.Fatalf("bodies differ:\n%q\n%q", p.text, p.html)
	}
	if got := p.header.Get("List-Unsubscribe"); got != "<https://avis.example/u/tok123>, <mailto:unsubscribe+tok123@avis.example>" {
		t.Fatalf("List-Unsubscribe %q", got)
	}
	if got := p.header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Fatalf("List-Unsubscribe-Post %q", got)
	}
	if got := p.header.Get("Message-ID"); got != "<inv-01HX@avis.example>" {
		t.Fatalf("Message-ID %q", got)
	}
	if got := p.header.Get("X-Avis-Invitation"); got != "01HXINV" {
		t.Fatalf("X-Avis-Invitation %q", got)
	}
	return p
}

func TestBuild(t *testing.T) {
	t.Parallel()
	rsaKey, edKey, lookup := testKeys(t)
	for _, tt := range []struct {
		name string
		key  *DKIMKey
	}{{"unsigned", nil}, {"rsa", rsaKey}, {"ed25519", edKey}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw, err := Build(sampleMessage(), testNow, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			p := checkSample(t, raw)
			if d, _ := p.header.Date(); !d.Equal(testNow) {
				t.Fatalf("Date %v", d)
			}
			if bytes.Contains(raw, []byte("Zoë")) || bytes.Contains(raw, []byte("✨")) {
				t.Fatal("raw UTF-8 in a 7-bit message")
			}
			for _, c := range raw {
				if c >= 0x80 {
					t.Fatalf("8-bit byte %#x in the message", c)
				}
			}
			if tt.key == nil {
				if bytes.Contains(raw, []byte("DKIM-Signature")) {
					t.Fatal("signed without a key")
				}
				return
			}
			h := verifyDKIM(t, raw, tt.key, lookup, signedFields...)
			// Over-signing: a second From or List-Unsubscribe breaks it.
			for _, f := range []string{"From", "Subject", "List-Unsubscribe", "List-Unsubscribe-Post"} {
				if n := countFold(h, f); n < 2 {
					t.Fatalf("%s signed %d times in h=, want it over-signed", f, n)
				}
			}
			tampered := append([]byte("List-Unsubscribe: <https://evil.example/>\r\n"), raw...)
			verifs, err := dkim.VerifyWithOptions(bytes.NewReader(tampered), &dkim.VerifyOptions{LookupTXT: lookup})
			if err != nil || len(verifs) != 1 || verifs[0].Err == nil {
				t.Fatalf("a List-Unsubscribe added on the way still verifies: %v %v", verifs, err)
			}
		})
	}
}

func countFold(list []string, s string) int {
	n := 0
	for _, v := range list {
		if strings.EqualFold(v, s) {
			n++
		}
	}
	return n
}

func TestBuildShapes(t *testing.T) {
	t.Parallel()
	t.Run("text only", func(t *testing.T) {
		m := sampleMessage()
		m.HTML = ""
		m.ListUnsubscribeURL = ""
		raw, err := Build(m, testNow, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := parseMessage(t, raw)
		if p.contentType != "text/plain" || p.text != m.Text {
			t.Fatalf("%s %q", p.contentType, p.text)
		}
		if p.header.Get("List-Unsubscribe") != "<mailto:unsubscribe+tok123@avis.example>" || p.header.Get("List-Unsubscribe-Post") != "" {
			t.Fatalf("a mailto alone gets no one-click header: %q %q", p.header.Get("List-Unsubscribe"), p.header.Get("List-Unsubscribe-Post"))
		}
	})
	t.Run("ascii, generated message id, bare addresses", func(t *testing.T) {
		m := Message{From: Address{Email: "a@shop.example"}, To: "b@c.example", Subject: "Hello", Text: "x", HTML: "<b>x</b>"}
		raw, err := Build(m, testNow, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := parseMessage(t, raw)
		if p.subject != "Hello" || !strings.Contains(string(raw), "\r\nSubject: Hello\r\n") {
			t.Fatalf("ASCII subject is not left as is:\n%s", raw)
		}
		id := p.header.Get("Message-ID")
		if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@shop.example>") || len(id) < 20 {
			t.Fatalf("generated Message-ID %q", id)
		}
		raw2, _ := Build(m, testNow, nil)
		if parseMessage(t, raw2).header.Get("Message-ID") == id {
			t.Fatal("two builds share a Message-ID")
		}
	})
	t.Run("long lines are folded or soft-broken", func(t *testing.T) {
		m := sampleMessage()
		m.Subject = strings.Repeat("Très long sujet avec des accents é à ü ", 12)
		m.HTML = strings.Repeat("<td style=\"padding:0\">é</td>", 400) // one 11 KB line
		raw, err := Build(m, testNow, nil)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(raw), "\r\n") {
			if len(line) > 78 && !strings.HasPrefix(line, "Content-Type: multipart") {
				t.Fatalf("line of %d bytes: %q", len(line), line)
			}
		}
		p := parseMessage(t, raw)
		if p.subject != m.Subject || p.html != m.HTML {
			t.Fatalf("long subject or HTML changed on the way: %q", p.subject)
		}
	})
}

func TestBuildRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		edit    func(*Message)
		wantErr string
	}{
		{"CRLF in subject", func(m *Message) { m.Subject = "Hi\r\nBcc: x@evil.example" }, "Subject: control character"},
		{"LF in subject", func(m *Message) { m.Subject = "Hi\nX: y" }, "control character"},
		{"CR in from name", func(m *Message) { m.From.Name = "Shop\rBcc: x@evil.example" }, "From: control character"},
		{"LF in from email", func(m *Message) { m.From.Email = "a@b.example\nBcc: x@evil.example" }, "From: control character"},
		{"LF in to", func(m *Message) { m.To = "z@c.example\nBcc: x@evil.example" }, "To: control character"},
		{"LF in reply-to", func(m *Message) { m.ReplyTo = "z@c.example\n" }, "Reply-To: control character"},
		{"LF in header value", func(m *Message) { m.Headers["X-Avis-Invitation"] = "1\r\nBcc: x" }, "control character"},
		{"LF in header name", func(m *Message) { m.Headers["X-A\r\nBcc"] = "1" }, "control character"},
		{"LF in unsubscribe url", func(m *Message) { m.ListUnsubscribeURL = "https://a.example/u\r\nBcc: x" }, "control character"},
		{"LF in mailto", func(m *Message) { m.ListUnsubscribeMailto = "mailto:u@a.example\nBcc: x" }, "control character"},
		{"LF in message id", func(m *Message) { m.MessageID = "<a@b>\r\nBcc: x" }, "control character"},
		{"NUL in subject", func(m *Message) { m.Subject = "a\x00b" }, "control character"},
		{"unicode line separator", func(m *Message) { m.Subject = "a\u2028b" }, "control character"},
		{"invalid utf-8 subject", func(m *Message) { m.Subject = "a\xffb" }, "UTF-8"},
		{"invalid utf-8 body", func(m *Message) { m.Text = "a\xffb" }, "UTF-8"},
		{"no text", func(m *Message) { m.Text = "" }, "no text body"},
		{"no subject", func(m *Message) { m.Subject = " " }, "no subject"},
		{"two recipients", func(m *Message) { m.To = "a@b.example, c@d.example" }, "To is not an email address"},
		{"from with name in email", func(m *Message) { m.From.Email = "X <a@b.example>" }, "From is not a bare email address"},
		{"no from", func(m *Message) { m.From.Email = "" }, "From has no address"},
		{"http unsubscribe", func(m *Message) { m.ListUnsubscribeURL = "http://a.example/u" }, "https://"},
		{"unsubscribe with >", func(m *Message) { m.ListUnsubscribeURL = "https://a.example/u>, <https://evil.example" }, "https://"},
		{"bad mailto", func(m *Message) { m.ListUnsubscribeMailto = "not an address" }, "mailto"},
		{"reserved header", func(m *Message) { m.Headers["bcc"] = "x@evil.example" }, "Build writes itself"},
		{"reserved header case", func(m *Message) { m.Headers["Content-Type"] = "text/plain" }, "Build writes itself"},
		{"header name with colon", func(m *Message) { m.Headers["X-A: b"] = "1" }, "letters, digits"},
		{"bad message id", func(m *Message) { m.MessageID = "no-at-sign" }, "Message-ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := sampleMessage()
			tt.edit(&m)
			raw, err := Build(m, testNow, nil)
			if err == nil {
				t.Fatalf("built:\n%s", raw)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q, want %q", err, tt.wantErr)
			}
			for _, personal := range []string{"evil", "zoe", "Zoë", "Shop"} {
				if strings.Contains(err.Error(), personal) {
					t.Fatalf("error %q repeats the field's value", err)
				}
			}
			if strings.Contains(tt.wantErr, "control character") && !errors.Is(err, ErrHeaderInjection) {
				t.Fatalf("error %q does not wrap ErrHeaderInjection", err)
			}
		})
	}
}

// FuzzBuild checks Build never panics, and that what it accepts parses and
// has exactly the fields Build writes: no user field can add one.
func FuzzBuild(f *testing.F) {
	m := sampleMessage()
	f.Add(m.From.Name, m.From.Email, m.To, m.ReplyTo, m.Subject, m.Text, m.HTML, m.ListUnsubscribeURL, m.ListUnsubscribeMailto, m.MessageID, "X-Avis-Invitation", "01HX")
	f.Add("a\r\nb", "a@b.c", "c@d.e", "", "s\nBcc: x", "t", "", "", "", "", "X-A", "v\rw")
	f.Add("\"quoted\" name", "\"odd local\"@b.c", "=?utf-8?q?x?= <c@d.e>", "r@s.t", "=?utf-8?q?=0D=0A?=", "\r", "\n", "https://x.y/?a=b&c", "mailto:u@v.w?subject=stop", "a@b", "Bcc", "x")
	f.Fuzz(func(t *testing.T, fromName, fromEmail, to, replyTo, subject, text, html, unsubURL, mailto, msgID, hName, hValue string) {
		m := Message{
			From: Address{Name: fromName, Email: fromEmail}, To: to, ReplyTo: replyTo,
			Subject: subject, Text: text, HTML: html,
			ListUnsubscribeURL: unsubURL, ListUnsubscribeMailto: mailto, MessageID: msgID,
			Headers: map[string]string{hName: hValue},
		}
		_, edKey, lookup := testKeys(t)
		raw, err := Build(m, testNow, edKey)
		if err != nil {
			return
		}
		checkCRLF(t, raw)
		verifyDKIM(t, raw, edKey, lookup, "From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post")
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("built a message net/mail cannot read: %v\n%s", err, raw)
		}
		allowed := map[string]bool{"Dkim-Signature": true, "From": true, "To": true, "Subject": true, "Date": true, "Message-Id": true,
			"Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": html == "",
			"Reply-To": replyTo != "", "List-Unsubscribe": unsubURL != "" || mailto != "",
			"List-Unsubscribe-Post": unsubURL != ""}
		for k, vs := range msg.Header {
			if len(vs) != 1 {
				t.Fatalf("%d %s fields", len(vs), k)
			}
			if !allowed[k] && !strings.EqualFold(k, hName) {
				t.Fatalf("field %q appeared from user input:\n%s", k, raw)
			}
		}
		for k, ok := range allowed {
			if ok && msg.Header.Get(k) == "" {
				t.Fatalf("field %s missing", k)
			}
		}
		p := parseMessage(t, raw)
		wantText := strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\r", "\n")
		if strings.TrimSuffix(p.text, "\n") != strings.TrimSuffix(wantText, "\n") {
			t.Fatalf("text changed: %q -> %q", text, p.text)
		}
		if p.subject != subject {
			t.Fatalf("subject changed: %q -> %q", subject, p.subject)
		}
	})
}
