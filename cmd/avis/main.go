// Command avis is the whole of avis: the server and the command line that
// administers it. Run "avis help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // time zones answer the same on hosts without a zoneinfo database
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// it is read from the build information.
var version = ""

const usage = `avis — customer feedback and verified reviews, private by design.

Usage: avis COMMAND [flags]

Commands:
  serve       start the server   [--addr :8080] [--data ./avis-data] [--db URL] [--demo] [--role all|web|worker]
  migrate     bring the database schema up to date
  tenant      tenant create --slug SLUG --name NAME
  user        user create --tenant SLUG --email EMAIL --role owner|admin|analyst|moderator|viewer
              (the password is read from standard input or asked for; never from a flag)
  apikey      apikey create --tenant SLUG --name NAME --scopes contacts:read,events:write
              (prints the key once)
  import      import contacts FILE --tenant SLUG [--mapping NAME | --map COLUMN=FIELD ...]
              [--region FR] [--dry-run] [--all-or-nothing] [--save-mapping NAME] [--report FILE]
              CSV (UTF-8, Windows-1252, ISO-8859-15), XLSX or JSON Lines; streamed
  audit       audit verify: walk every audit chain and name any broken entry
  key         key rotate --new FILE: re-wrap every tenant key with a new master key
  version     print the version
  help        this text

Every flag can also be set with an AVIS_* environment variable, secrets also
with AVIS_*_FILE; see docs/configuration.md. "avis COMMAND -h" lists a
command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// env is how the program reads its environment, so that tests can give one.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = serve(ctx, e, rest)
	case "migrate":
		err = migrate(ctx, e, rest)
	case "tenant":
		err = tenantCmd(ctx, e, rest)
	case "user":
		err = userCmd(ctx, e, rest)
	case "apikey":
		err = apikeyCmd(ctx, e, rest)
	case "audit":
		err = auditCmd(ctx, e, rest)
	case "key":
		err = keyCmd(ctx, e, rest)
	case "import":
		err = importCmd(ctx, e, rest)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "avis", versionString())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "avis: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "avis: %s\n", ue.msg)
			return 2
		}
		fmt.Fprintf(stderr, "avis: %v\n", err)
		return 1
	}
	return 0
}

// usageError is a mistake in the command line itself.
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", ""
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			return "dev-" + rev + dirty
		}
	}
	return "dev"
}
