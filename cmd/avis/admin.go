package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"avis/internal/vault"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/db"
)

func migrate(ctx context.Context, e env, args []string) error {
	c, _, err := loadConfig(e, "migrate", args, nil)
	if err != nil {
		return err
	}
	d, err := db.Open(ctx, c.DatabaseURL, c.Data, db.Options{MaxConns: c.DBMaxConns})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "database %s is up to date\n", d.Safe)
	return nil
}

// sub splits "avis NOUN VERB" and refuses an unknown verb.
func sub(args []string, noun string, verbs ...string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, usageError{fmt.Sprintf("say what to do: avis %s %s", noun, strings.Join(verbs, "|"))}
	}
	for _, v := range verbs {
		if args[0] == v {
			return v, args[1:], nil
		}
	}
	return "", nil, usageError{fmt.Sprintf("unknown command avis %s %s: use %s", noun, args[0], strings.Join(verbs, "|"))}
}

var cliActor = audit.System("cli")

func tenantCmd(ctx context.Context, e env, args []string) error {
	if _, args, err := sub(args, "tenant", "create"); err != nil {
		return err
	} else {
		var slug, name string
		c, _, err := loadConfig(e, "tenant create", args, func(fs *flag.FlagSet) {
			fs.StringVar(&slug, "slug", "", "short name used in URLs: lower-case letters, digits and dashes")
			fs.StringVar(&name, "name", "", "the company's name as customers know it")
		})
		if err != nil {
			return err
		}
		if slug == "" || strings.TrimSpace(name) == "" {
			return usageError{"give both --slug and --name"}
		}
		a, err := open(ctx, e, c)
		if err != nil {
			return err
		}
		defer a.Close()
		t, err := a.accounts.CreateTenant(ctx, cliActor, slug, strings.TrimSpace(name))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "tenant %s created (id %s)\n", t.Slug, t.ID)
		return nil
	}
}

func userCmd(ctx context.Context, e env, args []string) error {
	_, args, err := sub(args, "user", "create")
	if err != nil {
		return err
	}
	var tenant, email, name, role string
	c, _, err := loadConfig(e, "user create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&tenant, "tenant", "", "slug of the tenant")
		fs.StringVar(&email, "email", "", "the person's email, used to log in")
		fs.StringVar(&name, "name", "", "the person's name (optional)")
		fs.StringVar(&role, "role", "viewer", "owner, admin, analyst, moderator or viewer")
	})
	if err != nil {
		return err
	}
	if tenant == "" || email == "" {
		return usageError{"give --tenant SLUG and --email EMAIL (the password is read from standard input or asked for)"}
	}
	r, err := account.ParseRole(role)
	if err != nil {
		return usageError{fmt.Sprintf("--role %q: use owner, admin, analyst, moderator or viewer", role)}
	}
	password, err := readPassword(e)
	if err != nil {
		return err
	}
	a, err := open(ctx, e, c)
	if err != nil {
		return err
	}
	defer a.Close()
	t, err := a.tenant(ctx, tenant)
	if err != nil {
		return err
	}
	u, err := a.accounts.CreateUser(ctx, cliActor, t.ID, email, name, password, r)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "user %s is %s of %s\n", u.ID, r, t.Slug)
	return nil
}

// readPassword asks twice on a terminal, or reads the first line of
// standard input otherwise. A password never comes from a flag.
func readPassword(e env) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "Password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(e.stderr, "Again: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", errors.New("the two passwords differ")
		}
		return string(p1), nil
	}
	sc := bufio.NewScanner(e.stdin)
	sc.Buffer(make([]byte, 4096), 4096)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return "", fmt.Errorf("read password from standard input: %w", err)
		}
		return "", errors.New("no password on standard input: pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | avis user create …")
	}
	return strings.TrimRight(sc.Text(), "\r"), nil
}

func apikeyCmd(ctx context.Context, e env, args []string) error {
	_, args, err := sub(args, "apikey", "create")
	if err != nil {
		return err
	}
	var tenant, name, scopes string
	c, _, err := loadConfig(e, "apikey create", args, func(fs *flag.FlagSet) {
		fs.StringVar(&tenant, "tenant", "", "slug of the tenant")
		fs.StringVar(&name, "name", "", "what the key is for, e.g. 'CRM sync'")
		fs.StringVar(&scopes, "scopes", "", "comma-separated: "+strings.Join(account.Scopes, ","))
	})
	if err != nil {
		return err
	}
	if tenant == "" || name == "" || scopes == "" {
		return usageError{"give --tenant SLUG, --name NAME and --scopes " + strings.Join(account.Scopes, ",")}
	}
	a, err := open(ctx, e, c)
	if err != nil {
		return err
	}
	defer a.Close()
	t, err := a.tenant(ctx, tenant)
	if err != nil {
		return err
	}
	var list []string
	for _, s := range strings.Split(scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	plain, k, err := a.accounts.CreateAPIKey(ctx, cliActor, t.ID, name, list)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "API key %s created for %s with scopes %s. It is shown once: keep it now.\n", k.ID, t.Slug, strings.Join(k.Scopes, ","))
	fmt.Fprintln(e.stdout, plain)
	return nil
}

func auditCmd(ctx context.Context, e env, args []string) error {
	_, args, err := sub(args, "audit", "verify")
	if err != nil {
		return err
	}
	c, _, err := loadConfig(e, "audit verify", args, nil)
	if err != nil {
		return err
	}
	d, err := db.Open(ctx, c.DatabaseURL, c.Data, db.Options{MaxConns: c.DBMaxConns})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.SchemaCurrent(ctx); err != nil {
		return err
	}
	n, breaks, err := audit.New(d).VerifyAll(ctx)
	if err != nil {
		return err
	}
	for _, b := range breaks {
		tenant := b.TenantID
		if tenant == "" {
			tenant = "(outside any tenant)"
		}
		fmt.Fprintf(e.stdout, "BROKEN: tenant %s, entry %d: %s\n", tenant, b.Seq, b.Reason)
	}
	if len(breaks) > 0 {
		return fmt.Errorf("audit log: %d broken chain(s) among %d entries", len(breaks), n)
	}
	fmt.Fprintf(e.stdout, "audit log intact: %d entries verified\n", n)
	return nil
}

// keyCmd rotates the master key: every tenant key is re-wrapped with the new
// one in one transaction; field data is not touched.
func keyCmd(ctx context.Context, e env, args []string) error {
	_, args, err := sub(args, "key", "rotate")
	if err != nil {
		return err
	}
	var newFile string
	c, _, err := loadConfig(e, "key rotate", args, func(fs *flag.FlagSet) {
		fs.StringVar(&newFile, "new", "", "file holding the new 32-byte master key (base64 or hex), e.g. made with: head -c 32 /dev/urandom | base64")
	})
	if err != nil {
		return err
	}
	if newFile == "" {
		return usageError{"give --new FILE, the file holding the new master key"}
	}
	newKey, _, err := vault.LoadMasterKey(vault.KeyOptions{KeyFile: newFile, DataExists: true})
	if err != nil {
		return err
	}
	a, err := open(ctx, e, c)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.vault.RotateMaster(ctx, newKey); err != nil {
		return err
	}
	if err := a.audit.Record(ctx, nil, audit.Entry{Actor: cliActor, Action: "vault.rotate_master", ObjectKind: "vault",
		Detail: map[string]string{"key_id": vault.KeyID(newKey)}}); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "master key rotated: the database now opens with the key in %s (id %s) only.\n", newFile, vault.KeyID(newKey))
	if c.MasterKey == "" && c.MasterKeyFile == "" {
		// The key was DATA/master.key: put the new one in its place and keep
		// the old one beside it, for backups taken before the rotation.
		old := a.keyPath + ".old-" + time.Now().UTC().Format("20060102T150405")
		if err := os.Rename(a.keyPath, old); err != nil {
			return fmt.Errorf("rotated, but could not move the old key aside: %w; start avis with AVIS_MASTER_KEY_FILE=%s", err, newFile)
		}
		b, err := os.ReadFile(newFile)
		if err == nil {
			err = os.WriteFile(a.keyPath, b, 0o600)
		}
		if err != nil {
			return fmt.Errorf("rotated, but could not install the new key: %w; start avis with AVIS_MASTER_KEY_FILE=%s", err, newFile)
		}
		fmt.Fprintf(e.stdout, "%s now holds the new key; the old one is in %s, which backups made before now need.\n", a.keyPath, old)
		return nil
	}
	fmt.Fprintf(e.stdout, "Start every avis process with AVIS_MASTER_KEY_FILE=%s. Keep the old key as long as backups made with it.\n", newFile)
	return nil
}
