package power

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/agentperf/agentperf/schemas"
)

// Rows returns the record as power-file rows, samples and gaps together in
// time order.
func (r Record) Rows() []schemas.PowerRow {
	rows := make([]schemas.PowerRow, 0, len(r.Samples)+len(r.Gaps))
	for _, s := range r.Samples {
		rows = append(rows, schemas.PowerRow{RunID: r.RunID, Shard: int32(s.Shard), System: s.System, Source: s.Source,
			Event: schemas.PowerSample, TimeNS: s.TimeNS, WallNS: s.WallNS, Watts: s.Watts,
			GPUs: int32(len(s.GPUWatts)), GPUWatts: s.GPUWatts, GPUIDs: s.GPUIDs})
	}
	for _, g := range r.Gaps {
		rows = append(rows, schemas.PowerRow{RunID: r.RunID, Shard: int32(g.Shard), System: g.System, Source: g.Source,
			Event: schemas.PowerGap, TimeNS: g.StartNS, EndNS: g.EndNS, WallNS: g.StartWallNS,
			Error: g.Err, Failures: int32(g.Failures), Open: g.Open})
	}
	slices.SortStableFunc(rows, func(a, b schemas.PowerRow) int { return cmp.Compare(a.TimeNS, b.TimeNS) })
	return rows
}

// Save writes the record to a power-samples file at path (replay writes
// schemas.PowerPath of its results file), with the run id in the footer.
func Save(path string, r Record, overwrite bool) error {
	w, err := schemas.CreatePower(path, overwrite)
	if err != nil {
		return err
	}
	w.SetMeta("run_id", r.RunID)
	w.SetMeta("samples", strconv.Itoa(len(r.Samples)))
	w.SetMeta("gaps", strconv.Itoa(len(r.Gaps)))
	if err := w.Write(r.Rows()); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// Load reads a power-samples file. A missing file is an error that
// errors.Is(err, fs.ErrNotExist) reports: the run sampled no power.
func Load(path string) (Record, error) {
	f, err := schemas.OpenPower(path)
	if err != nil {
		return Record{}, err
	}
	defer f.Close()
	r := Record{RunID: f.Meta()["run_id"]}
	err = f.Each(func(row *schemas.PowerRow) error {
		if r.RunID == "" {
			r.RunID = row.RunID
		}
		switch row.Event {
		case schemas.PowerSample:
			r.Samples = append(r.Samples, Sample{Source: row.Source, System: row.System, Shard: int(row.Shard),
				TimeNS: row.TimeNS, WallNS: row.WallNS, Watts: row.Watts,
				GPUWatts: slices.Clone(row.GPUWatts), GPUIDs: slices.Clone(row.GPUIDs)})
		case schemas.PowerGap:
			r.Gaps = append(r.Gaps, Gap{Source: row.Source, System: row.System, Shard: int(row.Shard),
				StartNS: row.TimeNS, EndNS: row.EndNS, StartWallNS: row.WallNS,
				Err: row.Error, Failures: int(row.Failures), Open: row.Open})
		}
		return nil
	})
	return r, err
}

// Merge joins the records of a run's shards (each shard's power file) into
// one; summaries count a source sampled by several shards once.
func Merge(recs ...Record) Record {
	var out Record
	for _, r := range recs {
		if out.RunID == "" {
			out.RunID = r.RunID
		}
		out.Samples = append(out.Samples, r.Samples...)
		out.Gaps = append(out.Gaps, r.Gaps...)
	}
	slices.SortStableFunc(out.Samples, func(a, b Sample) int { return cmp.Compare(a.TimeNS, b.TimeNS) })
	slices.SortStableFunc(out.Gaps, func(a, b Gap) int { return cmp.Compare(a.StartNS, b.StartNS) })
	return out
}
