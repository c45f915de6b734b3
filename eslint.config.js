import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const ADAPTERS = [
  { regex: '(^|/)runtime/', message: 'the runtime is an adapter: code against Router / InstanceManager (ctx.router, ctx.instances)' },
  { regex: '(^|/)routers/(embedded|nginx|haproxy|none)', message: 'a router adapter is named only in src/wiring/: code against routers/types.ts' },
  { regex: '(^|/)services/(process|script|signal|index)', message: 'a service manager adapter is named only in src/wiring/: code against services/instance-manager.ts or services/manager.ts' },
  { regex: '(^|/)wiring/', message: 'src/wiring/ names the adapters for the CLI and the fleet agent; engine and planners are given them' },
];
const NO_IO = { regex: '(^|/)hosts/', message: 'planners do no I/O: engine/observe.ts reads the host and passes what it saw' };

/** One `no-restricted-imports` block per layer (ESLint has no per-directory merge of the rule's options). */
function layers() {
  const block = (files, patterns) => ({ files, rules: { 'no-restricted-imports': ['error', { patterns }] } });
  return [
    block(['src/engine/**/*.ts'], ADAPTERS),
    block(['src/strategies/**/*.ts', 'src/plan/**/*.ts'], [...ADAPTERS, NO_IO]),
    block(['src/state/**/*.ts'], [{ regex: '(^|/)engine/', message: 'state/ is below the engine: move the shared type into state/' }]),
    block(['src/runtime/**/*.ts'], [{ regex: '(^|/)(plan|strategies|engine)/', message: 'the runtime is an adapter: it knows nothing of plans, planners or the engine' }]),
    block(['src/manifest/schema/**/*.ts'], [{ regex: '(^|/)analysis/', message: 'the schema does not depend on the analysis: share the list from src/manifest/' }]),
  ];
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  // The layers (see layers.test.ts): planners and the engine code against interfaces
  // (routers/types.ts, services/instance-manager.ts) and never name an adapter, which only
  // src/wiring/ does; planners do no I/O; state/ and runtime/ never reach back up.
  ...layers(),
  {
    // the example app is plain CommonJS, as many apps Deployer ships are
    files: ['examples/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
