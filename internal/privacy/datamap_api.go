package privacy

// The REST API's stored state joins the data map when the package starts,
// so that this file alone declares it.
func init() {
	Retentions[KeepIdempotency] = "24 hours from the request, then purged"
	Map = append(Map, apiMap()...)
}

// KeepIdempotency is the retention of the API's idempotency records.
const KeepIdempotency Retention = "idempotency-24h"

// apiMap declares the tables of the REST API (internal/idempotency).
func apiMap() []Field {
	const idem = "answering a retried API request (same Idempotency-Key) with its first answer instead of doing the work twice"
	return table("api_idempotency", LegitimateInterest, KeepIdempotency,
		col{"tenant_id", NotPersonal, idem}, col{"api_key_id", NotPersonal, idem},
		col{"key_hash", NotPersonal, idem}, col{"request_hash", NotPersonal, "telling a retry from a different request sent with the same key"},
		col{"status", NotPersonal, idem},
		col{"answer_ciphertext", Pseudonymous, "the first answer (ids, counts, reasons; no personal data), sealed with a key derived from the Idempotency-Key, which is not stored"},
		col{"created_at", NotPersonal, idem})
}
