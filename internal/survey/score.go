package survey

// Category classes a score.
type Category string

// Score categories.
const (
	// Promoter, Passive and Detractor class NPS answers: 9–10, 7–8, 0–6.
	Promoter  Category = "promoter"
	Passive   Category = "passive"
	Detractor Category = "detractor"
	// Satisfied and NotSatisfied class CSAT answers: 4–5, 1–3.
	Satisfied    Category = "satisfied"
	NotSatisfied Category = "not_satisfied"
	// LowEffort, NeutralEffort and HighEffort class CES answers on the
	// 7-point agreement scale ("the company made it easy for me"): 5–7, 4,
	// 1–3.
	LowEffort     Category = "low_effort"
	NeutralEffort Category = "neutral_effort"
	HighEffort    Category = "high_effort"
)

// NPSCategory classes an NPS answer (0 to 10): promoter from 9, passive 7
// and 8, detractor up to 6.
func NPSCategory(v int) Category {
	switch {
	case v >= 9:
		return Promoter
	case v >= 7:
		return Passive
	}
	return Detractor
}

// CSATSatisfied reports whether a CSAT answer (1 to 5) counts as satisfied:
// 4 or 5.
func CSATSatisfied(v int) bool { return v >= 4 }

// CESEffort classes a CES answer (1 to 7, 7 = "strongly agree that it was
// easy"): low effort from 5, neutral at 4, high effort up to 3.
func CESEffort(v int) Category {
	switch {
	case v >= 5:
		return LowEffort
	case v == 4:
		return NeutralEffort
	}
	return HighEffort
}

// Score is the score of one answered scale question.
type Score struct {
	QuestionID string
	Type       Type
	// Value is the answer on the question's scale.
	Value int
	// Category classes Value for nps, csat and ces; empty for rating.
	Category Category
}

// Scores returns the scores of the visible, answered scale questions (nps,
// csat, ces, rating), in survey order. Answers off the scale are left out.
func Scores(def *Definition, answers Answers) []Score {
	e := newEvaluator(def, answers)
	var out []Score
	for _, q := range e.qs {
		if !q.Type.Scale() {
			continue
		}
		a := e.answer(q)
		if a == nil {
			continue
		}
		v := *a.Number
		if lo, hi, _ := q.Scale(); v < lo || v > hi {
			continue
		}
		s := Score{QuestionID: q.ID, Type: q.Type, Value: v}
		switch q.Type {
		case TypeNPS:
			s.Category = NPSCategory(v)
		case TypeCSAT:
			s.Category = NotSatisfied
			if CSATSatisfied(v) {
				s.Category = Satisfied
			}
		case TypeCES:
			s.Category = CESEffort(v)
		}
		out = append(out, s)
	}
	return out
}

// NPS returns the Net Promoter Score of a set of answers, from -100 to 100:
// the percentage of promoters minus the percentage of detractors. It is 0
// when there are no answers.
func NPS(promoters, passives, detractors int) float64 {
	total := promoters + passives + detractors
	if total <= 0 {
		return 0
	}
	return 100 * float64(promoters-detractors) / float64(total)
}

// CSAT returns the percentage of satisfied answers (0 to 100), 0 when there
// are no answers.
func CSAT(satisfied, total int) float64 {
	if total <= 0 {
		return 0
	}
	return 100 * float64(satisfied) / float64(total)
}
