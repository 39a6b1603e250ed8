package sms

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Load reads one provider's JSON configuration, selected by its "type"
// ("twilio", "ovh" or "generic"; see TwilioConfig, OVHConfig and
// GenericConfig), checks it and returns the provider and a Limiter for its
// rate_per_second (nil when unlimited). Unknown fields are errors, so that
// a misspelt option is not silently ignored. Error messages never quote
// secrets.
func Load(data []byte, d Deps) (Provider, *Limiter, error) {
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, nil, errorf("provider configuration: %w", jsonError(err))
	}
	var (
		p      Provider
		common Common
		err    error
	)
	switch probe.Type {
	case "twilio":
		var c TwilioConfig
		if err = decodeStrict(data, &c); err == nil {
			p, err = NewTwilio(c, d)
			common = c.Common
		}
	case "ovh":
		var c OVHConfig
		if err = decodeStrict(data, &c); err == nil {
			p, err = NewOVH(c, d)
			common = c.Common
		}
	case "generic":
		var c GenericConfig
		if err = decodeStrict(data, &c); err == nil {
			p, err = NewGeneric(c, d)
			common = c.Common
		}
	case "":
		return nil, nil, errorf("provider configuration: \"type\" is required: twilio, ovh or generic")
	default:
		return nil, nil, errorf("provider configuration: unknown type %q: twilio, ovh or generic", probe.Type)
	}
	if err != nil {
		return nil, nil, err
	}
	return p, common.NewLimiter(nil), nil
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf("provider configuration: %w", jsonError(err))
	}
	if dec.More() {
		return errorf("provider configuration: more than one JSON value")
	}
	return nil
}

// jsonError rewords a decoding error without the offending value, which
// could be a secret.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case asErr(err, &te):
		return fmt.Errorf("field %q should be a %s", te.Field, te.Type.String())
	case asErr(err, &se):
		return fmt.Errorf("not valid JSON (at byte %d)", se.Offset)
	}
	return err
}
