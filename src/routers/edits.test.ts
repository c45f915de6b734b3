import { describe, expect, it } from 'vitest';
import { declareEdit as haproxyDeclare } from './haproxy-edits.js';
import { emptyState } from './haproxy-state.js';
import { emptyNginxState, serverLines } from './nginx-config.js';
import { declareEdit as nginxDeclare, enableEdit, weightsEdit } from './nginx-edits.js';

const stable = (port: number) => ({ name: 'stable', targets: [{ id: 'stable-0', host: '127.0.0.1', port }] });

// Rolling one instance (or a whole batch) stops every target of the live pool before its
// successor starts: the pool must keep its share, or the router sends nothing once it is back.
describe('a live pool left with no target keeps its share', () => {
  it('nginx: the returning target starts down, and enable puts it back at the full weight', () => {
    const s = weightsEdit(nginxDeclare(emptyNginxState(), [stable(3000)]), { stable: 100 }, 'f');
    nginxDeclare(s, [{ name: 'stable', targets: [] }]);
    expect(s.weights).toEqual({ stable: 100 });
    nginxDeclare(s, [stable(3000)]);
    expect(serverLines(s).map((l) => l.directive)).toEqual(['server 127.0.0.1:3000 down;']);
    enableEdit(s, 'stable-0', 'f');
    expect(serverLines(s).map((l) => l.directive)).toEqual(['server 127.0.0.1:3000 weight=1;']);
  });

  it('nginx: a pool without traffic is removed when emptied', () => {
    const s = nginxDeclare(emptyNginxState(), [stable(3000)]);
    nginxDeclare(s, [{ name: 'stable', targets: [] }]);
    expect([s.pools, s.weights]).toEqual([[], {}]);
  });

  it('haproxy: the returning target waits in maintenance with its pool still at 100', () => {
    const s = emptyState();
    haproxyDeclare(s, [stable(3000)]);
    s.weights = { stable: 100 };
    haproxyDeclare(s, [{ name: 'stable', targets: [] }]);
    expect([s.weights, s.pools]).toEqual([{ stable: 100 }, [{ name: 'stable', targets: [] }]]);
    haproxyDeclare(s, [stable(3000)]);
    expect([s.weights, s.out]).toEqual([{ stable: 100 }, { 'stable-0': 'down' }]);
  });
});
