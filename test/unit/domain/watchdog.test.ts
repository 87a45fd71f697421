import { expect } from 'chai';
import { explainWaiting, type WaitingFacts } from '../../../core/domain/watchdog';

const base: WaitingFacts = {
  node: 'n1.lab',
  role: 'ntp-client',
  state: 'todo',
  nextRunAt: 0,
  attempts: 0,
  deployment: { name: 'd1', state: 'committed' },
  nodeFacts: { alive: true, available: true, state: 'committed', leaseOwner: null, leaseUntil: null },
  parents: [],
  busyWith: null,
};

describe('domain/watchdog explainWaiting', () => {
  it('names every reason a todo node-role is not running, with the fix', () => {
    const reasons = explainWaiting(
      {
        ...base,
        deployment: { name: 'd1', state: 'proposed' },
        nodeFacts: { ...base.nodeFacts, alive: false, available: false, state: 'proposed' },
        parents: [
          { role: 'ntp-service', node: 'svc', state: 'error' },
          { role: 'dns-client', node: 'n1.lab', state: 'todo' },
        ],
        busyWith: 'dns-client',
        nextRunAt: 5_500,
        attempts: 2,
      },
      1_000,
    );
    expect(reasons).to.deep.equal([
      'deployment "d1" is proposed: commit it to let it run',
      'node n1.lab is proposed: commit the node',
      'node n1.lab is not alive (powered off or unreachable): power it on or check its BMC and network',
      'node n1.lab is marked unavailable: set available=true to let work run on it',
      'parent ntp-service on svc failed: fix the cause and retry that node-role',
      'waiting for parent dns-client on n1.lab (todo)',
      'node n1.lab is busy running dns-client (one job per node)',
      'retry 3 scheduled in 5 s after an operational error',
    ]);
  });

  it('says when nothing blocks a todo node-role, so no annealer is claiming it', () => {
    expect(explainWaiting(base, 1_000)).to.deep.equal([
      'runnable but not claimed: is an annealer running (ANNEAL_ANNEALER=on)?',
    ]);
  });
});
