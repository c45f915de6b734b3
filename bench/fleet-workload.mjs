// The fleet benchmark's release: a deterministic tree of 2,000 files, ~20 MB, in nested dirs, with
// mixed sizes and pseudo-random content (text files of random words, which compress ~2-3x, and
// binary files of random bytes, which do not), so neither rsync -z nor git packs make it trivial.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const WORKLOAD = Object.freeze({ files: 2000, bytes: 20_000_000, seed: 1 });
/** The file changeOneFile() edits (relative to the tree's root). */
export const CHANGED_FILE = 'app/lib/m0/file-0000.js';

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TEXT_EXT = ['js', 'css', 'html', 'json', 'md', 'txt'];
const BIN_EXT = ['png', 'woff2', 'bin'];
const TOPS = ['app/lib', 'app/views', 'public/assets', 'vendor', 'config', 'docs'];

function vocabulary(rand) {
  const letters = 'abcdefghijklmnopqrstuvwxyz_';
  return Array.from({ length: 1024 }, () => {
    const len = 2 + Math.floor(rand() * 10);
    let w = '';
    for (let k = 0; k < len; k++) w += letters[Math.floor(rand() * letters.length)];
    return w;
  });
}

function textContent(rand, vocab, size, header) {
  const parts = [header];
  let len = header.length;
  let col = 0;
  while (len < size) {
    const w = vocab[Math.floor(rand() * vocab.length)];
    const sep = col > 70 ? '\n' : ' ';
    col = sep === '\n' ? 0 : col + w.length + 1;
    parts.push(w, sep);
    len += w.length + 1;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

function binaryContent(seed, size) {
  const buf = Buffer.allocUnsafe(Math.ceil(size / 4) * 4);
  let x = seed >>> 0 || 1;
  for (let o = 0; o < buf.length; o += 4) {
    // xorshift32
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf.writeUInt32LE(x, o);
  }
  return buf.subarray(0, size);
}

/** The tree's layout: [{ path, size, binary }], deterministic for given options. */
export function workloadPlan({ files = WORKLOAD.files, bytes = WORKLOAD.bytes, seed = WORKLOAD.seed } = {}) {
  const rand = mulberry32(seed);
  // log-uniform sizes between 100 B and 200 KB, then scaled to the byte budget
  const raw = Array.from({ length: files }, () => Math.exp(Math.log(100) + rand() * (Math.log(200_000) - Math.log(100))));
  const scale = bytes / raw.reduce((a, b) => a + b, 0);
  const sizes = raw.map((s) => Math.max(16, Math.round(s * scale)));
  sizes[files - 1] += bytes - sizes.reduce((a, b) => a + b, 0);
  if (sizes[files - 1] < 16) throw new Error('workload: byte budget too small');
  return sizes.map((size, i) => {
    const top = TOPS[i % TOPS.length];
    const binary = i % 10 >= 7; // 30% of the files
    const ext = binary ? BIN_EXT[i % BIN_EXT.length] : TEXT_EXT[i % TEXT_EXT.length];
    const sub = `m${Math.floor(i / TOPS.length) % 17}`;
    const deep = i % 3 === 0 ? `/p${i % 5}` : '';
    const name = `file-${String(i).padStart(4, '0')}.${ext}`;
    return { path: i === 0 ? CHANGED_FILE : `${top}/${sub}${deep}/${name}`, size, binary };
  });
}

/**
 * Writes the workload into `dir` (created if missing; existing files of the same names are
 * overwritten). Returns { dir, files, bytes, changedFile }.
 */
export function makeWorkload(dir, opts = {}) {
  const plan = workloadPlan(opts);
  const seed = opts.seed ?? WORKLOAD.seed;
  const vocab = vocabulary(mulberry32(seed * 7919));
  const made = new Set();
  let bytes = 0;
  plan.forEach(({ path, size, binary }, i) => {
    const full = join(dir, path);
    const d = dirname(full);
    if (!made.has(d)) {
      mkdirSync(d, { recursive: true });
      made.add(d);
    }
    const data = binary
      ? binaryContent((seed * 1_000_003 + i * 2_654_435_761) >>> 0, size)
      : textContent(mulberry32(seed * 104_729 + i), vocab, size, `// ${path}\n`);
    writeFileSync(full, data);
    bytes += data.length;
  });
  return { dir, files: plan.length, bytes, changedFile: CHANGED_FILE };
}

/**
 * Changes one file of the tree (CHANGED_FILE): its first line becomes `// change N`, N one more
 * than last time, so every call makes a new version. Returns { path, n }.
 */
export function changeOneFile(dir) {
  const full = join(dir, CHANGED_FILE);
  const text = readFileSync(full, 'latin1');
  const m = /^\/\/ change (\d+)\n/.exec(text);
  const n = m ? Number(m[1]) + 1 : 1;
  const rest = m ? text.slice(m[0].length) : text;
  writeFileSync(full, `// change ${n}\n${rest}`, 'latin1');
  return { path: CHANGED_FILE, n };
}
