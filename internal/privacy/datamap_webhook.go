package privacy

// The webhook tables join the data map here rather than in buildMap, so
// that this file alone declares them.
func init() {
	Retentions[KeepDelivery30D] = "30 days from the delivery, then purged (the record of which recipient received which person's data goes with it)"
	Map = append(Map, webhookMap()...)
}

// KeepDelivery30D is the retention of webhook delivery logs.
const KeepDelivery30D Retention = "delivery-30d"

// webhookMap declares the webhook endpoints of tenants and their delivery
// log (internal/crmsync).
func webhookMap() []Field {
	const (
		push   = "giving the survey results back to the tenant's CRM at once (signed webhooks)"
		sign   = "signing each delivery so that the receiver can check it came from avis"
		order  = "delivering each endpoint's events one at a time, in order, with retries"
		logRun = "showing the tenant what each delivery did and why one failed"
		trace  = "knowing which recipient received data about which person, so that an erasure reaches it (GDPR 17(2), 19)"
	)
	var m []Field
	m = append(m, table("webhook_endpoints", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, push}, col{"id", NotPersonal, push}, col{"url", NotPersonal, push},
		col{"description", NotPersonal, push}, col{"events", NotPersonal, push},
		col{"include_personal", NotPersonal, "the tenant's choice to transfer comments and contact details to this recipient (off by default)"},
		col{"enabled", NotPersonal, push}, col{"disabled_kind", NotPersonal, push}, col{"disabled_reason", NotPersonal, logRun},
		col{"secret_sealed", Secret, sign}, col{"previous_secret_sealed", Secret, sign + " (the secret before a rotation, valid 24 hours)"},
		col{"previous_secret_until", NotPersonal, sign}, col{"failing_since", NotPersonal, order}, col{"lease_until", NotPersonal, order},
		col{"job_queued", NotPersonal, order}, col{"wake_seq", NotPersonal, order},
		col{"created_at", NotPersonal, push}, col{"updated_at", NotPersonal, push})...)
	m = append(m, table("webhook_deliveries", LegitimateInterest, KeepDelivery30D,
		col{"tenant_id", NotPersonal, push}, col{"id", NotPersonal, logRun}, col{"endpoint_id", NotPersonal, trace},
		col{"ord", NotPersonal, order}, col{"event_id", NotPersonal, push}, col{"event_type", NotPersonal, push},
		col{"object_id", Pseudonymous, push}, col{"contact_id", Pseudonymous, trace},
		col{"external_id", Pseudonymous, "naming the person to the CRM by its own id, also once avis has erased them"},
		col{"occurred_at", NotPersonal, push}, col{"status", NotPersonal, logRun}, col{"attempts", NotPersonal, logRun},
		col{"http_status", NotPersonal, logRun}, col{"duration_ms", NotPersonal, logRun}, col{"error", NotPersonal, logRun},
		col{"first_failed_at", NotPersonal, order}, col{"next_attempt_at", NotPersonal, order},
		col{"created_at", NotPersonal, logRun}, col{"updated_at", NotPersonal, logRun})...)
	return m
}
