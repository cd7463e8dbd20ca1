// Package schemas defines the Parquet files agentperf reads and writes —
// trace sets (sessions, requests, blobs) and replay results — with their
// version, streaming writers and readers, and validation. It is the only
// package that knows the file layout.
//
// A trace set stores each distinct piece of a prompt once (a blob) and
// each request as the ids of its blobs; Rebuild puts a body back together
// from its parts without parsing. Generated text (an import's filler, such
// as a Mooncake block) is stored as a Recipe and rebuilt byte for byte on
// read, so a text-less trace costs bytes per block, not kilobytes.
//
// Reading is bounded in memory whatever the set's size: requests and
// sessions stream; blobs come through an id index and a byte-bounded cache
// of row groups (TraceSetOptions.BlobCacheBytes). A sender builds each
// body when it sends it — TraceSet.Parts, then Rebuild into a reused
// buffer — so its memory follows the requests in flight, not the trace.
package schemas
