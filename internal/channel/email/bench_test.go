package email

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// benchMessage is an invitation with an 8 KB HTML body and its text.
func benchMessage() Message {
	m := sampleMessage()
	var html strings.Builder
	html.WriteString("<!doctype html><html lang=\"fr\"><body style=\"margin:0;padding:0\">\n")
	for html.Len() < 8<<10 {
		html.WriteString("<tr><td style=\"padding:8px 16px;font-family:Arial,sans-serif;color:#333\">Votre avis compte : notez votre expérience de 0 à 10.</td></tr>\n")
	}
	html.WriteString("</body></html>\n")
	m.HTML = html.String()
	m.Text = strings.Repeat("Votre avis compte : notez votre expérience de 0 à 10.\n", 30)
	return m
}

// BenchmarkBuildSign measures Build with an 8 KB HTML body, unsigned and
// signed with each kind of key.
func BenchmarkBuildSign(b *testing.B) {
	rsaKey, edKey, _ := testKeys(b)
	m := benchMessage()
	for _, bb := range []struct {
		name string
		key  *DKIMKey
	}{{"rsa2048", rsaKey}, {"ed25519", edKey}, {"unsigned", nil}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				raw, err := Build(m, testNow, bb.key)
				if err != nil {
					b.Fatal(err)
				}
				size = len(raw)
			}
			b.SetBytes(int64(size))
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkKeySign measures the private-key operation alone (one SHA-256
// digest signed), to tell it from the DKIM canonicalization around it.
func BenchmarkKeySign(b *testing.B) {
	rsaKey, edKey, _ := testKeys(b)
	digest := sha256.Sum256([]byte("header hash"))
	for _, bb := range []struct {
		name   string
		key    *DKIMKey
		digest []byte
		opts   crypto.SignerOpts
	}{{"rsa2048", rsaKey, digest[:], crypto.SHA256}, {"ed25519", edKey, digest[:], crypto.Hash(0)}} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := bb.key.Signer.Sign(rand.Reader, bb.digest, bb.opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signs/s")
		})
	}
}

// BenchmarkBuildSignParallel is BenchmarkBuildSign on every core.
func BenchmarkBuildSignParallel(b *testing.B) {
	rsaKey, edKey, _ := testKeys(b)
	m := benchMessage()
	for _, bb := range []struct {
		name string
		key  *DKIMKey
	}{{"rsa2048", rsaKey}, {"ed25519", edKey}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := Build(m, testNow, bb.key); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// benchServer is an in-process go-smtp server that discards messages.
func benchServer(b *testing.B) (*testServer, *atomic.Int64) {
	var n atomic.Int64
	be := &testBackend{data: func(_ *smtp.Conn, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		n.Add(1)
		return err
	}}
	return startServer(b, be, TLSNone), &n
}

// BenchmarkSendLoopback sends a built 11 KB message through a pool of 4
// connections to an in-process go-smtp server, from 4 goroutines per core.
func BenchmarkSendLoopback(b *testing.B) {
	ts, received := benchServer(b)
	s := ts.newSender(b, ts.relayURL(TLSNone, "", "pool=4"), Options{})
	raw, err := Build(benchMessage(), testNow, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	b.SetParallelism(4)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := s.Send(ctx, testEnv, raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	if received.Load() < int64(b.N) {
		b.Fatalf("%d of %d messages received", received.Load(), b.N)
	}
}

// BenchmarkEndToEnd builds, signs and sends each message (pool of 4), as
// the send job does: the figure.
func BenchmarkEndToEnd(b *testing.B) {
	rsaKey, edKey, _ := testKeys(b)
	for _, bb := range []struct {
		name string
		key  *DKIMKey
	}{{"rsa2048", rsaKey}, {"ed25519", edKey}} {
		b.Run(bb.name, func(b *testing.B) {
			ts, received := benchServer(b)
			s := ts.newSender(b, ts.relayURL(TLSNone, "", "pool=4"), Options{})
			m := benchMessage()
			b.ReportAllocs()
			b.SetParallelism(4)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					raw, err := Build(m, testNow, bb.key)
					if err != nil {
						b.Error(err)
						return
					}
					if err := s.Send(ctx, testEnv, raw); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			if received.Load() < int64(b.N) {
				b.Fatalf("%d of %d messages received", received.Load(), b.N)
			}
		})
	}
}
