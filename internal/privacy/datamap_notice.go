package privacy

// The notice tables join the data map here rather than in buildMap, so that
// this file alone declares them.
func init() { Map = append(Map, noticeMap()...) }

// noticeMap declares the tenant's privacy profile and the versioned
// information notices generated from it (profile.go, notice.go).
func noticeMap() []Field {
	const (
		inform  = "telling customers who does what with their data (GDPR Art. 13, 14, 26)"
		brand   = "showing the company's colour and logo on the pages its customers see"
		version = "proving which exact notice a person was shown (GDPR 5(2), 7(1))"
	)
	var m []Field
	m = append(m, table("privacy_profiles", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, inform}, col{"legal_name", NotPersonal, inform},
		col{"postal_address", NotPersonal, "the company's postal address, published in its notice"},
		col{"dpo_name", NotPersonal, "the name of the company's data-protection officer, which the company chooses to publish in its notice (Art. 37(7))"},
		col{"dpo_email", NotPersonal, "the company's published data-protection contact address (Art. 13(1)(b))"},
		col{"policy_url", NotPersonal, inform}, col{"retention_months", NotPersonal, inform},
		col{"authority", NotPersonal, inform}, col{"brand_color", NotPersonal, brand},
		col{"logo", NotPersonal, brand}, col{"logo_type", NotPersonal, brand}, col{"updated_at", NotPersonal, inform})...)
	m = append(m, table("notices", LegalObligation, KeepWithTenant,
		col{"tenant_id", NotPersonal, version}, col{"id", NotPersonal, version}, col{"kind", NotPersonal, version},
		col{"language", NotPersonal, version}, col{"version", NotPersonal, version}, col{"hash", NotPersonal, version},
		col{"body", NotPersonal, "the exact text of the notice, as shown"}, col{"created_at", NotPersonal, version})...)
	return m
}
