package dispatch

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"sync"
	"time"

	"avis/internal/channel/email"
	"avis/internal/channel/sms"
	"avis/internal/contact"
)

// Message is one rendered invitation, as its transport gets it.
type Message struct {
	Channel string
	// Email: the envelope and the RFC 5322 bytes, DKIM-signed when the
	// tenant has a key.
	Envelope email.Envelope
	Raw      []byte
	// SMS: the text, its encoding and segments, and the addresses.
	SMS sms.Message
	// Info is the SMS text's encoding and segment count.
	Info sms.Info
	// Cost is the SMS's price with the tenant's price table (Known false
	// without one).
	Cost sms.Cost
}

// context of one rendering.
type renderCtx struct {
	inv      Invitation
	rule     *compiledRule
	snd      *sender
	rcpt     contact.Recipient
	stepName string
	occurred time.Time
	tpAttrs  map[string]string
	token    string
	reminder int
	now      time.Time
}

// compiledRule is a rule with its texts compiled, by language.
type compiledRule struct {
	*Rule
	texts map[string]compiled
}

var (
	defaultsOnce     sync.Once
	compiledDefaults map[string]compiled
)

func defaultTexts(lang string) compiled {
	defaultsOnce.Do(func() {
		compiledDefaults = map[string]compiled{}
		for l, t := range DefaultTexts {
			c, err := t.compile(l)
			if err != nil {
				panic(fmt.Sprintf("dispatch: default texts in %s: %v", l, err))
			}
			compiledDefaults[l] = c
		}
	})
	if c, ok := compiledDefaults[lang]; ok {
		return c
	}
	return compiledDefaults["en"]
}

func compileRule(r *Rule) *compiledRule {
	cr := &compiledRule{Rule: r, texts: map[string]compiled{}}
	for lang, t := range r.Texts {
		if c, err := t.compile(lang); err == nil {
			cr.texts[lang] = c
		}
	}
	return cr
}

// textsFor returns the rule's texts in lang, part by part falling back to
// the built-in ones.
func (cr *compiledRule) textsFor(lang string) compiled {
	def := defaultTexts(lang)
	c, ok := cr.texts[lang]
	if !ok {
		return def
	}
	if c.subject == nil {
		c.subject = def.subject
	}
	if c.body == nil {
		c.body = def.body
	}
	if c.sms == nil {
		c.sms = def.sms
	}
	return c
}

func (rc *renderCtx) links() (survey, unsubscribe, mydata, privacy string) {
	base := rc.snd.linkBase
	survey = base + "/s/" + rc.token
	unsubscribe = base + "/u/" + rc.token
	mydata = base + "/me/" + rc.token
	// avis's information notice, versioned, which links the company's
	// own policy.
	privacy = base + "/me/" + rc.token + "#privacy"
	if rc.rcpt.TenantID != "" {
		privacy = base + "/legal/" + rc.rcpt.TenantID + "/notice"
	}
	return
}

func (rc *renderCtx) values() map[string]string {
	ch := chromes[rc.inv.Language]
	if ch.DateLayout == "" {
		ch = chromes["en"]
	}
	survey, _, _, _ := rc.links()
	v := map[string]string{
		"first_name":  rc.rcpt.FirstName,
		"last_name":   rc.rcpt.LastName,
		"company":     rc.snd.company,
		"step":        rc.stepName,
		"date":        rc.occurred.In(zone(rc.rcpt.TimeZone)).Format(ch.DateLayout),
		"store":       rc.attr("store"),
		"product":     rc.attr("product"),
		"survey_link": survey,
	}
	return v
}

// attr reads a segment attribute from the event first, then the contact.
func (rc *renderCtx) attr(name string) string {
	if v := rc.tpAttrs[name]; v != "" {
		return v
	}
	return rc.rcpt.Attributes[name]
}

var emailLayout = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{.Subject}}</title></head>
<body style="margin:0;padding:0;background:#f4f4f5;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#18181b">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" style="padding:24px 12px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:600px;background:#ffffff;border-radius:8px">
<tr><td style="padding:24px 28px 8px;font-size:20px;font-weight:600">{{.Company}}</td></tr>
<tr><td style="padding:8px 28px;font-size:16px;line-height:1.5">{{.Body}}</td></tr>
<tr><td style="padding:16px 28px 28px"><a href="{{.SurveyURL}}" style="display:inline-block;background:#1d4ed8;color:#ffffff;text-decoration:none;padding:12px 22px;border-radius:6px;font-weight:600">{{.Button}}</a></td></tr>
</table>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:600px"><tr><td style="padding:16px 28px;font-size:12px;line-height:1.5;color:#52525b">
<p style="margin:0 0 8px">{{.Why}}</p>
<p style="margin:0"><a href="{{.PrivacyURL}}" style="color:#52525b">{{.Privacy}}</a> · <a href="{{.MyDataURL}}" style="color:#52525b">{{.MyData}}</a> · <a href="{{.UnsubscribeURL}}" style="color:#52525b">{{.Unsubscribe}}</a></p>
</td></tr></table>
</td></tr></table>
</body></html>`))

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// renderEmail builds the invitation email.
func (rc *renderCtx) renderEmail() (Message, error) {
	ch, ok := chromes[rc.inv.Language]
	if !ok {
		ch = chromes["en"]
	}
	texts := rc.rule.textsFor(rc.inv.Language)
	vals := rc.values()
	survey, unsub, mydata, privacy := rc.links()
	subject := texts.subject.Text(vals)
	if rc.reminder > 0 {
		subject = ch.Reminder + subject
	}
	why := fmt.Sprintf(ch.Why, rc.snd.company)
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	err := emailLayout.Execute(buf, map[string]any{
		"Lang": rc.inv.Language, "Subject": subject, "Company": rc.snd.company,
		"Body": template.HTML(texts.body.HTML(vals)), "SurveyURL": survey, "Button": ch.Button, "Why": why,
		"PrivacyURL": privacy, "Privacy": ch.Privacy, "MyDataURL": mydata, "MyData": ch.MyData,
		"UnsubscribeURL": unsub, "Unsubscribe": ch.Unsubscribe,
	})
	if err != nil {
		return Message{}, fmt.Errorf("render email: %w", err)
	}
	html := buf.String()
	var text strings.Builder
	text.WriteString(texts.body.Text(vals))
	text.WriteString("\n\n")
	text.WriteString(ch.Button + " : " + survey + "\n\n-- \n" + why + "\n")
	text.WriteString(ch.Privacy + " : " + privacy + "\n" + ch.MyData + " : " + mydata + "\n" + ch.Unsubscribe + " : " + unsub + "\n")
	m := email.Message{
		From: rc.snd.from, ReplyTo: rc.snd.replyTo, To: rc.rcpt.Email, Subject: subject, Text: text.String(), HTML: html,
		MessageID: fmt.Sprintf("<%s.%d@%s>", rc.inv.ID, rc.reminder, rc.snd.messageIDDomain()),
		Headers:   map[string]string{"X-Avis-Invitation": rc.inv.ID},
	}
	// RFC 8058 wants https: on a plain-http avis (a laptop, the demo) the
	// header carries only the mailto form, and the footer link remains.
	if strings.HasPrefix(unsub, "https://") {
		m.ListUnsubscribeURL = unsub
	}
	if rc.snd.replyTo != "" {
		m.ListUnsubscribeMailto = "mailto:" + rc.snd.replyTo + "?subject=" + url.PathEscape("unsubscribe "+rc.token)
	}
	raw, err := email.Build(m, rc.now, rc.snd.dkim)
	if err != nil {
		return Message{}, fmt.Errorf("build email: %w", err)
	}
	return Message{Channel: Email, Envelope: email.Envelope{From: rc.snd.from.Email, To: rc.rcpt.Email}, Raw: raw}, nil
}

// renderSMS builds the invitation SMS: the tenant's text, and the STOP
// mention when the text has none.
func (rc *renderCtx) renderSMS() (Message, error) {
	ch, ok := chromes[rc.inv.Language]
	if !ok {
		ch = chromes["en"]
	}
	texts := rc.rule.textsFor(rc.inv.Language)
	text := texts.sms.Text(rc.values())
	if rc.reminder > 0 {
		text = ch.Reminder + text
	}
	_, unsub, mydata, _ := rc.links()
	if !strings.Contains(strings.ToUpper(text), "STOP") {
		text += " " + fmt.Sprintf(ch.SMSStop, unsub)
	}
	text = sms.Normalise(text)
	// The "My data" link when it costs no extra segment.
	if more := sms.Normalise(text + " " + ch.MyData + " : " + mydata); sms.Analyse(more).Segments == sms.Analyse(text).Segments {
		text = more
	}
	m := sms.Message{To: rc.rcpt.Phone, From: rc.snd.smsFrom, Text: text, Reference: rc.inv.ID}
	info := sms.Analyse(text)
	return Message{Channel: SMS, SMS: m, Info: info, Cost: sms.Estimate(info, rc.snd.smsPrices, sms.Country(m.To))}, nil
}
