#!/usr/bin/env node
// The published entry point: plain JavaScript so `node bin/sluice.js` works without a loader.
// The first line takes no Node flags: passing them needs `env -S`, which BusyBox's env (Alpine,
// the node:*-alpine images) does not have. `npm start` passes --max-semi-space-size=8 itself
// (see README, Memory); NODE_OPTIONS passes it to any command.
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
