package privacy

import (
	"fmt"
	"strings"
)

// noticeWriter builds a notice's text in one language from catalogue
// messages (internal/i18n/catalog/<lang>.notice.json), and remembers the
// messages the catalogue lacks.
type noticeWriter struct {
	s       *Notices
	lang    string
	b       strings.Builder
	missing []string
}

func (w *noticeWriter) t(msg string, args ...any) string {
	if w.lang != "en" && !w.s.cat.Has(w.lang, msg) {
		w.missing = append(w.missing, msg)
	}
	return w.s.cat.T(w.lang, msg, args...)
}

func (w *noticeWriter) block(s string) {
	if w.b.Len() > 0 {
		w.b.WriteString("\n\n")
	}
	w.b.WriteString(s)
}

func (w *noticeWriter) h(msg string)                   { w.block("## " + w.t(msg)) }
func (w *noticeWriter) p(msg string, args ...any)      { w.block(w.t(msg, args...)) }
func (w *noticeWriter) list(items ...string)           { w.block("- " + strings.Join(items, "\n- ")) }
func (w *noticeWriter) li(msg string, a ...any) string { return w.t(msg, a...) }

// oneLine makes a value from a profile or the configuration safe to put
// inside a sentence: one line, not starting like a heading or list item.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.TrimLeft(strings.Join(parts, ", "), "#-* \t")
}

// Generate writes a notice of a kind in a language from a tenant's profile
// (and its name, used when the profile gives no legal name) and the
// operator. It returns the text and the messages the language's catalogue
// lacks (written in English instead). The same inputs always give the same
// bytes.
func (s *Notices) Generate(kind, lang string, p Profile, tenantName string) (string, []string) {
	w := &noticeWriter{s: s, lang: lang}
	company := oneLine(p.LegalName)
	if company == "" {
		company = oneLine(tenantName)
	}
	companyFull := company
	if a := oneLine(p.Address); a != "" {
		companyFull = fmt.Sprintf("%s (%s)", company, a)
	}
	operator := oneLine(s.op.Name)
	if operator == "" {
		if site := oneLine(s.op.Site); site != "" {
			operator = w.t("the operator of the avis service at %[1]s", site)
		} else {
			operator = w.t("the operator of this avis service")
		}
	}
	operatorFull := operator
	if a := oneLine(s.op.Address); a != "" {
		operatorFull = fmt.Sprintf("%s (%s)", operator, a)
	}
	contact := oneLine(p.DPOEmail)
	if contact == "" {
		contact = oneLine(s.op.Email)
	}
	months := p.RetentionMonths
	if months < MinRetentionMonths || months > MaxRetentionMonths {
		months = DefaultRetentionMonths
	}
	authority := oneLine(p.Authority)
	if authority == "" {
		authority = DefaultAuthority
	}
	switch kind {
	case KindPublication:
		w.publication(company, operatorFull, months)
	default:
		w.information(company, companyFull, operator, operatorFull, contact, authority, months, p)
	}
	return w.b.String(), w.missing
}

func (w *noticeWriter) information(company, companyFull, operator, operatorFull, contact, authority string, months int, p Profile) {
	w.h("Who is responsible for your data")
	w.p("%[1]s asks for your opinion about your experience as its customer. It decides whom to ask and about what: it is the controller of your data.", companyFull)
	w.p("%[1]s runs avis, the service that sends the questions on behalf of %[2]s, collects the answers and keeps them encrypted. The two are joint controllers (GDPR Art. 26).", operatorFull, company)
	w.p("What they agreed: %[1]s gives you this information and answers your requests about your data; %[2]s keeps the service secure, uses your data for nothing else and passes on to %[1]s at once any request you send it. You may use your rights with either of them.", company, operator)

	w.h("Where your data comes from")
	w.p("%[1]s took your name, your email address or phone number and the date of your experience (a purchase, a delivery, a call) from its customer file.", company)

	w.h("Why, and on what legal basis")
	w.list(
		w.li("Measuring your satisfaction at each step of your journey as a customer, to improve the service: the legitimate interest of %[1]s (GDPR Art. 6(1)(f)). You may object at any time, and you will not be asked again.", company),
		w.li("Publishing your review, only if you tick the box that allows it: your consent (GDPR Art. 6(1)(a)), which you may withdraw at any time."))

	w.h("How long your data is kept")
	w.list(
		w.li("Your answers: %[1]d months after you gave them. Then they are deleted; only anonymous statistics remain.", months),
		w.li("Your contact details: 3 years from the end of your customer relationship with %[1]s or from your last contact with it.", company),
		w.li("If you unsubscribe or object: only a keyed fingerprint of your address, for at least 3 years, so that you are never asked again."))

	w.h("Who receives your data")
	w.p("%[1]s, and its customer relationship management software (CRM), which receives your answers. The companies that carry the messages (email and SMS) see only your address or number and the message. Your data is not sold and not used for advertising.", company)

	w.h("Your rights")
	w.p("You may at any time:")
	w.list(
		w.li("see the data held about you (access);"),
		w.li("have it corrected (rectification);"),
		w.li("have it erased (erasure);"),
		w.li("have its use limited (restriction);"),
		w.li("object to its use (objection);"),
		w.li("receive it in a reusable format (portability);"),
		w.li("withdraw your consent to publication, without affecting what was done before."))
	if contact != "" {
		w.p("How: open the “My data” link at the bottom of every message you receive from us and on the thank-you page of the survey. There you can see, download, correct and erase your data yourself, and unsubscribe. Or write to %[1]s.", contact)
	} else {
		w.p("How: open the “My data” link at the bottom of every message you receive from us and on the thank-you page of the survey. There you can see, download, correct and erase your data yourself, and unsubscribe.")
	}
	w.p("You may also complain to the supervisory authority: %[1]s.", authority)

	w.h("Contact for data protection")
	switch {
	case p.DPOEmail != "" && oneLine(p.DPOName) != "":
		w.p("Data-protection officer of %[1]s: %[2]s, %[3]s.", company, oneLine(p.DPOName), oneLine(p.DPOEmail))
	case p.DPOEmail != "":
		w.p("Data-protection contact of %[1]s: %[2]s.", company, oneLine(p.DPOEmail))
	default:
		w.p("%[1]s has not yet given a data-protection contact: use the “My data” link, or write to the operator.", company)
	}
	if e := oneLine(w.s.op.Email); e != "" {
		w.p("Data-protection contact of %[1]s: %[2]s.", operator, e)
	}
	if u := oneLine(p.PolicyURL); u != "" {
		w.p("The full privacy policy of %[1]s: %[2]s", company, u)
	}
}

func (w *noticeWriter) publication(company, operatorFull string, months int) {
	w.h("How your review is published")
	w.p("If you tick the box that allows it, %[1]s publishes your review. It shows your first name and the initial of your last name (for example “Marie D.”), never your email address or phone number, with the date of your experience and the date of publication (and of any update).", company)

	w.h("Moderation")
	w.p("Every review is checked before publication against the same written rules, whether it is positive or negative. A review is refused only if it is insulting, discriminatory or unlawful; if it gives personal information about someone; if it has nothing to do with the experience; if it is advertising; or if it seems not to come from a real customer.")
	w.p("If your review is refused, you are told why and how to contest the decision.")

	w.h("No payment")
	w.p("No payment, gift or other advantage is given in exchange for a review.")

	w.h("Withdrawing your review")
	w.p("You may withdraw your review at any time from your “My data” page (the link is in every message you receive from us); it is then taken offline at once.")

	w.h("How long reviews stay online")
	w.p("A published review stays online for %[1]d months from its publication; then it is removed.", months)

	w.h("Who is responsible")
	w.p("%[1]s is responsible for publishing reviews, jointly with %[2]s, which runs avis. Your rights and how to use them are explained in the information notice.", company, operatorFull)
}
