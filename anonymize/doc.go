// Package anonymize rewrites a trace set so that it can be shared: every
// piece of content is replaced by deterministic filler while structure,
// token counts, timings, usage and prefix sharing survive.
//
// It reads and writes trace sets through schemas only; it was
// proxy/anonymize, though it never used the capture proxy.
package anonymize
