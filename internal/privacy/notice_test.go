package privacy_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"avis/internal/audit"
	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/i18n"
	"avis/internal/privacy"
)

// noticeTenant makes a tenant named "Company <slug>".
func noticeTenant(t *testing.T, d *db.DB, slug string) string {
	t.Helper()
	id := db.NewID()
	if _, err := d.W.Exec(`INSERT INTO tenants (id, slug, name, created_at) VALUES ($1, $2, $3, $4)`, id, slug, "Company "+slug, db.Now()); err != nil {
		t.Fatal(err)
	}
	return id
}

var testOperator = privacy.Operator{Name: "Hébergeur Avis SAS", Address: "1 rue de la Paix\n75002 Paris", Email: "dpo@avis.example", Site: "avis.example"}

func fullProfile(tenantID string) privacy.Profile {
	return privacy.Profile{TenantID: tenantID, LegalName: "Boutique Lumière SARL", Address: "12 place du Marché\n69002 Lyon",
		DPOName: "Camille Martin", DPOEmail: "dpo@boutique.example", PolicyURL: "https://boutique.example/privacy",
		RetentionMonths: 24, Authority: privacy.DefaultAuthority, BrandColor: "#0b5cad"}
}

// keywords are words each language must use for the elements of Art. 13,
// 14 and 26, written independently of the catalogues.
var keywords = map[string]map[string][]string{
	"en": {"controllers": {"controller", "joint controllers", "Art. 26"}, "source": {"customer file"},
		"purposes": {"satisfaction", "Publishing your review"}, "bases": {"legitimate interest", "consent"},
		"retention": {"24 months", "3 years"}, "rights": {"access", "rectification", "erasure", "restriction", "objection", "portability", "withdraw", "supervisory authority", "My data"},
		"recipients": {"CRM"}},
	"fr": {"controllers": {"responsable du traitement", "responsables conjoints", "art. 26"}, "source": {"fichier clients"},
		"purposes": {"satisfaction", "Publier votre avis"}, "bases": {"intérêt légitime", "consentement"},
		"retention": {"24 mois", "3 ans"}, "rights": {"accès", "rectification", "effacement", "limitation", "opposition", "portabilité", "retirer", "autorité de contrôle", "Mes données"},
		"recipients": {"CRM"}},
	"de": {"controllers": {"Verantwortliche", "gemeinsam Verantwortliche", "Art. 26"}, "source": {"Kundendatei"},
		"purposes": {"Zufriedenheit", "Bewertung veröffentlichen"}, "bases": {"berechtigte Interesse", "Einwilligung"},
		"retention": {"24 Monate", "3 Jahre"}, "rights": {"Auskunft", "Berichtigung", "Löschung", "Einschränkung", "Widerspruch", "Datenübertragbarkeit", "widerrufen", "Aufsichtsbehörde", "Meine Daten"},
		"recipients": {"CRM"}},
	"es": {"controllers": {"responsable del tratamiento", "corresponsables", "art. 26"}, "source": {"fichero de clientes"},
		"purposes": {"satisfacción", "Publicar su opinión"}, "bases": {"interés legítimo", "consentimiento"},
		"retention": {"24 meses", "3 años"}, "rights": {"acceso", "rectificación", "supresión", "limitación", "oposición", "portabilidad", "retirar", "autoridad de control", "Mis datos"},
		"recipients": {"CRM"}},
	"it": {"controllers": {"titolare del trattamento", "contitolari", "art. 26"}, "source": {"archivio clienti"},
		"purposes": {"soddisfazione", "Pubblicare la sua recensione"}, "bases": {"legittimo interesse", "consenso"},
		"retention": {"24 mesi", "3 anni"}, "rights": {"accesso", "rettifica", "cancellazione", "limitazione", "opposizione", "portabilità", "revocare", "autorità di controllo", "I miei dati"},
		"recipients": {"CRM"}},
	"pt": {"controllers": {"responsável pelo tratamento", "responsáveis conjuntos", "art. 26"}, "source": {"ficheiro de clientes"},
		"purposes": {"satisfação", "Publicar a sua avaliação"}, "bases": {"interesse legítimo", "consentimento"},
		"retention": {"24 meses", "3 anos"}, "rights": {"acesso", "retificação", "apagamento", "limitação", "oposição", "portabilidade", "retirar", "autoridade de controlo", "Os meus dados"},
		"recipients": {"CRM"}},
}

// TestNoticeLanguages generates the information notice in the six
// languages and checks that each names both controllers with their
// addresses, the source, the purposes and bases, the retention periods, the
// recipients, every right and how to use it, and the contacts.
func TestNoticeLanguages(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	s := privacy.NewNotices(d, audit.New(d), testOperator)
	tenant := noticeTenant(t, d, "shop")
	if _, err := s.SaveProfile(ctx, audit.System("test"), fullProfile(tenant)); err != nil {
		t.Fatal(err)
	}
	if len(keywords) != len(i18n.Languages) {
		t.Fatalf("the test knows %d languages, avis %d", len(keywords), len(i18n.Languages))
	}
	for _, lang := range i18n.Languages {
		t.Run(lang, func(t *testing.T) {
			n, err := s.Current(ctx, tenant, privacy.KindInformation, lang)
			if err != nil {
				t.Fatal(err)
			}
			if n.Lang != lang || n.Version != 1 || n.Hash != privacy.Hash(n.Text) {
				t.Errorf("notice lang %q version %d hash %s; want %s, 1, the text's hash", n.Lang, n.Version, n.Hash, lang)
			}
			data := []string{"Boutique Lumière SARL", "12 place du Marché, 69002 Lyon", "Hébergeur Avis SAS", "1 rue de la Paix, 75002 Paris",
				"Camille Martin", "dpo@boutique.example", "dpo@avis.example", "https://boutique.example/privacy", "CNIL"}
			for _, want := range data {
				if !strings.Contains(n.Text, want) {
					t.Errorf("the notice does not give %q", want)
				}
			}
			for element, words := range keywords[lang] {
				for _, w := range words {
					if !strings.Contains(strings.ToLower(n.Text), strings.ToLower(w)) {
						t.Errorf("%s: the notice does not say %q", element, w)
					}
				}
			}
			if strings.Contains(n.Text, "%!") || strings.Contains(n.Text, "%[") {
				t.Errorf("a sentence lost its values:\n%s", n.Text)
			}
			for _, kind := range []string{privacy.KindInformation, privacy.KindPublication} {
				for _, p := range []privacy.Profile{fullProfile(tenant), privacy.DefaultProfile(tenant)} {
					if _, missing := s.Generate(kind, lang, p, "Shop"); lang != "en" && len(missing) > 0 {
						t.Errorf("%s %s: the catalogue does not translate %q", lang, kind, missing)
					}
				}
			}
			heads := 0
			for _, b := range n.Blocks() {
				if b.Kind == "h" {
					heads++
				}
			}
			if heads < 7 {
				t.Errorf("the notice has %d headings, want the 7 sections", heads)
			}
		})
	}
}

// TestPublicationTerms checks the terms of publication say what the law
// asks of review platforms.
func TestPublicationTerms(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	s := privacy.NewNotices(d, audit.New(d), testOperator)
	tenant := noticeTenant(t, d, "shop")
	if _, err := s.SaveProfile(ctx, audit.System("test"), fullProfile(tenant)); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"en": {"first name and the initial of your last name", "date of your experience", "date of publication", "refused", "No payment", "withdraw your review", "24 months"},
		"fr": {"prénom et l'initiale de votre nom", "date de votre expérience", "date de publication", "refusé", "Aucune contrepartie", "retirer votre avis", "24 mois"},
	}
	for lang, words := range want {
		n, err := s.Current(ctx, tenant, privacy.KindPublication, lang)
		if err != nil {
			t.Fatal(err)
		}
		if n.Kind != privacy.KindPublication {
			t.Errorf("kind %q", n.Kind)
		}
		for _, w := range words {
			if !strings.Contains(n.Text, w) {
				t.Errorf("%s publication terms do not say %q:\n%s", lang, w, n.Text)
			}
		}
	}
}

// TestNoticeVersions: the same profile gives the same version, even from a
// new process; a change gives a new version; a past version comes back
// byte for byte, and only in its tenant.
func TestNoticeVersions(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	s := privacy.NewNotices(d, audit.New(d), testOperator)
	tenant, other := noticeTenant(t, d, "shop"), noticeTenant(t, d, "other")
	actor := audit.System("test")

	// A tenant without a profile still has a notice, which names the
	// operator's contact.
	v0, err := s.Current(ctx, tenant, privacy.KindInformation, "fr")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v0.Text, "Company shop") || !strings.Contains(v0.Text, "dpo@avis.example") {
		t.Errorf("default notice lacks the tenant's name or the operator's contact:\n%s", v0.Text)
	}
	if _, err := s.SaveProfile(ctx, actor, fullProfile(tenant)); err != nil {
		t.Fatal(err)
	}
	v1, err := s.Current(ctx, tenant, privacy.KindInformation, "fr")
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != v0.Version+1 || v1.ID == v0.ID || v1.Hash == v0.Hash {
		t.Fatalf("after the first profile: version %d (%s), want %d", v1.Version, v1.ID, v0.Version+1)
	}
	original := strings.Clone(v1.Text)

	// Saving the same profile again, and a new process, change nothing.
	if _, err := s.SaveProfile(ctx, actor, fullProfile(tenant)); err != nil {
		t.Fatal(err)
	}
	for _, st := range []*privacy.Notices{s, privacy.NewNotices(d, audit.New(d), testOperator)} {
		again, err := st.Current(ctx, tenant, privacy.KindInformation, "fr")
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != v1.ID || again.Version != v1.Version {
			t.Fatalf("same profile gave version %d (%s), want %d (%s)", again.Version, again.ID, v1.Version, v1.ID)
		}
	}

	// A change of retention makes version 3.
	p := fullProfile(tenant)
	p.RetentionMonths = 12
	if _, err := s.SaveProfile(ctx, actor, p); err != nil {
		t.Fatal(err)
	}
	v2, err := s.Current(ctx, tenant, privacy.KindInformation, "fr")
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != v1.Version+1 || !strings.Contains(v2.Text, "12 mois") || strings.Contains(v2.Text, "24 mois") {
		t.Fatalf("after a change: version %d, text:\n%s", v2.Version, v2.Text)
	}

	// The past version, byte for byte.
	old, err := s.ByID(ctx, tenant, v1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.Text != original || old.Hash != privacy.Hash(original) || old.Version != v1.Version || old.Lang != "fr" ||
		!old.CreatedAt.Equal(v1.CreatedAt) {
		t.Fatalf("ByID gave version %d, %d bytes, hash %s; want version %d, %d bytes, hash %s",
			old.Version, len(old.Text), old.Hash, v1.Version, len(original), privacy.Hash(original))
	}
	if _, err := s.ByID(ctx, other, v1.ID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("another tenant's ByID = %v, want not found", err)
	}
	if _, err := s.ByID(ctx, tenant, db.NewID()); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("unknown id = %v, want not found", err)
	}
	vs, err := s.Versions(ctx, tenant, privacy.KindInformation, "fr", 10)
	if err != nil || len(vs) != 3 || vs[0].ID != v2.ID {
		t.Errorf("Versions = %d versions, %v; want 3, newest first", len(vs), err)
	}

	// Other languages and kinds count their own versions.
	en, err := s.Current(ctx, tenant, privacy.KindInformation, "en")
	if err != nil || en.Version != 1 {
		t.Errorf("first English notice: version %d, %v", en.Version, err)
	}
	pub, err := s.Current(ctx, tenant, privacy.KindPublication, "fr")
	if err != nil || pub.Version != 1 || pub.Kind != privacy.KindPublication {
		t.Errorf("first publication terms: %+v, %v", pub, err)
	}
	// An unknown language gives the default one, an unknown kind an error.
	if n, err := s.Current(ctx, tenant, privacy.KindInformation, "xx"); err != nil || n.Lang != i18n.Default {
		t.Errorf("unknown language gave %q, %v", n.Lang, err)
	}
	if _, err := s.Current(ctx, tenant, "advert", "fr"); !errors.Is(err, privacy.ErrBadKind) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := s.Current(ctx, db.NewID(), privacy.KindInformation, "fr"); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("unknown tenant: %v", err)
	}
}

// TestNoticeConcurrent: many processes asking at once for a notice that
// does not exist yet store exactly one version.
func TestNoticeConcurrent(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	tenant := noticeTenant(t, d, "shop")
	const n = 12
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		// Each its own store: no shared cache, as in separate processes.
		s := privacy.NewNotices(d, audit.New(d), testOperator)
		wg.Go(func() {
			<-start
			nt, err := s.Current(ctx, tenant, privacy.KindInformation, "de")
			ids[i], errs[i] = nt.ID, err
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i] != ids[0] {
			t.Errorf("call %d got notice %s, call 0 %s", i, ids[i], ids[0])
		}
	}
	var count int
	if err := d.R.QueryRow(`SELECT count(*) FROM notices WHERE tenant_id = $1`, tenant).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 1 {
		t.Errorf("%d versions stored, want 1", count)
	}
}

// TestNoticeBlocks cuts a text into headings, paragraphs and lists, links
// addresses, and keeps a profile's values from making headings.
func TestNoticeBlocks(t *testing.T) {
	n := privacy.Notice{Text: "## Title\n\nFirst line\nsame paragraph, see https://example.fr/p.\n\n- one\n- two dpo@example.fr\n\nafter"}
	got := n.Blocks()
	if len(got) != 4 || got[0].Kind != "h" || got[0].Text != "Title" || got[1].Kind != "p" ||
		got[1].Text != "First line same paragraph, see https://example.fr/p." || got[2].Kind != "ul" || len(got[2].Items) != 2 || got[3].Text != "after" {
		t.Fatalf("blocks: %+v", got)
	}
	segs := got[1].Segments
	if len(segs) != 3 || segs[1].Href != "https://example.fr/p" || segs[1].Text != "https://example.fr/p" || segs[2].Text != "." {
		t.Errorf("segments of the paragraph: %+v", segs)
	}
	if s := got[2].Items[1].Segments; len(s) != 2 || s[1].Href != "mailto:dpo@example.fr" {
		t.Errorf("segments of the item: %+v", s)
	}

	d := dbtest.OpenSQLite(t)
	s := privacy.NewNotices(d, audit.New(d), testOperator)
	p := fullProfile("t")
	p.LegalName = "## Evil\n- <script>alert(1)</script>"
	p.Address = "\n\n## Injected\n\n- item"
	text, _ := s.Generate(privacy.KindInformation, "en", p, "x")
	for _, b := range (privacy.Notice{Text: text}).Blocks() {
		if strings.Contains(b.Text, "Evil") && b.Kind == "h" || strings.Contains(b.Text, "Injected") && b.Kind == "h" {
			t.Errorf("a profile value became a heading: %+v", b)
		}
	}
}
