import type { Manifest } from '../manifest/schema/index.js';

/**
 * Hides secret values in everything Deployer writes (logs, history, hook output it shows):
 * the values of `environment:`, the secrets of the notification settings and the request
 * headers of analysis metrics. Values shorter
 * than 4 characters, numbers and true/false are not treated as secrets: hiding every "3000"
 * or "true" would make logs unreadable without protecting anything.
 */
export class Redactor {
  private readonly secrets: string[];
  constructor(values: Iterable<string>) {
    // longest first, so a secret that contains another is hidden whole; a secret with a quote or
    // a backslash is hidden in JSON text (--json, a relayed JSON line) too, where it is escaped
    const secrets = [...values].filter(isSecretLike);
    this.secrets = [...new Set([...secrets, ...secrets.map((s) => JSON.stringify(s).slice(1, -1))])].sort((a, b) => b.length - a.length);
  }
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  }
  /** Redacts every string (keys and values) inside a JSON-like value. */
  redactValue<T>(value: T): T {
    if (this.secrets.length === 0) return value;
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') return this.redact(v);
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [this.redact(k), walk(x)]));
      return v;
    };
    return walk(value) as T;
  }

  /** `fromEnvironment`: the values `${VAR}` took from the environment (LoadedManifest.secrets). */
  static forManifest(m: Manifest, fromEnvironment: readonly string[] = []): Redactor {
    const n = m.notifications;
    return new Redactor([
      ...fromEnvironment,
      ...Object.values(m.environment),
      ...(n?.slack ? [n.slack.webhook] : []),
      ...(n?.webhook ? [n.webhook.url, ...Object.values(n.webhook.headers)] : []),
      ...(n?.email?.smtp?.pass ? [n.email.smtp.pass] : []),
      ...(n?.email?.smtp?.user ? [n.email.smtp.user] : []),
      // an analysis metric's request headers (say Authorization) may end up in an error message
      ...(m.analysis?.metrics ?? []).flatMap((x) => Object.values(x.headers ?? {})),
    ]);
  }
}

function isSecretLike(v: string): boolean {
  return v.length >= 4 && !/^-?\d+(\.\d+)?$/.test(v) && !/^(true|false)$/i.test(v);
}
