// Bundles one app (its own code and the libs it imports) into dist/apps/<name>; npm packages stay
// external and come from the image's production node_modules.
import { build } from 'esbuild';

const name = process.argv[2];
if (!name) throw new Error('usage: node scripts/build-app.mjs <app>');

await build({
  entryPoints: [`apps/${name}/src/main.ts`, `apps/${name}/src/migrate.ts`],
  outdir: `dist/apps/${name}`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  tsconfig: 'tsconfig.base.json',
  logLevel: 'warning',
});
console.log(`built dist/apps/${name}`);
