package survey

import (
	"context"
	"fmt"
	"sync"
	"time"

	"avis/internal/db"
)

// defCache keeps the parsed definitions of survey versions for the pages
// people answer: a version never changes, so it is read and parsed once
// instead of on every page shown and sent.
type defCache struct {
	mu sync.Mutex
	m  map[defKey]cachedDef
}

type defKey struct {
	tenantID, surveyID string
	version            int
}

type cachedDef struct {
	def *Definition
	at  time.Time
}

const (
	// defCacheFor bounds how long another process's deletion of a survey
	// goes unnoticed (this process's own deletions are noticed at once).
	defCacheFor = time.Minute
	// maxDefs bounds the cache: past it, it starts again empty.
	maxDefs = 1000
)

func (c *defCache) get(k defKey) (*Definition, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || time.Since(e.at) > defCacheFor {
		return nil, false
	}
	return e.def, true
}

func (c *defCache) put(k defKey, def *Definition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxDefs {
		c.m = map[defKey]cachedDef{}
	}
	c.m[k] = cachedDef{def, time.Now()}
}

// forget drops the versions of one survey.
func (c *defCache) forget(tenantID, surveyID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.m {
		if k.tenantID == tenantID && k.surveyID == surveyID {
			delete(c.m, k)
		}
	}
}

// Definition returns the definition of one version of a survey of the
// tenant, or db.ErrNotFound, from a cache of parsed versions: the
// definition is shared by every caller and must never be modified (Get
// and Version return copies of their own, for editing).
func (s *Store) Definition(ctx context.Context, tenantID, id string, version int) (*Definition, error) {
	k := defKey{tenantID, id, version}
	if def, ok := s.defs.get(k); ok {
		return def, nil
	}
	v, err := s.Version(ctx, tenantID, id, version)
	if err != nil {
		return nil, err
	}
	s.defs.put(k, v.Definition)
	return v.Definition, nil
}

// CurrentVersion returns the number of the current version of a survey
// of the tenant, or db.ErrNotFound.
func (s *Store) CurrentVersion(ctx context.Context, tenantID, id string) (int, error) {
	var v int
	err := s.rq.QueryRowContext(ctx, `/* survey.Store.CurrentVersion */ SELECT current_version FROM surveys
		WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("survey version: %w", db.Translate(err))
	}
	return v, nil
}
