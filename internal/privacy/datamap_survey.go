package privacy

// surveyMap declares the tables of survey definitions and their versions (internal/survey).
func surveyMap() []Field {
	const (
		design = "designing the surveys customers are asked to answer"
		trace  = "accountability: who changed which survey (GDPR 5(2))"
	)
	var m []Field
	m = append(m, table("surveys", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, design}, col{"id", NotPersonal, design}, col{"name", NotPersonal, design},
		col{"status", NotPersonal, design}, col{"current_version", NotPersonal, design},
		col{"created_at", NotPersonal, design}, col{"updated_at", NotPersonal, design})...)
	m = append(m, table("survey_versions", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, design}, col{"survey_id", NotPersonal, design}, col{"version", NotPersonal, design},
		col{"definition", NotPersonal, "the questions, choices and conditions of a survey version, written by the tenant (no personal data)"},
		col{"created_at", NotPersonal, design}, col{"created_by", Pseudonymous, trace})...)
	return m
}
