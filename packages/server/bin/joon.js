#!/usr/bin/env node
// The `joon` command. A committed file rather than `dist/cli.js` itself, so that installing a
// fresh clone (before anything is built) can link the bin without a "Failed to create bin".
import '../dist/cli.js'
