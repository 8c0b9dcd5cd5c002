// ESLint flat config. The layering rule of DESIGN.md is enforced here: engine/ imports neither vscode
// nor the layers above it; webview/ imports only types from engine/.
import tseslint from 'typescript-eslint';

const noVscode = { name: 'vscode', message: 'engine/ is pure TypeScript: no vscode import (DESIGN.md, Layers).' };

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', 'dist/', '.vscode-test/', 'bench/.cache/', 'test/.tmp/'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [noVscode],
        patterns: [{ group: ['**/extension/**', '**/language/**', '**/webview/**'], message: 'engine/ must not import the layers above it.' }],
      }],
    },
  },
  {
    files: ['language/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/extension/**'], message: 'language/ must not import extension/.' }] }],
    },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [noVscode],
        patterns: [{ group: ['**/engine/**'], allowTypeImports: true, message: 'webview/ imports only types from engine/.' }, { group: ['**/extension/**', '**/language/**'], message: 'webview/ must not import host layers.' }],
      }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { require: 'readonly', module: 'writable', process: 'readonly', console: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
