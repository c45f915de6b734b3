/** An error the control API answers with its HTTP status: 400 bad input, 404 unknown, 409 conflict, 413 body too large. */
export class RouterError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 413,
    message: string,
  ) {
    super(message);
    this.name = 'RouterError';
  }
}

export type LogFn = (event: string, fields?: Record<string, unknown>) => void;

/** One JSON line per event on stderr (the daemon redirects it to a file). */
export const stderrLog: LogFn = (event, fields) => {
  process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), event, ...fields })}\n`);
};
