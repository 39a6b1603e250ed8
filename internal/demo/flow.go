package demo

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"avis/internal/audit"
	"avis/internal/channel/email"
	"avis/internal/db"
	"avis/internal/dispatch"
	"avis/internal/journey"
	"avis/internal/survey"
)

// Flow is what SeedFlow made: a journey whose delivery step asks a survey.
type Flow struct {
	JourneyID, StepID, SurveyID, RuleID string
	// StepKey is the key events name ("delivery").
	StepKey string
}

// FlowOptions tune SeedFlow.
type FlowOptions struct {
	// Delay after the delivery event (0: at once, within the send window).
	Delay time.Duration
	// CapDays is the frequency cap (0: none).
	CapDays int
	// Reminders is the number of reminders (0: none).
	Reminders int
	// BodyPadding adds that many bytes of text to the French email body
	// (benchmarks send 8 KB messages).
	BodyPadding int
	// AnyHour opens the send windows every day, all day (tests and
	// benchmarks must not depend on the hour they run at).
	AnyHour bool
	// DKIM is the key type to make ("" for RSA-2048, "ed25519").
	DKIM email.KeyKind
	// FromEmail is the tenant's sender (default demo@boutique.example).
	FromEmail string
}

const surveyJSON = `{"avis_survey": 1, "name": "Après la livraison", "default_language": "fr", "languages": ["fr", "en"],
 "pages": [
  {"questions": [
   {"id": "nps", "type": "nps", "required": true,
    "text": {"fr": "Recommanderiez-vous notre boutique à un proche ?", "en": "Would you recommend our shop to a friend?"},
    "low_label": {"fr": "Pas du tout", "en": "Not at all"}, "high_label": {"fr": "Certainement", "en": "Certainly"}},
   {"id": "why", "type": "longtext",
    "text": {"fr": "Qu'est-ce qui n'a pas été ?", "en": "What went wrong?"},
    "condition": {"question": "nps", "op": "le", "value": 6}}
  ]},
  {"questions": [
   {"id": "delivery", "type": "csat", "required": true,
    "text": {"fr": "Êtes-vous satisfait de la livraison ?", "en": "Are you satisfied with the delivery?"}},
   {"id": "comment", "type": "longtext", "text": {"fr": "Un commentaire ?", "en": "Any comment?"}}
  ]}
 ]}`

// SeedFlow creates for a tenant what a new user would make in the admin
// UI: the journey "Commande en ligne" (order → delivery → after-sales), a
// two-page survey, an email invitation rule on the delivery step, and the
// sender identity with a DKIM key.
func SeedFlow(ctx context.Context, journeys *journey.Store, surveys *survey.Store, d *dispatch.Store, tenantID string, o FlowOptions) (Flow, error) {
	actor := audit.System("demo")
	j, err := journeys.CreateJourney(ctx, actor, tenantID, "Commande en ligne", []journey.StepInput{
		{Key: "order", Name: "Commande"}, {Key: "delivery", Name: "Livraison"}, {Key: "after-sales", Name: "Service après-vente"}})
	if err != nil {
		return Flow{}, fmt.Errorf("demo flow: %w", err)
	}
	def, err := survey.Parse([]byte(surveyJSON))
	if err != nil {
		return Flow{}, fmt.Errorf("demo flow: %w", err)
	}
	sv, err := surveys.Create(ctx, actor, tenantID, def)
	if err != nil {
		return Flow{}, fmt.Errorf("demo flow: %w", err)
	}
	if err := surveys.SetStatus(ctx, actor, tenantID, sv.ID, survey.StatusActive); err != nil {
		return Flow{}, fmt.Errorf("demo flow: %w", err)
	}
	step := j.Steps[1]
	r := dispatch.DefaultRule(step.ID, sv.ID)
	r.Delay, r.CapDays, r.Reminders = o.Delay, o.CapDays, o.Reminders
	if o.AnyHour {
		all := [7]bool{true, true, true, true, true, true, true}
		r.EmailWindow = dispatch.Window{Days: all, From: 0, To: 1440}
		r.SMSWindow = r.EmailWindow
	}
	if o.BodyPadding > 0 {
		t := dispatch.DefaultTexts["fr"]
		t.Body += "\n\n" + padding(o.BodyPadding)
		r.Texts = map[string]dispatch.Texts{"fr": t}
	}
	rule, err := d.SaveRule(ctx, actor, tenantID, r)
	if err != nil {
		return Flow{}, fmt.Errorf("demo flow: %w", err)
	}
	from := o.FromEmail
	if from == "" {
		from = "demo@boutique.example"
	}
	domain := from[strings.LastIndexByte(from, '@')+1:]
	if _, err := d.SaveSettings(ctx, actor, tenantID, dispatch.SettingsUpdate{FromEmail: from, ReplyTo: "service@" + domain,
		DKIMDomain: domain, DKIMSelector: "avis", GenerateDKIM: true, DKIMKind: o.DKIM}); err != nil {
		return Flow{}, fmt.Errorf("demo flow: %w", err)
	}
	return Flow{JourneyID: j.ID, StepID: step.ID, StepKey: step.Key, SurveyID: sv.ID, RuleID: rule.ID}, nil
}

// padding is n bytes of plain French prose.
func padding(n int) string {
	const line = "Nos livreurs parcourent chaque jour la région pour vous apporter vos commandes dans les meilleures conditions. "
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(line)
	}
	return b.String()[:n]
}

// Events records a delivery event for each contact at `at` and schedules
// the invitations it calls for, in batches of 500.
func Events(ctx context.Context, d *db.DB, journeys *journey.Store, disp *dispatch.Store, tenantID, stepKey string, contactIDs []string, at time.Time) error {
	for len(contactIDs) > 0 {
		n := min(len(contactIDs), 500)
		batch := contactIDs[:n]
		contactIDs = contactIDs[n:]
		err := d.Tx(ctx, func(tx *sql.Tx) error {
			tps := make([]journey.Touchpoint, 0, len(batch))
			for _, id := range batch {
				tp, _, err := journeys.Record(ctx, tx, tenantID, journey.Event{ContactID: id, StepKey: stepKey, OccurredAt: at,
					SourceKind: "demo", SourceID: "demo"})
				if err != nil {
					return err
				}
				tps = append(tps, tp)
			}
			_, err := disp.Schedule(ctx, tx, tenantID, tps)
			return err
		})
		if err != nil {
			return fmt.Errorf("demo events: %w", err)
		}
	}
	return nil
}
