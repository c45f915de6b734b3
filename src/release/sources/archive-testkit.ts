import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Test helper: builds real archives, hostile ones included, with python3's tarfile/zipfile
 * (they write whatever names, types and link targets they are given).
 */
export interface SpecEntry {
  name: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'chr' | 'fifo';
  data?: string;
  /** symlink or hard link target */
  target?: string;
  mode?: number;
  /** seconds; even, because zip keeps 2-second DOS times */
  mtime?: number;
  /** zip: the raw upper 16 bits of the external attributes (0 = no unix mode at all) */
  attr?: number;
  /** tar: a raw one-character type flag */
  rawType?: string;
}

export type SpecFormat = 'tar.gz' | 'tar.bz2' | 'tar' | 'zip';

const PY = String.raw`
import io, json, sys, tarfile, time, zipfile
spec = json.load(sys.stdin)
fmt, out, entries = spec['format'], spec['out'], spec['entries']
MODE_TYPES = {'file': 0o100000, 'dir': 0o040000, 'symlink': 0o120000, 'fifo': 0o010000, 'chr': 0o020000}
def default_mode(t):
    return 0o755 if t == 'dir' else 0o644
if fmt == 'zip':
    with zipfile.ZipFile(out, 'w') as z:
        for e in entries:
            t = e.get('type', 'file')
            zi = zipfile.ZipInfo(e['name'], time.localtime(e.get('mtime', 1700000000))[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            if 'attr' in e:
                # low bits: MS-DOS directory/archive flag, as a Windows zipper writes (and as
                # zipfile needs: it replaces an all-zero value with 0600 << 16)
                zi.external_attr = (e['attr'] << 16) | (0x10 if t == 'dir' else 0x20)
                zi.create_system = 3 if e['attr'] else 0
            else:
                zi.external_attr = (MODE_TYPES[t] | e.get('mode', default_mode(t))) << 16
            z.writestr(zi, e.get('target', '') if t == 'symlink' else e.get('data', ''))
else:
    TAR_TYPES = {'file': tarfile.REGTYPE, 'dir': tarfile.DIRTYPE, 'symlink': tarfile.SYMTYPE,
                 'hardlink': tarfile.LNKTYPE, 'chr': tarfile.CHRTYPE, 'fifo': tarfile.FIFOTYPE}
    mode = {'tar': 'w', 'tar.gz': 'w:gz', 'tar.bz2': 'w:bz2'}[fmt]
    with tarfile.open(out, mode, format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            t = e.get('type', 'file')
            ti = tarfile.TarInfo(e['name'])
            ti.type = e['rawType'].encode() if 'rawType' in e else TAR_TYPES[t]
            ti.mode = e.get('mode', default_mode(t))
            ti.mtime = e.get('mtime', 1700000000)
            ti.linkname = e.get('target', '')
            data = e.get('data', '').encode() if t == 'file' else b''
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data) if data else None)
`;

let counter = 0;

/** Writes an archive of `entries` into `dir` and returns its path (`app-N.<format>`). */
export function buildArchive(dir: string, format: SpecFormat, entries: SpecEntry[]): string {
  const out = path.join(dir, `app-${++counter}.${format}`);
  // the spec goes through stdin: one argv string is limited to 128 KiB
  execFileSync('python3', ['-c', PY], { input: JSON.stringify({ format, out, entries }), stdio: ['pipe', 'ignore', 'inherit'] });
  return out;
}
