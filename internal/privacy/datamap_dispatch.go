package privacy

// dispatchMap declares the tables of trigger rules, invitations and the
// outbox (internal/dispatch).
func dispatchMap() []Field {
	const (
		ask    = "asking customers for their opinion about their experience"
		rule   = "deciding when and how to ask (delay, channel, send windows, frequency cap)"
		status = "knowing whether an invitation left, arrived or was answered, so nobody is asked twice or too often"
		outbox = "showing the tenant each message exactly as it would have left when no relay is configured"
	)
	var m []Field
	m = append(m, table("dispatch_rules", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, rule}, col{"id", NotPersonal, rule}, col{"step_id", NotPersonal, rule},
		col{"survey_id", NotPersonal, rule}, col{"enabled", NotPersonal, rule}, col{"delay_seconds", NotPersonal, rule},
		col{"channels", NotPersonal, rule}, col{"email_window", NotPersonal, rule}, col{"sms_window", NotPersonal, rule},
		col{"cap_days", NotPersonal, rule}, col{"reminder_days", NotPersonal, rule}, col{"reminders", NotPersonal, rule},
		col{"sms_reminders", NotPersonal, rule}, col{"expiry_days", NotPersonal, rule}, col{"sample_percent", NotPersonal, rule},
		col{"texts", NotPersonal, "the invitation texts the tenant wrote, with placeholders (no personal data)"},
		col{"created_at", NotPersonal, rule}, col{"updated_at", NotPersonal, rule})...)
	m = append(m, table("invitations", LegitimateInterest, KeepCustomer3Y,
		col{"tenant_id", NotPersonal, ask}, col{"id", Pseudonymous, ask}, col{"rule_id", NotPersonal, ask},
		col{"survey_id", NotPersonal, ask}, col{"step_id", NotPersonal, ask}, col{"contact_id", Pseudonymous, ask},
		col{"touchpoint_id", Pseudonymous, ask}, col{"channel", NotPersonal, ask}, col{"status", NotPersonal, status},
		col{"reason", NotPersonal, "telling the tenant why an invitation did not leave (no address, opted out, capped)"},
		col{"token_hash", Pseudonymous, "recognising the personal survey link without storing it"},
		col{"language", NotPersonal, ask}, col{"due_at", NotPersonal, status}, col{"sent_at", NotPersonal, status},
		col{"delivered_at", NotPersonal, status}, col{"answered_at", NotPersonal, status}, col{"expires_at", NotPersonal, status},
		col{"reminders_sent", NotPersonal, status}, col{"attempts", NotPersonal, status},
		col{"provider_id", Pseudonymous, "matching the provider's delivery receipts"}, col{"segments", NotPersonal, "SMS cost"},
		col{"created_at", NotPersonal, status}, col{"updated_at", NotPersonal, status},
		col{"claimed_until", NotPersonal, "letting one sending run at a time work on an invitation"},
		col{"sync_seq", NotPersonal, feedOrder})...)
	m = append(m, table("outbox_messages", LegitimateInterest, KeepCustomer3Y,
		col{"tenant_id", NotPersonal, outbox}, col{"id", NotPersonal, outbox}, col{"invitation_id", Pseudonymous, outbox},
		col{"contact_id", Pseudonymous, outbox}, col{"channel", NotPersonal, outbox}, col{"kind", NotPersonal, outbox},
		col{"message_sealed", Personal, outbox}, col{"created_at", NotPersonal, outbox})...)
	return m
}
