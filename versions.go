// Package headlesse2e only embeds versions.env, the project's one source of versions and
// image names, so that Go code reads the very file make and the scripts source.
// Use it through internal/versions.
package headlesse2e

import _ "embed"

// VersionsEnv is the content of versions.env.
//
//go:embed versions.env
var VersionsEnv []byte
