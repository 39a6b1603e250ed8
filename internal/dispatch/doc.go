// Package dispatch turns journey events into invitations: trigger rules, send
// windows, frequency caps, reminders and expiry, and the jobs that send them
// exactly once.
package dispatch
