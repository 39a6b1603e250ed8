package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"avis/internal/account"
	"avis/internal/channel/email"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/journey"
	"avis/internal/survey"
)

// dispatchRoutes registers the invitation rules, messaging settings,
// outbox and sending views, the public unsubscribe endpoint and the SMS
// provider callbacks (sms_hooks.go).
func (s *Server) dispatchRoutes(mux *recordingMux) {
	mux.Handle("GET /steps/{id}/rule", s.authed(s.rulePage, authOpts{perm: account.PermResultsRead}))
	mux.Handle("POST /steps/{id}/rule", s.authed(s.ruleSave, authOpts{perm: account.PermSurveysManage}))
	mux.Handle("POST /steps/{id}/rule/preview", s.authed(s.rulePreview, authOpts{perm: account.PermContactsRead}))
	mux.Handle("POST /steps/{id}/rule/test", s.authed(s.ruleTest, authOpts{perm: account.PermSurveysManage}))
	mux.Handle("GET /messaging", s.authed(s.messagingPage, authOpts{perm: account.PermTenantSettings}))
	mux.Handle("POST /messaging", s.authed(s.messagingSave, authOpts{perm: account.PermTenantSettings}))
	mux.Handle("GET /invitations", s.authed(s.invitationsPage, authOpts{perm: account.PermResultsRead}))
	mux.Handle("GET /outbox", s.authed(s.outboxPage, authOpts{perm: account.PermContactsRead}))
	mux.Handle("GET /outbox/{id}", s.authed(s.outboxMessagePage, authOpts{perm: account.PermContactsRead}))
	mux.Handle("GET /outbox/{id}/html", s.authed(s.outboxMessageHTML, authOpts{perm: account.PermContactsRead}))
	mux.HandleFunc("GET /u/{token}", s.unsubscribePage)
	mux.HandleFunc("POST /u/{token}", s.unsubscribePost)
	mux.HandleFunc("POST /hooks/sms/{tenant}/twilio/status", s.twilioStatusHook)
	mux.HandleFunc("POST /hooks/sms/{tenant}/twilio/inbound", s.twilioInboundHook)
	mux.HandleFunc("GET /hooks/sms/{tenant}/ovh/{secret}/receipt", s.ovhReceiptHook)
	mux.HandleFunc("POST /hooks/sms/{tenant}/ovh/{secret}/receipt", s.ovhReceiptHook)
	mux.HandleFunc("GET /hooks/sms/{tenant}/ovh/{secret}/inbound", s.ovhInboundHook)
	mux.HandleFunc("POST /hooks/sms/{tenant}/ovh/{secret}/inbound", s.ovhInboundHook)
	mux.HandleFunc("POST /hooks/sms/{tenant}/generic/receipt", s.genericReceiptHook)
	mux.HandleFunc("POST /hooks/sms/{tenant}/generic/inbound", s.genericInboundHook)
}

// ruleForm is the rule form as typed.
type ruleForm struct {
	SurveyID                             string
	Enabled                              bool
	DelayHours                           string
	Channels                             string
	Email, SMS                           windowForm
	CapDays, Reminders, ReminderDays     string
	SMSReminders                         bool
	ExpiryDays, SamplePercent            string
	Texts                                map[string]dispatch.Texts
	PreviewContact, TestAddress, Problem string
}

type windowForm struct {
	Days         [7]bool
	From, To     string
	SkipHolidays bool
}

func hhmm(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

func parseHHMM(s string) (int, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return hh*60 + mm, true
}

func windowFormOf(w dispatch.Window) windowForm {
	return windowForm{Days: w.Days, From: hhmm(w.From), To: hhmm(w.To), SkipHolidays: w.SkipHolidays}
}

func ruleFormOf(r dispatch.Rule) ruleForm {
	return ruleForm{SurveyID: r.SurveyID, Enabled: r.Enabled, DelayHours: strconv.Itoa(int(r.Delay / time.Hour)),
		Channels: strings.Join(r.Channels, ","), Email: windowFormOf(r.EmailWindow), SMS: windowFormOf(r.SMSWindow),
		CapDays: strconv.Itoa(r.CapDays), Reminders: strconv.Itoa(r.Reminders), ReminderDays: strconv.Itoa(r.ReminderDays),
		SMSReminders: r.SMSReminders, ExpiryDays: strconv.Itoa(r.ExpiryDays), SamplePercent: strconv.Itoa(r.SamplePercent),
		Texts: r.Texts}
}

func ruleFormFrom(r *http.Request) ruleForm {
	f := ruleForm{SurveyID: r.PostFormValue("survey"), Enabled: r.PostFormValue("enabled") != "",
		DelayHours: r.PostFormValue("delay_hours"), Channels: r.PostFormValue("channels"),
		CapDays: r.PostFormValue("cap_days"), Reminders: r.PostFormValue("reminders"), ReminderDays: r.PostFormValue("reminder_days"),
		SMSReminders: r.PostFormValue("sms_reminders") != "", ExpiryDays: r.PostFormValue("expiry_days"),
		SamplePercent: r.PostFormValue("sample_percent"), Texts: map[string]dispatch.Texts{},
		PreviewContact: strings.TrimSpace(r.PostFormValue("contact")), TestAddress: strings.TrimSpace(r.PostFormValue("to"))}
	for _, w := range []struct {
		prefix string
		dst    *windowForm
	}{{"email", &f.Email}, {"sms", &f.SMS}} {
		for d := range 7 {
			w.dst.Days[d] = r.PostFormValue(fmt.Sprintf("%s_day_%d", w.prefix, d)) != ""
		}
		w.dst.From, w.dst.To = r.PostFormValue(w.prefix+"_from"), r.PostFormValue(w.prefix+"_to")
		w.dst.SkipHolidays = r.PostFormValue(w.prefix+"_holidays") != ""
	}
	for _, l := range dispatch.Languages {
		t := dispatch.Texts{Subject: strings.TrimSpace(r.PostFormValue("subject_" + l)), Body: strings.TrimSpace(r.PostFormValue("body_" + l)),
			SMS: strings.TrimSpace(r.PostFormValue("sms_" + l))}
		if t != (dispatch.Texts{}) {
			f.Texts[l] = t
		}
	}
	return f
}

// rule turns the form into a rule; problems it can see itself are
// returned as messages in the user's language. A field it refuses gets the
// default value in the rule, so that validating the rule then reports the
// other problems without repeating this one.
func (s *Server) ruleOf(rc *reqCtx, stepID string, f ruleForm) (dispatch.Rule, []string) {
	var probs []string
	num := func(v, what string, lo, hi, def int) int {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			probs = append(probs, rc.t(s, "%s: give a whole number from %d to %d.", rc.t(s, what), lo, hi))
			return def
		}
		return n
	}
	def := dispatch.DefaultRule(stepID, f.SurveyID)
	r := dispatch.Rule{StepID: stepID, SurveyID: f.SurveyID, Enabled: f.Enabled, Channels: strings.Split(f.Channels, ","),
		SMSReminders: f.SMSReminders, Texts: f.Texts}
	r.Delay = time.Duration(num(f.DelayHours, "Delay after the event (hours)", 0, 90*24, int(def.Delay/time.Hour))) * time.Hour
	r.CapDays = num(f.CapDays, "At most one invitation per person every (days)", 0, 365, def.CapDays)
	r.Reminders = num(f.Reminders, "Reminders", 0, 3, def.Reminders)
	r.ReminderDays = num(f.ReminderDays, "Reminder after (days)", 0, 60, def.ReminderDays)
	r.ExpiryDays = num(f.ExpiryDays, "The link works for (days)", 1, 365, def.ExpiryDays)
	r.SamplePercent = num(f.SamplePercent, "Share of events that get an invitation (%)", 1, 100, def.SamplePercent)
	for _, w := range []struct {
		src  windowForm
		dst  *dispatch.Window
		def  dispatch.Window
		name string
	}{{f.Email, &r.EmailWindow, def.EmailWindow, "Email"}, {f.SMS, &r.SMSWindow, def.SMSWindow, "SMS"}} {
		from, ok1 := parseHHMM(w.src.From)
		to, ok2 := parseHHMM(w.src.To)
		if !ok1 || !ok2 {
			probs = append(probs, rc.t(s, "%s send window: write the hours as HH:MM, for example 08:00 and 20:00.", w.name))
			from, to = w.def.From, w.def.To
		}
		*w.dst = dispatch.Window{Days: w.src.Days, From: from, To: to, SkipHolidays: w.src.SkipHolidays}
	}
	return r, probs
}

type ruleData struct {
	Step      journey.Step
	Journey   string
	Surveys   []survey.Survey
	Form      ruleForm
	Saved     bool
	Problems  []string
	Languages []string
	Defaults  map[string]dispatch.Texts
	Names     []string
	Weekdays  []int
	DayNames  []string
	Windows   []windowView
	Preview   *messagePreview
}

type windowView struct {
	Kind, Title string
	Form        windowForm
}

type messagePreview struct {
	Channel           string
	From, To, Subject string
	Headers           [][2]string
	Text, HTML        string
	SMSText           string
	Segments, Units   int
	Encoding          string
	Cost              string
}

// stepOf finds one of the tenant's steps by id.
func (s *Server) stepOf(r *http.Request, rc *reqCtx) (journey.Step, string, error) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		return journey.Step{}, "", errNotFound
	}
	js, err := s.Journeys.Journeys(r.Context(), rc.tenant.ID)
	if err != nil {
		return journey.Step{}, "", err
	}
	for _, j := range js {
		for _, st := range j.Steps {
			if st.ID == id {
				return st, j.Name, nil
			}
		}
	}
	return journey.Step{}, "", errNotFound
}

func (s *Server) rulePage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	st, jname, err := s.stepOf(r, rc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rule, err := s.Dispatch.RuleForStep(r.Context(), rc.tenant.ID, st.ID)
	saved := err == nil
	if errors.Is(err, dispatch.ErrNoRule) {
		rule, err = dispatch.DefaultRule(st.ID, ""), nil
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderRule(w, r, rc, http.StatusOK, "", ruleData{Step: st, Journey: jname, Form: ruleFormOf(rule), Saved: saved})
}

func (s *Server) renderRule(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, flash string, d ruleData) {
	list, err := s.Surveys.List(r.Context(), rc.tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Surveys = list
	d.Languages = dispatch.Languages
	d.Defaults = dispatch.DefaultTexts
	d.Names = dispatch.Placeholders
	d.Weekdays = []int{1, 2, 3, 4, 5, 6, 0}
	d.Windows = []windowView{{"email", "Email send window", d.Form.Email}, {"sms", "SMS send window", d.Form.SMS}}
	d.DayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	if d.Form.Texts == nil {
		d.Form.Texts = map[string]dispatch.Texts{}
	}
	errMsg := ""
	if len(d.Problems) > 0 {
		errMsg = rc.t(s, "The rule was not saved: fix what is listed below.")
	}
	s.render(w, r, rc, status, "rule", &view{Title: rc.t(s, "Invitation rule: %s", d.Step.Name), Flash: flash, Error: errMsg, Data: d})
}

func (s *Server) ruleSave(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	d, rule, probs, ok := s.ruleRequest(w, r, rc)
	if !ok {
		return
	}
	f := d.Form
	if len(probs) == 0 && f.SurveyID != "" {
		if _, err := s.Surveys.Get(r.Context(), rc.tenant.ID, f.SurveyID); err != nil {
			probs = append(probs, rc.t(s, "Choose one of your surveys."))
		}
	}
	if len(probs) == 0 {
		_, err := s.Dispatch.SaveRule(r.Context(), rc.actor(), rc.tenant.ID, rule)
		switch {
		case errors.Is(err, dispatch.ErrInvalidRule):
			probs = s.ruleProblems(rc, err)
		case err != nil:
			s.fail(w, r, err)
			return
		}
	}
	if len(probs) > 0 {
		d.Problems = probs
		s.renderRule(w, r, rc, http.StatusUnprocessableEntity, "", d)
		return
	}
	d.Saved = true
	s.renderRule(w, r, rc, http.StatusOK, rc.t(s, "Rule saved."), d)
}

// ruleRequest reads the rule form posted for a step and lists what is
// wrong with it, in the user's language: what the form shows itself, then
// what validating the rule finds; false when the step is not the tenant's
// (answered).
func (s *Server) ruleRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx) (ruleData, dispatch.Rule, []string, bool) {
	st, jname, err := s.stepOf(r, rc)
	if err != nil {
		s.fail(w, r, err)
		return ruleData{}, dispatch.Rule{}, nil, false
	}
	f := ruleFormFrom(r)
	rule, probs := s.ruleOf(rc, st.ID, f)
	if err := rule.Validate(); err != nil {
		probs = append(probs, s.ruleProblems(rc, err)...)
	}
	return ruleData{Step: st, Journey: jname, Form: f}, rule, probs, true
}

// ruleProblems lists the problems of a rule's validation error in the
// user's language: each message, and the window or template message nested
// in it, is translated; values (language codes, placeholder names, hours,
// lines and columns) stay as they are. An error that holds no
// dispatch.Problem is split into its English lines.
func (s *Server) ruleProblems(rc *reqCtx, err error) []string {
	var out []string
	tr := func(format string, args ...any) string { return rc.t(s, format, args...) }
	for _, p := range dispatch.Problems(err) {
		out = append(out, p.Translate(tr))
	}
	if len(out) > 0 {
		return out
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		line = strings.TrimPrefix(line, dispatch.ErrInvalidRule.Error()+": ")
		if line != "" {
			out = append(out, line)
		}
	}
	return out
}

func (s *Server) rulePreview(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	d, rule, probs, ok := s.ruleRequest(w, r, rc)
	if !ok {
		return
	}
	f := d.Form
	if !db.ValidID(f.PreviewContact) {
		probs = append(probs, rc.t(s, "Give the id of one of your contacts (see the Contacts page)."))
	}
	if len(probs) > 0 {
		d.Problems = probs
		s.renderRule(w, r, rc, http.StatusUnprocessableEntity, "", d)
		return
	}
	msg, err := s.Dispatch.Preview(r.Context(), rc.actor(), rc.tenant.ID, rule, f.PreviewContact)
	if errors.Is(err, db.ErrNotFound) {
		d.Problems = []string{rc.t(s, "No contact has this id.")}
		s.renderRule(w, r, rc, http.StatusUnprocessableEntity, "", d)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Preview = previewOf(msg)
	s.renderRule(w, r, rc, http.StatusOK, "", d)
}

func (s *Server) ruleTest(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	d, rule, probs, ok := s.ruleRequest(w, r, rc)
	if !ok {
		return
	}
	f := d.Form
	if a, err := mail.ParseAddress(f.TestAddress); err != nil || a.Address != f.TestAddress {
		probs = append(probs, rc.t(s, "Give the email address the test goes to, such as you@example.com."))
	}
	if len(probs) > 0 {
		d.Problems = probs
		s.renderRule(w, r, rc, http.StatusUnprocessableEntity, "", d)
		return
	}
	where, err := s.Dispatch.TestSend(r.Context(), rc.actor(), rc.tenant.ID, rule, f.TestAddress)
	if err != nil {
		d.Problems = []string{rc.t(s, "The test message could not be sent:") + " " + err.Error()}
		s.renderRule(w, r, rc, http.StatusBadGateway, "", d)
		return
	}
	msg := rc.t(s, "Test message sent.")
	if where == "outbox" {
		msg = rc.t(s, "No relay is configured: the test message is in the outbox.")
	}
	s.renderRule(w, r, rc, http.StatusOK, msg, d)
}

// previewOf shows a rendered message: its main headers, text and HTML
// parts, or the SMS with its segments.
func previewOf(m dispatch.Message) *messagePreview {
	p := &messagePreview{Channel: m.Channel}
	if m.Channel == dispatch.SMS {
		p.To, p.From, p.SMSText = m.SMS.To, m.SMS.From, m.SMS.Text
		p.Segments, p.Units, p.Encoding = m.Info.Segments, m.Info.Units, m.Info.Encoding
		if m.Cost.Known {
			p.Cost = fmt.Sprintf("%.3f EUR (%s)", m.Cost.Total, m.Cost.Country)
		}
		return p
	}
	fillEmailPreview(p, m.Raw)
	return p
}

func fillEmailPreview(p *messagePreview, raw []byte) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		p.Text = string(raw)
		return
	}
	dec := new(mime.WordDecoder)
	for _, h := range []string{"From", "To", "Reply-To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post", "DKIM-Signature"} {
		if v := msg.Header.Get(h); v != "" {
			if d, err := dec.DecodeHeader(v); err == nil {
				v = d
			}
			p.Headers = append(p.Headers, [2]string{h, v})
			switch h {
			case "From":
				p.From = v
			case "To":
				p.To = v
			case "Subject":
				p.Subject = v
			}
		}
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, _ := io.ReadAll(msg.Body)
		p.Text = string(b)
		return
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(io.LimitReader(part, 1<<20))
		if strings.HasPrefix(part.Header.Get("Content-Type"), "text/html") {
			p.HTML = string(b)
		} else {
			p.Text = string(b)
		}
	}
}

// messagingForm is the messaging settings form.
type messagingForm struct {
	FromName, FromEmail, ReplyTo string
	SMTPSet                      bool
	DKIMDomain, DKIMSelector     string
	DKIMSet                      bool
	DNSName, DNSValue            string
	SMSProvider                  string
	SMSSet                       bool
	SMSSender                    string
	LinkBaseURL                  string
	DefaultRelay                 bool
	callbacks                    smsCallbackSource // the SMS callback URLs (sms_hooks.go)
}

func (s *Server) messagingFormOf(st dispatch.Settings) messagingForm {
	f := messagingForm{FromName: st.FromName, FromEmail: st.FromEmail, ReplyTo: st.ReplyTo, SMTPSet: st.SMTPURL != "",
		DKIMDomain: st.DKIMDomain, DKIMSelector: st.DKIMSelector, DKIMSet: len(st.DKIMKey) > 0, SMSProvider: st.SMSProvider,
		SMSSet: len(st.SMSConfig) > 0, SMSSender: st.SMSSender, LinkBaseURL: st.LinkBaseURL,
		DefaultRelay: s.Config.SMTPURL != "", callbacks: s.callbackSource(st)}
	if f.DKIMSet && st.DKIMDomain != "" && st.DKIMSelector != "" {
		if signer, err := email.ParseDKIMKey(st.DKIMKey); err == nil {
			k := email.DKIMKey{Domain: st.DKIMDomain, Selector: st.DKIMSelector, Signer: signer}
			f.DNSName, f.DNSValue, _ = k.DNSRecord()
		}
	}
	return f
}

func (s *Server) messagingPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	st, err := s.Dispatch.Settings(r.Context(), rc.tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, rc, http.StatusOK, "messaging", &view{Title: rc.t(s, "Messaging"), Data: s.messagingFormOf(st)})
}

func (s *Server) messagingSave(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	u := dispatch.SettingsUpdate{FromName: r.PostFormValue("from_name"), FromEmail: r.PostFormValue("from_email"),
		ReplyTo: r.PostFormValue("reply_to"), DKIMDomain: r.PostFormValue("dkim_domain"), DKIMSelector: r.PostFormValue("dkim_selector"),
		GenerateDKIM: r.PostFormValue("dkim_generate") != "", DKIMKind: email.KeyKind(r.PostFormValue("dkim_kind")),
		SMSSender: r.PostFormValue("sms_sender"), LinkBaseURL: r.PostFormValue("link_base_url")}
	if v := r.PostFormValue("smtp_url"); v != "" || r.PostFormValue("smtp_clear") != "" {
		u.SMTPURL = &v
	}
	if v := r.PostFormValue("sms_config"); v != "" || r.PostFormValue("sms_clear") != "" {
		u.SMSConfig = &v
	}
	st, err := s.Dispatch.SaveSettings(r.Context(), rc.actor(), rc.tenant.ID, u)
	if errors.Is(err, dispatch.ErrInvalidSettings) {
		cur, _ := s.Dispatch.Settings(r.Context(), rc.tenant.ID)
		f := s.messagingFormOf(cur)
		f.FromName, f.FromEmail, f.ReplyTo, f.DKIMDomain, f.DKIMSelector = u.FromName, u.FromEmail, u.ReplyTo, u.DKIMDomain, u.DKIMSelector
		f.SMSSender, f.LinkBaseURL = u.SMSSender, u.LinkBaseURL
		var lines []string
		for _, l := range strings.Split(err.Error(), "\n") {
			lines = append(lines, strings.TrimPrefix(l, dispatch.ErrInvalidSettings.Error()+": "))
		}
		s.render(w, r, rc, http.StatusUnprocessableEntity, "messaging", &view{Title: rc.t(s, "Messaging"),
			Error: rc.t(s, "The settings were not saved:") + " " + strings.Join(lines, " "), Data: f})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, rc, http.StatusOK, "messaging", &view{Title: rc.t(s, "Messaging"), Flash: rc.t(s, "Settings saved."), Data: s.messagingFormOf(st)})
}

type invitationsData struct {
	Since    string
	Counts   []statusCount
	Total    int
	Done     int
	Percent  int
	Rate     int
	Status   string
	Statuses []string
	List     []dispatch.Invitation
	Next     string
}

type statusCount struct {
	Status string
	N      int
}

// invitationsPage is the live view of sending: counts by status over the
// last day, the rate of the last minute and a progress bar, refreshed every
// five seconds while something is left to send.
func (s *Server) invitationsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	since := time.Now().Add(-24 * time.Hour)
	counts, err := s.Dispatch.Counts(ctx, rc.tenant.ID, since)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := invitationsData{Status: r.URL.Query().Get("status"), Statuses: dispatch.Statuses}
	if d.Status != "" && !slices.Contains(dispatch.Statuses, d.Status) {
		d.Status = ""
	}
	for _, st := range dispatch.Statuses {
		if n := counts[st]; n > 0 {
			d.Counts = append(d.Counts, statusCount{st, n})
		}
		d.Total += counts[st]
	}
	d.Done = d.Total - counts[dispatch.StatusScheduled] - counts[dispatch.StatusSending]
	if d.Total > 0 {
		d.Percent = d.Done * 100 / d.Total
	}
	if d.Rate, err = s.Dispatch.SentSince(ctx, rc.tenant.ID, time.Now().Add(-time.Minute)); err != nil {
		s.fail(w, r, err)
		return
	}
	before := r.URL.Query().Get("before")
	if before != "" && !db.ValidID(before) {
		before = ""
	}
	if d.List, err = s.Dispatch.List(ctx, rc.tenant.ID, d.Status, before, 50); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(d.List) == 50 {
		d.Next = d.List[49].ID
	}
	v := &view{Title: rc.t(s, "Invitations"), Data: d}
	if counts[dispatch.StatusScheduled]+counts[dispatch.StatusSending] > 0 && d.Rate > 0 {
		v.Refresh = 5
	}
	s.render(w, r, rc, http.StatusOK, "invitations", v)
}

func (s *Server) outboxPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	before := r.URL.Query().Get("before")
	if before != "" && !db.ValidID(before) {
		before = ""
	}
	list, err := s.Dispatch.Outbox(r.Context(), rc.tenant.ID, before, 50)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	next := ""
	if len(list) == 50 {
		next = list[49].ID
	}
	s.render(w, r, rc, http.StatusOK, "outbox", &view{Title: rc.t(s, "Outbox"), Data: map[string]any{
		"List": list, "Next": next, "Relay": s.Config.SMTPURL != "" && !s.Config.Demo}})
}

func (s *Server) outboxMessage(r *http.Request, rc *reqCtx) (dispatch.OutboxMessage, error) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		return dispatch.OutboxMessage{}, errNotFound
	}
	return s.Dispatch.OutboxMessage(r.Context(), rc.actor(), rc.tenant.ID, id)
}

func (s *Server) outboxMessagePage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	m, err := s.outboxMessage(r, rc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := &messagePreview{Channel: m.Channel}
	if m.Channel == dispatch.SMS {
		p.To, p.From, p.SMSText, p.Segments, p.Encoding = m.To, m.From, string(m.Raw), m.Segments, m.Encoding
	} else if !m.Erased {
		fillEmailPreview(p, m.Raw)
	}
	s.render(w, r, rc, http.StatusOK, "outbox_message", &view{Title: rc.t(s, "Outbox"), Data: map[string]any{
		"Message": m, "Preview": p, "Raw": string(m.Raw)}})
}

// outboxMessageHTML serves the HTML part of an outbox email for the
// sandboxed frame of its page: no script, no network, framed only by avis.
func (s *Server) outboxMessageHTML(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	m, err := s.outboxMessage(r, rc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := &messagePreview{}
	if m.Channel == dispatch.Email && !m.Erased {
		fillEmailPreview(p, m.Raw)
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	io.WriteString(w, p.HTML)
}

// unsubscribePage shows one button that unsubscribes the person the link
// was sent to. It sets no cookie.
func (s *Server) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if _, _, err := s.Dispatch.ByToken(r.Context(), token); err != nil {
		s.publicPage(w, r, http.StatusNotFound, "public_unsubscribe", publicOpts{Title: "Unsubscribe"}, map[string]any{"Unknown": true})
		return
	}
	s.publicPage(w, r, http.StatusOK, "public_unsubscribe", publicOpts{Title: "Unsubscribe"}, map[string]any{"Token": token})
}

// unsubscribePost is both the button of the page and the RFC 8058
// one-click POST that mail providers send (body
// "List-Unsubscribe=One-Click", no cookie, no CSRF token: the token in the
// URL is the credential). It answers 200 and takes effect at once.
func (s *Server) unsubscribePost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	_ = r.ParseForm()
	_, ch, err := s.Dispatch.Unsubscribe(r.Context(), r.PathValue("token"))
	if errors.Is(err, db.ErrNotFound) {
		s.publicPage(w, r, http.StatusNotFound, "public_unsubscribe", publicOpts{Title: "Unsubscribe"}, map[string]any{"Unknown": true})
		return
	}
	if err != nil {
		s.Log.Error("unsubscribe", "err", err)
		s.publicPage(w, r, http.StatusInternalServerError, "public_me_state", publicOpts{Title: "Something went wrong"}, map[string]any{"Failed": true})
		return
	}
	s.publicPage(w, r, http.StatusOK, "public_unsubscribe", publicOpts{Title: "Unsubscribe"}, map[string]any{"Done": true, "Channel": ch})
}
