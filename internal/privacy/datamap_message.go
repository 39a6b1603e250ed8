package privacy

// messageMap declares the tables of email sender identities, DKIM keys and
// SMS providers (internal/channel, configured through internal/dispatch).
func messageMap() []Field {
	const send = "sending invitations in the tenant's name"
	return table("messaging_settings", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, send},
		col{"from_name", NotPersonal, "the sender name customers see (the company's)"},
		col{"from_email", NotPersonal, "the company's sender address"},
		col{"reply_to", NotPersonal, "where customers' replies go (a company address)"},
		col{"smtp_url_sealed", Secret, "the tenant's own SMTP relay and its credentials"},
		col{"dkim_domain", NotPersonal, send}, col{"dkim_selector", NotPersonal, send},
		col{"dkim_key_sealed", Secret, "signing the tenant's email (DKIM private key)"},
		col{"sms_provider", NotPersonal, send},
		col{"sms_config_sealed", Secret, "the tenant's SMS provider and its credentials"},
		col{"sms_sender", NotPersonal, send},
		col{"link_base_url", NotPersonal, "short survey links on the tenant's own domain"},
		col{"updated_at", NotPersonal, send})
}
