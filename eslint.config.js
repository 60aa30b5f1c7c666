import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

/**
 * The architecture, enforced: apps never import apps, libs never import apps, contracts import
 * only TypeBox. Tests of a platform lib may also use the testing lib (real databases, tokens).
 */
function moduleBoundaries(inTests) {
  return {
    enforceBuildableLibDependency: true,
    allow: [],
    depConstraints: [
      { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', 'type:testing'] },
      { sourceTag: 'type:platform', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', ...(inTests ? ['type:testing'] : [])] },
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts'] },
      { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: [], allowedExternalImports: ['@sinclair/typebox'] },
      // End-to-end projects drive the system through the libs; they never ship.
      { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', 'type:testing'] },
      { sourceTag: 'type:infra', onlyDependOnLibsWithTags: [] },
    ],
  };
}

export default tseslint.config(
  { ignores: ['**/node_modules', '**/dist', '**/.tap', '**/coverage'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      // The architecture, enforced: apps never import apps, libs never import apps, contracts import only TypeBox.
      '@nx/enforce-module-boundaries': ['error', moduleBoundaries(false)],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@shop/*/*'], message: "Import a lib through its index ('@shop/<lib>'), never a deep path." }] },
      ],
    },
  },
  {
    files: ['libs/*/test/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', moduleBoundaries(true)] },
  },
);
