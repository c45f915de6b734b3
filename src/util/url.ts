// How Deployer shows a URL (logs, the journal, history, --dry-run, .release_meta, errors): its
// scheme, host and path only. A user:password, a token as user name, a query string (presigned
// archive URLs sign there, check URLs carry tokens there) and a fragment are never shown.

const SCHEME = /^([a-z][a-z0-9+.-]*:\/\/)/i;
/** git's scp-like address `[user@]host:path` (no scheme, a colon before any slash). */
const SCP_LIKE = /^(?:[^@/\s]+@)?([^@/:\s]+:(?!\/\/).*)$/;

/**
 * `url` as scheme://host[:port]/path; a request path `/x?y` as `/x`; a git scp-like
 * `user@host:path` as `host:path`; anything else as it is.
 */
export function displayUrl(url: string): string {
  if (url.startsWith('/')) return url.replace(/[?#].*$/s, '');
  if (!SCHEME.test(url)) {
    const scp = SCP_LIKE.exec(url);
    return scp && url.includes('@') ? scp[1]! : url;
  }
  try {
    const u = new URL(url);
    const path = u.pathname === '/' ? '' : u.pathname;
    return `${u.protocol}//${u.host}${path}`;
  } catch {
    // not parseable (a template such as {port}, a space): the same rules, by text; the userinfo
    // ends at the last @ before the path
    return url.replace(/[?#].*$/s, '').replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i, '$1').replace(/^([a-z][a-z0-9+.-]*:\/\/[^/]+)\/$/i, '$1');
  }
}

/** Every `scheme://...` in a message (an error from fetch, git, curl) shown as displayUrl shows it. */
export function displayUrlsIn(text: string): string {
  return text.replaceAll(/[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]*/gi, (u) => {
    // a sentence's last full stop or comma is not part of the URL
    const trail = /[.,;:)\]]+$/.exec(u)?.[0] ?? '';
    return displayUrl(u.slice(0, u.length - trail.length)) + trail;
  });
}

/**
 * The user and password of a URL taken out (decoded), for a client that sends them another way
 * (an Authorization header, git's askpass) so they never sit in a URL that is shown or stored.
 * A URL without them, or that is not parseable, is returned as it is.
 */
export function withoutCredentials(url: string): { url: string; user?: string; password?: string } {
  if (!SCHEME.test(url)) return { url };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url };
  }
  if (!u.username && !u.password) return { url };
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  return { url: u.href, user, password };
}

/** HTTP basic authorization for the credentials withoutCredentials took out. */
export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
