package contact

import (
	"bufio"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"avis/internal/db"
	"avis/internal/vault"
)

// Uploads keep an uploaded contact file between its preview and its import.
// The file holds personal data, so it is never on disk in clear: it is
// sealed in 64 KiB chunks (AES-256-GCM) under a random key that the vault
// keeps under the subject "upload:<id>" of the tenant. Deleting an upload
// shreds that key, so a copy that escaped (a backup, a crashed delete) is
// unreadable.
type Uploads struct {
	dir   string
	vault *vault.Vault
}

// ErrTooLarge says an upload went over the configured limit.
var ErrTooLarge = errors.New("the file is larger than the configured limit (AVIS_MAX_UPLOAD_BYTES)")

const uploadChunk = 64 << 10

// NewUploads keeps uploads in dir (created 0700 when missing).
func NewUploads(dir string, v *vault.Vault) (*Uploads, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("uploads directory %s: %w", dir, err)
	}
	return &Uploads{dir: dir, vault: v}, nil
}

func (u *Uploads) path(tenantID, id string) (string, error) {
	if !db.ValidID(id) || !db.ValidID(tenantID) && strings.ContainsAny(tenantID, `/\.`) {
		return "", db.ErrNotFound
	}
	return filepath.Join(u.dir, tenantID+"-"+id+".sealed"), nil
}

func uploadSubject(id string) string { return "upload:" + id }

func chunkAD(id string, n uint64, last bool) []byte {
	ad := make([]byte, 0, len(id)+10)
	ad = append(ad, id...)
	ad = binary.BigEndian.AppendUint64(ad, n)
	if last {
		return append(ad, 1)
	}
	return append(ad, 0)
}

// Save stores r sealed, refusing more than max bytes, and returns the
// upload's id and size. Nothing is left behind on error.
func (u *Uploads) Save(ctx context.Context, tenantID string, r io.Reader, max int64) (id string, size int64, err error) {
	id = db.NewID()
	p, err := u.path(tenantID, id)
	if err != nil {
		return "", 0, err
	}
	k, err := u.vault.Subject(ctx, nil, tenantID, uploadSubject(id))
	if err != nil {
		return "", 0, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	sealedKey := k.Seal("upload_key", key)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", 0, fmt.Errorf("save upload: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(p)
			_ = u.vault.EraseSubject(context.WithoutCancel(ctx), nil, tenantID, uploadSubject(id))
		}
	}()
	aead, err := newChunkAEAD(key)
	if err != nil {
		return "", 0, err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	// Header: the sealed key, length-prefixed.
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(sealedKey)))
	w.Write(hdr[:])
	w.Write(sealedKey)
	buf := make([]byte, uploadChunk)
	nonce := make([]byte, aead.NonceSize())
	var n uint64
	for {
		if err := ctx.Err(); err != nil {
			return "", 0, err
		}
		m, rerr := io.ReadFull(r, buf)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return "", 0, fmt.Errorf("read upload: %w", rerr)
		}
		size += int64(m)
		if size > max {
			return "", 0, ErrTooLarge
		}
		last := rerr != nil
		rand.Read(nonce)
		ct := aead.Seal(nil, nonce, buf[:m], chunkAD(id, n, last))
		var lenb [5]byte
		binary.BigEndian.PutUint32(lenb[:], uint32(len(ct)))
		if last {
			lenb[4] = 1
		}
		w.Write(lenb[:])
		w.Write(nonce)
		if _, err := w.Write(ct); err != nil {
			return "", 0, fmt.Errorf("save upload: %w", err)
		}
		n++
		if last {
			break
		}
	}
	if err := w.Flush(); err != nil {
		return "", 0, fmt.Errorf("save upload: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("save upload: %w", err)
	}
	return id, size, f.Close()
}

func newChunkAEAD(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// Open returns the upload's content, decrypted as it is read. A truncated or
// altered file gives an error, never wrong data.
func (u *Uploads) Open(ctx context.Context, tenantID, id string) (io.ReadCloser, error) {
	p, err := u.path(tenantID, id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, db.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("open upload: %w", err)
	}
	br := bufio.NewReaderSize(f, 256<<10)
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		f.Close()
		return nil, fmt.Errorf("open upload: damaged file")
	}
	sealedKey := make([]byte, min(binary.BigEndian.Uint32(hdr[:]), 1024))
	if _, err := io.ReadFull(br, sealedKey); err != nil {
		f.Close()
		return nil, fmt.Errorf("open upload: damaged file")
	}
	k, err := u.vault.Lookup(ctx, tenantID, uploadSubject(id))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open upload: %w", err)
	}
	key, err := k.Open("upload_key", sealedKey)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open upload: %w", err)
	}
	aead, err := newChunkAEAD(key)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &uploadReader{f: f, r: br, aead: aead, id: id}, nil
}

type uploadReader struct {
	f    *os.File
	r    *bufio.Reader
	aead cipher.AEAD
	id   string
	n    uint64
	buf  []byte
	done bool
	err  error
}

func (u *uploadReader) Read(p []byte) (int, error) {
	for len(u.buf) == 0 {
		if u.err != nil {
			return 0, u.err
		}
		if u.done {
			return 0, io.EOF
		}
		u.next()
	}
	n := copy(p, u.buf)
	u.buf = u.buf[n:]
	return n, nil
}

func (u *uploadReader) next() {
	var lenb [5]byte
	if _, err := io.ReadFull(u.r, lenb[:]); err != nil {
		u.err = errors.New("the uploaded file is damaged (truncated)")
		return
	}
	l := binary.BigEndian.Uint32(lenb[:4])
	last := lenb[4] == 1
	if l > uploadChunk+uint32(u.aead.Overhead()) {
		u.err = errors.New("the uploaded file is damaged")
		return
	}
	nonce := make([]byte, u.aead.NonceSize())
	ct := make([]byte, l)
	if _, err := io.ReadFull(u.r, nonce); err != nil {
		u.err = errors.New("the uploaded file is damaged (truncated)")
		return
	}
	if _, err := io.ReadFull(u.r, ct); err != nil {
		u.err = errors.New("the uploaded file is damaged (truncated)")
		return
	}
	// The last chunk's flag is bound in its additional data, so a file cut
	// after a middle chunk cannot pass for a whole one.
	pt, err := u.aead.Open(ct[:0], nonce, ct, chunkAD(u.id, u.n, last))
	if err != nil {
		u.err = errors.New("the uploaded file is damaged or was altered")
		return
	}
	u.done = last
	u.n++
	u.buf = pt
}

func (u *uploadReader) Close() error { return u.f.Close() }

// Delete removes an upload and shreds its key.
func (u *Uploads) Delete(ctx context.Context, tenantID, id string) error {
	p, err := u.path(tenantID, id)
	if err != nil {
		return err
	}
	if err := u.vault.EraseSubject(ctx, nil, tenantID, uploadSubject(id)); err != nil {
		return fmt.Errorf("delete upload: %w", err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete upload: %w", err)
	}
	return nil
}
