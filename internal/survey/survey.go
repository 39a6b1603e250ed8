// Package survey holds survey definitions (pages of typed questions with
// texts in several languages and display conditions), their JSON exchange
// format, the validation of a respondent's answers, scoring (NPS, CSAT, CES)
// and the store of surveys and their immutable versions.
//
// A definition is plain data: Parse reads it from the JSON format and checks
// every limit, Export writes it back. Answers are checked against a
// definition by ValidatePage and Validate; Visible and NextPage follow the
// display conditions. The Store keeps each change of a definition as a new,
// immutable version, so that every response can later name the exact
// questions it answered.
package survey

import "slices"

// Languages are the languages a survey may offer, as ISO 639-1 codes.
var Languages = []string{"fr", "en", "de", "es", "it", "pt"}

// KnownLanguage reports whether a survey may offer lang.
func KnownLanguage(lang string) bool { return slices.Contains(Languages, lang) }

// Type is the type of a question.
type Type string

// Question types.
const (
	// TypeNPS is the Net Promoter Score question: 0 to 10.
	TypeNPS Type = "nps"
	// TypeCSAT is customer satisfaction: 1 to 5.
	TypeCSAT Type = "csat"
	// TypeCES is customer effort, on the 7-point agreement scale of
	// "the company made it easy for me to handle my issue": 1 to 7.
	TypeCES Type = "ces"
	// TypeRating is a numeric scale with bounds the survey chooses, within
	// 0 to 10.
	TypeRating Type = "rating"
	// TypeSingle is one choice among several.
	TypeSingle Type = "single"
	// TypeMulti is any number of choices among several, optionally bounded.
	TypeMulti Type = "multi"
	// TypeYesNo is a yes or no question.
	TypeYesNo Type = "yesno"
	// TypeText is a short free text, at most MaxShortText characters.
	TypeText Type = "text"
	// TypeLongText is a long free text (a comment), at most MaxLongText
	// characters.
	TypeLongText Type = "longtext"
)

// Types lists every question type, in the order the documentation gives.
var Types = []Type{TypeNPS, TypeCSAT, TypeCES, TypeRating, TypeSingle, TypeMulti, TypeYesNo, TypeText, TypeLongText}

// Known reports whether t is a question type avis knows.
func (t Type) Known() bool { return slices.Contains(Types, t) }

// Scale reports whether answers to t are numbers on a scale.
func (t Type) Scale() bool {
	return t == TypeNPS || t == TypeCSAT || t == TypeCES || t == TypeRating
}

// Choice reports whether answers to t are choice keys (yes and no count as
// the keys of a yesno question in conditions).
func (t Type) Choice() bool { return t == TypeSingle || t == TypeMulti || t == TypeYesNo }

// FreeText reports whether answers to t are free text (personal data: the
// response store seals them).
func (t Type) FreeText() bool { return t == TypeText || t == TypeLongText }

// FixedScale returns the bounds of the fixed scale of an NPS, CSAT or CES
// question; ok is false for other types (a rating question's bounds are in
// its definition).
func (t Type) FixedScale() (lo, hi int, ok bool) {
	switch t {
	case TypeNPS:
		return 0, 10, true
	case TypeCSAT:
		return 1, 5, true
	case TypeCES:
		return 1, 7, true
	}
	return 0, 0, false
}

// Limits of a definition and of answers.
const (
	// MaxDocument is the largest JSON document Parse reads, in bytes.
	MaxDocument = 1 << 20
	// MaxPages is the most pages a survey has.
	MaxPages = 20
	// MaxQuestions is the most questions a survey has, all pages together.
	MaxQuestions = 100
	// MaxTextLen is the longest question, help, label or choice text, in
	// characters.
	MaxTextLen = 2000
	// MaxNameLen is the longest survey name, in characters.
	MaxNameLen = 200
	// MinChoices and MaxChoices bound the number of choices of a single or
	// multi question.
	MinChoices, MaxChoices = 2, 50
	// MaxShortText is the longest answer to a text question, in characters.
	MaxShortText = 500
	// MaxLongText is the longest answer to a longtext question, in
	// characters.
	MaxLongText = 5000
	// RatingMin and RatingMax bound the scale of a rating question.
	RatingMin, RatingMax = 0, 10
)

// Yes and No are the keys of the two answers of a yesno question, as
// conditions name them.
const (
	Yes = "yes"
	No  = "no"
)
