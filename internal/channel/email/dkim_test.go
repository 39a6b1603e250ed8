//go:debug rsa1024min=0

package email

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

// TestDKIMKeyPEM round-trips both kinds of key through PEM and checks that
// a message signed with the parsed key verifies against the original key's
// DNS record.
func TestDKIMKeyPEM(t *testing.T) {
	t.Parallel()
	rsaKey, edKey, lookup := testKeys(t)
	for _, k := range []*DKIMKey{rsaKey, edKey} {
		pemBytes, err := MarshalDKIMKey(k.Signer)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(pemBytes), "-----BEGIN PRIVATE KEY-----\n") {
			t.Fatalf("PEM %q", pemBytes[:30])
		}
		s, err := ParseDKIMKey(pemBytes)
		if err != nil {
			t.Fatal(err)
		}
		parsed := &DKIMKey{Domain: k.Domain, Selector: k.Selector, Signer: s}
		raw, err := Build(sampleMessage(), testNow, parsed)
		if err != nil {
			t.Fatal(err)
		}
		verifyDKIM(t, raw, k, lookup, signedFields...)
	}
}

func TestDNSRecord(t *testing.T) {
	t.Parallel()
	rsaKey, edKey, _ := testKeys(t)
	name, value, err := rsaKey.DNSRecord()
	if err != nil {
		t.Fatal(err)
	}
	if name != "avis-rsa._domainkey.shop.example" || !strings.HasPrefix(value, "v=DKIM1; k=rsa; p=MIIBIjAN") {
		t.Fatalf("RSA record %s %q", name, value)
	}
	name, value, err = edKey.DNSRecord()
	if err != nil {
		t.Fatal(err)
	}
	// 32 bytes of key are 44 base64 characters.
	if name != "avis-ed._domainkey.shop.example" || !strings.HasPrefix(value, "v=DKIM1; k=ed25519; p=") || len(value) != len("v=DKIM1; k=ed25519; p=")+44 {
		t.Fatalf("Ed25519 record %s %q", name, value)
	}
	for _, bad := range []DKIMKey{
		{Domain: "", Selector: "s", Signer: edKey.Signer},
		{Domain: "shop.example", Selector: "a b", Signer: edKey.Signer},
		{Domain: "shop..example", Selector: "s", Signer: edKey.Signer},
		{Domain: "shop.example", Selector: "s"},
	} {
		if _, _, err := bad.DNSRecord(); err == nil {
			t.Fatalf("DNSRecord accepted %+v", bad)
		}
		if _, err := Build(sampleMessage(), testNow, &bad); err == nil {
			t.Fatalf("Build signed with %+v", bad)
		}
	}
}

func TestParseDKIMKeyRefuses(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	small, _ := rsa.GenerateKey(rand.Reader, 768) //nolint:gosec // the test wants a weak key refused
	smallDER := x509.MarshalPKCS1PrivateKey(small)
	tests := []struct {
		name, pem, wantErr string
	}{
		{"not pem", "hello", "not PEM"},
		{"certificate", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})), `"CERTIFICATE", not a private key`},
		{"encrypted", string(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})), "passphrase"},
		{"garbage", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}})), "read DKIM key"},
		{"ecdsa", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})), "use RSA or Ed25519"},
		{"rsa 768", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: smallDER})), "at least 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDKIMKey([]byte(tt.pem))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
	if _, err := MarshalDKIMKey(ec); err == nil {
		t.Fatal("marshalled an ECDSA key as a DKIM key")
	}
	if _, err := GenerateDKIMKey("dsa"); err == nil {
		t.Fatal("generated a dsa key")
	}
}
