package contact

import (
	"sort"
	"strings"
)

// Field is what an import column maps to: one of the Field… constants, or
// "attr:" followed by the name of a tenant-declared segment attribute
// ("attr:store"). FieldIgnore drops the column: its values are never stored
// (data minimisation).
type Field string

// The fields a column can map to, besides attributes.
const (
	FieldExternalID   Field = "external_id"
	FieldEmailCol     Field = "email"
	FieldPhoneCol     Field = "phone"
	FieldFirstNameCol Field = "first_name"
	FieldLastNameCol  Field = "last_name"
	FieldLanguage     Field = "language"
	FieldCountry      Field = "country"
	FieldTimeZone     Field = "time_zone"
	FieldIgnore       Field = ""
	fieldAttrPrefix         = "attr:"
)

// AttrField returns the Field of the tenant attribute name.
func AttrField(name string) Field { return Field(fieldAttrPrefix + name) }

// Attr returns the attribute name of an "attr:" field and true, or "" and
// false for any other field.
func (f Field) Attr() (string, bool) {
	name, ok := strings.CutPrefix(string(f), fieldAttrPrefix)
	if !ok || name == "" {
		return "", false
	}
	return name, true
}

// mappingExact lists, per field, header names in the EU languages that mean
// that field and nothing else. They are compared after normKey (case,
// accents, spaces, dashes, underscores and punctuation ignored).
var mappingExact = map[Field][]string{
	FieldExternalID: {
		"id", "ext id", "external id", "externalid", "customer id", "customer number", "customer no", "customer ref",
		"customer reference", "client id", "client number", "client ref", "contact id", "crm id", "account id",
		"ref", "reference", "ref client", "réf client", "réf. client", "référence client", "id client", "identifiant client",
		"n° client", "numéro client", "numéro de client", "no client", "code client",
		"kundennummer", "kunden-id", "kundennr", "kunden nr", "kundenid", "kundenreferenz",
		"id cliente", "número de cliente", "número cliente", "código cliente", "código de cliente", "referencia cliente",
		"codice cliente", "numero cliente", "riferimento cliente",
		"klantnummer", "klant id", "klant-id",
	},
	FieldEmailCol: {
		"email", "e-mail", "mail", "courriel", "mél", "adresse e-mail", "adresse email", "adresse mail", "adresse courriel",
		"adresse électronique", "email address", "e-mail address", "mail address", "emailadresse", "e-mail-adresse",
		"mailadresse", "correo", "correo electrónico", "correo-e", "dirección de correo", "dirección de correo electrónico",
		"posta elettronica", "indirizzo email", "indirizzo e-mail", "indirizzo di posta elettronica",
		"endereço de e-mail", "endereço de email", "endereço eletrónico", "endereço eletrônico", "correio eletrónico",
		"correio eletrônico", "e-mailadres",
	},
	FieldPhoneCol: {
		"phone", "telephone", "téléphone", "tél", "tel", "tél.", "portable", "mobile", "gsm", "cell", "cellphone",
		"phone number", "mobile phone", "mobile number", "téléphone portable", "téléphone mobile", "numéro de téléphone",
		"numéro de portable", "numéro mobile", "tél portable", "tél. portable", "tél mobile",
		"handy", "telefon", "telefonnummer", "handynummer", "mobilnummer", "mobiltelefon",
		"teléfono", "móvil", "celular", "teléfono móvil", "número de teléfono",
		"telefono", "cellulare", "numero di telefono", "telefono cellulare",
		"telemóvel", "telefone", "número de telemóvel", "número de telefone",
		"telefoon", "mobiel", "telefoonnummer",
	},
	FieldFirstNameCol: {
		"first name", "firstname", "given name", "forename", "prénom", "prenom", "vorname",
		"nombre", "nome", "nome próprio", "primeiro nome", "voornaam", "imię",
	},
	FieldLastNameCol: {
		"last name", "lastname", "surname", "family name", "name", "nom", "nom de famille",
		"nachname", "familienname", "apellido", "apellidos", "cognome", "apelido", "sobrenome", "último nome",
		"achternaam", "nazwisko",
	},
	FieldLanguage: {
		"language", "lang", "locale", "preferred language", "langue", "langue préférée", "sprache", "idioma", "lingua",
		"taal", "język",
	},
	FieldCountry: {
		"country", "country code", "pays", "code pays", "land", "ländercode", "país", "paese", "nazione",
		"código país", "código de país", "kraj",
	},
	FieldTimeZone: {
		"time zone", "timezone", "tz", "fuseau horaire", "fuseau", "zeitzone", "zona horaria", "huso horario",
		"fuso orario", "fuso horário", "tijdzone",
	},
}

// mappingContains lists distinctive words that, found inside a longer header
// name ("Téléphone portable pro", "Email du client"), suggest a field with a
// lower confidence than an exact name. Short, ambiguous words ("nom",
// "name", "id", "tel", "land") are exact-only: "Prénom" contains "nom",
// "Nom du magasin" is not a last name.
var mappingContains = map[Field][]string{
	FieldExternalID:   {"customerid", "clientid", "externalid", "kundennummer", "kundenid", "refclient", "referenceclient", "idclient", "numeroclient", "codeclient", "idcliente", "codicecliente", "klantnummer"},
	FieldEmailCol:     {"email", "courriel", "correoelectronico", "postaelettronica", "emailadres"},
	FieldPhoneCol:     {"telephone", "phone", "portable", "mobile", "handy", "telefon", "movil", "cellulare", "telemovel", "telefone", "telefono"},
	FieldFirstNameCol: {"firstname", "prenom", "vorname", "givenname", "voornaam"},
	FieldLastNameCol:  {"lastname", "surname", "nachname", "nomdefamille", "familyname", "apellido", "cognome", "achternaam"},
	FieldLanguage:     {"language", "langue", "sprache", "idioma"},
	FieldTimeZone:     {"timezone", "fuseauhoraire", "zeitzone", "zonahoraria", "fusoorario", "fusohorario"},
}

var (
	mappingExactIndex = func() map[string]Field {
		m := make(map[string]Field)
		for f, names := range mappingExact {
			for _, n := range names {
				m[normKey(n)] = f
			}
		}
		return m
	}()
	// mappingContainsList is ordered (longest word first) so that the result
	// does not depend on map iteration.
	mappingContainsList = func() []mappingWord {
		var l []mappingWord
		for f, words := range mappingContains {
			for _, w := range words {
				l = append(l, mappingWord{w, f})
			}
		}
		sort.Slice(l, func(i, j int) bool {
			if len(l[i].word) != len(l[j].word) {
				return len(l[i].word) > len(l[j].word)
			}
			return l[i].word < l[j].word
		})
		return l
	}()
)

type mappingWord struct {
	word  string
	field Field
}

// Confidence of a suggestion; the higher wins when two columns claim the
// same field.
const (
	mappingScoreContains = 1
	mappingScoreExact    = 2
	mappingScoreAttr     = 3
)

// SuggestMapping proposes a field for each header column from its name, in
// any of the EU languages (case, accents, spaces, dashes, underscores and
// punctuation ignored): "Nom", "Nachname", "Apellido" → last_name;
// "Prénom", "Vorname", "Nombre", "Nome" → first_name; "Courriel",
// "E-mail", "Correo electrónico" → email; "Téléphone portable", "Handy",
// "Telemóvel" → phone; "Langue", "Pays", "Fuseau horaire" → language,
// country, time_zone; "Réf client", "Kundennummer", "Customer ID", "Id" →
// external_id. A header equal to one of the tenant's attribute names or
// labels (attrs maps name → label) maps to that attribute, and this wins
// over the built-in names: the tenant declared it. Anything else is
// FieldIgnore. No two columns get the same field: an exact name beats a
// name that only contains a known word, and at equal confidence the
// leftmost column wins; the others are left to FieldIgnore.
//
// The result has len(header) entries.
func SuggestMapping(header []string, attrs map[string]string) []Field {
	attrIndex := make(map[string]string, 2*len(attrs))
	// Names are indexed before labels so a label never shadows a name.
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if k := normKey(attrs[name]); k != "" {
			attrIndex[k] = name
		}
	}
	for _, name := range names {
		if k := normKey(name); k != "" {
			attrIndex[k] = name
		}
	}

	type claim struct {
		col   int
		field Field
		score int
	}
	claims := make([]claim, 0, len(header))
	for i, h := range header {
		k := normKey(h)
		if k == "" {
			continue
		}
		if name, ok := attrIndex[k]; ok {
			claims = append(claims, claim{i, AttrField(name), mappingScoreAttr})
			continue
		}
		if f, ok := mappingExactIndex[k]; ok {
			claims = append(claims, claim{i, f, mappingScoreExact})
			continue
		}
		for _, w := range mappingContainsList {
			if strings.Contains(k, w.word) {
				claims = append(claims, claim{i, w.field, mappingScoreContains})
				break
			}
		}
	}
	sort.SliceStable(claims, func(a, b int) bool { return claims[a].score > claims[b].score })
	out := make([]Field, len(header))
	taken := make(map[Field]bool, len(claims))
	for _, c := range claims {
		if taken[c.field] {
			continue
		}
		taken[c.field] = true
		out[c.col] = c.field
	}
	return out
}
