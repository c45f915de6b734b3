import { describe, expect, it } from 'vitest';
import { oldWorkersLeft, parseNginxProcesses, reloadedMasters } from './nginx-processes.js';

const ps = (...rows: string[]) => parseNginxProcesses(`${rows.join('\n')}\n`);
const before = ps('    1     0 /sbin/init', '  100     1 nginx: master process nginx -p /tmp/x -c /tmp/x/nginx.conf', '  101   100 nginx: worker process', '  102   100 nginx: worker process', '  200     1 nginx: master process /usr/sbin/nginx', '  201   200 nginx: worker process', '  300   101 nginx: worker process');

describe('nginx processes', () => {
  it('finds masters and their workers', () => {
    expect([...before.entries()]).toEqual([
      [100, [{ pid: 101, shuttingDown: false }, { pid: 102, shuttingDown: false }]],
      [200, [{ pid: 201, shuttingDown: false }]],
    ]);
  });
  it('confirms a reload once new workers run and the old ones stopped accepting', () => {
    const starting = ps('100 1 nginx: master process nginx', '101 100 nginx: worker process', '102 100 nginx: worker process', '103 100 nginx: worker process', '200 1 nginx: master process x', '201 200 nginx: worker process');
    expect(reloadedMasters(before, starting)).toEqual([]);
    const switched = ps('100 1 nginx: master process nginx', '101 100 nginx: worker process is shutting down', '103 100 nginx: worker process', '200 1 nginx: master process x', '201 200 nginx: worker process');
    expect(reloadedMasters(before, switched)).toEqual([100]);
    expect(oldWorkersLeft(before, switched, [100])).toEqual([101]);
    const drained = ps('100 1 nginx: master process nginx', '103 100 nginx: worker process', '200 1 nginx: master process x', '201 200 nginx: worker process');
    expect(oldWorkersLeft(before, drained, [100])).toEqual([]);
  });
});
