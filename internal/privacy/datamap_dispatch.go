package privacy

// dispatchMap declares the tables of trigger rules, invitations and the outbox (internal/dispatch).
func dispatchMap() []Field {
	return nil
}
