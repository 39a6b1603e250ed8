package survey_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"avis/internal/survey"
)

func choices(keys ...string) survey.Answer { return survey.Answer{Choices: keys} }
func text(s string) survey.Answer          { return survey.Answer{Text: s} }

func TestVisible(t *testing.T) {
	d := example(t)
	cases := []struct {
		name    string
		answers survey.Answers
		id      string
		want    bool
	}{
		{"no condition", nil, "nps", true},
		{"unknown question", nil, "nope", false},
		{"le: unanswered", nil, "what_went_wrong", false},
		{"le: detractor", survey.Answers{"nps": survey.Int(6)}, "what_went_wrong", true},
		{"le: zero", survey.Answers{"nps": survey.Int(0)}, "what_went_wrong", true},
		{"le: passive", survey.Answers{"nps": survey.Int(7)}, "what_went_wrong", false},
		{"lt: 6", survey.Answers{"nps": survey.Int(6)}, "contact_me", true},
		{"lt: 7", survey.Answers{"nps": survey.Int(7)}, "contact_me", false},
		{"any_of: store", survey.Answers{"channel": choices("store")}, "liked", true},
		{"any_of: web", survey.Answers{"channel": choices("web")}, "liked", false},
		{"any_of: unanswered", survey.Answers{}, "liked", false},
		{"is yes", survey.Answers{"nps": survey.Int(3), "contact_me": survey.YesNo(true)}, "best_time", true},
		{"is yes: no", survey.Answers{"nps": survey.Int(3), "contact_me": survey.YesNo(false)}, "best_time", false},
		// contact_me is hidden for a promoter: its stale answer is ignored,
		// so best_time is hidden too.
		{"chain through a hidden question", survey.Answers{"nps": survey.Int(10), "contact_me": survey.YesNo(true)}, "best_time", false},
		{"wrong kind of answer counts as unanswered", survey.Answers{"nps": text("6")}, "what_went_wrong", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := survey.Visible(d, c.answers, c.id); got != c.want {
				t.Errorf("Visible(%s) = %v, want %v", c.id, got, c.want)
			}
		})
	}
}

// opsDef is a survey with one question of each answer kind and one
// conditional question per operator test.
func opsDef(t *testing.T, cond string) *survey.Definition {
	t.Helper()
	d, err := survey.Parse([]byte(doc(
		`{"id": "n", "type": "rating", "min": 1, "max": 5, "text": {"fr": "?"}}`,
		`{"id": "s", "type": "single", "text": {"fr": "?"}, "choices": [{"key": "a", "text": {"fr": "A"}}, {"key": "b", "text": {"fr": "B"}}, {"key": "c", "text": {"fr": "C"}}]}`,
		`{"id": "m", "type": "multi", "text": {"fr": "?"}, "choices": [{"key": "a", "text": {"fr": "A"}}, {"key": "b", "text": {"fr": "B"}}, {"key": "c", "text": {"fr": "C"}}]}`,
		`{"id": "y", "type": "yesno", "text": {"fr": "?"}}`,
		`{"id": "t", "type": "text", "text": {"fr": "?"}}`,
		`{"id": "x", "type": "text", "text": {"fr": "?"}, "condition": `+cond+`}`,
	)))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConditionOperators(t *testing.T) {
	cases := []struct {
		cond    string
		answers survey.Answers
		want    bool
	}{
		{`{"question": "n", "op": "lt", "value": 3}`, survey.Answers{"n": survey.Int(2)}, true},
		{`{"question": "n", "op": "lt", "value": 3}`, survey.Answers{"n": survey.Int(3)}, false},
		{`{"question": "n", "op": "le", "value": 3}`, survey.Answers{"n": survey.Int(3)}, true},
		{`{"question": "n", "op": "eq", "value": 3}`, survey.Answers{"n": survey.Int(3)}, true},
		{`{"question": "n", "op": "eq", "value": 3}`, survey.Answers{"n": survey.Int(4)}, false},
		{`{"question": "n", "op": "ne", "value": 3}`, survey.Answers{"n": survey.Int(4)}, true},
		{`{"question": "n", "op": "ne", "value": 3}`, survey.Answers{}, false},
		{`{"question": "n", "op": "ge", "value": 3}`, survey.Answers{"n": survey.Int(3)}, true},
		{`{"question": "n", "op": "gt", "value": 3}`, survey.Answers{"n": survey.Int(3)}, false},
		{`{"question": "n", "op": "gt", "value": 3}`, survey.Answers{"n": survey.Int(5)}, true},
		{`{"question": "s", "op": "is", "value": "b"}`, survey.Answers{"s": choices("b")}, true},
		{`{"question": "s", "op": "is", "value": "b"}`, survey.Answers{"s": choices("a")}, false},
		{`{"question": "s", "op": "is_not", "value": "b"}`, survey.Answers{"s": choices("a")}, true},
		{`{"question": "s", "op": "is_not", "value": "b"}`, survey.Answers{}, false},
		{`{"question": "m", "op": "is", "value": "b"}`, survey.Answers{"m": choices("a", "b")}, true},
		{`{"question": "m", "op": "is_not", "value": "b"}`, survey.Answers{"m": choices("a", "b")}, false},
		{`{"question": "m", "op": "any_of", "values": ["b", "c"]}`, survey.Answers{"m": choices("c")}, true},
		{`{"question": "m", "op": "any_of", "values": ["b", "c"]}`, survey.Answers{"m": choices("a")}, false},
		{`{"question": "y", "op": "is", "value": "no"}`, survey.Answers{"y": survey.YesNo(false)}, true},
		{`{"question": "y", "op": "is_not", "value": "no"}`, survey.Answers{"y": survey.YesNo(true)}, true},
		{`{"question": "t", "op": "answered"}`, survey.Answers{"t": text("hello")}, true},
		{`{"question": "t", "op": "answered"}`, survey.Answers{"t": text("  ")}, false},
		{`{"question": "t", "op": "not_answered"}`, survey.Answers{}, true},
		{`{"question": "t", "op": "not_answered"}`, survey.Answers{"t": text("hello")}, false},
	}
	for _, c := range cases {
		name := c.cond
		for k, v := range c.answers {
			b, _ := json.Marshal(v)
			name += " " + k + "=" + string(b)
		}
		t.Run(name, func(t *testing.T) {
			if got := survey.Visible(opsDef(t, c.cond), c.answers, "x"); got != c.want {
				t.Errorf("Visible = %v, want %v", got, c.want)
			}
		})
	}
}

func TestValidatePage(t *testing.T) {
	d := example(t)
	cases := []struct {
		name      string
		page      int
		answers   survey.Answers
		wantErrs  map[string]error
		wantAfter []string // question ids left in answers
	}{
		{"required nps missing", 0, survey.Answers{}, map[string]error{"nps": survey.ErrRequired}, nil},
		{"promoter: comment hidden and dropped", 0, survey.Answers{"nps": survey.Int(9), "what_went_wrong": text("late")}, nil, []string{"nps"}},
		{"detractor: comment required", 0, survey.Answers{"nps": survey.Int(2)}, map[string]error{"what_went_wrong": survey.ErrRequired}, []string{"nps"}},
		{"detractor: blank comment is no answer", 0, survey.Answers{"nps": survey.Int(2), "what_went_wrong": text(" \n ")}, map[string]error{"what_went_wrong": survey.ErrRequired}, []string{"nps"}},
		{"nps off the scale", 0, survey.Answers{"nps": survey.Int(11)}, map[string]error{"nps": survey.ErrOutOfRange}, []string{"nps"}},
		// Conditions see answers as given, valid or not.
		{"nps negative", 0, survey.Answers{"nps": survey.Int(-1)}, map[string]error{"nps": survey.ErrOutOfRange, "what_went_wrong": survey.ErrRequired}, []string{"nps"}},
		{"nps as text", 0, survey.Answers{"nps": text("9")}, map[string]error{"nps": survey.ErrWrongKind}, []string{"nps"}},
		{"comment too long", 0, survey.Answers{"nps": survey.Int(0), "what_went_wrong": text(strings.Repeat("é", 5001))}, map[string]error{"what_went_wrong": survey.ErrTooLong}, []string{"nps", "what_went_wrong"}},
		{"comment at the limit", 0, survey.Answers{"nps": survey.Int(0), "what_went_wrong": text(strings.Repeat("é", 5000))}, nil, []string{"nps", "what_went_wrong"}},
		{"comment with NUL", 0, survey.Answers{"nps": survey.Int(0), "what_went_wrong": text("a\x00b")}, map[string]error{"what_went_wrong": survey.ErrInvalidText}, []string{"nps", "what_went_wrong"}},
		{"comment with bad UTF-8", 0, survey.Answers{"nps": survey.Int(0), "what_went_wrong": text("a\xffb")}, map[string]error{"what_went_wrong": survey.ErrInvalidText}, []string{"nps", "what_went_wrong"}},
		{"other pages untouched", 0, survey.Answers{"nps": survey.Int(9), "channel": choices("zzz")}, nil, []string{"channel", "nps"}},
		{"page 1 fine", 1, survey.Answers{"satisfaction": survey.Int(5), "effort": survey.Int(7), "packaging": survey.Int(0), "channel": choices("store"), "liked": choices("price", "staff")}, nil,
			[]string{"channel", "effort", "liked", "packaging", "satisfaction"}},
		{"rating off its own scale", 1, survey.Answers{"packaging": survey.Int(6), "channel": choices("web")}, map[string]error{"packaging": survey.ErrOutOfRange}, []string{"channel", "packaging"}},
		{"csat zero", 1, survey.Answers{"satisfaction": survey.Int(0), "channel": choices("web")}, map[string]error{"satisfaction": survey.ErrOutOfRange}, []string{"channel", "satisfaction"}},
		{"ces 8", 1, survey.Answers{"effort": survey.Int(8), "channel": choices("web")}, map[string]error{"effort": survey.ErrOutOfRange}, []string{"channel", "effort"}},
		{"single unknown key", 1, survey.Answers{"channel": choices("mail")}, map[string]error{"channel": survey.ErrUnknownChoice}, []string{"channel"}},
		{"single two keys", 1, survey.Answers{"channel": choices("web", "store")}, map[string]error{"channel": survey.ErrOneChoice}, []string{"channel"}},
		{"single empty choices", 1, survey.Answers{"channel": choices()}, map[string]error{"channel": survey.ErrRequired}, nil},
		{"multi too many", 1, survey.Answers{"channel": choices("phone"), "liked": choices("price", "speed", "staff")}, map[string]error{"liked": survey.ErrTooManyChoices}, []string{"channel", "liked"}},
		{"multi twice the same", 1, survey.Answers{"channel": choices("phone"), "liked": choices("price", "price")}, map[string]error{"liked": survey.ErrDuplicateChoice}, []string{"channel", "liked"}},
		{"multi hidden for web orders", 1, survey.Answers{"channel": choices("web"), "liked": choices("price", "speed", "staff")}, nil, []string{"channel"}},
		{"yesno with a number", 2, survey.Answers{"nps": survey.Int(1), "contact_me": survey.Answer{Bool: new(bool), Number: new(int)}}, map[string]error{"contact_me": survey.ErrWrongKind}, []string{"contact_me", "nps"}},
		{"short text too long", 2, survey.Answers{"nps": survey.Int(1), "contact_me": survey.YesNo(true), "best_time": text(strings.Repeat("x", 501))}, map[string]error{"best_time": survey.ErrTooLong}, []string{"best_time", "contact_me", "nps"}},
		{"out of range page", 7, survey.Answers{"nps": survey.Int(99)}, nil, []string{"nps"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := survey.ValidatePage(d, c.page, c.answers)
			if len(got) != len(c.wantErrs) {
				t.Fatalf("errors = %v, want %v", got, c.wantErrs)
			}
			for id, want := range c.wantErrs {
				if !errors.Is(got[id], want) {
					t.Errorf("%s: error %v, want code %s", id, got[id], want.(*survey.AnswerError).Code)
				}
			}
			var left []string
			for id := range c.answers {
				left = append(left, id)
			}
			sortStrings(left)
			if !reflect.DeepEqual(left, c.wantAfter) {
				t.Errorf("answers left = %v, want %v", left, c.wantAfter)
			}
		})
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestMultiMinSelect(t *testing.T) {
	d := example(t)
	errs := survey.ValidatePage(d, 1, survey.Answers{"channel": choices("store"), "liked": choices()})
	if errs != nil {
		t.Fatalf("an optional multi left empty: %v", errs)
	}
	d.Pages[1].Questions[4].MinSelect = 2
	errs = survey.ValidatePage(d, 1, survey.Answers{"channel": choices("store"), "liked": choices("price")})
	var ae *survey.AnswerError
	if !errors.As(errs["liked"], &ae) || ae.Code != survey.CodeTooFewChoices || ae.Error() != "Choose at least 2 of the options." {
		t.Fatalf("too few: %v", errs)
	}
}

func TestValidateWholeSurvey(t *testing.T) {
	d := example(t)
	a := survey.Answers{
		"nps": survey.Int(4), "what_went_wrong": text("Late and damaged."),
		"channel": choices("web"), "liked": choices("price"), // hidden for web
		"contact_me": survey.YesNo(false), "best_time": text("evenings"), // hidden: contact_me is no
		"ghost": survey.Int(3), // no such question
	}
	if errs := survey.Validate(d, a); errs != nil {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{"channel", "contact_me", "nps", "what_went_wrong"}
	var got []string
	for id := range a {
		got = append(got, id)
	}
	sortStrings(got)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
	errs := survey.Validate(d, survey.Answers{})
	if len(errs) != 2 || !errors.Is(errs["nps"], survey.ErrRequired) || !errors.Is(errs["channel"], survey.ErrRequired) {
		t.Fatalf("empty answers: %v", errs)
	}
}

func TestNextPage(t *testing.T) {
	d := example(t)
	cases := []struct {
		name     string
		current  int
		answers  survey.Answers
		wantPage int
		wantOK   bool
	}{
		{"first page", -1, nil, 0, true},
		{"after page 0", 0, survey.Answers{"nps": survey.Int(10)}, 1, true},
		{"promoter skips the last page", 1, survey.Answers{"nps": survey.Int(10)}, 3, false},
		{"detractor sees the last page", 1, survey.Answers{"nps": survey.Int(3)}, 2, true},
		{"after the last page", 2, survey.Answers{"nps": survey.Int(3)}, 3, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, ok := survey.NextPage(d, c.current, c.answers)
			if p != c.wantPage || ok != c.wantOK {
				t.Errorf("NextPage = %d, %v; want %d, %v", p, ok, c.wantPage, c.wantOK)
			}
		})
	}
}

func TestAnswerErrors(t *testing.T) {
	e := &survey.AnswerError{Code: survey.CodeOutOfRange, Message: survey.MsgOutOfRange, Args: []any{0, 10}}
	if e.Error() != "Choose a value from 0 to 10." || !errors.Is(e, survey.ErrOutOfRange) || errors.Is(e, survey.ErrRequired) {
		t.Fatalf("AnswerError: %q", e.Error())
	}
	for _, m := range survey.Messages {
		if m == "" || !strings.HasSuffix(m, ".") || m[0] < 'A' || m[0] > 'Z' {
			t.Errorf("message %q is not a sentence", m)
		}
	}
}

func TestAnswerJSON(t *testing.T) {
	a := survey.Answers{"nps": survey.Int(0), "y": survey.YesNo(false), "m": choices("a", "b"), "t": text("ok")}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"m":{"choices":["a","b"]},"nps":{"number":0},"t":{"text":"ok"},"y":{"bool":false}}` {
		t.Fatalf("JSON = %s", b)
	}
	var back survey.Answers
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(a, back) {
		t.Fatalf("round trip: %v %+v", err, back)
	}
}

// FuzzValidate runs arbitrary answers through the example survey: no panic,
// and what Validate keeps passes Validate again.
func FuzzValidate(f *testing.F) {
	d := example(f)
	f.Add([]byte(`{"nps":{"number":3},"what_went_wrong":{"text":"x"},"channel":{"choices":["store"]},"liked":{"choices":["price","price"]}}`))
	f.Add([]byte(`{"nps":{"number":-99999999999},"contact_me":{"bool":true,"text":"a"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var a survey.Answers
		if json.Unmarshal(b, &a) != nil {
			return
		}
		if a == nil {
			a = survey.Answers{}
		}
		errs := survey.Validate(d, a)
		_ = survey.Scores(d, a)
		if errs == nil {
			if again := survey.Validate(d, a); again != nil {
				t.Fatalf("kept answers fail again: %v", again)
			}
		}
		for id, err := range errs {
			var ae *survey.AnswerError
			if !errors.As(err, &ae) || ae.Code == "" {
				t.Fatalf("%s: %T %v", id, err, err)
			}
		}
	})
}

// A definition that was never validated may hold conditions that point
// forwards or in a circle: they hide their question instead of looping.
func TestVisibleUnvalidatedCycle(t *testing.T) {
	d := &survey.Definition{DefaultLanguage: "fr", Languages: []string{"fr"}, Pages: []survey.Page{{Questions: []survey.Question{
		{ID: "a", Type: survey.TypeNPS, Condition: &survey.Condition{Question: "b", Op: survey.OpAnswered}},
		{ID: "b", Type: survey.TypeNPS, Condition: &survey.Condition{Question: "a", Op: survey.OpNotAnswered}},
		{ID: "c", Type: survey.TypeNPS, Condition: &survey.Condition{Question: "c", Op: survey.OpNotAnswered}},
	}}}}
	a := survey.Answers{"a": survey.Int(1), "b": survey.Int(2)}
	if survey.Visible(d, a, "a") || survey.Visible(d, a, "c") {
		t.Fatal("a question with a forward or self condition is shown")
	}
	if !survey.Visible(d, a, "b") { // a is hidden, so not answered
		t.Fatal("b should show: a is hidden")
	}
	if _, ok := survey.NextPage(d, -1, a); !ok {
		t.Fatal("NextPage found no page")
	}
}
