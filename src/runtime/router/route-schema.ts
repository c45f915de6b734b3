// The schema of header/cookie routes (RouteRule), shared by the router's control API and the
// daemon's (which stores them): the checks that keep a rule from being one that can never match.
import { z } from 'zod';
import { CIDR_HINT, parseCidr } from '../../util/cidr.js';

export const MAX_ROUTES = 16;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** visible ASCII and inner spaces: a header value as the router compares it (OWS trimmed) */
const HEADER_VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?$/;
/** cookie-octets (RFC 6265 §4.1.1): the value as sent */
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
/** headers the router does not forward (hop-by-hop) or sets itself: a rule on one never matches */
const NOT_ROUTABLE = new Set(['connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-connection', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'forwarded']);

export const RouteRuleSchema = z
  .strictObject({
    header: z
      .string()
      .max(256)
      .regex(TOKEN, 'must be a header name (letters, digits, - _ . and the like)')
      .transform((h) => h.toLowerCase())
      .refine((h) => !NOT_ROUTABLE.has(h), 'is not forwarded by the router (hop-by-hop, or set by the router); route on another header')
      .optional(),
    cookie: z.string().max(256).regex(TOKEN, 'must be a cookie name (letters, digits, - _ . and the like)').optional(),
    value: z.string().max(4096).optional(),
    pool: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be a pool name (letters, digits, . _ -)'),
  })
  .superRefine((r, ctx) => {
    if ((r.header === undefined) === (r.cookie === undefined)) ctx.addIssue({ code: 'custom', message: 'give exactly one of header and cookie' });
    if (r.value === undefined) return;
    if (r.header !== undefined && !HEADER_VALUE.test(r.value)) ctx.addIssue({ code: 'custom', path: ['value'], message: 'must be visible ASCII, without spaces at either end' });
    if (r.cookie !== undefined && !COOKIE_VALUE.test(r.value)) ctx.addIssue({ code: 'custom', path: ['value'], message: 'must be a cookie value as sent (no spaces, quotes, commas, semicolons or backslashes)' });
  });

export const RoutesSchema = z.array(RouteRuleSchema).max(MAX_ROUTES, `at most ${MAX_ROUTES} rules`);

export const MAX_TRUSTED_PROXIES = 64;

/** router.trusted_proxies as the control APIs take it (trustedProxies) */
export const TrustedProxiesSchema = z
  .array(z.string().max(64).refine((s) => parseCidr(s) !== null, CIDR_HINT))
  .max(MAX_TRUSTED_PROXIES, `at most ${MAX_TRUSTED_PROXIES} blocks`);
