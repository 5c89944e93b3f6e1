// Package web holds what the portal shows: templ components for pages and
// emails, and the static assets, embedded in the binary.
package web

import "embed"

// Static is the stylesheet, script and images served under /static/.
//
//go:embed static
var Static embed.FS
