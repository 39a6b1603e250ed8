package privacy_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"avis/internal/i18n"
	"avis/internal/privacy"
)

func encoded(t testing.TB, enc func(*bytes.Buffer, image.Image) error, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.NRGBA{200, 10, 10, 255})
	var b bytes.Buffer
	if err := enc(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngOf(t testing.TB, w, h int) []byte {
	return encoded(t, func(b *bytes.Buffer, i image.Image) error { return png.Encode(b, i) }, w, h)
}

func jpegOf(t testing.TB, w, h int) []byte {
	return encoded(t, func(b *bytes.Buffer, i image.Image) error { return jpeg.Encode(b, i, nil) }, w, h)
}

// webpLossless is the header of a lossless WebP of w×h pixels, followed by
// filler standing for the picture data.
func webpLossless(w, h int) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(100))
	b.WriteString("WEBPVP8L")
	binary.Write(&b, binary.LittleEndian, uint32(88))
	b.WriteByte(0x2f)
	binary.Write(&b, binary.LittleEndian, uint32(w-1)|uint32(h-1)<<14)
	b.Write(make([]byte, 83))
	return b.Bytes()
}

// webpExtended is the header of an extended (VP8X) WebP of w×h pixels.
func webpExtended(w, h int) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(100))
	b.WriteString("WEBPVP8X")
	binary.Write(&b, binary.LittleEndian, uint32(10))
	b.Write([]byte{0, 0, 0, 0})
	b.Write([]byte{byte(w - 1), byte((w - 1) >> 8), byte((w - 1) >> 16), byte(h - 1), byte((h - 1) >> 8), byte((h - 1) >> 16)})
	b.Write(make([]byte, 80))
	return b.Bytes()
}

// TestCheckLogo accepts PNG, JPEG and WebP by their header and refuses SVG,
// other formats, files over 100 KB and huge pictures.
func TestCheckLogo(t *testing.T) {
	cases := []struct {
		name, wantType, wantMsg string
		b                       []byte
	}{
		{"png", "image/png", "", pngOf(t, 40, 20)},
		{"jpeg", "image/jpeg", "", jpegOf(t, 40, 20)},
		{"webp lossless", "image/webp", "", webpLossless(120, 60)},
		{"webp extended", "image/webp", "", webpExtended(300, 100)},
		{"svg", "", "SVG", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`)},
		{"svg after a BOM and xml declaration", "", "SVG", []byte("\xef\xbb\xbf<?xml version=\"1.0\"?>\n<svg/>")},
		{"html", "", "SVG", []byte(`<html><script>alert(1)</script></html>`)},
		{"gif", "", "PNG, JPEG or WebP", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")},
		{"truncated png", "", "PNG, JPEG or WebP", pngOf(t, 40, 20)[:20]},
		{"empty webp", "", "PNG, JPEG or WebP", []byte("RIFF\x00\x00\x00\x00WEBP")},
		{"over 100 KB", "", "100 KB", append(pngOf(t, 40, 20), make([]byte, 100_001)...)},
		{"huge picture", "", "4096", webpExtended(5000, 10)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ, fe := privacy.CheckLogo(c.b)
			if c.wantMsg == "" {
				if fe != nil || typ != c.wantType {
					t.Fatalf("CheckLogo = %q, %+v; want %s", typ, fe, c.wantType)
				}
				return
			}
			if fe == nil || fe.Field != "logo" || !strings.Contains(fe.Msg, c.wantMsg) {
				t.Fatalf("CheckLogo = %q, %+v; want a refusal saying %q", typ, fe, c.wantMsg)
			}
		})
	}
}

// TestBrandColour measures contrast as WCAG does and suggests shades that
// pass.
func TestBrandColour(t *testing.T) {
	for _, c := range []struct {
		hex      string
		contrast float64
	}{{"#ffffff", 1}, {"#000000", 21}, {"#767676", 4.54}, {"#777777", 4.48}, {"#0b5cad", 6.67}} {
		if got := privacy.ContrastWithWhite(c.hex); got < c.contrast-0.01 || got > c.contrast+0.01 {
			t.Errorf("contrast of %s = %.3f, want %.2f", c.hex, got, c.contrast)
		}
	}
	for _, light := range []string{"#7fb2e5", "#ffcc00", "#ffffff", "#00ff00", "#777777"} {
		d := privacy.DarkerShade(light)
		if privacy.ContrastWithWhite(d) < privacy.MinContrast {
			t.Errorf("DarkerShade(%s) = %s, contrast %.2f", light, d, privacy.ContrastWithWhite(d))
		}
		if d == "#000000" && light != "#ffffff" {
			t.Errorf("DarkerShade(%s) gave black rather than a shade of it", light)
		}
	}
	if privacy.InkOn("#0b5cad") != "#ffffff" || privacy.InkOn("#ffcc00") == "#ffffff" {
		t.Error("InkOn picks the wrong text colour")
	}
	for _, bad := range []string{"", "#fff", "0b5cad", "#0b5caz", "#0b5cad0"} {
		if _, err := privacy.ParseColor(bad); err == nil {
			t.Errorf("ParseColor(%q) accepted", bad)
		}
	}
}

// TestProfileValidate refuses each bad field with its own message.
func TestProfileValidate(t *testing.T) {
	good := fullProfile("t")
	good.Normalize()
	if err := good.Validate(); err != nil {
		t.Fatalf("a good profile is refused: %v", err)
	}
	cases := []struct {
		field  string
		change func(*privacy.Profile)
	}{
		{"brand_color", func(p *privacy.Profile) { p.BrandColor = "#7fb2e5" }},
		{"brand_color", func(p *privacy.Profile) { p.BrandColor = "red" }},
		{"dpo_email", func(p *privacy.Profile) { p.DPOEmail = "" }},
		{"dpo_email", func(p *privacy.Profile) { p.DPOEmail = "Camille <dpo@x.fr>" }},
		{"dpo_email", func(p *privacy.Profile) { p.DPOEmail = "dpo@localhost" }},
		{"policy_url", func(p *privacy.Profile) { p.PolicyURL = "javascript:alert(1)" }},
		{"policy_url", func(p *privacy.Profile) { p.PolicyURL = "https://user:pw@example.com/" }},
		{"retention_months", func(p *privacy.Profile) { p.RetentionMonths = 5 }},
		{"retention_months", func(p *privacy.Profile) { p.RetentionMonths = 121 }},
		{"legal_name", func(p *privacy.Profile) { p.LegalName = strings.Repeat("é", 201) }},
		{"legal_name", func(p *privacy.Profile) { p.LegalName = "- Boutique" }},
		{"legal_name", func(p *privacy.Profile) { p.LegalName = "Bou\x00tique" }},
		{"dpo_name", func(p *privacy.Profile) { p.DPOName = "Camille\nMartin" }},
		{"address", func(p *privacy.Profile) { p.Address = strings.Repeat("rue ", 130) }},
		{"authority", func(p *privacy.Profile) { p.Authority = "" }},
	}
	for _, c := range cases {
		p := fullProfile("t")
		c.change(&p)
		err := p.Validate()
		var pe privacy.ProfileErrors
		if !errors.As(err, &pe) {
			t.Errorf("%s: %v, want ProfileErrors", c.field, err)
			continue
		}
		if _, ok := pe.For(c.field); !ok || len(pe) != 1 {
			t.Errorf("%s: problems %v, want exactly one, for %s", c.field, pe, c.field)
		}
	}
	// A multi-line address is kept line by line, trimmed.
	p := fullProfile("t")
	p.Address = "  12 place du Marché \r\n\r\n 69002 Lyon "
	p.Normalize()
	if p.Address != "12 place du Marché\n69002 Lyon" || p.Validate() != nil {
		t.Errorf("address %q", p.Address)
	}
}

// TestProfileMessagesTranslated keeps the validation messages, which the
// settings page shows, in every catalogue.
func TestProfileMessagesTranslated(t *testing.T) {
	cat := i18n.MustLoad()
	for _, lang := range i18n.Languages {
		for _, m := range privacy.ProfileMessages {
			if !cat.Has(lang, m) {
				t.Errorf("%s: no translation for %q", lang, m)
			}
		}
	}
}

// FuzzCheckLogo feeds any bytes to the logo check: it never panics, and
// whatever it accepts is a PNG, JPEG or WebP whose header reads.
func FuzzCheckLogo(f *testing.F) {
	f.Add(pngOf(f, 4, 4))
	f.Add(jpegOf(f, 4, 4))
	f.Add(webpLossless(10, 10))
	f.Add(webpExtended(10, 10))
	f.Add([]byte("RIFF\x10\x00\x00\x00WEBPVP8 \x10\x00\x00\x00\x00\x00\x00\x9d\x01\x2a\x0a\x00\x0a\x00\x00\x00\x00\x00"))
	f.Add([]byte("<svg/>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, fe := privacy.CheckLogo(b)
		if fe == nil {
			if typ != "image/png" && typ != "image/jpeg" && typ != "image/webp" {
				t.Fatalf("accepted as %q", typ)
			}
			if len(b) > privacy.MaxLogoBytes {
				t.Fatalf("accepted %d bytes", len(b))
			}
		}
	})
}
