#!/usr/bin/env node
// The published entry point: plain JavaScript so `node bin/sluice.js` works without a loader.
// The first line takes no Node flags: passing them needs `env -S`, which BusyBox's env (Alpine,
// the node:*-alpine images) does not have. The project's .npmrc gives what npm starts here (npx
// sluice, npm start) --max-semi-space-size=4 through NODE_OPTIONS (see README, Memory).
import { setFlagsFromString } from 'node:v8';

// V8 moves an allocation site's objects straight to the old generation once nearly all of a
// sample survived a collection, and never moves it back. Caught early by a batch still in
// flight (one run in six or so), a hot site of the sync filled the old generation with garbage
// at the rate it allocated: 144-164 MiB at the peak instead of 116-121. Node refuses the flag
// in NODE_OPTIONS; set here, before any of Sluice's code is loaded (hence the dynamic import).
setFlagsFromString('--no-allocation-site-pretenuring');
const { main } = await import('../dist/cli/main.js');

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
