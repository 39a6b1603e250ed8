// Package demo fills an empty avis with a demo tenant, a demo login and a
// few hundred clearly fake contacts from several EU countries, so that a new
// user can look around on one machine.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/contact"
	"avis/internal/db"
)

// Slug is the demo tenant's slug.
const Slug = "demo"

// Email is the demo login. example.com is reserved for examples (RFC 2606).
const Email = "demo@example.com"

// Login is what the demo prints for a new user.
type Login struct {
	Email, Password string
	Created         bool
}

type country struct {
	code, lang, tz, dial string
	first, last          []string
}

var countries = []country{
	{"FR", "fr", "Europe/Paris", "+33199", []string{"Camille", "Léa", "Hugo", "Chloé", "Lucas", "Manon", "Théo", "Inès", "Jules", "Zoé"}, []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"}},
	{"DE", "de", "Europe/Berlin", "+4930555", []string{"Lena", "Jonas", "Mia", "Felix", "Hannah", "Lukas", "Emilia", "Paul"}, []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"}},
	{"ES", "es", "Europe/Madrid", "+34555", []string{"Lucía", "Hugo", "Martina", "Mateo", "Sofía", "Leo", "Valeria", "Daniel"}, []string{"García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez"}},
	{"IT", "it", "Europe/Rome", "+39555", []string{"Giulia", "Leonardo", "Sofia", "Francesco", "Aurora", "Alessandro", "Ginevra", "Lorenzo"}, []string{"Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci"}},
	{"PT", "pt", "Europe/Lisbon", "+351555", []string{"Maria", "João", "Leonor", "Francisco", "Matilde", "Santiago", "Beatriz", "Tomás"}, []string{"Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins"}},
	{"BE", "fr", "Europe/Brussels", "+32555", []string{"Louise", "Arthur", "Olivia", "Noah", "Alice", "Louis"}, []string{"Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems"}},
}

// Contacts returns n fake contacts: names common in their country, emails at
// example.com/.org/.net (reserved, RFC 2606) and phone numbers in ranges no
// operator assigns (fiction ranges such as France's 01 99).
func Contacts(n int, seed uint64) []contact.Input {
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	domains := []string{"example.com", "example.org", "example.net"}
	out := make([]contact.Input, 0, n)
	for i := range n {
		c := countries[rng.IntN(len(countries))]
		first, last := c.first[rng.IntN(len(c.first))], c.last[rng.IntN(len(c.last))]
		local := asciiFold(strings.ToLower(first + "." + last))
		in := contact.Input{
			ExternalID: fmt.Sprintf("CRM-%06d", i+1),
			Email:      fmt.Sprintf("%s.%d@%s", local, i+1, domains[rng.IntN(len(domains))]),
			FirstName:  first,
			LastName:   last,
			Language:   c.lang,
			Country:    c.code,
			TimeZone:   c.tz,
		}
		if rng.IntN(3) > 0 {
			in.Phone = fmt.Sprintf("%s%06d", c.dial, rng.IntN(1000000))
		}
		out = append(out, in)
	}
	return out
}

func asciiFold(s string) string {
	r := strings.NewReplacer("é", "e", "è", "e", "ë", "e", "ê", "e", "á", "a", "à", "a", "ã", "a", "í", "i", "ó", "o", "ô", "o",
		"ú", "u", "ü", "ue", "ö", "oe", "ä", "ae", "ß", "ss", "ç", "c", "ñ", "n", "ï", "i", "É", "E")
	return r.Replace(s)
}

// Seed creates the demo tenant, its owner login and contacts when the demo
// tenant does not exist yet. When it exists it returns Created false and
// the caller reprints the stored login.
func Seed(ctx context.Context, accounts *account.Store, contacts *contact.Store, nContacts int) (Login, error) {
	actor := audit.System("demo")
	_, err := accounts.TenantBySlug(ctx, Slug)
	if err == nil {
		return Login{Email: Email}, nil
	}
	if !errors.Is(err, db.ErrNotFound) {
		return Login{}, fmt.Errorf("demo: %w", err)
	}
	t, err := accounts.CreateTenant(ctx, actor, Slug, "Boulangerie Démo (fictive)")
	if err != nil {
		return Login{}, fmt.Errorf("demo: %w", err)
	}
	b := make([]byte, 12)
	rand.Read(b)
	pw := "Avis-" + base64.RawURLEncoding.EncodeToString(b)
	if _, err := accounts.CreateUser(ctx, actor, t.ID, Email, "Démo Owner", pw, account.RoleOwner); err != nil {
		return Login{}, fmt.Errorf("demo: %w", err)
	}
	ins := Contacts(nContacts, 2026)
	for len(ins) > 0 {
		n := min(len(ins), 200)
		if _, err := contacts.CreateMany(ctx, actor, t.ID, ins[:n]); err != nil {
			return Login{}, fmt.Errorf("demo: %w", err)
		}
		ins = ins[n:]
	}
	return Login{Email: Email, Password: pw, Created: true}, nil
}
