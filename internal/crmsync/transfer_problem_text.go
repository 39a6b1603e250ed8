package crmsync

// What an export run (export_runs.error, export_schedules.last_error), an
// SFTP fetch (sftp_sources.last_error) or a connection test says went
// wrong: English formats with %s only, made into errors by failf, stored
// filled in, and translated for a page by TranslateProblem. They hold
// hosts, ports, paths, fingerprints and the words of servers and of the
// system, never personal data.

// Connecting and logging in over SSH (sftp_conn.go).
const (
	xferStopped          = "connect to %s: %s"
	xferSFTPUnreachable  = "cannot reach the SFTP server at %s: %s (check the host and port, and that the server lets avis's address in)"
	xferSFTPLoginPass    = "login refused: the SFTP server at %s refused the login: check the user name and the password"
	xferSFTPLoginKey     = "login refused: the SFTP server at %s refused the login: check the user name and the private key"
	xferHandshakeTimeout = "the SFTP server at %s did not finish the SSH handshake within %s: check that the port is an SSH port"
	xferHandshake        = "SSH handshake with %s failed: %s (check that the port is an SSH port)"
	xferHostKey          = "the SFTP server's host key is %s, not the %s you configured: check with the server's administrator"
	xferHostKeyNone      = "read the host key of %s: the server did not show one"
	xferHostKeyRead      = "read the host key of %s: %s"
	xferHostKeyPort      = "the port must be between 1 and 65535 (SSH uses 22)"
	xferHostKeyHost      = "the host is empty: give the SFTP server's name or IP address"
	xferKeyPassphrase    = "the private key is protected by a passphrase: give a copy without one (ssh-keygen -p -N '' -f COPY_OF_KEY), made for avis alone"
	xferKeyUnreadable    = "the private key cannot be read (%s): paste the whole private key file, from -----BEGIN to -----END, not the .pub public key"
)

// An SFTP session and its folder (export_dest.go, sftp_fetch.go).
const (
	xferStartStopped  = "start SFTP on %s: %s"
	xferNoSFTP        = "the server at %s does not offer SFTP to this user: %s (ask its administrator to enable the sftp subsystem)"
	xferFolderMissing = "the folder %s does not exist on the SFTP server: create it, or correct the folder"
	xferFolderDenied  = "the user may not open the folder %s on the SFTP server (permission denied)"
	xferFolderOpen    = "cannot open the folder %s on the SFTP server: %s"
	xferFolderIsFile  = "%s on the SFTP server is a file, not a folder"
	xferSFTPLook      = "cannot look for %s on the SFTP server: %s"
	xferSFTPRename    = "cannot rename %s to %s on the SFTP server: %s"
	xferSFTPRemove    = "cannot remove %s on the SFTP server: %s"
	xferWriteDenied   = "permission denied: the server does not let this user write %s: check the rights on the folder"
	xferDiskFull      = "disk full: the server's disk is full, or the user's quota is reached: %s could not be written (free some space on the server)"
	xferWriteNoFolder = "cannot write %s: the folder does not exist on the server"
	xferLost          = "connection lost: the server closed the connection"
	xferLostWriting   = "connection lost: the server closed the connection while writing %s"
	xferWrite         = "cannot write %s on the server: %s"
)

// An FTPS destination (ftps.go).
const (
	xferCertPinned       = "the FTPS server's certificate has the SHA-256 fingerprint %s, not the %s you pinned: check with the server's administrator"
	xferCertUntrusted    = "the FTPS server's certificate is not trusted (%s). If the server uses a self-signed certificate, check its SHA-256 fingerprint %s with the server's administrator and pin it in the export's settings"
	xferFTPSUnreachable  = "cannot reach the FTPS server at %s: %s (check the host and port, and that the server lets avis's address in)"
	xferNoAuthTLS        = "the server at %s does not offer explicit TLS (AUTH TLS): avis sends files over FTP only with encryption"
	xferNoTLS            = "the FTPS server at %s did not start TLS: %s (check that the port is the server's FTP port)"
	xferFTPSLogin        = "login refused: the FTPS server at %s refused the login: check the user name and the password"
	xferFTPSLoginTimeout = "the FTPS server at %s did not answer the login within %s"
	xferFTPSLoginOther   = "the FTPS server at %s refused the login: %s"
	xferFTPSFolder       = "cannot open the folder %s on the FTPS server: %s (check that it exists and that the user may open it)"
	xferFTPSDiskFull     = "disk full: the server's disk is full, or the user's quota is reached: %s could not be written (the server says: %s)"
	xferFTPSDenied       = "permission denied: the server does not let this user write %s (the server says: %s): check the rights on the folder"
	xferFTPSClosed       = "connection lost: the server closed the transfer of %s (%s)"
	xferFTPSWrite        = "cannot write %s on the FTPS server: %s"
	xferFTPSLook         = "cannot look for %s on the FTPS server: %s"
	xferFTPSRename       = "cannot rename %s to %s on the FTPS server: %s"
	xferFTPSRemove       = "cannot remove %s on the FTPS server: %s"
)

// An export run (export_run.go, export_schedule.go).
const (
	xferInterrupted    = "the run was cut short (avis stopped or restarted); the next run exports its rows again"
	xferNotNoted       = "%s was written but the export could not note it (%s): the next run writes its rows again"
	xferTooMany        = "the folder holds too many files named like %s: clear it out"
	xferStoppedEnd     = "the export stopped before its end: %s"
	xferPartLeft       = "%s (and the partial file %s could not be removed: %s)"
	xferExportPassword = "the password of this export cannot be opened (%s): enter it again in the export's settings"
	xferExportKey      = "the private key of this export cannot be opened (%s): enter it again in the export's settings"
)

// An SFTP fetch (sftp_fetch.go, sftp_source.go).
const (
	xferSourcePassword = "open the SFTP secret: %s (enter the password again in the source's settings)"
	xferSourceKey      = "open the SFTP secret: %s (enter the private key again in the source's settings)"
	xferFetchStopped   = "stopped before every file was imported: %s"
	xferMore           = "%s (and %s more files could not be processed)"
	xferSubIsFile      = "%s on the SFTP server is a file, not a folder: rename it so that avis can create the folder"
	xferSubRead        = "cannot read %s on the SFTP server: %s (check the folder and the user's rights)"
	xferSubCreate      = "cannot create the folder %s on the SFTP server: %s (check that the folder exists and that the user may write in it)"
	xferListStopped    = "stopped while listing the folder: %s"
	xferList           = "cannot list the folder %s on the SFTP server: %s (check the folder and that the user may read it)"
	xferOpenFile       = "cannot open %s on the SFTP server: %s (check the user's rights on it); it stays in the folder"
	xferImportFailed   = "importing %s failed, so it stays in the folder for the next run: %s"
	xferImportStopped  = "%s was imported but the run stopped before moving it; it will be imported again next run: %s"
	xferMove           = "%s was imported but cannot be moved to %s: %s (check that the user may rename files in the folder); it will be imported again next run"
	xferReadDir        = "cannot read %s on the SFTP server: %s"
	xferFullDir        = "%s holds too many files named like %s: clear it out"
	xferReportCreate   = "cannot write the report %s on the SFTP server: %s (check that the user may write in the folder)"
	xferReport         = "cannot write the report %s on the SFTP server: %s"
)

// What the row writers said before they let the destination's own words
// through (writeFailed): kept so that the export logs of that time are
// still translated.
const (
	xferOldCSVRow  = "write a CSV row: %s"
	xferOldCSV     = "write CSV: %s"
	xferOldJSONRow = "write a JSON line: %s"
)

// The words of the system and of Go's libraries that the formats above
// carry as arguments: TranslateProblem translates them inside the
// sentence. Go's own texts, kept stable by its compatibility promise.
const (
	sysCanceled       = "context canceled"
	sysDeadline       = "context deadline exceeded"
	sysPermission     = "permission denied"
	sysNotExist       = "file does not exist"
	sysRefused        = "dial tcp %s: connect: connection refused"
	sysDialTimeout    = "dial tcp %s: i/o timeout"
	sysTimedOut       = "dial tcp %s: connect: connection timed out"
	sysNoRoute        = "dial tcp %s: connect: no route to host"
	sysUnreachable    = "dial tcp %s: connect: network is unreachable"
	sysNoHostResolver = "dial tcp: lookup %s on %s: no such host"
	sysNoHost         = "dial tcp: lookup %s: no such host"
	sysUnknownCA      = "x509: certificate signed by unknown authority"
	sysCertName       = "x509: certificate is valid for %s, not %s"
	sysCertExpired    = "x509: certificate has expired or is not yet valid: %s"
)

// transferProblems lists the formats above (see ProblemMessages): a
// format whose text another one's pattern would also match comes before
// it (xferSubRead before xferReadDir, xferTooMany before xferFullDir,
// xferReportCreate before xferReport, sysNoHostResolver before sysNoHost).
var transferProblems = []string{
	xferStopped, xferSFTPUnreachable, xferSFTPLoginPass, xferSFTPLoginKey, xferHandshakeTimeout, xferHandshake, xferHostKey,
	xferHostKeyNone, xferHostKeyRead, xferHostKeyPort, xferHostKeyHost, xferKeyPassphrase, xferKeyUnreadable,

	xferStartStopped, xferNoSFTP, xferFolderMissing, xferFolderDenied, xferFolderOpen, xferFolderIsFile, xferSFTPLook,
	xferSFTPRename, xferSFTPRemove, xferWriteDenied, xferDiskFull, xferWriteNoFolder, xferLost, xferLostWriting, xferWrite,

	xferCertPinned, xferCertUntrusted, xferFTPSUnreachable, xferNoAuthTLS, xferNoTLS, xferFTPSLogin, xferFTPSLoginTimeout,
	xferFTPSLoginOther, xferFTPSFolder, xferFTPSDiskFull, xferFTPSDenied, xferFTPSClosed, xferFTPSWrite, xferFTPSLook,
	xferFTPSRename, xferFTPSRemove,

	xferInterrupted, xferNotNoted, xferTooMany, xferStoppedEnd, xferPartLeft, xferExportPassword, xferExportKey,
	xferOldCSVRow, xferOldCSV, xferOldJSONRow,

	xferSourcePassword, xferSourceKey, xferFetchStopped, xferMore, xferSubIsFile, xferSubRead, xferSubCreate, xferListStopped,
	xferList, xferOpenFile, xferImportFailed, xferImportStopped, xferMove, xferReadDir, xferFullDir, xferReportCreate, xferReport,

	sysCanceled, sysDeadline, sysPermission, sysNotExist, sysRefused, sysDialTimeout, sysTimedOut, sysNoRoute, sysUnreachable,
	sysNoHostResolver, sysNoHost, sysUnknownCA, sysCertName, sysCertExpired,
}
