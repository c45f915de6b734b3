// Node's Buffer has fast latin1 slice/write methods (used by its own HTTP parser and by undici)
// that @types/node does not declare.
declare global {
  interface Buffer {
    latin1Slice(start?: number, end?: number): string;
    latin1Write(s: string, offset?: number, length?: number): number;
  }
}

export {};
