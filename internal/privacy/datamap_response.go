package privacy

// The response tables join the data map when the package starts, so that
// this file alone declares them.
func init() { Map = append(Map, responseMap()...) }

// responseMap declares the tables of responses, their answers, public
// survey links (internal/response) and the consent ledger (consent.go).
func responseMap() []Field {
	const (
		answer = "collecting customers' opinion about their experience"
		stats  = "measuring satisfaction (scores and choices, kept as anonymous statistics after erasure)"
		resume = "letting a person resume a survey from the same link without any cookie"
		public = "letting the tenant open a survey to anyone through a public link"
		proof  = "proving the consent a person gave, with the exact wording and notice shown (GDPR 7(1))"
	)
	var m []Field
	m = append(m, table("responses", LegitimateInterest, KeepCustomer3Y,
		col{"tenant_id", NotPersonal, answer}, col{"id", Pseudonymous, answer}, col{"survey_id", NotPersonal, answer},
		col{"survey_version", NotPersonal, "knowing the exact questions a response answered"},
		col{"invitation_id", Pseudonymous, "answering each invitation once"}, col{"contact_id", Pseudonymous, answer},
		col{"step_id", NotPersonal, stats}, col{"source", NotPersonal, stats}, col{"language", NotPersonal, answer},
		col{"notice_id", NotPersonal, "knowing which information notice the person was shown (GDPR 13, 14)"},
		col{"notice_hash", NotPersonal, "knowing which information notice the person was shown (GDPR 13, 14)"},
		col{"status", NotPersonal, answer}, col{"page", NotPersonal, resume},
		col{"resume_hash", Pseudonymous, resume},
		col{"started_at", NotPersonal, stats}, col{"updated_at", NotPersonal, stats}, col{"completed_at", NotPersonal, stats},
		col{"sync_seq", NotPersonal, feedOrder})...)
	m = append(m, table("response_answers", LegitimateInterest, KeepCustomer3Y,
		col{"tenant_id", NotPersonal, answer}, col{"response_id", Pseudonymous, answer}, col{"question_id", NotPersonal, answer},
		col{"kind", NotPersonal, stats}, col{"number", NotPersonal, stats}, col{"choices", NotPersonal, stats},
		col{"text_sealed", Personal, "reading the person's own words about their experience (sealed; erased with the person)"},
		col{"category", NotPersonal, stats}, col{"updated_at", NotPersonal, stats})...)
	m = append(m, table("survey_links", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, public}, col{"survey_id", NotPersonal, public},
		col{"enabled", NotPersonal, public}, col{"updated_at", NotPersonal, public})...)
	m = append(m, table("consents", LegalObligation, KeepCustomer3Y,
		col{"tenant_id", NotPersonal, proof}, col{"id", NotPersonal, proof}, col{"subject_id", Pseudonymous, proof},
		col{"purpose", NotPersonal, proof}, col{"response_id", Pseudonymous, proof},
		col{"notice_id", NotPersonal, proof}, col{"notice_hash", NotPersonal, proof},
		col{"wording", NotPersonal, "the exact consent wording shown (the same text for everyone, no personal data)"},
		col{"language", NotPersonal, proof}, col{"jurisdiction", NotPersonal, proof},
		col{"channel", NotPersonal, proof}, col{"method", NotPersonal, proof},
		col{"given_at", NotPersonal, proof}, col{"withdrawn_at", NotPersonal, proof})...)
	return m
}
