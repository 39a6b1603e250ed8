package dispatch

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"avis/internal/db"
)

// TestProblemsTranslate: each problem of a rule keeps its English format and
// arguments, the frames of a window's and a template's problems included,
// so that a page can translate every part of it.
func TestProblemsTranslate(t *testing.T) {
	id := db.NewID()
	r := DefaultRule(id, id)
	r.SamplePercent = 0
	r.EmailWindow.From, r.EmailWindow.To = 20*60, 8*60
	r.Texts = map[string]Texts{"fr": {Subject: "Bonjour {{ prenom }}", SMS: "{{ if first_name }}"}}
	err := r.Validate()
	if !errors.Is(err, ErrInvalidRule) {
		t.Fatalf("Validate = %v, want ErrInvalidRule", err)
	}
	ps := Problems(err)
	if len(ps) != 4 {
		t.Fatalf("got %d problems, want 4: %v", len(ps), err)
	}
	var lines []string
	for _, p := range ps {
		if !errors.Is(p, ErrInvalidRule) {
			t.Errorf("%v does not wrap ErrInvalidRule", p)
		}
		lines = append(lines, p.Error())
	}
	if strings.Join(lines, "\n") != err.Error() {
		t.Errorf("problems\n%s\ndiffer from the error\n%s", strings.Join(lines, "\n"), err)
	}
	// A translator that marks what it translated: every format, nested
	// ones included, goes through it; arguments stay as they are.
	mark := func(format string, args ...any) string { return "[" + fmt.Sprintf(format, args...) + "]" }
	want := []string{
		"[email send window: [the window must open (20:00) before it closes (08:00)]]",
		"[the sampling rate is between 1 and 100 percent]",
		`[texts in fr: subject: [line 1, column 12: [unknown placeholder "prenom"; did you mean first_name?]]]`,
		`[texts in fr: SMS text: [line 1, column 1: ["if" is never closed; add {{ end }}]]]`,
	}
	for i, p := range ps {
		if got := p.Translate(mark); got != want[i] {
			t.Errorf("problem %d translated as %s, want %s", i, got, want[i])
		}
	}
	var wp *Problem
	if err := r.EmailWindow.Validate(); !errors.Is(err, ErrInvalidWindow) || !errors.As(err, &wp) || wp.Format != "the window must open (%s) before it closes (%s)" {
		t.Errorf("window Validate = %v, want a *Problem wrapping ErrInvalidWindow", err)
	}
}
