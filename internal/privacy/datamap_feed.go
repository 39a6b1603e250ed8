package privacy

// The change feed (internal/feed) joins the data map when the package
// starts, so that this file alone declares it.
func init() { Map = append(Map, feedMap()...) }

// feedOrder is the purpose of the sync_seq column of the rows the CRM
// reads back (responses, invitations, touchpoints).
const feedOrder = "handing results back to the tenant's CRM in order, with nothing skipped (pull cursor, exports)"

// feedMap declares the tables of the change feed.
func feedMap() []Field {
	const (
		order  = feedOrder
		notify = "telling the tenant's CRM what changed (webhooks), with ids only"
	)
	var m []Field
	m = append(m, table("feed_seqs", LegitimateInterest, KeepSchemaInternal,
		col{"tenant_id", NotPersonal, order}, col{"seq", NotPersonal, order})...)
	m = append(m, table("feed_events", LegitimateInterest, KeepCustomer3Y,
		col{"tenant_id", NotPersonal, notify}, col{"seq", NotPersonal, notify}, col{"id", NotPersonal, notify},
		col{"type", NotPersonal, notify}, col{"object_id", Pseudonymous, notify}, col{"contact_id", Pseudonymous, notify},
		col{"external_id", Pseudonymous, "naming an erased person to the CRM that received their data (subject.erased), by the CRM's own id"},
		col{"occurred_at", NotPersonal, notify})...)
	return m
}
