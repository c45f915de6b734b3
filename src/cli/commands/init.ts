import { existsSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { globals, output } from './common.js';

const TEMPLATE = (name: string) => `# Deployer manifest. Reference: \`deployer schema --markdown\`; check it with \`deployer validate\`.
name: ${name}

# Where releases come from: a local directory, an archive (path or https URL, with sha256), or git.
source:
  type: local
  path: .
  exclude: [.git, node_modules, "*.log"]

deployment:
  strategy: recreate          # recreate | blue-green | rolling | canary (the last three run on Deployer's runtime, below)
  # app_root: /srv/${name}    # default: ~/.deployer/apps/${name}
  keep_releases: 5
  shared_dirs: [logs]         # kept across releases, symlinked into each
  shared_files: []
  auto_rollback: true         # go back when a check after activation fails
  # canary:                   # strategy canary: growing shares of traffic, each stage judged by analysis
  #   stages: [{weight: 5, duration: 5m}, {pause: manual}, {weight: 50, duration: 10m}]

# What restarts the app once \`current\` points at the new release.
service:
  manager: none               # none | script (restart_command) | signal (pid_file + signal) | process
  # manager: script
  # restart_command: ./bin/restart
  # base_port: 3000
  # Deployer's runtime runs the app itself (zero-downtime blue-green and rolling):
  # manager: process
  # command: node server.js   # run in the release with PORT set
  # instances: 2              # per slot; ports from base_port (green: base_port + 100)

# With manager: process, Deployer's own router serves the app and moves traffic between versions.
# router:
#   type: embedded
#   listen: 8080

# Canary judgement, every interval, against the live version (see the README).
# analysis:
#   interval: 30s
#   failure_limit: 3          # failing intervals in a row abort the canary (its weight goes to 0 at once)
#   metrics:
#     - { name: error_rate, max: 1, max_ratio_to_baseline: 2 }   # percent
#     - { name: latency_p99_ms, max: 500 }

# All must pass after activation; {port} is service.base_port.
health_checks: []
#  - http://127.0.0.1:{port}/health
#  - { type: tcp, target: "127.0.0.1:{port}", timeout: 20s }

# Shell commands per lifecycle event, run in the release directory (DEPLOY_* variables set).
hooks:
  build: []
  # pre_deploy: [./bin/check]
  # post_deploy: [./bin/migrate]

# Passed to hooks and the app; values are secrets and never logged. \${VAR:-default} reads your shell.
environment: {}
`;

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('write a commented deploy.yml to start from')
    .option('--name <name>', 'app name (default: the directory name)')
    .option('--force', 'overwrite an existing file')
    .action((opts: { name?: string; force?: boolean }, cmd: Command) => {
      const o = globals(cmd);
      const file = resolve(o.file);
      if (existsSync(file) && !opts.force) throw new UsageError(`${o.file} already exists`, { hint: 'pass --force to overwrite it' });
      const name = (opts.name ?? basename(process.cwd())).replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'app';
      writeFileSync(file, TEMPLATE(name));
      const out = output(o);
      if (out.isJson) return out.json({ file, name });
      out.line(`wrote ${o.file}; check it with \`deployer validate\`, then \`deployer deploy --dry-run\``);
    });
}
