package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"avis/internal/db"
	"avis/internal/journey"
)

// maxNewSteps is how many steps the form to create a journey offers.
const maxNewSteps = 5

type journeyForm struct {
	Name  string
	Steps []journey.StepInput
}

type journeysData struct {
	Journeys []journey.Journey
	Form     journeyForm
	// StepFor is the journey whose add-a-step form failed, with what was typed.
	StepFor  string
	StepForm journey.StepInput
}

func emptyJourneyForm() journeyForm {
	return journeyForm{Steps: make([]journey.StepInput, maxNewSteps)}
}

func (s *Server) journeysPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderJourneys(w, r, rc, http.StatusOK, "", "", journeysData{Form: emptyJourneyForm()})
}

func (s *Server) renderJourneys(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, flash, errMsg string, d journeysData) {
	js, err := s.Journeys.Journeys(r.Context(), rc.tenant.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Journeys = js
	s.render(w, r, rc, status, "journeys", &view{Title: rc.t(s, "Journeys"), Flash: flash, Error: errMsg, Data: d})
}

// journeyMessage turns the journey errors a user can act on into a message
// in their language; other errors give "".
func (s *Server) journeyMessage(rc *reqCtx, err error, key string) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, journey.ErrInvalidKey):
		return rc.t(s, "A step key is 1 to 64 lower-case letters, digits, '_', '-' or '.', starting with a letter or a digit (for example: delivery).")
	case errors.Is(err, journey.ErrInvalidName):
		return rc.t(s, "Give a name of 1 to 100 characters.")
	case errors.Is(err, db.ErrConflict):
		return rc.t(s, "The step key %q is already used in this account: choose another one.", key)
	}
	return ""
}

// conflictKey guesses which key of a failed creation was taken: the first
// one already used by a journey of the tenant, or repeated in the form.
func conflictKey(js []journey.Journey, steps []journey.StepInput) string {
	used := map[string]bool{}
	for _, j := range js {
		for _, st := range j.Steps {
			used[st.Key] = true
		}
	}
	for _, st := range steps {
		if used[st.Key] {
			return st.Key
		}
		used[st.Key] = true
	}
	return ""
}

func (s *Server) journeyCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	f := journeyForm{Name: strings.TrimSpace(r.PostFormValue("name"))}
	var steps []journey.StepInput
	for i := range maxNewSteps {
		in := journey.StepInput{Key: strings.TrimSpace(r.PostFormValue("key_" + strconv.Itoa(i))), Name: strings.TrimSpace(r.PostFormValue("step_" + strconv.Itoa(i)))}
		f.Steps = append(f.Steps, in)
		if in.Key == "" && in.Name == "" {
			continue
		}
		if in.Name == "" {
			in.Name = in.Key
		}
		steps = append(steps, in)
	}
	_, err := s.Journeys.CreateJourney(r.Context(), rc.actor(), rc.tenant.ID, f.Name, steps)
	if err != nil {
		key := ""
		if errors.Is(err, db.ErrConflict) {
			js, _ := s.Journeys.Journeys(r.Context(), rc.tenant.ID)
			key = conflictKey(js, steps)
		}
		if msg := s.journeyMessage(rc, err, key); msg != "" {
			s.renderJourneys(w, r, rc, http.StatusUnprocessableEntity, "", msg, journeysData{Form: f})
			return
		}
		s.fail(w, r, err)
		return
	}
	s.renderJourneys(w, r, rc, http.StatusOK, rc.t(s, "Journey created."), "", journeysData{Form: emptyJourneyForm()})
}

func (s *Server) journeyAddStep(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id := r.PathValue("id")
	if !db.ValidID(id) {
		s.fail(w, r, errNotFound)
		return
	}
	in := journey.StepInput{Key: strings.TrimSpace(r.PostFormValue("key")), Name: strings.TrimSpace(r.PostFormValue("name"))}
	if in.Name == "" {
		in.Name = in.Key
	}
	_, err := s.Journeys.AddStep(r.Context(), rc.actor(), rc.tenant.ID, id, in)
	switch {
	case errors.Is(err, db.ErrNotFound):
		s.fail(w, r, errNotFound)
	case s.journeyMessage(rc, err, in.Key) != "":
		s.renderJourneys(w, r, rc, http.StatusUnprocessableEntity, "", s.journeyMessage(rc, err, in.Key),
			journeysData{Form: emptyJourneyForm(), StepFor: id, StepForm: in})
	case err != nil:
		s.fail(w, r, err)
	default:
		s.renderJourneys(w, r, rc, http.StatusOK, rc.t(s, "Step added."), "", journeysData{Form: emptyJourneyForm()})
	}
}

// Inc adds one: a position counted from 0 as people count it, from 1.
func (v *view) Inc(i int) int { return i + 1 }
