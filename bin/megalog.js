#!/usr/bin/env node
// Entry point: run the compiled CLI (`npm ci` builds it through the prepare script).
import('../dist/src/cli.js').then((m) => m.main(process.argv.slice(2))).catch((err) => {
  console.error(err?.stack ?? err);
  process.exit(70);
});
