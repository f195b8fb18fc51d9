// Package bkci is the BK-CI runtime contract as code: reading input.json and the private config
// (bkSensitiveConfInfo), writing output.json atomically, and writing log lines that BK-CI
// understands (levels, folding, per-host sub-tags, progress) while keeping outside text inert and
// secrets masked.
//
// It replaces the public golang-plugin-sdk, whose init reads files, parses flags and exits the
// process (docs/CONTRACT.md#package). Nothing here exits, panics on input or touches the network.
package bkci
