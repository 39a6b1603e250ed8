package contact

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"avis/internal/db"
	"avis/internal/db/dbtest"
	"avis/internal/vault"
)

func TestUploads(t *testing.T) {
	ctx := context.Background()
	d := dbtest.Open(t)
	v, err := vault.New(ctx, d, bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	u, err := NewUploads(dir, v)
	if err != nil {
		t.Fatal(err)
	}
	tenant := db.NewID()
	for _, size := range []int{0, 10, uploadChunk, 3*uploadChunk + 17} {
		content := bytes.Repeat([]byte("léa.martin@example.com;0612345678\n"), size/34+1)[:size]
		id, n, err := u.Save(ctx, tenant, bytes.NewReader(content), 1<<30)
		if err != nil || n != int64(size) {
			t.Fatalf("save %d bytes: %v (%d)", size, err, n)
		}
		raw, _ := os.ReadFile(filepath.Join(dir, tenant+"-"+id+".sealed"))
		if size > 0 && bytes.Contains(raw, []byte("example.com")) {
			t.Fatal("the upload is stored in clear")
		}
		r, err := u.Open(ctx, tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("%d bytes read back as %d, %v", size, len(got), err)
		}
		if size > uploadChunk {
			// A cut or altered file is refused, never read short.
			p := filepath.Join(dir, tenant+"-"+id+".sealed")
			os.WriteFile(p, raw[:len(raw)-uploadChunk/2], 0o600)
			r, _ := u.Open(ctx, tenant, id)
			if _, err := io.ReadAll(r); err == nil {
				t.Fatal("a truncated upload read without error")
			}
			r.Close()
			os.WriteFile(p, raw, 0o600)
		}
		if err := u.Delete(ctx, tenant, id); err != nil {
			t.Fatal(err)
		}
		if _, err := u.Open(ctx, tenant, id); !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("deleted upload opens: %v", err)
		}
	}
	if _, _, err := u.Save(ctx, tenant, bytes.NewReader(make([]byte, 200<<10)), 100<<10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized upload: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("files left behind: %d", len(entries))
	}
}
