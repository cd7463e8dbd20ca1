// Package anonymize rewrites a trace set so that it can be shared: every
// piece of content is replaced by deterministic filler while structure,
// token counts, timings, usage and prefix sharing survive (TraceSet says
// exactly what changes, what stays and what goes).
//
// Every column of a trace set is either copied, rewritten or dropped on
// purpose: request-metadata blobs stay metadata with filler text, generated
// blobs stay recipes, context_items and the sub-agent link are copied, and
// the extras column is dropped, because an imported AA line's fields there
// (task_id, source, …) can name a repository or a customer. A column added
// to schemas must be added here too.
//
// It reads and writes trace sets through schemas only; it was
// proxy/anonymize, though it never used the capture proxy.
package anonymize
