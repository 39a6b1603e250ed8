package account

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPassword(t *testing.T) {
	const email = "camille.martin@example.org"
	tests := []struct {
		name, password string
		ok             bool
		reason         string // a word the reason must hold
	}{
		{"ok words", "plum harbour lantern", true, ""},
		{"ok mixed", "Tr4in-at-7:45pm", true, ""},
		{"ok unicode", "éléphant rose à vélo", true, ""},
		{"too short", "Xk9#mP2$qL", false, "at least 12"},
		{"eleven runes", "ééééabcdefg", false, "at least 12"},
		{"too long", strings.Repeat("abcdefghij", 103), false, "at most"},
		{"one character", "aaaaaaaaaaaaaaaa", false, "too few different"},
		{"few characters", "abababababababab", false, "too few different"},
		{"digits only", "739182046571", false, "only digits"},
		{"sequence", "abcdefghijklmnop", false, "sequence"},
		{"common padded", "Password123456!", false, "most used"},
		{"common qwerty", "qwertyuiop123", false, "most used"},
		{"common french", "azertyuiop!!", false, "most used"},
		{"common with space", "  iloveyou 2024", false, "most used"},
		{"contains local part", "xCamille.Martin2024x", false, "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPassword(tt.password, email)
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrWeakPassword) {
				t.Fatalf("err = %v, want ErrWeakPassword", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("reason %q does not say %q", err, tt.reason)
			}
		})
	}
}

func TestPasswordHash(t *testing.T) {
	e := newEnv(t)
	h, err := e.s.hashPassword(ctx, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q is not a PHC argon2id string with the configured parameters", h)
	}
	h2, _ := e.s.hashPassword(ctx, goodPassword)
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, tt := range []struct {
		password string
		want     bool
	}{{goodPassword, true}, {goodPassword + " ", false}, {"", false}} {
		ok, stale, err := e.s.verifyPassword(ctx, h, tt.password)
		if err != nil || ok != tt.want || stale {
			t.Errorf("verify(%q) = %v, %v, %v; want %v", tt.password, ok, stale, err, tt.want)
		}
	}
	if _, stale, _ := e.s.verifyPassword(ctx, strings.Replace(h, "m=64,", "m=128,", 1), goodPassword); !stale {
		t.Error("a hash with other parameters is not reported stale")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if _, _, err := e.s.verifyPassword(ctx, bad, goodPassword); !errors.Is(err, errMalformedHash) {
			t.Errorf("verify against %q: err = %v, want errMalformedHash", bad, err)
		}
	}
}

func TestDefaultArgon2Parameters(t *testing.T) {
	o := Options{}.withDefaults()
	if o.Argon2Memory != 64*1024 || o.Argon2Time != 1 {
		t.Errorf("defaults m=%d t=%d, want m=65536 t=1", o.Argon2Memory, o.Argon2Time)
	}
}
