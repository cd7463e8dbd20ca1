// Package target knows the serving engines replay runs against: their
// dialects of the OpenAI and Anthropic APIs (how output length is pinned,
// where usage, cached and reasoning tokens are reported, which stream keys
// carry reasoning and tool-call deltas), how to recognise one from what it
// answers, what it says about itself (provenance), how to check before a
// run that it honours the pin (the probe), and how a trace set is cut to
// its context length.
//
// Everything that looks at a request body is a pure function over JSON
// bytes; everything that talks to a target takes a context, an
// *http.Client and short timeouts and never fails a run by itself.
//
// Contract:
//   - Settings (PATH=JSON) are applied by Apply in order, later ones
//     winning; presets come first, the user's settings last.
//   - A Dialect's pin fields are what that engine documents; a field this
//     package could not verify in the engine's own source is marked in
//     docs/engines.md, and the probe is what proves a pin on a real target.
//   - Usage paths are plain dotted key paths inside one stream event or
//     response body; arrays on the way are searched element by element.
//   - Provenance never holds credentials: request headers are not
//     recorded, response headers are kept only from an allow-list, and
//     any JSON key that names a secret (api_key, token, password, …) has
//     its value replaced.
package target
