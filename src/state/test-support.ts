// Helpers shared by the state tests (records, history).
import type { HistoryEntry } from './records.js';

/** A succeeded recreate deploy's history entry, with `over` on top. */
export const historyEntry = (id: string, over: Partial<HistoryEntry> = {}): HistoryEntry => ({
  deploy_id: id,
  operation: 'deploy',
  app: 'app',
  release: '20240101_000000',
  previous: null,
  strategy: 'recreate',
  result: 'succeeded',
  rolled_back: false,
  host: 'local',
  user: 'me',
  started: '2024-01-01T00:00:00.000Z',
  finished: '2024-01-01T00:00:05.000Z',
  duration_ms: 5000,
  ...over,
});
