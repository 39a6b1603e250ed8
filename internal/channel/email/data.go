package email

import (
	"bytes"
	"net/textproto"
)

// data sends DATA, then raw with its lines that start with a dot doubled
// (RFC 5321 4.5.2), then — after commit, when given — the final dot, and
// reads the relay's reply. It writes raw in a few large writes instead of
// textproto's byte-by-byte DotWriter, which cost as much as building the
// message. raw must have CRLF line ends (Build's); otherwise the DotWriter
// is used. handedOver tells whether the relay accepted DATA.
func data(t *textproto.Conn, raw []byte, commit func() error) (handedOver bool, err error) {
	if !crlfOnly(raw) {
		return dotWriterData(t, raw, commit)
	}
	if err := startData(t); err != nil {
		return false, err
	}
	w := t.W
	rest := raw
	if len(rest) > 0 && rest[0] == '.' {
		w.WriteByte('.')
	}
	for {
		i := bytes.Index(rest, []byte("\n."))
		if i < 0 {
			break
		}
		w.Write(rest[:i+2])
		w.WriteByte('.')
		rest = rest[i+2:]
	}
	w.Write(rest)
	if len(raw) > 0 && !bytes.HasSuffix(raw, []byte("\r\n")) {
		w.WriteString("\r\n")
	}
	if err := w.Flush(); err != nil {
		return true, err
	}
	if commit != nil {
		if err := commit(); err != nil {
			return true, &commitError{err}
		}
	}
	w.WriteString(".\r\n")
	if err := w.Flush(); err != nil {
		return true, err
	}
	_, _, err = t.ReadResponse(250)
	return true, err
}

// crlfOnly reports whether every LF in b follows a CR and every CR comes
// before an LF.
func crlfOnly(b []byte) bool {
	n := bytes.Count(b, []byte("\r\n"))
	return bytes.Count(b, []byte{'\n'}) == n && bytes.Count(b, []byte{'\r'}) == n
}

// dotWriterData is data through textproto's DotWriter, which also mends
// bare line ends.
func dotWriterData(t *textproto.Conn, raw []byte, commit func() error) (bool, error) {
	if err := startData(t); err != nil {
		return false, err
	}
	w := t.DotWriter()
	if _, err := w.Write(raw); err != nil {
		return true, err
	}
	if commit != nil {
		if err := commit(); err != nil {
			return true, &commitError{err}
		}
	}
	if err := w.Close(); err != nil {
		return true, err
	}
	_, _, err := t.ReadResponse(250)
	return true, err
}

// startData sends DATA and reads the relay's 354 go-ahead.
func startData(t *textproto.Conn) error {
	id, err := t.Cmd("DATA")
	if err != nil {
		return err
	}
	t.StartResponse(id)
	defer t.EndResponse(id)
	_, _, err = t.ReadResponse(354)
	return err
}
