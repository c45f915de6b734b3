// Address blocks (`10.0.0.0/8`, `fd00::/8`, or one address) and the node:net BlockList matching them.
import { BlockList, isIP } from 'node:net';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** An IPv4 or IPv6 address with an optional /prefix (a single address without), or null. */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf('/');
  const address = slash === -1 ? s : s.slice(0, slash);
  const v = isIP(address);
  // (a zone index, fe80::1%eth0, is not an address of a block)
  if (v === 0 || address.includes('%')) return null;
  const max = v === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  return { address, prefix, family: v === 4 ? 'ipv4' : 'ipv6' };
}

export const CIDR_HINT = 'must be an IP address or a CIDR block such as 10.0.0.0/8 or fd00::/8';

/** The blocks as one BlockList (IPv4 blocks also match IPv4-mapped IPv6 addresses), or null for none. */
export function blockList(cidrs: readonly string[] | undefined): BlockList | null {
  if (cidrs === undefined || cidrs.length === 0) return null;
  const list = new BlockList();
  for (const s of cidrs) {
    const c = parseCidr(s);
    if (c === null) throw new Error(`${s}: ${CIDR_HINT}`);
    list.addSubnet(c.address, c.prefix, c.family);
  }
  return list;
}

/** Whether `ip` (as a socket reports it) is in the list. */
export function inList(list: BlockList, ip: string): boolean {
  const v = isIP(ip);
  return v !== 0 && list.check(ip, v === 4 ? 'ipv4' : 'ipv6');
}
