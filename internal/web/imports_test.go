package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"avis/internal/account"
	"avis/internal/audit"
	"avis/internal/config"
	"avis/internal/contact"
	"avis/internal/i18n"
)

const contactTestdata = "../contact/testdata/"

// formPart is one field of a multipart form, in order; file is set for the
// file field.
type formPart struct {
	name, value string
	file        []byte
}

// multipartPost posts parts as multipart/form-data in the order given, as
// a browser does (fields in document order).
func (b *browser) multipartPost(path, fileName string, parts []formPart, header ...string) resp {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range parts {
		if p.file != nil {
			w, err := mw.CreateFormFile(p.name, fileName)
			if err != nil {
				b.e.t.Fatal(err)
			}
			w.Write(p.file)
			continue
		}
		mw.WriteField(p.name, p.value)
	}
	mw.Close()
	req, err := http.NewRequest("POST", b.e.srv.URL+path, &body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	r, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer r.Body.Close()
	all, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, string(all), r.Header}
}

// english makes the pages answer in English.
func (b *browser) english() *browser {
	u, _ := url.Parse(b.e.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "avis_lang", Value: "en", Path: "/"}})
	return b
}

// upload sends a file through the form of /imports, with its CSRF token
// first, and returns the answer.
func (b *browser) upload(fileName string, content []byte, opts ...formPart) resp {
	b.e.t.Helper()
	parts := []formPart{{name: "csrf", value: b.csrf("/imports")}, {name: "file", file: content}}
	return b.multipartPost("/imports/upload", fileName, append(parts, opts...))
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(contactTestdata + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	selectRe   = regexp.MustCompile(`(?s)<select id="field-(\d+)" name="field_\d+">(.*?)</select>`)
	selectedRe = regexp.MustCompile(`<option value="([^"]*)" selected>`)
	headerRe   = regexp.MustCompile(`<th scope="col" id="col-(\d+)">([^<]*)</th>`)
)

// previewMapping reads the preview page's column names and the field each
// column's menu has selected.
func previewMapping(t *testing.T, page string) (names, fields []string) {
	t.Helper()
	for _, m := range headerRe.FindAllStringSubmatch(page, -1) {
		names = append(names, htmlUnescape(m[2]))
	}
	for _, m := range selectRe.FindAllStringSubmatch(page, -1) {
		sel := selectedRe.FindStringSubmatch(m[2])
		if sel == nil {
			t.Fatalf("column %s has no selected field", m[1])
		}
		fields = append(fields, sel[1])
	}
	if len(names) == 0 || len(names) != len(fields) {
		t.Fatalf("preview shows %d columns and %d menus", len(names), len(fields))
	}
	return names, fields
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#39;", "'", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`).Replace(s)
}

// hiddenFields reads the hidden inputs of the run form.
func hiddenFields(page string) url.Values {
	v := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`).FindAllStringSubmatch(page, -1) {
		if m[1] != "csrf" || v.Get("csrf") == "" {
			v.Set(m[1], htmlUnescape(m[2]))
		}
	}
	return v
}

var countRe = regexp.MustCompile(`<dt>([A-Za-z]+)</dt><dd>(\d+)</dd>`)

// waitImport polls the status page of an import until it has ended, and
// returns the final page and its counts.
func waitImport(t *testing.T, b *browser, path string) (string, map[string]int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	sawRunning := false
	for {
		r := b.get(path)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s = %d", path, r.status)
		}
		running := strings.Contains(r.body, "status-queued") || strings.Contains(r.body, "status-running")
		if running {
			sawRunning = true
			if !strings.Contains(r.body, `<meta http-equiv="refresh" content="2">`) || !strings.Contains(r.body, "<progress") {
				t.Fatal("a running import's page neither reloads itself nor shows a progress bar")
			}
		} else {
			if strings.Contains(r.body, `http-equiv="refresh"`) {
				t.Fatal("a finished import's page still reloads itself")
			}
			counts := map[string]int{}
			for _, m := range countRe.FindAllStringSubmatch(r.body, -1) {
				counts[m[1]], _ = strconv.Atoi(m[2])
			}
			t.Logf("import ended (seen running: %v): %v", sawRunning, counts)
			return r.body, counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import of %s did not end within 30 s", path)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestImportFromUI: the French Excel CSV is uploaded, previewed with the
// suggested mapping, imported by the job queue, and its report downloaded;
// then the XLSX.
func TestImportFromUI(t *testing.T) {
	e := newEnv(t)
	tn, _ := e.tenant("shop", account.RoleOwner)
	b := e.loggedIn("shop-owner@example.com").english()

	page := b.get("/imports")
	if page.status != http.StatusOK || !strings.Contains(page.body, `enctype="multipart/form-data"`) || !strings.Contains(page.body, "No import yet.") {
		t.Fatalf("/imports: %d\n%s", page.status, page.body)
	}
	r := b.upload("excel-fr.csv", readTestdata(t, "excel-fr.csv"))
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/uploads/") || !strings.Contains(loc, "name=excel-fr.csv") {
		t.Fatalf("upload: %d to %q\n%s", r.status, loc, r.body)
	}
	uploadID := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], "/uploads/")

	pv := b.get(loc)
	if pv.status != http.StatusOK {
		t.Fatalf("preview: %d\n%s", pv.status, pv.body)
	}
	for _, want := range []string{"windows-1252", "<code>;</code>", "Lefèvre", "Courriel"} {
		if !strings.Contains(pv.body, want) {
			t.Errorf("the preview lacks %q", want)
		}
	}
	names, fields := previewMapping(t, pv.body)
	suggested := map[string]string{}
	for i, n := range names {
		suggested[n] = fields[i]
	}
	for col, want := range map[string]string{"Réf client": "external_id", "Nom": "last_name", "Prénom": "first_name",
		"Courriel": "email", "Téléphone portable": "phone", "Date d'achat": ""} {
		if suggested[col] != want {
			t.Errorf("column %q suggested as %q, want %q (all: %v)", col, suggested[col], want, suggested)
		}
	}
	recs, err := e.audit.List(context.Background(), tn.ID, audit.Filter{Action: "import.preview"})
	if err != nil || len(recs) != 1 || recs[0].ObjectID != uploadID {
		t.Fatalf("the preview is not audited: %v %v", recs, err)
	}

	// Run it: the store becomes a new attribute, not personal, and the
	// mapping is saved.
	form := hiddenFields(pv.body)
	for i, n := range names {
		f := fields[i]
		if n == "Magasin" {
			f = "new"
			form.Set("attr_"+strconv.Itoa(i), "magasin")
		} else {
			form.Set("personal_"+strconv.Itoa(i), "1")
		}
		form.Set("field_"+strconv.Itoa(i), f)
	}
	form.Set("save_as", "excel")
	form.Set("region", "FR")
	run := b.do("POST", "/uploads/"+uploadID+"/run", form)
	if run.status != http.StatusSeeOther || !strings.HasPrefix(run.header.Get("Location"), "/imports/") {
		t.Fatalf("run: %d %q\n%s", run.status, run.header.Get("Location"), run.body)
	}
	importPath := run.header.Get("Location")
	body, counts := waitImport(t, b, importPath)
	if !strings.Contains(body, "status-done") {
		t.Fatalf("the import did not end done:\n%s", body)
	}
	if counts["Rows"] != 23 || counts["Created"] != 21 || counts["Rejected"] != 2 {
		t.Errorf("counts %v, want 23 rows, 21 created, 2 rejected", counts)
	}
	if !strings.Contains(body, "not a valid email address") || !strings.Contains(body, "Téléphone portable") {
		t.Errorf("the page does not list the rejected rows:\n%s", body)
	}
	attrs, err := e.contacts.Attributes(context.Background(), tn.ID)
	if a, ok := attrs["magasin"]; err != nil || !ok || a.Personal {
		t.Errorf("attribute magasin = %+v (%v), want declared, not personal", attrs, err)
	}
	if m, err := e.contacts.Mapping(context.Background(), tn.ID, "excel"); err != nil || m.Columns["Courriel"] != "email" {
		t.Errorf("saved mapping = %+v, %v", m, err)
	}
	if n, _ := e.contacts.Count(context.Background(), tn.ID); n != 21 {
		t.Errorf("%d contacts, want 21", n)
	}

	rep := b.get(importPath + "/report.csv")
	if rep.status != http.StatusOK || !strings.HasPrefix(rep.header.Get("Content-Disposition"), "attachment") ||
		!strings.HasPrefix(rep.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("report: %d %v", rep.status, rep.header)
	}
	for _, want := range []string{"22,Courriel,not a valid email address", "\n23,Téléphone portable,", "rejected,2"} {
		if !strings.Contains(rep.body, want) {
			t.Errorf("the report lacks %q:\n%s", want, rep.body)
		}
	}
	if strings.Contains(rep.body, "jean@@example.fr") {
		t.Error("the report quotes a rejected value")
	}
	// The upload is gone once imported.
	if r := b.get(loc); r.status != http.StatusNotFound {
		t.Errorf("preview after the import: %d, want 404", r.status)
	}
	list := b.get("/imports")
	if !strings.Contains(list.body, "excel-fr.csv") || !strings.Contains(list.body, importPath) || !strings.Contains(list.body, `<option value="excel">excel</option>`) {
		t.Errorf("the imports page does not list the import or the saved mapping:\n%s", list.body)
	}

	// The XLSX, with the saved mapping offered but not chosen.
	r = b.upload("contacts.xlsx", readTestdata(t, "contacts.xlsx"), formPart{name: "sheet", value: "Contacts"})
	if r.status != http.StatusSeeOther {
		t.Fatalf("upload xlsx: %d\n%s", r.status, r.body)
	}
	pv = b.get(r.header.Get("Location"))
	if pv.status != http.StatusOK || !strings.Contains(pv.body, "xlsx") {
		t.Fatalf("xlsx preview: %d\n%s", pv.status, pv.body)
	}
	names, fields = previewMapping(t, pv.body)
	form = hiddenFields(pv.body)
	for i := range names {
		form.Set("field_"+strconv.Itoa(i), fields[i])
	}
	if fields[3] != "email" {
		t.Errorf("E-mail suggested as %q", fields[3])
	}
	id := strings.TrimPrefix(strings.SplitN(r.header.Get("Location"), "?", 2)[0], "/uploads/")
	run = b.do("POST", "/uploads/"+id+"/run", form)
	if run.status != http.StatusSeeOther {
		t.Fatalf("run xlsx: %d\n%s", run.status, run.body)
	}
	body, counts = waitImport(t, b, run.header.Get("Location"))
	if !strings.Contains(body, "status-done") || counts["Rows"] != 10 || counts["Created"]+counts["Updated"]+counts["Unchanged"]+counts["Rejected"] != 10 {
		t.Errorf("xlsx import: %v\n%s", counts, body)
	}
}

// TestImportPreviewErrors: a file that cannot be read says why, with a way
// back; a mapping without any way to tell contacts apart is refused.
func TestImportPreviewErrors(t *testing.T) {
	e := newEnv(t)
	e.tenant("shop", account.RoleOwner)
	b := e.loggedIn("shop-owner@example.com").english()
	r := b.upload("junk.csv", readTestdata(t, "junk.csv"))
	if r.status != http.StatusSeeOther {
		t.Fatalf("upload: %d", r.status)
	}
	pv := b.get(r.header.Get("Location"))
	if pv.status != http.StatusUnprocessableEntity || !strings.Contains(pv.body, "This file cannot be imported") || !strings.Contains(pv.body, `href="/imports"`) {
		t.Fatalf("junk preview: %d\n%s", pv.status, pv.body)
	}

	r = b.upload("excel-fr.csv", readTestdata(t, "excel-fr.csv"))
	loc := r.header.Get("Location")
	pv = b.get(loc)
	form := hiddenFields(pv.body)
	form.Set("field_0", "first_name")
	id := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], "/uploads/")
	run := b.do("POST", "/uploads/"+id+"/run", form)
	if run.status != http.StatusUnprocessableEntity || !strings.Contains(run.body, "so that contacts can be told apart") {
		t.Fatalf("run without email, phone or id: %d\n%s", run.status, run.body)
	}
	form.Set("field_0", "email")
	form.Set("field_3", "email")
	run = b.do("POST", "/uploads/"+id+"/run", form)
	if run.status != http.StatusUnprocessableEntity || !strings.Contains(run.body, "are mapped to the same field") {
		t.Fatalf("run with email twice: %d\n%s", run.status, run.body)
	}
	form.Set("field_0", "new")
	form.Set("attr_0", "Not A Name")
	run = b.do("POST", "/uploads/"+id+"/run", form)
	if run.status != http.StatusUnprocessableEntity || !strings.Contains(run.body, "an attribute name is") {
		t.Fatalf("run with a bad attribute name: %d\n%s", run.status, run.body)
	}
	if list, _ := e.contacts.Imports(context.Background(), mustTenant(t, e, "shop"), 10); len(list) != 0 {
		t.Fatalf("%d imports queued by refused runs", len(list))
	}
}

// uploadsLeft lists the sealed uploads kept on disk.
func uploadsLeft(t *testing.T, e *env, dataDir string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dataDir, "uploads"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range es {
		out = append(out, x.Name())
	}
	return out
}

// TestImportUploadTooLarge: a file over the limit is refused with the limit
// in MB, and nothing is kept.
func TestImportUploadTooLarge(t *testing.T) {
	var data string
	e := newEnvWith(t, func(c *config.Config) { c.MaxUploadBytes = 1 << 20; data = c.Data })
	e.tenant("shop", account.RoleOwner)
	b := e.loggedIn("shop-owner@example.com").english()
	big := bytes.Repeat([]byte("email\nsomeone@example.com\n"), (1<<20)/26+2000)
	r := b.upload("big.csv", big)
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "limit of 1 MB") {
		t.Fatalf("too large: %d\n%s", r.status, r.body)
	}
	if left := uploadsLeft(t, e, data); len(left) != 0 {
		t.Fatalf("a refused upload left %v", left)
	}
	// A request announced larger than the limit is refused before it is read.
	huge := append(big, bytes.Repeat([]byte("x"), 2<<20)...)
	if r := b.upload("huge.csv", huge); r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "limit of 1 MB") {
		t.Fatalf("far too large: %d\n%s", r.status, r.body)
	}
	if left := uploadsLeft(t, e, data); len(left) != 0 {
		t.Fatalf("a refused upload left %v", left)
	}
	// Just under the limit goes through.
	if r := b.upload("ok.csv", big[:1<<20-100]); r.status != http.StatusSeeOther {
		t.Fatalf("under the limit: %d", r.status)
	}
}

// TestImportUploadCSRF: a multipart upload without the session's CSRF token
// as its first field, or from another site, is refused and stores nothing.
func TestImportUploadCSRF(t *testing.T) {
	var data string
	e := newEnvWith(t, func(c *config.Config) { data = c.Data })
	tn, _ := e.tenant("shop", account.RoleOwner)
	if _, err := e.accounts.CreateUser(context.Background(), audit.System("test"), tn.ID, "viewer@example.com", "", testPassword, account.RoleViewer); err != nil {
		t.Fatal(err)
	}
	b := e.loggedIn("shop-owner@example.com").english()
	file := readTestdata(t, "excel-fr.csv")
	tok := b.csrf("/imports")
	cases := []struct {
		name  string
		parts []formPart
		hdr   []string
	}{
		{"no token", []formPart{{name: "file", file: file}}, nil},
		{"wrong token", []formPart{{name: "csrf", value: "forged"}, {name: "file", file: file}}, nil},
		{"token after the file", []formPart{{name: "file", file: file}, {name: "csrf", value: tok}}, nil},
		{"foreign origin", []formPart{{name: "csrf", value: tok}, {name: "file", file: file}}, []string{"Origin", "https://evil.example"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := b.multipartPost("/imports/upload", "excel-fr.csv", c.parts, c.hdr...)
			if r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403", r.status)
			}
			if left := uploadsLeft(t, e, data); len(left) != 0 {
				t.Fatalf("an upload was stored: %v", left)
			}
		})
	}
	// A viewer may not upload, nor see the imports.
	v := e.loggedIn("viewer@example.com").english()
	r := v.multipartPost("/imports/upload", "excel-fr.csv", []formPart{{name: "csrf", value: v.csrf("/")}, {name: "file", file: file}})
	if r.status != http.StatusForbidden {
		t.Fatalf("viewer upload: %d, want 403", r.status)
	}
	if r := v.get("/imports"); r.status != http.StatusForbidden {
		t.Fatalf("viewer GET /imports: %d, want 403", r.status)
	}
	if left := uploadsLeft(t, e, data); len(left) != 0 {
		t.Fatalf("the viewer's upload was stored: %v", left)
	}
}

// inLang makes the pages answer in lang.
func (b *browser) inLang(lang string) *browser {
	u, _ := url.Parse(b.e.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "avis_lang", Value: lang, Path: "/"}})
	return b
}

// TestImportSpeaksTheReadersLanguage: what the import says about a file or
// a row — a file it cannot read, a row it skips in the preview, a rejected
// cell, a failed import, the downloaded report — is in the page's language,
// with the file name and the numbers as they are; English pages still say
// it in English.
func TestImportSpeaksTheReadersLanguage(t *testing.T) {
	e := newEnv(t)
	e.tenant("shop", account.RoleOwner)
	cat := i18n.MustLoad()
	b := e.loggedIn("shop-owner@example.com")
	binary := []byte("email;nom\r\nx\x00\x01\x02\x03\x00y\r\n")
	const binaryFormat = "%s is not a text CSV file (it holds binary data): export the contacts from your spreadsheet or CRM as CSV, XLSX or JSON Lines"
	for _, lang := range i18n.Languages {
		t.Run("binary file "+lang, func(t *testing.T) {
			b.inLang(lang)
			r := b.upload("x.csv", binary)
			if r.status != http.StatusSeeOther {
				t.Fatalf("upload: %d\n%s", r.status, r.body)
			}
			pv := b.get(r.header.Get("Location"))
			body := htmlUnescape(pv.body)
			want := cat.T(lang, binaryFormat, "x.csv")
			if pv.status != http.StatusUnprocessableEntity || !strings.Contains(body, cat.T(lang, "This file cannot be imported")) || !strings.Contains(body, want) {
				t.Fatalf("preview: %d, want %q\n%s", pv.status, want, body)
			}
			if lang != "en" && (strings.Contains(body, "binary data") || strings.Contains(body, "export the contacts")) {
				t.Errorf("the %s preview says it in English:\n%s", lang, body)
			}
		})
	}

	b.inLang("fr")
	// A row the preview cannot show says why in French.
	r := b.upload("ragged.csv", []byte("email;nom\r\na@example.com;A;en trop\r\nb@example.com;B\r\n"))
	pv := b.get(r.header.Get("Location"))
	body := htmlUnescape(pv.body)
	if pv.status != http.StatusOK || !strings.Contains(body, "la ligne a 3 champs, l'en-tête 2") || strings.Contains(body, "the row has") {
		t.Fatalf("ragged preview: %d\n%s", pv.status, body)
	}

	// The French Excel file, imported from a French page.
	run := func(allOrNothing bool) string {
		t.Helper()
		r := b.upload("excel-fr.csv", readTestdata(t, "excel-fr.csv"))
		loc := r.header.Get("Location")
		pv := b.get(loc)
		names, fields := previewMapping(t, pv.body)
		form := hiddenFields(pv.body)
		for i := range names {
			form.Set("field_"+strconv.Itoa(i), fields[i])
		}
		form.Set("region", "FR")
		if allOrNothing {
			form.Set("all_or_nothing", "1")
		}
		id := strings.TrimPrefix(strings.SplitN(loc, "?", 2)[0], "/uploads/")
		rr := b.do("POST", "/uploads/"+id+"/run", form)
		if rr.status != http.StatusSeeOther {
			t.Fatalf("run: %d\n%s", rr.status, rr.body)
		}
		return rr.header.Get("Location")
	}
	importPath := run(false)
	page, _ := waitImport(t, b, importPath)
	page = htmlUnescape(page)
	if !strings.Contains(page, "status-done") || !strings.Contains(page, "<td>22</td><td>Courriel</td><td>adresse e-mail non valide</td>") ||
		!strings.Contains(page, "<td>Téléphone portable</td><td>numéro de téléphone non valide pour FR</td>") {
		t.Fatalf("the French import page does not give the reasons in French:\n%s", page)
	}
	if strings.Contains(page, "not a valid") {
		t.Errorf("the French import page says a reason in English:\n%s", page)
	}
	rep := b.get(importPath + "/report.csv")
	if rep.status != http.StatusOK {
		t.Fatalf("report: %d", rep.status)
	}
	for _, want := range []string{"état,terminé\n", "refusées,2\n", "ligne,colonne,motif\n", "22,Courriel,adresse e-mail non valide\n",
		"23,Téléphone portable,numéro de téléphone non valide pour FR\n", "fichier,excel-fr.csv\n"} {
		if !strings.Contains(rep.body, want) {
			t.Errorf("the French report lacks %q:\n%s", want, rep.body)
		}
	}
	for _, english := range []string{"not a valid", "row,column,reason", "status,done"} {
		if strings.Contains(rep.body, english) {
			t.Errorf("the French report says %q in English:\n%s", english, rep.body)
		}
	}
	// The same report downloaded from an English page is in English.
	b.inLang("en")
	if rep := b.get(importPath + "/report.csv"); !strings.Contains(rep.body, "row,column,reason\n") ||
		!strings.Contains(rep.body, "22,Courriel,not a valid email address\n") || !strings.Contains(rep.body, "status,done\n") {
		t.Errorf("the English report:\n%s", rep.body)
	}
	if page := b.get(importPath); !strings.Contains(page.body, "<td>not a valid email address</td>") {
		t.Errorf("the English import page:\n%s", page.body)
	}

	// A failed import says why in French.
	b.inLang("fr")
	importPath = run(true)
	page, _ = waitImport(t, b, importPath)
	page = htmlUnescape(page)
	if !strings.Contains(page, "status-failed") ||
		!strings.Contains(page, "2 lignes ont été refusées et l'option « tout ou rien » était choisie : rien n'a été importé") {
		t.Fatalf("the failed import's page does not say why in French:\n%s", page)
	}
	if strings.Contains(page, "all-or-nothing was asked") {
		t.Errorf("the failed import's page says why in English:\n%s", page)
	}
}

// TestImportCataloguesKeepVerbs: every translation of the import's messages
// has the formatting verbs of its English message, in the same order, so
// that no argument is lost or printed as %!d(string=…).
func TestImportCataloguesKeepVerbs(t *testing.T) {
	verb := regexp.MustCompile(`%[-+# 0]*[0-9]*[a-zA-Z%]`)
	files, _ := filepath.Glob("../i18n/catalog/*.import.json")
	if len(files) != len(i18n.Languages)-1 {
		t.Fatalf("import catalogues: %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cat map[string]string
		if err := json.Unmarshal(b, &cat); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for en, tr := range cat {
			if a, b := strings.Join(verb.FindAllString(en, -1), " "), strings.Join(verb.FindAllString(tr, -1), " "); a != b {
				t.Errorf("%s: %q has the verbs [%s], its translation %q [%s]", filepath.Base(f), en, a, tr, b)
			}
		}
	}
}

// TestImportReadErrorSaid: the error of an import that stopped on an upload
// found damaged while its rows were read (the reason is an error of the
// upload store, not a Text of the import) is said, as the import page says
// it, in the reader's language.
func TestImportReadErrorSaid(t *testing.T) {
	cat := i18n.MustLoad()
	damaged := contact.TextOf(errors.New("the uploaded file is damaged (truncated)"))
	for _, lang := range i18n.Languages {
		msg := contact.Text{Format: "the file cannot be read further: %s", Args: []any{damaged}}.In(
			func(format string, args ...any) string { return cat.T(lang, format, args...) })
		if lang != "en" && (strings.Contains(msg, "damaged") || strings.Contains(msg, "cannot be read")) {
			t.Errorf("%s: %q", lang, msg)
		}
		if lang == "fr" && msg != "la suite du fichier ne peut pas être lue : le fichier envoyé est endommagé (tronqué)" {
			t.Errorf("fr: %q", msg)
		}
	}
}
