// Replaces the compiled src/store/kysely.ts (a re-export of Kysely's runtime) with Kysely itself,
// bundled into that one file and cut down to what it exports: see that module for why.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const source = fileURLToPath(new URL('../src/store/kysely.ts', import.meta.url));
const target = fileURLToPath(new URL('../dist/store/kysely.js', import.meta.url));
// The same exports as the module, so dist/store/kysely.js keeps its interface.
const names = /export \{([^}]*)\} from 'kysely'/.exec(await readFile(source, 'utf8'))?.[1];
if (names === undefined) throw new Error(`${source}: no \`export { ... } from 'kysely'\``);

await build({
  input: 'virtual:kysely',
  platform: 'node',
  logLevel: 'warn',
  plugins: [
    {
      name: 'kysely-entry',
      resolveId: (id) => (id === 'virtual:kysely' ? id : null),
      load: (id) => (id === 'virtual:kysely' ? `export {${names}} from 'kysely';` : null),
    },
  ],
  output: { file: target, format: 'esm', sourcemap: false },
});
