// Package inspect describes and validates trace sets: session, turn and
// token-length distributions, prefix reuse, think times and storage
// efficiency (Inspect), and a full consistency check of every blob, request
// and session (Check). Both stream the set with bounded memory: a token
// count per distinct blob and the previous prompt of each session.
//
// Per-request metadata blobs (request_meta) are not prompt: they are left
// out of input-token sums, hash checks and the reuse figures. Generated
// blobs (stored as a recipe) are rebuilt, sized and checked like stored
// ones, and counted apart (Stats.GeneratedBlobs).
package inspect
