// Package crmsync moves data between avis and a tenant's CRM outside the
// admin UI and the REST API.
//
// # SFTP drop
//
// A tenant configures an SFTP source (Store.Create): host, port, user, a
// password or a private key (sealed with the vault), the server's host-key
// fingerprint (required: avis never connects to a server it was not told to
// trust, and never trusts one on first use), a folder and a file-name
// pattern. A periodic job (ScheduleWorker) enqueues a FetchArgs job for every
// source that is due; FetchWorker connects, hands each new matching file to
// the contact import engine (Importer), then moves the file into done/ or
// failed/ of that folder with the import report beside it
// (<name>.report.csv).
//
// Every step is safe to crash: a file imported but not yet moved is imported
// again by the next run (the engine dedupes contacts), and a file is only
// ever moved with a non-overwriting rename. The CRM should upload under a
// name that does not match the pattern (e.g. contacts.csv.part) and rename
// the file when it is complete; as a second guard, a file whose size or
// modification time changes while avis lists the folder is left for the
// next run.
package crmsync
