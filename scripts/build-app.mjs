// Bundles one app (its own code and the libs it imports) into dist/apps/<name>; npm packages stay
// external and come from the image's production node_modules. Code split into chunks, so that
// what `main.ts` imports dynamically (everything after tracing started) keeps its package imports
// in its own chunk: a single file would hoist them all above the start of tracing.
import { existsSync } from 'node:fs';
import { build } from 'esbuild';

const name = process.argv[2];
if (!name) throw new Error('usage: node scripts/build-app.mjs <app>');

await build({
  // Services without a database (the gateway) have no migrate.ts; one-shot commands (seed, rebuild,
  // dead-letters) where a service has them.
  entryPoints: ['main', 'migrate', 'seed', 'rebuild', 'dead-letters'].map((entry) => `apps/${name}/src/${entry}.ts`).filter((file) => existsSync(file)),
  outdir: `dist/apps/${name}`,
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  tsconfig: 'tsconfig.base.json',
  logLevel: 'warning',
});
console.log(`built dist/apps/${name}`);
