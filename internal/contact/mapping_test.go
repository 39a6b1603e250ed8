package contact

import (
	"fmt"
	"testing"
)

func TestSuggestMapping(t *testing.T) {
	t.Parallel()
	attrs := map[string]string{"store": "Magasin", "region": "Région", "agent": "Conseiller"}
	tests := []struct {
		name   string
		header []string
		want   []Field
	}{
		{"French", []string{"Réf client", "Nom", "Prénom", "Courriel", "Téléphone portable", "Langue", "Pays", "Fuseau horaire", "Magasin", "Date d'achat"},
			[]Field{FieldExternalID, FieldLastNameCol, FieldFirstNameCol, FieldEmailCol, FieldPhoneCol, FieldLanguage, FieldCountry, FieldTimeZone, "attr:store", FieldIgnore}},
		{"French, other words", []string{"N° client", "NOM", "PRENOM", "Adresse e-mail", "Portable", "Région"},
			[]Field{FieldExternalID, FieldLastNameCol, FieldFirstNameCol, FieldEmailCol, FieldPhoneCol, "attr:region"}},
		{"German", []string{"Kundennummer", "Nachname", "Vorname", "E-Mail", "Handy", "Sprache", "Land", "Zeitzone"},
			[]Field{FieldExternalID, FieldLastNameCol, FieldFirstNameCol, FieldEmailCol, FieldPhoneCol, FieldLanguage, FieldCountry, FieldTimeZone}},
		{"German, Telefon", []string{"Kunden-ID", "Familienname", "Telefon", "E-Mail-Adresse"},
			[]Field{FieldExternalID, FieldLastNameCol, FieldPhoneCol, FieldEmailCol}},
		{"Spanish", []string{"ID cliente", "Apellido", "Nombre", "Correo electrónico", "Teléfono", "Idioma", "País"},
			[]Field{FieldExternalID, FieldLastNameCol, FieldFirstNameCol, FieldEmailCol, FieldPhoneCol, FieldLanguage, FieldCountry}},
		{"Spanish, móvil", []string{"Apellidos", "Móvil", "Correo"}, []Field{FieldLastNameCol, FieldPhoneCol, FieldEmailCol}},
		{"Italian", []string{"Codice cliente", "Cognome", "Nome", "Posta elettronica", "Cellulare", "Lingua", "Paese"},
			[]Field{FieldExternalID, FieldLastNameCol, FieldFirstNameCol, FieldEmailCol, FieldPhoneCol, FieldLanguage, FieldCountry}},
		{"Italian, telefono", []string{"Telefono", "Indirizzo email"}, []Field{FieldPhoneCol, FieldEmailCol}},
		{"Portuguese", []string{"Apelido", "Nome", "Email", "Telemóvel", "Idioma", "País"},
			[]Field{FieldLastNameCol, FieldFirstNameCol, FieldEmailCol, FieldPhoneCol, FieldLanguage, FieldCountry}},
		{"Portuguese, telefone", []string{"Sobrenome", "Telefone", "Endereço de e-mail"}, []Field{FieldLastNameCol, FieldPhoneCol, FieldEmailCol}},
		{"English", []string{"Customer ID", "Last name", "First name", "E-mail", "Phone", "Language", "Country", "Time zone", "Store"},
			[]Field{FieldExternalID, FieldLastNameCol, FieldFirstNameCol, FieldEmailCol, FieldPhoneCol, FieldLanguage, FieldCountry, FieldTimeZone, "attr:store"}},
		{"English, snake case", []string{"external_id", "first_name", "last_name", "email", "mobile_phone", "time_zone", "tz"},
			[]Field{FieldExternalID, FieldFirstNameCol, FieldLastNameCol, FieldEmailCol, FieldPhoneCol, FieldTimeZone, FieldIgnore}},
		{"English, Name and Id", []string{"Id", "Name", "Mail"}, []Field{FieldExternalID, FieldLastNameCol, FieldEmailCol}},
		{"words inside longer names", []string{"Email du client", "Téléphone mobile pro", "Prénom usuel", "Nom du magasin"},
			[]Field{FieldEmailCol, FieldPhoneCol, FieldFirstNameCol, FieldIgnore}},
		{"exact beats contains", []string{"Email de secours", "Courriel"}, []Field{FieldIgnore, FieldEmailCol}},
		{"first of two exact wins", []string{"Téléphone", "Portable", "Email", "E-mail"}, []Field{FieldPhoneCol, FieldIgnore, FieldEmailCol, FieldIgnore}},
		{"attribute by name and by label", []string{"agent", "CONSEILLER", "magasin"}, []Field{"attr:agent", FieldIgnore, "attr:store"}},
		{"built-in when no attribute matches", []string{"Langue"}, []Field{FieldLanguage}},
		{"unknown columns ignored", []string{"Commentaire", "Date de naissance", "Numéro de sécurité sociale", "", "IBAN"},
			[]Field{FieldIgnore, FieldIgnore, FieldIgnore, FieldIgnore, FieldIgnore}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := SuggestMapping(tt.header, attrs)
			if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("SuggestMapping(%q)\n = %q\nwant %q", tt.header, got, tt.want)
			}
		})
	}
	t.Run("tenant attribute named like a built-in", func(t *testing.T) {
		got := SuggestMapping([]string{"Langue", "Pays"}, map[string]string{"langue_client": "Langue"})
		if got[0] != "attr:langue_client" || got[1] != FieldCountry {
			t.Errorf("got %q", got)
		}
	})
	t.Run("no two columns share a field", func(t *testing.T) {
		h := []string{"Email", "E-mail", "Courriel", "Mail", "email2", "Email pro"}
		seen := map[Field]bool{}
		for _, f := range SuggestMapping(h, nil) {
			if f != FieldIgnore && seen[f] {
				t.Errorf("%q twice", f)
			}
			seen[f] = true
		}
	})
}

func TestFieldAttr(t *testing.T) {
	t.Parallel()
	if n, ok := AttrField("store").Attr(); !ok || n != "store" {
		t.Errorf("AttrField(store).Attr() = %q %v", n, ok)
	}
	for _, f := range []Field{FieldEmailCol, FieldIgnore, "attr:"} {
		if _, ok := f.Attr(); ok {
			t.Errorf("%q.Attr() ok", f)
		}
	}
}

// The synonym tables must not give one name to two fields.
func TestMappingTablesConsistent(t *testing.T) {
	t.Parallel()
	seen := map[string]Field{}
	for f, names := range mappingExact {
		for _, n := range names {
			k := normKey(n)
			if g, ok := seen[k]; ok && g != f {
				t.Errorf("%q means both %s and %s", n, g, f)
			}
			seen[k] = f
		}
	}
}
