// Package config holds avis's one typed Config and fills it, in this order,
// from defaults, an optional file of AVIS_*=value lines, AVIS_* environment
// variables (secrets also from AVIS_*_FILE) and command-line flags.
package config

import (
	"net/mail"

	"avis/internal/channel/email"
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of avis. Each field names its environment variable
// in the env tag and its flag in the flag tag (when it has one); doc is the
// line docs/configuration.md shows.
type Config struct {
	Addr            string        `env:"AVIS_ADDR" flag:"addr" doc:"Address the HTTP server listens on."`
	Data            string        `env:"AVIS_DATA" flag:"data" doc:"Data directory: the SQLite database and, when no other key is given, master.key."`
	DatabaseURL     string        `env:"AVIS_DATABASE_URL" flag:"db" secret:"true" doc:"postgres://user:pass@host:5432/db for PostgreSQL; empty for SQLite in the data directory."`
	Demo            bool          `env:"AVIS_DEMO" flag:"demo" doc:"On an empty data directory, create a demo tenant with fake contacts and a demo login."`
	Role            string        `env:"AVIS_ROLE" flag:"role" doc:"What this process does: all, web (HTTP only) or worker (jobs only)."`
	BaseURL         string        `env:"AVIS_BASE_URL" flag:"base-url" doc:"Public URL of avis, used in links and to decide Secure cookies."`
	MasterKey       string        `env:"AVIS_MASTER_KEY" doc:"The 32-byte master key, base64 or hex. Prefer AVIS_MASTER_KEY_FILE."`
	MasterKeyFile   string        `env:"AVIS_MASTER_KEY_FILE" doc:"File holding the master key. Default: DATA/master.key, created on first start of an empty data directory."`
	TLSCert         string        `env:"AVIS_TLS_CERT_FILE" doc:"Serve HTTPS with this certificate (PEM) when set with AVIS_TLS_KEY_FILE."`
	TLSKey          string        `env:"AVIS_TLS_KEY_FILE" doc:"Private key (PEM) for AVIS_TLS_CERT_FILE."`
	LogFormat       string        `env:"AVIS_LOG_FORMAT" flag:"log-format" doc:"auto (text on a terminal, JSON otherwise), text or json."`
	LogLevel        string        `env:"AVIS_LOG_LEVEL" flag:"log-level" doc:"debug, info, warn or error."`
	DBMaxConns      int           `env:"AVIS_DATABASE_MAX_CONNS" doc:"Size of the PostgreSQL pool and of the SQLite read pool."`
	SessionTTL      time.Duration `env:"AVIS_SESSION_TTL" doc:"How long an admin session lasts without activity."`
	LoginMaxFails   int           `env:"AVIS_LOGIN_MAX_FAILURES" doc:"Failed logins allowed per account within 15 minutes before it is locked for 15 minutes (per address: four times as many)."`
	JobWorkers      int           `env:"AVIS_JOB_WORKERS" doc:"Jobs worked at once by a worker process."`
	ShutdownTimeout time.Duration `env:"AVIS_SHUTDOWN_TIMEOUT" doc:"On SIGTERM, how long running requests and jobs may finish before they are cancelled."`
	MaxUploadBytes  int64         `env:"AVIS_MAX_UPLOAD_BYTES" doc:"Largest contact file (upload or API JSON Lines stream) accepted, in bytes."`
	APIRate         int           `env:"AVIS_API_RATE" doc:"REST API requests per second each API key may make, in each avis process (token bucket); 0 for no limit."`
	APIBurst        int           `env:"AVIS_API_BURST" doc:"REST API requests an API key may make at once above AVIS_API_RATE (the bucket's size)."`
	TrustedProxies  string        `env:"AVIS_TRUSTED_PROXIES" doc:"Comma-separated proxy addresses (CIDR) whose X-Forwarded-For is believed."`
	SMTPURL         string        `env:"AVIS_SMTP_URL" secret:"true" doc:"Default SMTP relay: smtp://user:pass@host:port?tls=none|starttls|implicit. Empty: messages go to the outbox."`
	TenantSendRate  int           `env:"AVIS_TENANT_SEND_RATE" doc:"Invitations per second each tenant may send, email and SMS together; 0 for no limit."`
	MailFrom        string        `env:"AVIS_MAIL_FROM" doc:"Sender address of tenants that set none. Default: avis@ the host of AVIS_BASE_URL."`
	ConfigFile      string        `env:"AVIS_CONFIG_FILE" flag:"config" doc:"A file of AVIS_NAME=value lines read before the environment."`
	OperatorName    string        `env:"AVIS_OPERATOR_NAME" doc:"Legal name of whoever runs this avis server, named as joint controller in every privacy notice. Default: the operator of the avis service at the host of AVIS_BASE_URL."`
	OperatorAddress string        `env:"AVIS_OPERATOR_ADDRESS" doc:"Postal address of the operator, shown in privacy notices."`
	OperatorEmail   string        `env:"AVIS_OPERATOR_PRIVACY_EMAIL" doc:"Address of the operator's data-protection contact, shown in privacy notices."`
	WebhookPrivate  bool          `env:"AVIS_WEBHOOK_ALLOW_PRIVATE" doc:"Let webhook endpoints be on loopback, private, link-local or other internal addresses (refused by default: SSRF guard)."`
	WebhookHTTP     bool          `env:"AVIS_WEBHOOK_ALLOW_HTTP" doc:"Accept webhook endpoints in plain http:// besides https://."`
}

// Default returns the settings used when nothing else is given.
func Default() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		Data:            "./avis-data",
		Role:            "all",
		BaseURL:         "http://localhost:8080",
		LogFormat:       "auto",
		LogLevel:        "info",
		DBMaxConns:      8,
		SessionTTL:      12 * time.Hour,
		LoginMaxFails:   5,
		JobWorkers:      10,
		ShutdownTimeout: 30 * time.Second,
		MaxUploadBytes:  512 << 20,
		APIRate:         20,
		APIBurst:        100,
	}
}

// Load fills a Config from defaults, the config file, the environment and
// the flags in args (parsed with fs, on which Load defines the flags).
// getenv is os.Getenv in production.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	c := Default()
	// Flags are defined first so that -h lists them, but applied last.
	values := map[string]*string{}
	bools := map[string]*bool{}
	forEach(&c, func(f reflect.StructField, v reflect.Value) {
		name := f.Tag.Get("flag")
		if name == "" || fs.Lookup(name) != nil {
			// A command's own flag of the same name wins (user create --role).
			return
		}
		help := f.Tag.Get("doc") + " (" + f.Tag.Get("env") + ")"
		if v.Kind() == reflect.Bool {
			bools[name] = fs.Bool(name, v.Bool(), help)
			return
		}
		values[name] = fs.String(name, fmt.Sprint(v.Interface()), help)
	})
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	file := getenv("AVIS_CONFIG_FILE")
	if set["config"] && values["config"] != nil {
		file = *values["config"]
	}
	fileVals := map[string]string{}
	if file != "" {
		var err error
		if fileVals, err = readFile(file); err != nil {
			return c, err
		}
	}
	var errs []error
	explicit := map[string]bool{}
	forEach(&c, func(f reflect.StructField, v reflect.Value) {
		env := f.Tag.Get("env")
		raw, ok := fileVals[env], fileVals[env] != ""
		if e := getenv(env); e != "" {
			raw, ok = e, true
		}
		if path := getenv(env + "_FILE"); path != "" && f.Tag.Get("secret") == "true" {
			b, err := os.ReadFile(path)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s_FILE: %w", env, err))
				return
			}
			raw, ok = strings.TrimSpace(string(b)), true
		}
		if name := f.Tag.Get("flag"); name != "" && set[name] && (values[name] != nil || bools[name] != nil) {
			if v.Kind() == reflect.Bool {
				raw, ok = strconv.FormatBool(*bools[name]), true
			} else {
				raw, ok = *values[name], true
			}
		}
		if !ok {
			return
		}
		explicit[env] = true
		if err := setValue(v, raw); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", env, err))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return c, err
	}
	if !explicit["AVIS_BASE_URL"] {
		// Links follow the listening port unless a public URL is given.
		if host, port, err := net.SplitHostPort(c.Addr); err == nil && port != "" {
			if host == "" || host == "0.0.0.0" || host == "::" || host == "127.0.0.1" {
				host = "localhost"
			}
			c.BaseURL = "http://" + net.JoinHostPort(host, port)
		}
	}
	return c, c.Validate()
}

// Validate checks the settings that can be checked without side effects.
func (c Config) Validate() error {
	var errs []error
	switch c.Role {
	case "all", "web", "worker":
	default:
		errs = append(errs, fmt.Errorf("AVIS_ROLE %q: use all, web or worker", c.Role))
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		errs = append(errs, fmt.Errorf("AVIS_LOG_FORMAT %q: use auto, text or json", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("AVIS_LOG_LEVEL %q: use debug, info, warn or error", c.LogLevel))
	}
	if !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		errs = append(errs, fmt.Errorf("AVIS_BASE_URL %q: give a full URL such as https://avis.example.com", c.BaseURL))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("AVIS_TLS_CERT_FILE and AVIS_TLS_KEY_FILE go together: set both or neither"))
	}
	if c.MaxUploadBytes < 1<<20 {
		errs = append(errs, errors.New("AVIS_MAX_UPLOAD_BYTES must be at least 1048576 (1 MiB)"))
	}
	if c.DBMaxConns < 1 || c.JobWorkers < 1 || c.LoginMaxFails < 1 {
		errs = append(errs, errors.New("AVIS_DATABASE_MAX_CONNS, AVIS_JOB_WORKERS and AVIS_LOGIN_MAX_FAILURES must be at least 1"))
	}
	if c.SMTPURL != "" {
		if _, err := email.ParseRelayURL(c.SMTPURL); err != nil {
			errs = append(errs, fmt.Errorf("AVIS_SMTP_URL: %w", err))
		}
	}
	if c.MailFrom != "" {
		if a, err := mail.ParseAddress(c.MailFrom); err != nil || a.Address != c.MailFrom {
			errs = append(errs, fmt.Errorf("AVIS_MAIL_FROM %q: give a bare address such as avis@example.com", c.MailFrom))
		}
	}
	if c.APIRate < 0 || c.APIBurst < 1 {
		errs = append(errs, errors.New("AVIS_API_RATE must be 0 (no limit) or a number of requests per second, and AVIS_API_BURST at least 1"))
	}
	if c.TenantSendRate < 0 {
		errs = append(errs, errors.New("AVIS_TENANT_SEND_RATE must be 0 (no limit) or a number of messages per second"))
	}
	if len(c.OperatorName) > 200 || strings.ContainsAny(c.OperatorName, "\r\n") {
		errs = append(errs, errors.New("AVIS_OPERATOR_NAME must be one line of at most 200 characters"))
	}
	if len(c.OperatorAddress) > 500 {
		errs = append(errs, errors.New("AVIS_OPERATOR_ADDRESS must be at most 500 characters"))
	}
	if c.OperatorEmail != "" {
		if a, err := mail.ParseAddress(c.OperatorEmail); err != nil || a.Address != c.OperatorEmail {
			errs = append(errs, fmt.Errorf("AVIS_OPERATOR_PRIVACY_EMAIL %q: give a bare address such as dpo@example.com", c.OperatorEmail))
		}
	}
	if c.SessionTTL < time.Minute || c.ShutdownTimeout < 0 {
		errs = append(errs, errors.New("AVIS_SESSION_TTL must be at least 1m and AVIS_SHUTDOWN_TIMEOUT not negative"))
	}
	return errors.Join(errs...)
}

// SecureCookies reports whether cookies must carry the Secure attribute.
func (c Config) SecureCookies() bool {
	return strings.HasPrefix(c.BaseURL, "https://") || c.TLSCert != ""
}

// Setting describes one setting for the documentation.
type Setting struct{ Env, Flag, Default, Doc string }

// Settings lists every setting with its default, in declaration order.
func Settings() []Setting {
	c := Default()
	var out []Setting
	forEach(&c, func(f reflect.StructField, v reflect.Value) {
		def := fmt.Sprint(v.Interface())
		out = append(out, Setting{Env: f.Tag.Get("env"), Flag: f.Tag.Get("flag"), Default: def, Doc: f.Tag.Get("doc")})
	})
	return out
}

func forEach(c *Config, fn func(reflect.StructField, reflect.Value)) {
	rv := reflect.ValueOf(c).Elem()
	rt := rv.Type()
	for i := range rt.NumField() {
		fn(rt.Field(i), rv.Field(i))
	}
}

func setValue(v reflect.Value, raw string) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		v.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", raw)
		}
		v.SetInt(int64(n))
	case reflect.Int64:
		if v.Type() != reflect.TypeOf(time.Duration(0)) {
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("%q is not a whole number of bytes", raw)
			}
			v.SetInt(n)
			return nil
		}
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s or 12h", raw)
		}
		v.SetInt(int64(d))
	default:
		return fmt.Errorf("unsupported setting type %s", v.Kind())
	}
	return nil
}

func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	out, err := ParseFile(f)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	return out, nil
}

// ParseFile reads AVIS_NAME=value lines (blank lines and # comments
// allowed; values may be quoted) and refuses unknown names.
func ParseFile(r io.Reader) (map[string]string, error) {
	known := map[string]bool{}
	for _, s := range Settings() {
		known[s.Env] = true
	}
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !known[k] {
			return nil, fmt.Errorf("line %d: expected AVIS_NAME=value with a known name (see docs/configuration.md)", n)
		}
		out[k] = strings.Trim(strings.TrimSpace(v), `"'`)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line too long or unreadable: %w", err)
	}
	return out, nil
}

// Names returns the sorted environment variable names, for tests and docs.
func Names() []string {
	var out []string
	for _, s := range Settings() {
		out = append(out, s.Env)
	}
	sort.Strings(out)
	return out
}
