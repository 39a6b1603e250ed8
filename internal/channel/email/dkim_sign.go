package email

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file signs messages with DKIM (RFC 6376), relaxed/relaxed with
// SHA-256, rsa-sha256 or ed25519-sha256 (RFC 8463). It is a one-pass
// signer for the messages Build writes (CRLF line ends throughout): the
// body hash is computed over the whole body at once instead of byte by
// byte, which made go-msgauth's streaming signer the largest cost of a
// message. go-msgauth still verifies every signature in the tests.

// canonBufs holds the buffers of relaxed body canonicalisation.
var canonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// relaxedBodyHash returns the SHA-256 of body in the relaxed body
// canonicalisation (RFC 6376 3.4.4): runs of spaces and tabs become one
// space, spaces and tabs at line ends go, empty lines at the end go, and a
// non-empty body ends with CRLF. A bare LF ends a line as CRLF does.
func relaxedBodyHash(body []byte) [sha256.Size]byte {
	if canonicalAlready(body) {
		// Nothing to change but empty lines at the end: hash in place.
		for bytes.HasSuffix(body, []byte("\r\n\r\n")) {
			body = body[:len(body)-2]
		}
		if string(body) == "\r\n" {
			body = body[:0]
		}
		if len(body) == 0 || bytes.HasSuffix(body, []byte("\r\n")) {
			return sha256.Sum256(body)
		}
		h := sha256.New()
		h.Write(body)
		h.Write([]byte("\r\n"))
		var sum [sha256.Size]byte
		h.Sum(sum[:0])
		return sum
	}
	bp := canonBufs.Get().(*[]byte)
	out := (*bp)[:0]
	for len(body) > 0 {
		var line []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		out = appendRelaxedLine(out, line)
		out = append(out, '\r', '\n')
	}
	// Empty lines at the end of the body are ignored; a body of only
	// empty lines is the empty body.
	for bytes.HasSuffix(out, []byte("\r\n\r\n")) {
		out = out[:len(out)-2]
	}
	if string(out) == "\r\n" {
		out = out[:0]
	}
	sum := sha256.Sum256(out)
	*bp = out
	canonBufs.Put(bp)
	return sum
}

// canonicalAlready reports whether the relaxed canonicalisation of body
// changes nothing but its empty lines at the end: CRLF line ends only, no
// tab, no run of spaces, no space at a line's end. Quoted-printable bodies
// usually are.
func canonicalAlready(body []byte) bool {
	return bytes.IndexByte(body, '\t') < 0 && !bytes.Contains(body, []byte("  ")) && !bytes.Contains(body, []byte(" \r\n")) &&
		!bytes.HasSuffix(body, []byte(" ")) && crlfOnly(body)
}

// appendRelaxedLine appends line with its runs of whitespace reduced to
// one space and its trailing whitespace removed.
func appendRelaxedLine(out, line []byte) []byte {
	if bytes.IndexByte(line, '\t') < 0 && !bytes.Contains(line, []byte("  ")) {
		// The common case: nothing to change but a trailing space.
		return append(out, bytes.TrimRight(line, " ")...)
	}
	line = bytes.TrimRight(line, " \t")
	space := false
	for _, c := range line {
		if c == ' ' || c == '\t' {
			space = true
			continue
		}
		if space {
			out = append(out, ' ')
			space = false
		}
		out = append(out, c)
	}
	return out
}

// relaxedHeader returns a header field ("Name: value\r\n", folded or not)
// in the relaxed header canonicalisation (RFC 6376 3.4.2), without CRLF:
// the name lower-cased, the value unfolded with runs of whitespace reduced
// to one space, no whitespace around the colon or at the end.
func relaxedHeader(field []byte) []byte {
	i := bytes.IndexByte(field, ':')
	if i < 0 {
		return nil
	}
	name := strings.ToLower(strings.TrimRight(string(field[:i]), " \t"))
	out := make([]byte, 0, len(field))
	out = append(out, name...)
	out = append(out, ':')
	space, started := false, false
	for _, c := range field[i+1:] {
		switch c {
		case '\r', '\n':
			continue
		case ' ', '\t':
			space = true
			continue
		}
		if space && started {
			out = append(out, ' ')
		}
		space, started = false, true
		out = append(out, c)
	}
	return out
}

// headerFields splits a header block (ending with CRLF, without the empty
// line) into its fields, each with its continuation lines and final CRLF.
func headerFields(h []byte) [][]byte {
	var fields [][]byte
	start := 0
	for i := 0; i < len(h); {
		j := bytes.IndexByte(h[i:], '\n')
		if j < 0 {
			break
		}
		next := i + j + 1
		if next >= len(h) || (h[next] != ' ' && h[next] != '\t') {
			fields = append(fields, h[start:next])
			start = next
		}
		i = next
	}
	return fields
}

// fieldName returns the name of a header field, lower-cased.
func fieldName(f []byte) string {
	i := bytes.IndexByte(f, ':')
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimRight(string(f[:i]), " \t"))
}

// errNoBody is returned for a message without the empty line that ends
// its header.
var errNoBody = errors.New("email: DKIM: the message has no empty line after its header")

// sign returns the DKIM-Signature field (folded, with its final CRLF) for
// raw, over the header fields named in headers, in that order; a name
// listed more often than the field occurs signs its absence (RFC 6376
// 5.4.2), so that nobody can add it on the way.
func (k *DKIMKey) sign(raw []byte, headers []string, now time.Time) ([]byte, error) {
	end := bytes.Index(raw, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, errNoBody
	}
	fields := headerFields(raw[:end+2])
	bh := relaxedBodyHash(raw[end+4:])

	algo := "rsa-sha256"
	hashOpt := crypto.Hash(crypto.SHA256)
	kind, err := keyKind(k.Signer)
	if err != nil {
		return nil, err
	}
	if kind == KeyEd25519 {
		algo, hashOpt = "ed25519-sha256", crypto.Hash(0)
	}

	names := make([]string, len(headers))
	for i, h := range headers {
		names[i] = strings.ToLower(h)
	}
	tags := []string{"v=1", "a=" + algo, "c=relaxed/relaxed", "d=" + k.Domain, "s=" + k.Selector,
		"t=" + strconv.FormatInt(now.Unix(), 10), "h=" + strings.Join(names, ":"),
		"bh=" + base64.StdEncoding.EncodeToString(bh[:])}
	var sig bytes.Buffer
	sig.WriteString("DKIM-Signature:")
	line := len("DKIM-Signature:")
	for _, t := range tags {
		if line+len(t)+2 > 76 {
			sig.WriteString("\r\n")
			line = 0
		}
		sig.WriteByte(' ')
		sig.WriteString(t)
		sig.WriteByte(';')
		line += len(t) + 2
	}
	sig.WriteString(" b=")

	// The signed data: the chosen fields, each taken from the bottom up,
	// then this field with an empty b= and no final CRLF.
	hh := sha256.New()
	used := make([]bool, len(fields))
	fieldNames := make([]string, len(fields))
	for i, f := range fields {
		fieldNames[i] = fieldName(f)
	}
	for _, name := range names {
		for i := len(fields) - 1; i >= 0; i-- {
			if !used[i] && fieldNames[i] == name {
				used[i] = true
				hh.Write(relaxedHeader(fields[i]))
				hh.Write([]byte("\r\n"))
				break
			}
		}
	}
	hh.Write(relaxedHeader(sig.Bytes()))
	digest := hh.Sum(nil)
	b, err := k.Signer.Sign(rand.Reader, digest, hashOpt)
	if err != nil {
		return nil, fmt.Errorf("email: DKIM: sign: %w", err)
	}
	b64 := base64.StdEncoding.EncodeToString(b)
	for len(b64) > 0 {
		n := min(len(b64), 72)
		sig.WriteString("\r\n ")
		sig.WriteString(b64[:n])
		b64 = b64[n:]
	}
	sig.WriteString("\r\n")
	return sig.Bytes(), nil
}
