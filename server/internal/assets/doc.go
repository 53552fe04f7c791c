// Package assets serves the widget's static files (loader, Go wasm glue and
// the SDK module) with a content hash in the module's name, ETags and
// precompressed brotli and gzip variants.
package assets
