package contact

import (
	"fmt"
	"io"
	"sort"
)

// recordsSource is a Source over records already decoded (an API batch): the
// header is every key, in sorted order; record i is row i+1 (the API numbers
// items from 1).
type recordsSource struct {
	header []string
	recs   []map[string]string
	i      int
}

// RecordsSource returns a Source over in-memory records, for the API.
func RecordsSource(recs []map[string]string) Source {
	keys := map[string]bool{}
	for _, r := range recs {
		for k := range r {
			keys[k] = true
		}
	}
	h := make([]string, 0, len(keys))
	for k := range keys {
		h = append(h, k)
	}
	sort.Strings(h)
	return &recordsSource{header: h, recs: recs}
}

func (s *recordsSource) Header() []string { return s.header }

func (s *recordsSource) Next() (Row, error) {
	if s.i >= len(s.recs) {
		return Row{}, io.EOF
	}
	r := s.recs[s.i]
	s.i++
	f := make([]string, len(s.header))
	for j, k := range s.header {
		f[j] = r[k]
	}
	return Row{Num: s.i, Fields: f}, nil
}

func (s *recordsSource) Close() error { return nil }

// APIMapping maps the API's JSON names to fields: the same names as the
// fields themselves, and "attributes.<name>" for attributes.
func APIMapping(header []string) ([]Field, error) {
	m := make([]Field, len(header))
	for i, h := range header {
		switch Field(h) {
		case FieldExternalID, FieldEmailCol, FieldPhoneCol, FieldFirstNameCol, FieldLastNameCol, FieldLanguage, FieldCountry, FieldTimeZone:
			m[i] = Field(h)
			continue
		}
		if len(h) > 11 && h[:11] == "attributes." {
			m[i] = Field("attr:" + h[11:])
			continue
		}
		return nil, fmt.Errorf("%w: unknown field %q: use external_id, email, phone, first_name, last_name, language, country, time_zone or attributes.NAME", ErrMapping, h)
	}
	return m, nil
}
