package crmsync

import (
	"fmt"
	"strings"
	"testing"

	"avis/internal/i18n"
)

// french translates a stored problem as the French pages do.
func french(stored string) string {
	cat := i18n.MustLoad()
	return TranslateProblem(stored, func(f string, args ...any) string { return cat.T("fr", f, args...) })
}

// knownProblem fails when a stored error is not one the pages translate:
// its French text must differ from it.
func knownProblem(t *testing.T, stored string) {
	t.Helper()
	if stored == "" {
		t.Error("no error stored")
		return
	}
	if fr := french(stored); fr == stored {
		t.Errorf("the pages cannot translate %q: it matches no format of ProblemMessages", stored)
	}
}

// TestProblemsInFrench: every problem crmsync stores (delivery, export,
// SFTP fetch, and the system's words they carry) is found back in its
// English text and written in French, different from the English, with
// every argument (a path, a host) kept.
func TestProblemsInFrench(t *testing.T) {
	cat := i18n.MustLoad()
	fr := func(f string, args ...any) string { return cat.T("fr", f, args...) }
	for _, f := range ProblemMessages {
		args := make([]any, strings.Count(f, "%s"))
		for i := range args {
			args[i] = fmt.Sprintf("/data/crm-%d/out.csv", i)
		}
		stored := fmt.Sprintf(f, args...)
		got := TranslateProblem(stored, fr)
		if got == stored {
			t.Errorf("%q: not translated", f)
			continue
		}
		if strings.Contains(got, "%!") {
			t.Errorf("%q: the translation does not take its arguments: %q", f, got)
		}
		for _, a := range args {
			if !strings.Contains(got, a.(string)) {
				t.Errorf("%q: %q lost the argument %q", f, got, a)
			}
		}
	}
}

// TestTransferProblemsNested: the system's words inside a problem are
// translated too, as they come from a real failure; an unknown cause stays
// as the system wrote it, inside a translated sentence.
func TestTransferProblemsNested(t *testing.T) {
	tests := []struct {
		name, stored string
		want         []string
		not          []string
	}{
		{"connection refused",
			"cannot reach the SFTP server at 127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused (check the host and port, and that the server lets avis's address in)",
			[]string{"impossible de joindre le serveur SFTP 127.0.0.1:1 : 127.0.0.1:1 refuse la connexion", "vérifiez l'hôte et le port"},
			[]string{"connection refused", "dial tcp"}},
		{"unknown host",
			"cannot reach the FTPS server at files.example.invalid:21: dial tcp: lookup files.example.invalid on 127.0.0.53:53: no such host (check the host and port, and that the server lets avis's address in)",
			[]string{"le nom d'hôte files.example.invalid est introuvable (serveur DNS 127.0.0.53:53)"}, []string{"no such host"}},
		{"job timeout", "connect to sftp.example.com:22: context deadline exceeded",
			[]string{"connexion à sftp.example.com:22 : le temps imparti est écoulé"}, nil},
		{"several files",
			"cannot open drop/a.csv on the SFTP server: permission denied (check the user's rights on it); it stays in the folder (and 2 more files could not be processed)",
			[]string{"impossible d'ouvrir drop/a.csv sur le serveur SFTP : permission refusée", "et 2 autres fichiers"}, []string{"permission denied"}},
		{"lost while writing",
			"connection lost: the server closed the connection while writing out/avis.csv.part (and the partial file avis.csv.part could not be removed: connection lost: the server closed the connection)",
			[]string{"connexion perdue : le serveur a fermé la connexion pendant l'écriture de out/avis.csv.part (et le fichier partiel avis.csv.part n'a pas pu être supprimé : connexion perdue"}, nil},
		{"stored before the row writers let the destination speak",
			"write a CSV row: connection lost: the server closed the connection while writing out/a.csv.part",
			[]string{"écriture d'une ligne CSV : connexion perdue : le serveur a fermé la connexion pendant l'écriture de out/a.csv.part"}, nil},
		{"unknown cause kept",
			"SSH handshake with 127.0.0.1:2222 failed: ssh: handshake failed: EOF (check that the port is an SSH port)",
			[]string{"la négociation SSH avec 127.0.0.1:2222 a échoué : ssh: handshake failed: EOF"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := french(tc.stored)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q\n does not say %q", got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("%q\n still says %q", got, n)
				}
			}
		})
	}
	joined := "connection lost: the server closed the connection\nsomething avis does not know"
	if got := french(joined); got != "connexion perdue : le serveur a fermé la connexion\nsomething avis does not know" {
		t.Errorf("joined problems: %q", got)
	}
	if got := french("something avis does not know"); got != "something avis does not know" {
		t.Errorf("an unknown problem became %q", got)
	}
}
