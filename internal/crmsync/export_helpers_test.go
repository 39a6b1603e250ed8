package crmsync

import (
	"context"
	"crypto/rand"
	"database/sql"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"avis/internal/contact"
	"avis/internal/crmsync/sftptest"
	"avis/internal/db"
	"avis/internal/feed"
)

// exportEnv is a store of export schedules on a fresh database, with the
// contact store and the feed to seed rows.
type exportEnv struct {
	*env
	x        *ExportStore
	contacts *contact.Store
	feed     *feed.Feed
}

func newExportEnv(t testing.TB) *exportEnv {
	t.Helper()
	e := newEnv(t)
	c := contact.NewStore(e.d, e.v, e.a)
	x := NewExportStore(e.d, e.v, e.a, c)
	x.dialTimeout = 5 * time.Second
	return &exportEnv{env: e, x: x, contacts: c, feed: feed.New(e.d)}
}

// contact creates a contact of the tenant.
func (e *exportEnv) contact(t testing.TB, in contact.Input) string {
	t.Helper()
	c, err := e.contacts.Create(context.Background(), e.admin, e.tenant, in)
	if err != nil {
		t.Fatalf("create contact: %v", err)
	}
	return c.ID
}

// seedResponse stores a complete response of contactID (or an anonymous
// one when ""), with an NPS score, a choice and, when comment is not
// empty, a free-text answer sealed as internal/response seals it. It takes
// its place at the end of the tenant's feed.
func (e *exportEnv) seedResponse(t testing.TB, contactID string, nps int, comment string) string {
	t.Helper()
	ctx := context.Background()
	id := db.NewID()
	now := db.Now()
	err := e.d.Tx(ctx, func(tx *sql.Tx) error {
		seq, err := feed.Reserve(ctx, tx, e.tenant, 1)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO responses (tenant_id, id, survey_id, survey_version, contact_id, step_id,
			source, language, status, started_at, updated_at, completed_at, sync_seq)
			VALUES ($1, $2, 'survey1', 3, $3, 'step1', 'invitation', 'fr', 'complete', $4, $4, $4, $5)`,
			e.tenant, id, contactID, now, seq); err != nil {
			return err
		}
		cat := "detractor"
		if nps >= 9 {
			cat = "promoter"
		} else if nps >= 7 {
			cat = "passive"
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO response_answers (tenant_id, response_id, question_id, kind, number, category, updated_at)
			VALUES ($1, $2, 'q1', 'nps', $3, $4, $5)`, e.tenant, id, nps, cat, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO response_answers (tenant_id, response_id, question_id, kind, choices, updated_at)
			VALUES ($1, $2, 'q2', 'multi', 'price,speed', $3)`, e.tenant, id, now); err != nil {
			return err
		}
		if comment != "" {
			subj := contactID
			if subj == "" {
				subj = id
			}
			k, err := e.v.Subject(ctx, tx, e.tenant, subj)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO response_answers (tenant_id, response_id, question_id, kind, text_sealed, updated_at)
				VALUES ($1, $2, 'q3', 'longtext', $3, $4)`, e.tenant, id, k.SealString("answer:"+id+":q3", comment), now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("seed response: %v", err)
	}
	return id
}

// seedInvitation stores an invitation of contactID in the given status.
func (e *exportEnv) seedInvitation(t testing.TB, contactID, status string) string {
	t.Helper()
	ctx := context.Background()
	id := db.NewID()
	now := db.Now()
	hash := make([]byte, 32)
	rand.Read(hash)
	err := e.d.Tx(ctx, func(tx *sql.Tx) error {
		seq, err := feed.Reserve(ctx, tx, e.tenant, 1)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO invitations (tenant_id, id, rule_id, survey_id, step_id, contact_id, touchpoint_id,
			channel, status, reason, token_hash, due_at, sent_at, created_at, updated_at, sync_seq)
			VALUES ($1, $2, 'rule1', 'survey1', 'step1', $3, $4, 'email', $5, '', $6, $7, $7, $7, $7, $8)`,
			e.tenant, id, contactID, db.NewID(), status, hash, now, seq)
		return err
	})
	if err != nil {
		t.Fatalf("seed invitation: %v", err)
	}
	return id
}

// seedUnsubscribe emits the contact.unsubscribed event of a contact.
func (e *exportEnv) seedUnsubscribe(t testing.TB, contactID, externalID string) {
	t.Helper()
	ctx := context.Background()
	err := e.d.Tx(ctx, func(tx *sql.Tx) error {
		return e.feed.Emit(ctx, tx, e.tenant, feed.Event{Type: feed.ContactUnsubscribed, ObjectID: contactID,
			ContactID: contactID, ExternalID: externalID})
	})
	if err != nil {
		t.Fatalf("seed unsubscribe: %v", err)
	}
}

// schedule creates a schedule of the tenant.
func (e *exportEnv) schedule(t testing.TB, in ExportInput) Schedule {
	t.Helper()
	sc, err := e.x.Create(context.Background(), e.admin, e.tenant, in, false)
	if err != nil {
		t.Fatalf("create export schedule: %v", err)
	}
	return sc
}

// exportInput returns an input writing responses as CSV to the in-process
// SFTP server's folder, with password login.
func (s *testServer) exportInput(folder string) ExportInput {
	return ExportInput{
		Name: "CRM results", Kinds: []string{KindResponses}, Protocol: ProtocolSFTP, Host: s.Host, Port: s.Port,
		Username: s.User, AuthKind: AuthPassword, Secret: s.Password, HostKeyFingerprint: s.fingerprint(),
		Folder: folder, Format: FormatCSV, Cron: "0 2 * * *", TimeZone: "Europe/Paris", Enabled: true,
	}
}

// cutProxy forwards TCP connections to a server and, once limit bytes went
// from a client to the server (limit > 0), closes the connection: an
// upload interrupted by the network or the server.
type cutProxy struct {
	Host   string
	Port   int
	target string
	limit  atomic.Int64
	ln     net.Listener
	wg     sync.WaitGroup
}

func startCutProxy(t testing.TB, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{target: target, ln: ln, Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.forward(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *cutProxy) forward(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	done := make(chan struct{}, 2)
	go func() {
		io.Copy(c, s)
		done <- struct{}{}
	}()
	go func() {
		limit := p.limit.Load()
		if limit <= 0 {
			io.Copy(s, c)
		} else {
			io.CopyN(s, c, limit)
		}
		done <- struct{}{}
	}()
	<-done
}

// fullServer is an SFTP server (pkg/sftp's request server over an
// in-memory file system) whose disk is full after limit bytes: writes past
// it fail with ENOSPC, as a full disk or a quota makes them fail.
type fullServer struct {
	*testServer
	mem sftp.Handlers
}

// fullWriter fails every write past the limit.
type fullWriter struct {
	w       io.WriterAt
	written *atomic.Int64
	limit   int64
}

func (f fullWriter) WriteAt(b []byte, off int64) (int, error) {
	if f.written.Add(int64(len(b))) > f.limit {
		return 0, &net.OpError{Op: "write", Err: syscall.ENOSPC}
	}
	return f.w.WriteAt(b, off)
}

// fullPut hands out fullWriters sharing one budget.
type fullPut struct {
	mem     sftp.FileWriter
	written atomic.Int64
	limit   int64
}

func (p *fullPut) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	w, err := p.mem.Filewrite(r)
	if err != nil {
		return nil, err
	}
	return fullWriter{w: w, written: &p.written, limit: p.limit}, nil
}

// startFullServer starts an SFTP server with password login whose disk
// holds limit bytes.
func startFullServer(t testing.TB, limit int64) *fullServer {
	t.Helper()
	return startMemServer(t, func(mem sftp.FileWriter) sftp.FileWriter { return &fullPut{mem: mem, limit: limit} })
}

// startMemServer starts an SFTP server with password login over an
// in-memory file system whose writes go through put(the memory's).
func startMemServer(t testing.TB, put func(sftp.FileWriter) sftp.FileWriter) *fullServer {
	t.Helper()
	mem := sftp.InMemHandler()
	h := sftp.Handlers{FileGet: mem.FileGet, FilePut: put(mem.FilePut), FileCmd: mem.FileCmd, FileList: mem.FileList}
	srv := startServerWith(t, sftptest.Options{Open: func(ch ssh.Channel) (sftptest.Session, error) {
		return sftp.NewRequestServer(ch, h), nil
	}})
	return &fullServer{testServer: srv, mem: h}
}

// files lists the names in a folder of the full server's memory.
func (f *fullServer) files(t testing.TB, ctx context.Context) []string {
	t.Helper()
	client, err := ssh.Dial("tcp", net.JoinHostPort(f.Host, strconv.Itoa(f.Port)), &ssh.ClientConfig{
		User: f.User, Auth: []ssh.AuthMethod{ssh.Password(f.Password)}, HostKeyCallback: checkHostKey(f.fingerprint()),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sc, err := sftp.NewClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	fis, err := sc.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, fi := range fis {
		out = append(out, fi.Name())
	}
	return out
}
