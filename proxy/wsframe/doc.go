// Package wsframe reassembles WebSocket messages (RFC 6455) from a copy of
// one direction of a connection's bytes, fed in pieces as they pass, with
// permessage-deflate (RFC 7692) decompression. It only reads: the capture
// proxy forwards the bytes untouched and hands it a copy. It never panics
// on malformed input; once the bytes are not a valid WebSocket stream it
// reports an error and ignores the rest.
package wsframe
