#!/usr/bin/env node
// The published entry point: plain JavaScript so `node bin/sluice.js` works without a loader.
// The first line takes no Node flags: passing them needs `env -S`, which BusyBox's env (Alpine,
// the node:*-alpine images) does not have. The project's .npmrc gives what npm starts here (npx
// sluice, npm start) --max-semi-space-size=4 through NODE_OPTIONS (see README, Memory).
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
