package privacy

// Retention rules of the data-subject request log and the access links.
const (
	// KeepRequests keeps the request log as proof that each request was
	// answered in time (GDPR 5(2), 12(3)).
	KeepRequests Retention = "requests-3y"
	// KeepAccessLink keeps an access link while it works.
	KeepAccessLink Retention = "access-link-1h"
)

func init() {
	Retentions[KeepRequests] = "3 years from the request, as proof that it was answered in time; the person appears only by a pseudonymous id"
	Retentions[KeepAccessLink] = "1 hour, then deleted"
}

// requestMap declares the tables of the data-subject request log and the
// access links of the person's own page (internal/privacy, request.go and
// access.go).
func requestMap() []Field {
	const (
		dsr    = "proving that each data-subject request was received and answered within the legal deadline (GDPR 5(2), 12(3))"
		access = "letting a person reach their own page from an address already on file, without an account or an identity document"
	)
	var m []Field
	m = append(m, table("subject_requests", LegalObligation, KeepRequests,
		col{"tenant_id", NotPersonal, dsr}, col{"id", NotPersonal, dsr}, col{"kind", NotPersonal, dsr},
		col{"subject_id", Pseudonymous, dsr}, col{"channel", NotPersonal, dsr}, col{"received_at", NotPersonal, dsr},
		col{"due_at", NotPersonal, dsr}, col{"completed_at", NotPersonal, dsr}, col{"outcome", NotPersonal, dsr},
		col{"extension", NotPersonal, "proving why the answer to a request took up to two further months (GDPR 12(3))"})...)
	m = append(m, table("subject_access_links", LegalObligation, KeepAccessLink,
		col{"tenant_id", NotPersonal, access}, col{"id", NotPersonal, access},
		col{"token_hash", Pseudonymous, "recognising the access link without storing it"},
		col{"contact_id", Pseudonymous, access}, col{"channel", NotPersonal, access},
		col{"created_at", NotPersonal, access}, col{"expires_at", NotPersonal, access})...)
	return m
}
