package response

import (
	"context"
	"database/sql"

	"avis/internal/db"
	"avis/internal/dispatch"
)

// The queries of the answer path, prepared once (SQLite parses an
// unprepared statement again on every call, which costs more than running
// it).
const (
	// The claim reads the response with its answers and takes its write
	// lock: FOR UPDATE OF r is added on PostgreSQL (see claimQueries);
	// SQLite's single writer holds the database's write lock for the whole
	// transaction already.
	qClaim = `/* response.Store.claim */ SELECT ` + joinedCols + ` FROM responses r` + answersJoin + `
		WHERE r.tenant_id = $1 AND r.id = $2 ORDER BY a.question_id`
	qClaimInvitation = `/* response.Store.claim */ SELECT ` + joinedCols + ` FROM responses r` + answersJoin + `
		WHERE r.tenant_id = $1 AND r.invitation_id = $2 ORDER BY a.question_id`
	qCreate = `/* response.Store.create */ INSERT INTO responses (tenant_id, id, survey_id, survey_version,
		invitation_id, contact_id, step_id, source, language, notice_id, notice_hash, status, page, resume_hash, started_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'partial', $14, $12, $13, $13)
		ON CONFLICT (tenant_id, invitation_id) DO NOTHING`
	qDeleteAnswer = `/* response.Store.writePage */ DELETE FROM response_answers
		WHERE tenant_id = $1 AND response_id = $2 AND question_id = $3`
	qWriteAnswersHead = `/* response.Store.writePage */ INSERT INTO response_answers
		(tenant_id, response_id, question_id, kind, number, choices, text_sealed, category, updated_at)
		VALUES `
	qWriteAnswersTail = `
		ON CONFLICT (tenant_id, response_id, question_id) DO UPDATE SET kind = excluded.kind, number = excluded.number,
		choices = excluded.choices, text_sealed = excluded.text_sealed, category = '', updated_at = excluded.updated_at`
	qWriteAnswer = qWriteAnswersHead + `($1, $2, $3, $4, $5, $6, $7, $8, $9)` + qWriteAnswersTail
	qMoveTo      = `/* response.Store.moveTo */ UPDATE responses SET page = $3, updated_at = $4
		WHERE tenant_id = $1 AND id = $2`
	qComplete = `/* response.Store.complete */ UPDATE responses SET status = 'complete', page = $3,
		completed_at = $4, updated_at = $4 WHERE tenant_id = $1 AND id = $2 AND status = 'partial'`
	qAnswers = `/* response.Store.answers */ SELECT question_id, kind, number, choices, text_sealed, category
		FROM response_answers WHERE tenant_id = $1 AND response_id = $2 ORDER BY question_id`
	qGet = `/* response.Store.Get */ SELECT ` + joinedCols + ` FROM responses r` + answersJoin + `
		WHERE r.tenant_id = $1 AND r.id = $2 ORDER BY a.question_id`
	qByInvitation = `/* response.Store.ByInvitation */ SELECT ` + joinedCols + ` FROM responses r` + answersJoin + `
		WHERE r.tenant_id = $1 AND r.invitation_id = $2 ORDER BY a.question_id`
)

// qByToken reads the invitation of a link's token, its response (zero
// values when there is none) and the response's answers.
var qByToken = `/* response.Store.ByToken */ SELECT i.tenant_id, ` + dispatch.InvitationColumns("i") + `, ` + joinedCols + `
	FROM invitations i LEFT JOIN responses r ON r.tenant_id = i.tenant_id AND r.invitation_id = i.id` + answersJoin + `
	WHERE i.token_hash = $1 ORDER BY a.question_id`

// txQueries are the queries Submit runs in its transaction, besides the
// claims.
var txQueries = []string{qCreate, qDeleteAnswer, qWriteAnswer, qMoveTo, qComplete}

// claimQueries returns the claim queries (by response, by invitation) in
// the dialect: on PostgreSQL SELECT … FOR UPDATE OF r locks the response's
// row without writing a new version of it (a no-op UPDATE would, with an
// entry in each of its indexes).
func claimQueries(d db.Dialect) (byID, byInvitation string) {
	if d == db.Postgres {
		return qClaim + " FOR UPDATE OF r", qClaimInvitation + " FOR UPDATE OF r"
	}
	return qClaim, qClaimInvitation
}

// prepare prepares the queries of Submit's transaction on the writer,
// which must happen outside any transaction (on SQLite the transaction
// holds the only writer connection). A query that cannot be prepared runs
// unprepared.
func (s *Store) prepare(ctx context.Context) {
	s.wq.Stmt(ctx, s.qClaim)
	s.wq.Stmt(ctx, s.qClaimInvitation)
	for _, q := range txQueries {
		s.wq.Stmt(ctx, q)
	}
}

// in runs the prepared queries in tx.
func (s *Store) in(tx *sql.Tx) db.Querier { return s.wq.In(tx) }
