package privacy

// messageMap declares the tables of email sender identities, DKIM keys and SMS providers (internal/channel).
func messageMap() []Field {
	return nil
}
