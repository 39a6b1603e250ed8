package email

import (
	"context"
	"testing"
)

// TestDataDotStuffing: lines that start with a dot reach the relay intact
// (doubled on the wire, undone by the server), on the fast path (CRLF
// only) and on the DotWriter path (bare line ends, mended to CRLF).
func TestDataDotStuffing(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, raw, want string }{
		{"CRLF", "Subject: x\r\n\r\n.\r\n..\r\n.a\r\nb.\r\nend", "Subject: x\r\n\r\n.\r\n..\r\n.a\r\nb.\r\nend\r\n"},
		{"CRLF with final CRLF", "Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n"},
		{"bare LF", "Subject: x\n\n.a\nb\n", "Subject: x\r\n\r\n.a\r\nb\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			be := &testBackend{}
			ts := startServer(t, be, TLSNone)
			s := ts.newSender(t, ts.relayURL(TLSNone, "", "pool=1"), Options{})
			for range 2 { // the second on the same connection
				if err := s.Send(context.Background(), testEnv, []byte(tt.raw)); err != nil {
					t.Fatal(err)
				}
			}
			msgs := be.messages()
			if len(msgs) != 2 {
				t.Fatalf("%d messages", len(msgs))
			}
			for _, m := range msgs {
				if string(m.data) != tt.want {
					t.Errorf("received %q, want %q", m.data, tt.want)
				}
			}
		})
	}
}
