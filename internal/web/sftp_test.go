package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"html"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"

	"avis/internal/account"
)

// sshServer is a real SSH server on a loopback port that lets one
// password in and offers nothing after the login: enough for avis to read
// its host key (copied from what crmsync's sftp_server_test.go needs).
type sshServer struct {
	Port    int
	HostKey ssh.Signer
}

func startSSH(t *testing.T) *sshServer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
		if c.User() == "crm" && string(pw) == "s3cret-Passw0rd!" {
			return nil, nil
		}
		return nil, errors.New("wrong password")
	}}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				sc, chans, reqs, err := ssh.NewServerConn(c, cfg)
				if err != nil {
					return
				}
				defer sc.Close()
				go ssh.DiscardRequests(reqs)
				for nc := range chans {
					nc.Reject(ssh.Prohibited, "nothing here")
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return &sshServer{Port: ln.Addr().(*net.TCPAddr).Port, HostKey: signer}
}

// TestSFTPPage reads a server's host key into the form, refuses a source
// with a malformed fingerprint without echoing its password, saves one,
// queues a fetch and deletes it.
func TestSFTPPage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	srv := startSSH(t)
	want := ssh.FingerprintSHA256(srv.HostKey.PublicKey())
	b := e.loggedIn("shop-owner@example.com").english()
	if r := b.get("/sftp"); r.status != http.StatusOK || !strings.Contains(r.body, "No SFTP drop yet.") {
		t.Fatalf("/sftp: %d", r.status)
	}
	tok := b.csrf("/sftp")
	port := strconv.Itoa(srv.Port)
	form := url.Values{"csrf": {tok}, "name": {"CRM nightly"}, "host": {"127.0.0.1"}, "port": {port}, "username": {"crm"},
		"auth": {"password"}, "password": {"s3cret-Passw0rd!"}, "folder": {"drop"}, "pattern": {"*.csv"}, "interval": {"15"}, "enabled": {"1"}}

	// Check the host key: the form comes back with it, and asks to compare.
	r := b.post("/sftp/hostkey", form)
	if r.status != http.StatusOK || !strings.Contains(html.UnescapeString(r.body), `value="`+want+`"`) || !strings.Contains(r.body, "Compare it with the fingerprint your server&#39;s administrator gives you") {
		t.Fatalf("host key check: %d, want the fingerprint %s in the form\n%s", r.status, want, r.body)
	}
	if strings.Contains(r.body, "s3cret-Passw0rd!") || !strings.Contains(r.body, `value="CRM nightly"`) {
		t.Fatal("the host key check echoes the password, or loses the form")
	}
	// A port where nobody listens: a plain error.
	closed := url.Values{"csrf": {tok}, "host": {"127.0.0.1"}, "port": {"1"}}
	if r := b.post("/sftp/hostkey", closed); r.status != http.StatusBadGateway || !strings.Contains(r.body, "avis could not read the server&#39;s host key") {
		t.Fatalf("host key of a closed port: %d\n%s", r.status, r.body)
	}

	// A fingerprint in the wrong format is refused on the form.
	form.Set("fingerprint", "MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48")
	r = b.post("/sftp", form)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "The source was not saved:") || !strings.Contains(r.body, "SHA256") {
		t.Fatalf("MD5 fingerprint: %d\n%s", r.status, r.body)
	}
	if strings.Contains(r.body, "s3cret-Passw0rd!") {
		t.Fatal("the refused form echoes the password")
	}
	if list, _ := e.sftp.List(ctx, tn.ID); len(list) != 0 {
		t.Fatalf("a source was saved with a wrong fingerprint: %+v", list)
	}
	form.Set("interval", "soon")
	if r := b.post("/sftp", form); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "whole number of minutes") {
		t.Fatalf("bad interval: %d", r.status)
	}
	form.Set("interval", "15")

	form.Set("fingerprint", want)
	r = b.post("/sftp", form)
	if r.status != http.StatusOK || !strings.Contains(r.body, "SFTP drop saved.") || !strings.Contains(r.body, "127.0.0.1:"+port) ||
		strings.Contains(r.body, "s3cret-Passw0rd!") {
		t.Fatalf("create: %d\n%s", r.status, r.body)
	}
	list, err := e.sftp.List(ctx, tn.ID)
	if err != nil || len(list) != 1 || list[0].HostKeyFingerprint != want || list[0].Interval.Minutes() != 15 || !list[0].Enabled || list[0].Folder != "drop" {
		t.Fatalf("sources = %+v, %v", list, err)
	}
	if r := b.post("/sftp", form); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "already exists") {
		t.Fatalf("same name again: %d", r.status)
	}

	// Fetch now: a job is queued, not run by the request.
	r = b.post("/sftp/"+list[0].ID+"/fetch", url.Values{"csrf": {tok}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "A fetch is queued") {
		t.Fatalf("fetch: %d\n%s", r.status, r.body)
	}

	r = b.post("/sftp/"+list[0].ID+"/delete", url.Values{"csrf": {tok}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "SFTP drop deleted") {
		t.Fatalf("delete: %d\n%s", r.status, r.body)
	}
	if list, _ := e.sftp.List(ctx, tn.ID); len(list) != 0 {
		t.Fatalf("the source is still there: %+v", list)
	}
	if r := b.post("/sftp/"+list[0].ID+"/delete", url.Values{"csrf": {tok}}); r.status != http.StatusNotFound {
		t.Fatalf("delete again: %d, want 404", r.status)
	}
}
