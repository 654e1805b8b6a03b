#!/usr/bin/env node
// Entry point of the evalctl CLI: the compiled code lives in dist/ (npm run build).
'use strict';
require('../dist/src/cli/main.js').main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err); process.exitCode = 1; },
);
