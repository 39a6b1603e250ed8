package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
)

// hashVersion starts every hashed encoding, so that a later change of the
// encoding cannot be confused with this one.
const hashVersion = "avis-audit-v1"

// zeroHash returns the prev_hash of the first entry of every chain: 32 zero
// bytes.
func zeroHash() []byte { return make([]byte, sha256.Size) }

// row is an entry as stored: detail as its JSON text and at in Unix
// microseconds.
type row struct {
	tenantID   string
	seq        int64
	at         int64
	actorKind  string
	actorID    string
	action     string
	objectKind string
	objectID   string
	subjectID  string
	detail     string
	prevHash   []byte
	hash       []byte
}

// hashOf returns the SHA-256 of an unambiguous encoding of r (every field
// but hash): each variable field is prefixed by its length as 8 bytes, big
// endian, and seq and at are 8 bytes each, so no two different rows encode
// alike.
func hashOf(r *row) []byte {
	h := sha256.New()
	putString(h, hashVersion)
	putString(h, r.tenantID)
	putInt(h, r.seq)
	putInt(h, r.at)
	putString(h, r.actorKind)
	putString(h, r.actorID)
	putString(h, r.action)
	putString(h, r.objectKind)
	putString(h, r.objectID)
	putString(h, r.subjectID)
	putString(h, r.detail)
	putInt(h, int64(len(r.prevHash)))
	h.Write(r.prevHash)
	return h.Sum(nil)
}

func putInt(h hash.Hash, v int64) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	h.Write(b[:])
}

func putString(h hash.Hash, s string) {
	putInt(h, int64(len(s)))
	h.Write([]byte(s))
}

// encodeDetail returns the canonical JSON text of a detail map: keys sorted,
// "{}" when empty.
func encodeDetail(m map[string]string) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m) // encoding/json sorts map keys
	if err != nil {
		return "", fmt.Errorf("encode detail: %w", err)
	}
	return string(b), nil
}

// decodeDetail is the inverse of encodeDetail; "{}" gives nil.
func decodeDetail(s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode detail: %w", err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// advisoryKey returns the PostgreSQL advisory lock key that serialises
// appends to one tenant's chain: the first 8 bytes of SHA-256("audit:"+id).
func advisoryKey(tenantID string) int64 {
	sum := sha256.Sum256([]byte("audit:" + tenantID))
	return int64(binary.BigEndian.Uint64(sum[:8]))
}
