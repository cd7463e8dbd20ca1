//go:build race

package convert

// raceBuild is true when the tests run under the race detector, which
// slows the Parquet writer's zstd several times: tests then use less of
// the Mooncake sample in-process (the CLI test still imports all of it).
const raceBuild = true
