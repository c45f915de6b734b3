import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from './support/cli.js';

describe('README', () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');

  it('embeds the manifest reference exactly as the schema generates it (npm run docs)', () => {
    const generated = execFileSync(process.execPath, [BIN, 'schema', '--markdown'], { encoding: 'utf8' });
    const start = readme.indexOf('-->', readme.indexOf('<!-- manifest-reference:start')) + 4;
    const end = readme.indexOf('<!-- manifest-reference:end -->');
    expect(readme.slice(start, end)).toBe(generated);
    // every top-level key of the schema has a row
    const schema = JSON.parse(execFileSync(process.execPath, [BIN, 'schema'], { encoding: 'utf8' })) as { properties: Record<string, unknown> };
    for (const key of Object.keys(schema.properties)) expect(generated).toContain(`| \`${key}\` |`);
  });

  it('names the two set-up commands that exist in package.json', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(readme).toContain('npm run example');
    expect(readme).toContain('npm test');
    expect(pkg.scripts.example).toBeDefined();
    expect(pkg.scripts.test).toContain('vitest run');
  });

  it('documents every exit code the errors module defines', async () => {
    const { ExitCode } = await import('../src/errors.js');
    for (const code of Object.values(ExitCode)) expect(readme).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });
});
