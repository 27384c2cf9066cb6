package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/botgate/botgate"
	"github.com/botgate/botgate/authority"
	"github.com/botgate/botgate/datadir"
)

// auditCheckpointEvery is how often a running server moves the audit
// checkpoint forward.
const auditCheckpointEvery = time.Minute

// ReadCheckpoint reads and checks the data directory's audit checkpoint:
// ok is false when there is none; err says why one cannot be trusted.
func ReadCheckpoint(d datadir.Dir, key []byte) (h botgate.AuditHead, ok bool, err error) {
	content, ok, err := d.ReadAuditCheckpoint()
	if err != nil || !ok {
		return h, ok, err
	}
	h, err = authority.OpenCheckpoint(key, content)
	if err != nil {
		return h, true, fmt.Errorf("%s: %s", d.AuditCheckpointPath(), botgate.MessageOf(err))
	}
	return h, true, nil
}

// checkpointAudit moves the data directory's audit checkpoint forward to
// the store's recorded head, whose signature it checks. A head behind the
// checkpoint (the log was truncated, or replaced by an older copy) or one
// that cannot be trusted is logged as an error and the checkpoint kept as
// evidence.
func (in *Instance) checkpointAudit(ctx context.Context, log *slog.Logger) {
	key := authority.AuditKey(in.Pepper)
	cp, hasCP, err := ReadCheckpoint(in.Dir, key)
	if err != nil {
		log.Error("the audit checkpoint cannot be trusted; it is kept as it is (run 'botgate audit verify')", "err", err)
		return
	}
	head, err := authority.RecordedAuditHead(ctx, in.Store, key)
	switch {
	case botgate.IsKind(err, botgate.KindConflict):
		log.Error("the audit log's recorded head cannot be trusted (run 'botgate audit verify')", "err", err)
		return
	case err != nil:
		log.Warn("reading the audit head for the checkpoint", "err", err)
		return
	case hasCP && head.Seq < cp.Seq:
		log.Error("the audit log ends before its checkpoint: it was truncated or replaced by an older copy (run 'botgate audit verify')",
			"head", authority.FormatAuditHead(head), "checkpoint", authority.FormatAuditHead(cp))
		return
	case hasCP && head.Seq == cp.Seq && head.Hash != cp.Hash:
		log.Error("the audit log's newest event is not the one its checkpoint names: it was replaced (run 'botgate audit verify')",
			"head", authority.FormatAuditHead(head), "checkpoint", authority.FormatAuditHead(cp))
		return
	case hasCP && head.Seq == cp.Seq:
		return
	}
	if err := in.Dir.WriteAuditCheckpoint(authority.SignCheckpoint(key, head)); err != nil {
		log.Warn("writing the audit checkpoint", "err", err)
	}
}
