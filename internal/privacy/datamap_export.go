package privacy

// The export tables join the data map here rather than in buildMap, so that
// this file alone declares them.
func init() { Map = append(Map, exportMap()...) }

// exportMap declares the scheduled exports to the tenant's SFTP or FTPS
// server and their log (internal/crmsync).
func exportMap() []Field {
	const (
		export = "giving the survey results back to the tenant's CRM as files on its server"
		login  = "logging in to the tenant's SFTP or FTPS server"
		mark   = "exporting each change once, and again after a failed upload (never fewer)"
		logRun = "showing the tenant what each export wrote and why one failed"
	)
	var m []Field
	m = append(m, table("export_schedules", Contract, KeepWithTenant,
		col{"tenant_id", NotPersonal, export}, col{"id", NotPersonal, export}, col{"name", NotPersonal, export},
		col{"kinds", NotPersonal, export}, col{"protocol", NotPersonal, export},
		col{"host", NotPersonal, export}, col{"port", NotPersonal, export},
		col{"username", Pseudonymous, login + " (usually a technical account)"},
		col{"auth_kind", NotPersonal, login},
		col{"secret_sealed", Secret, login + " (password or private key, sealed by the vault)"},
		col{"host_key_fingerprint", NotPersonal, "making sure avis writes only to the tenant's SFTP server"},
		col{"tls_fingerprint", NotPersonal, "making sure avis writes only to the tenant's FTPS server (pinned certificate)"},
		col{"folder", NotPersonal, export}, col{"format", NotPersonal, export}, col{"file_pattern", NotPersonal, export},
		col{"cron", NotPersonal, export}, col{"time_zone", NotPersonal, export},
		col{"personal", NotPersonal, "the tenant's choice to transfer comments and contact details to this recipient (off by default)"},
		col{"enabled", NotPersonal, export}, col{"next_run_at", NotPersonal, export},
		col{"response_seq", NotPersonal, mark}, col{"invitation_seq", NotPersonal, mark}, col{"event_seq", NotPersonal, mark},
		col{"last_run_at", NotPersonal, logRun}, col{"last_ok_at", NotPersonal, logRun},
		col{"last_error", NotPersonal, logRun}, col{"failures", NotPersonal, logRun},
		col{"created_at", NotPersonal, export}, col{"updated_at", NotPersonal, export})...)
	m = append(m, table("export_runs", LegitimateInterest, KeepExportLog,
		col{"tenant_id", NotPersonal, logRun}, col{"id", NotPersonal, logRun}, col{"schedule_id", NotPersonal, logRun},
		col{"cause", NotPersonal, logRun}, col{"started_at", NotPersonal, logRun}, col{"ended_at", NotPersonal, logRun},
		col{"outcome", NotPersonal, logRun}, col{"rows_written", NotPersonal, logRun}, col{"bytes_written", NotPersonal, logRun},
		col{"files", NotPersonal, logRun + " (file names made from the tenant's pattern and the date)"},
		col{"error", NotPersonal, logRun + " (in plain words, without personal data)"})...)
	return m
}

// KeepExportLog is the retention of the export log: 90 days.
const KeepExportLog Retention = "export-log-90d"

func init() {
	Retentions[KeepExportLog] = "90 days from the export run"
}
