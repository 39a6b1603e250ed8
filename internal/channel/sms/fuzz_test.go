package sms

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets for every parser of outside input: callbacks (Twilio, OVH,
// our JSON), STOP detection, text analysis and provider configurations.

func FuzzParseTwilioStatus(f *testing.F) {
	f.Add("MessageSid=SM1&MessageStatus=delivered&ref=inv-1")
	f.Add("SmsSid=SM1&SmsStatus=undelivered&ErrorCode=30003")
	f.Add("MessageSid=%00&MessageStatus=")
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		r, err := ParseTwilioStatus(form)
		checkReceipt(t, r, err)
	})
}

func FuzzParseTwilioInbound(f *testing.F) {
	f.Add("MessageSid=SM1&From=%2B33639981234&Body=STOP")
	f.Add("From=whatsapp:%2B1&Body=%FF")
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		in, err := ParseTwilioInbound(form)
		checkInbound(t, in, err)
	})
}

func FuzzParseOVHReceipt(f *testing.F) {
	f.Add("id=26929925&dlr=1&ptt=13")
	f.Add("id=1&dlr=16&ptt=4&tag=inv")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		r, err := ParseOVHReceipt(q)
		checkReceipt(t, r, err)
	})
}

func FuzzParseOVHInbound(f *testing.F) {
	f.Add("id=77&senderid=0639981234&message=STOP&tag=inv", "FR")
	f.Add("senderid=%2B33639981234&message=", "")
	f.Fuzz(func(t *testing.T, raw, region string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		in, err := ParseOVHInbound(v, region)
		checkInbound(t, in, err)
	})
}

func FuzzParseGenericReceipt(f *testing.F) {
	f.Add([]byte(`{"id":"a","reference":"b","status":"delivered","error_code":"c"}`))
	f.Add([]byte(`{"id":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseGenericReceipt(body)
		checkReceipt(t, r, err)
	})
}

func FuzzParseGenericInbound(f *testing.F) {
	f.Add([]byte(`{"id":"a","from":"+33639981234","text":"STOP"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := ParseGenericInbound(body)
		checkInbound(t, in, err)
	})
}

func FuzzIsStop(f *testing.F) {
	for _, s := range []string{"STOP", "Arrêt !", "stop merci", "End of story", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if IsStop(s) && strings.TrimSpace(s) == "" {
			t.Fatal("blank text is a STOP")
		}
	})
}

func FuzzAnalyse(f *testing.F) {
	for _, s := range []string{"", "Bonjour", "€€€", "🙂", strings.Repeat("a", 161), "ê\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		info := Analyse(s)
		if info.Chars != utf8.RuneCountInString(s) || info.Units < info.Chars || info.Units > 2*info.Chars {
			t.Fatalf("%+v", info)
		}
		per := map[string]int{EncodingGSM7: gsmSingle, EncodingUCS2: ucs2Single}[info.Encoding]
		if (info.Units == 0) != (info.Segments == 0) || (info.Units <= per && info.Units > 0 && info.Segments != 1) || info.Segments > info.Units {
			t.Fatalf("%+v", info)
		}
		n := Normalise(s)
		if n != s && !IsGSM7(n) {
			t.Fatal("Normalise changed a text without making it GSM-7")
		}
	})
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"type":"generic","url":"https://x/{{urlquery .To}}","body":"{{json .Text}}","headers":{"Content-Type":"application/json"}}`))
	f.Add([]byte(`{"type":"twilio","account_sid":"AC1","auth_token":"t","from":"Avis"}`))
	f.Add([]byte(`{"type":"ovh","from":"Avis","application_key":"a","application_secret":"s","consumer_key":"c","service_name":"s-1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _, err := Load(data, Deps{})
		if (p == nil) == (err == nil) {
			t.Fatalf("provider %v with error %v", p, err)
		}
	})
}

func checkReceipt(t *testing.T, r Receipt, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrCallback) || r != (Receipt{}) {
			t.Fatalf("%+v %v", r, err)
		}
		return
	}
	if r.ProviderID == "" || r.Status == "" {
		t.Fatalf("%+v", r)
	}
}

func checkInbound(t *testing.T, in Inbound, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrCallback) || in != (Inbound{}) {
			t.Fatalf("%+v %v", in, err)
		}
		return
	}
	if !ValidE164(in.From) || !utf8.ValidString(in.Text) {
		t.Fatalf("%+v", in)
	}
}
