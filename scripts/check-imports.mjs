#!/usr/bin/env node
// Fails on import cycles between modules of src/ and on imports that break the layering of
// DESIGN.md: core imports nothing; source, store and sink import core; engine composes them;
// scheduler, server, cli and bench are entry points. Kysely's runtime comes through
// store/kysely.ts only (the build bundles it).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', 'src');
const allowed = {
  core: [],
  source: ['core'],
  store: ['core'],
  sink: ['core', 'store'],
  engine: ['core', 'source', 'store', 'sink'],
  scheduler: ['core', 'engine', 'store', 'source', 'sink'],
  server: ['core', 'engine', 'store', 'source', 'sink', 'scheduler'],
  cli: ['core', 'engine', 'store', 'source', 'sink', 'scheduler', 'server'],
  bench: ['core', 'engine', 'store', 'source', 'sink', 'cli'],
};

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return files(p);
    return /\.tsx?$/.test(name) ? [p] : [];
  });
}

const graph = new Map();
const problems = [];
for (const file of files(root)) {
  const text = readFileSync(file, 'utf8');
  const deps = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) {
    const target = resolve(dirname(file), m[1]).replace(/\.js$/, '.ts');
    deps.push(target);
    const from = relative(root, file).split('/')[0];
    const to = relative(root, target).split('/')[0];
    if (from !== to && !(allowed[from] ?? []).includes(to)) {
      problems.push(
        `layering: src/${relative(root, file)} imports ${to}/ (allowed for ${from}/: ${(allowed[from] ?? []).join(', ') || 'nothing'})`,
      );
    }
  }
  // Kysely's runtime comes through store/kysely.ts, which the build bundles (see there).
  if (!file.endsWith('/store/kysely.ts')) {
    for (const m of text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+['"]kysely['"]/gm)) {
      problems.push(
        `kysely: src/${relative(root, file)} imports values from 'kysely' (use store/kysely.ts): ${m[0]}`,
      );
    }
  }
  graph.set(file, deps);
}

const state = new Map();
const stack = [];
function visit(node) {
  state.set(node, 'open');
  stack.push(node);
  for (const dep of graph.get(node) ?? []) {
    if (!graph.has(dep)) continue;
    if (state.get(dep) === 'open') {
      const cycle = stack
        .slice(stack.indexOf(dep))
        .concat(dep)
        .map((f) => relative(root, f));
      problems.push(`cycle: ${cycle.join(' -> ')}`);
    } else if (!state.has(dep)) visit(dep);
  }
  stack.pop();
  state.set(node, 'done');
}
for (const node of graph.keys()) if (!state.has(node)) visit(node);

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`imports: ${graph.size} files, no cycles, layering respected`);
