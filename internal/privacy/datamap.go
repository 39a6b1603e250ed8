// Package privacy holds what avis knows about the personal data it keeps:
// the data map (every stored column with its category, purpose, legal basis
// and retention), and later the consent ledger, the suppression list,
// data-subject requests, retention and the Art. 30 register built from it.
package privacy

// Category says how a column relates to a person.
type Category string

// Categories of stored columns.
const (
	// Personal data identifies a person directly; it is always sealed by
	// the vault.
	Personal Category = "personal"
	// Pseudonymous data identifies a person only with another key (ids,
	// blind indexes, hashes of addresses).
	Pseudonymous Category = "pseudonymous"
	// Secret is a credential or key; never shown, never exported.
	Secret Category = "secret"
	// NotPersonal data says nothing about a person (scores, times, settings).
	NotPersonal Category = "not_personal"
)

// Basis is the GDPR Art. 6(1) legal basis of a processing.
type Basis string

// Legal bases.
const (
	Contract           Basis = "contract (Art. 6(1)(b))"
	LegitimateInterest Basis = "legitimate interest (Art. 6(1)(f))"
	LegalObligation    Basis = "legal obligation (Art. 6(1)(c))"
	Consent            Basis = "consent (Art. 6(1)(a))"
)

// Retention names a retention rule; Retentions describes each.
type Retention string

// Retention rules.
const (
	KeepWithTenant     Retention = "tenant"      // as long as the tenant's contract, then return-and-delete
	KeepWithAccount    Retention = "account"     // as long as the user account exists
	KeepSession        Retention = "session"     // until the session expires or the user logs out
	KeepThrottle       Retention = "throttle"    // 24 hours after the last failed login
	KeepCustomer3Y     Retention = "customer-3y" // 3 years after the end of the customer relationship or last contact (CNIL)
	KeepAudit          Retention = "audit-1y"    // 1 year, then purged in whole chain segments
	KeepUntilErasure   Retention = "until-erasure"
	KeepOpposition     Retention = "opposition-3y" // at least 3 years from the objection (CNIL)
	KeepImport         Retention = "import-1y"     // import reports: 1 year
	KeepSchemaInternal Retention = "internal"
)

// Retentions describes each retention rule in plain words (for the Art. 30
// register and the privacy notice).
var Retentions = map[Retention]string{
	KeepWithTenant:     "for the duration of the service contract with the tenant, then returned and deleted",
	KeepWithAccount:    "while the user account exists; deleted with it",
	KeepSession:        "until the session expires (12 hours idle by default) or the user logs out",
	KeepThrottle:       "24 hours after the last failed login attempt",
	KeepCustomer3Y:     "3 years from the end of the customer relationship or the last contact initiated by the person (CNIL reference period)",
	KeepAudit:          "1 year",
	KeepUntilErasure:   "until the person's data is erased; the key record then stays as proof of erasure",
	KeepOpposition:     "at least 3 years from the objection, as a keyed hash only (CNIL)",
	KeepImport:         "1 year from the import",
	KeepSchemaInternal: "technical data with no personal content, kept while useful",
}

// Field declares one stored column.
type Field struct {
	Table, Column string
	Category      Category
	Purpose       string
	Basis         Basis
	Retention     Retention
}

// Sealed reports whether the column must hold only vault ciphertexts.
func (f Field) Sealed() bool { return f.Category == Personal }

// Map declares every column of every avis table. A test fails when a
// migration adds a column missing here, and when a personal column holds
// anything but vault ciphertexts.
var Map = buildMap()

// Lookup returns the declaration of a column.
func Lookup(table, column string) (Field, bool) {
	for _, f := range Map {
		if f.Table == table && f.Column == column {
			return f, true
		}
	}
	return Field{}, false
}

type col struct {
	name string
	cat  Category
	why  string
}

func table(name string, basis Basis, ret Retention, cols ...col) []Field {
	out := make([]Field, 0, len(cols))
	for _, c := range cols {
		out = append(out, Field{Table: name, Column: c.name, Category: c.cat, Purpose: c.why, Basis: basis, Retention: ret})
	}
	return out
}

func buildMap() []Field {
	const (
		run   = "running the service"
		login = "letting staff log in securely"
		keys  = "protecting personal data (encryption keys)"
		trace = "accountability: who did what to which data (GDPR 5(2), 32)"
		ask   = "asking customers for their opinion about their experience"
	)
	var m []Field
	m = append(m, table("tenants", Contract, KeepWithTenant,
		col{"id", NotPersonal, run}, col{"slug", NotPersonal, run}, col{"name", NotPersonal, run},
		col{"require_mfa", NotPersonal, login}, col{"default_language", NotPersonal, run}, col{"created_at", NotPersonal, run})...)
	m = append(m, table("vault_state", LegalObligation, KeepSchemaInternal,
		col{"id", NotPersonal, keys}, col{"master_key_id", NotPersonal, keys}, col{"created_at", NotPersonal, keys}, col{"rotated_at", NotPersonal, keys})...)
	m = append(m, table("tenant_keys", LegalObligation, KeepWithTenant,
		col{"tenant_id", NotPersonal, keys}, col{"master_key_id", NotPersonal, keys}, col{"wrapped_key", Secret, keys}, col{"created_at", NotPersonal, keys})...)
	m = append(m, table("subject_keys", LegalObligation, KeepUntilErasure,
		col{"tenant_id", NotPersonal, keys}, col{"subject_id", Pseudonymous, keys}, col{"wrapped_key", Secret, keys},
		col{"created_at", NotPersonal, keys}, col{"erased_at", NotPersonal, "proof of erasure (GDPR 17)"})...)
	m = append(m, table("users", Contract, KeepWithAccount,
		col{"id", Pseudonymous, login}, col{"email_bidx", Pseudonymous, login}, col{"email_sealed", Personal, login},
		col{"name_sealed", Personal, login}, col{"password_hash", Secret, login}, col{"totp_secret_sealed", Personal, login},
		col{"totp_enabled_at", NotPersonal, login}, col{"totp_last_step", NotPersonal, "refusing a one-time code used twice"}, col{"language", NotPersonal, login}, col{"created_at", NotPersonal, login},
		col{"disabled_at", NotPersonal, login})...)
	m = append(m, table("memberships", Contract, KeepWithAccount,
		col{"tenant_id", NotPersonal, login}, col{"user_id", Pseudonymous, login}, col{"role", NotPersonal, login}, col{"created_at", NotPersonal, login})...)
	m = append(m, table("sessions", Contract, KeepSession,
		col{"id_hash", Secret, login}, col{"user_id", Pseudonymous, login}, col{"tenant_id", NotPersonal, login},
		col{"csrf_token", Secret, login}, col{"mfa_ok", NotPersonal, login}, col{"created_at", NotPersonal, login},
		col{"expires_at", NotPersonal, login}, col{"last_seen_at", NotPersonal, login})...)
	m = append(m, table("login_throttle", LegitimateInterest, KeepThrottle,
		col{"key_hash", Pseudonymous, "stopping password guessing (keyed hash of account or address)"},
		col{"failures", NotPersonal, login}, col{"window_start", NotPersonal, login}, col{"locked_until", NotPersonal, login})...)
	m = append(m, table("api_keys", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, run}, col{"id", NotPersonal, run}, col{"name", NotPersonal, run},
		col{"secret_hash", Secret, run}, col{"scopes", NotPersonal, run}, col{"created_by", Pseudonymous, trace},
		col{"created_at", NotPersonal, run}, col{"last_used_at", NotPersonal, run}, col{"revoked_at", NotPersonal, run})...)
	m = append(m, table("audit_log", LegalObligation, KeepAudit,
		col{"tenant_id", NotPersonal, trace}, col{"seq", NotPersonal, trace}, col{"at", NotPersonal, trace},
		col{"actor_kind", NotPersonal, trace}, col{"actor_id", Pseudonymous, trace}, col{"action", NotPersonal, trace},
		col{"object_kind", NotPersonal, trace}, col{"object_id", Pseudonymous, trace}, col{"subject_id", Pseudonymous, trace},
		col{"detail", NotPersonal, trace}, col{"prev_hash", NotPersonal, trace}, col{"hash", NotPersonal, trace})...)
	m = append(m, table("contacts", LegitimateInterest, KeepCustomer3Y,
		col{"tenant_id", NotPersonal, ask}, col{"id", Pseudonymous, ask}, col{"external_id", Pseudonymous, "matching the tenant's CRM record"},
		col{"email_sealed", Personal, ask}, col{"email_bidx", Pseudonymous, "finding duplicates and opt-outs without decrypting"},
		col{"phone_sealed", Personal, ask}, col{"phone_bidx", Pseudonymous, "finding duplicates and opt-outs without decrypting"},
		col{"first_name_sealed", Personal, ask}, col{"last_name_sealed", Personal, ask},
		col{"language", NotPersonal, ask}, col{"country", NotPersonal, ask}, col{"time_zone", NotPersonal, "sending at a decent local hour"},
		col{"created_at", NotPersonal, ask}, col{"updated_at", NotPersonal, ask},
		col{"attributes", NotPersonal, "segmenting results (store, product, region) as the tenant declared them not personal"},
		col{"attributes_sealed", Personal, "attributes the tenant declared personal"},
		col{"restricted_at", NotPersonal, "honouring a restriction of processing (GDPR 18)"})...)
	m = append(m, table("tenants", Contract, KeepWithTenant, col{"default_region", NotPersonal, "reading phone numbers written without a country code"})...)
	m = append(m, table("contact_attributes", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, run}, col{"name", NotPersonal, run}, col{"label", NotPersonal, run},
		col{"personal", NotPersonal, "deciding which attributes the vault seals"}, col{"created_at", NotPersonal, run})...)
	const ledger = "proving the lawful basis of each contact (GDPR 5(2), 6, 30)"
	m = append(m, table("contact_bases", LegalObligation, KeepCustomer3Y,
		col{"tenant_id", NotPersonal, ledger}, col{"id", NotPersonal, ledger}, col{"contact_id", Pseudonymous, ledger},
		col{"basis", NotPersonal, ledger}, col{"purpose", NotPersonal, ledger}, col{"source_kind", NotPersonal, ledger},
		col{"source_id", NotPersonal, ledger}, col{"recorded_at", NotPersonal, ledger})...)
	const optout = "never contacting a person who objected (GDPR 21, CNIL opposition list)"
	m = append(m, table("suppressions", LegalObligation, KeepOpposition,
		col{"tenant_id", NotPersonal, optout}, col{"value_bidx", Pseudonymous, optout}, col{"kind", NotPersonal, optout},
		col{"reason", NotPersonal, optout}, col{"created_at", NotPersonal, optout})...)
	const imp = "importing contacts and telling the tenant which rows were refused and why"
	m = append(m, table("imports", Contract, KeepImport,
		col{"tenant_id", NotPersonal, imp}, col{"id", NotPersonal, imp}, col{"source_kind", NotPersonal, imp},
		col{"source_id", NotPersonal, imp}, col{"file_name", NotPersonal, imp}, col{"format", NotPersonal, imp},
		col{"mapping", NotPersonal, imp}, col{"status", NotPersonal, imp}, col{"total_rows", NotPersonal, imp},
		col{"created_rows", NotPersonal, imp}, col{"updated_rows", NotPersonal, imp}, col{"unchanged_rows", NotPersonal, imp},
		col{"rejected_rows", NotPersonal, imp}, col{"error", NotPersonal, imp}, col{"error_text", NotPersonal, imp}, col{"actor_kind", NotPersonal, trace},
		col{"actor_id", Pseudonymous, trace}, col{"started_at", NotPersonal, imp}, col{"finished_at", NotPersonal, imp})...)
	m = append(m, table("import_rejects", Contract, KeepImport,
		col{"tenant_id", NotPersonal, imp}, col{"import_id", NotPersonal, imp}, col{"row_num", NotPersonal, imp},
		col{"column_name", NotPersonal, imp}, col{"reason", NotPersonal, imp}, col{"reason_text", NotPersonal, imp})...)
	m = append(m, table("import_mappings", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, imp}, col{"name", NotPersonal, imp}, col{"mapping", NotPersonal, imp},
		col{"options", NotPersonal, imp}, col{"created_at", NotPersonal, imp}, col{"updated_at", NotPersonal, imp})...)
	const journey = "knowing where a customer is in their journey, to ask at the right moment"
	m = append(m, table("journeys", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, journey}, col{"id", NotPersonal, journey}, col{"name", NotPersonal, journey}, col{"created_at", NotPersonal, journey})...)
	m = append(m, table("journey_steps", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, journey}, col{"id", NotPersonal, journey}, col{"journey_id", NotPersonal, journey},
		col{"key", NotPersonal, journey}, col{"name", NotPersonal, journey}, col{"position", NotPersonal, journey}, col{"created_at", NotPersonal, journey})...)
	m = append(m, table("touchpoints", LegitimateInterest, KeepCustomer3Y,
		col{"tenant_id", NotPersonal, journey}, col{"id", NotPersonal, journey}, col{"contact_id", Pseudonymous, journey},
		col{"step_id", NotPersonal, journey}, col{"occurred_at", NotPersonal, journey},
		col{"attributes", NotPersonal, "segmenting results (non-personal event attributes only)"},
		col{"idempotency_key", NotPersonal, "receiving each event once"}, col{"source_kind", NotPersonal, journey},
		col{"source_id", NotPersonal, journey}, col{"created_at", NotPersonal, journey},
		col{"sync_seq", NotPersonal, feedOrder})...)
	const drop = "fetching the contact files the tenant's CRM leaves on its SFTP server"
	m = append(m, table("sftp_sources", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, drop}, col{"id", NotPersonal, drop}, col{"name", NotPersonal, drop},
		col{"host", NotPersonal, drop}, col{"port", NotPersonal, drop},
		col{"username", Pseudonymous, "logging in to the tenant's SFTP server (usually a technical account)"},
		col{"auth_kind", NotPersonal, drop},
		col{"secret_sealed", Secret, "logging in to the tenant's SFTP server (password or private key, sealed by the vault)"},
		col{"host_key_fingerprint", NotPersonal, "making sure avis talks only to the tenant's SFTP server"},
		col{"folder", NotPersonal, drop}, col{"pattern", NotPersonal, drop}, col{"enabled", NotPersonal, drop},
		col{"interval_seconds", NotPersonal, drop}, col{"last_run_at", NotPersonal, drop}, col{"last_ok_at", NotPersonal, drop},
		col{"last_error", NotPersonal, "telling the tenant why a fetch failed"},
		col{"created_at", NotPersonal, drop}, col{"updated_at", NotPersonal, drop})...)
	m = append(m, surveyMap()...)
	m = append(m, messageMap()...)
	m = append(m, dispatchMap()...)
	m = append(m, requestMap()...)
	return m
}
