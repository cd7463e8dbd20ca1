package replay

import (
	"context"
	"time"

	"github.com/agentperf/agentperf/schemas"
)

// do sends turn t for user us, scheduled at wall time due, writes its row
// and returns when the response ended and whether it failed.
func (r *runner) do(lv *levelRun, us *user, t *Turn, conv conversation, due time.Time) (time.Time, bool) {
	body := make([]byte, 0, us.last+us.last/8+1024)
	body, api, parts, berr := r.builder.build(body, t, conv, &us.salt, us.parts)
	us.parts = parts
	us.last = len(body)
	ctx, cancel := context.WithCancelCause(lv.ctx)
	ex := &Exchange{API: api, Body: body, ExpectOutput: int(t.ExpectedOutput), cancel: cancel}
	ex.Sent = r.clk.Now()
	// The phase follows the schedule, so a lagging client does not move
	// requests from one phase into the next.
	phase := lv.phase(due)
	var rep Response
	if berr != nil {
		rep = Response{First: -1, Err: "building request: " + berr.Error(), Usage: noUsage}
	} else {
		slot := lv.inflight.add(ex, us.index)
		rep = r.sender.Send(ctx, ex)
		lv.inflight.remove(slot, ex)
	}
	if !rep.Draining {
		cancel(nil)
	}
	if rep.TimeScale != "" {
		r.checkTimeScale(rep.TimeScale)
	}
	switch {
	case rep.Sim:
		r.simTimed.Add(1)
	case rep.First >= 0:
		r.wallTimed.Add(1)
		if rep.Kernel {
			r.kernelTimed.Add(1)
		}
	}
	res := &schemas.Result{
		RunID: r.cfg.RunID, Shard: int32(max(r.plan.Shard.Index, 0)), Level: int32(lv.index), Users: int32(lv.users),
		Phase: phase, User: int32(us.index), SessionID: t.Session.ID, Turn: t.Index, API: api,
		ExpectedInputTokens: t.ExpectedInput, ExpectedOutputTokens: t.ExpectedOutput,
	}
	end, lag := fillRow(res, r.clock, due, ex.Sent, rep)
	lv.lag.record(lag)
	failed := rep.Err != ""
	outTok := rep.Usage.Output
	if outTok < 0 {
		outTok = int64(len(rep.Chunks))
	}
	r.done.Add(1)
	r.outTok.Add(outTok)
	if failed {
		r.errs.Add(1)
	}
	if m := r.cfg.Metrics; m != nil {
		m.observe(res, failed, outTok)
	}
	lv.account(res, failed, outTok, phase == schemas.PhaseSteady)
	r.builder.prefix.tally(lv.index, us.salt.exp, res)
	r.out.write(res)
	return end, failed
}
