/**
 * The watchdog's explanations (DESIGN §3: "no node-role may sit in todo silently"). Pure: given what
 * the store knows about a waiting node-role, says why it is not running and what to do about it.
 */
export interface WaitingFacts {
  node: string;
  role: string;
  state: 'todo' | 'blocked';
  nextRunAt: number;
  attempts: number;
  deployment: { name: string; state: string };
  nodeFacts: {
    alive: boolean;
    available: boolean;
    state: string;
    leaseOwner: string | null;
    leaseUntil: number | null;
  };
  parents: { role: string; node: string; state: string }[];
  /** Another node-role of the same node that is running now. */
  busyWith: string | null;
}

export function explainWaiting(f: WaitingFacts, now: number): string[] {
  const reasons: string[] = [];
  if (f.deployment.state !== 'committed')
    reasons.push(`deployment "${f.deployment.name}" is proposed: commit it to let it run`);
  if (f.nodeFacts.state !== 'committed') reasons.push(`node ${f.node} is proposed: commit the node`);
  if (!f.nodeFacts.alive)
    reasons.push(`node ${f.node} is not alive (powered off or unreachable): power it on or check its BMC and network`);
  if (!f.nodeFacts.available)
    reasons.push(`node ${f.node} is marked unavailable: set available=true to let work run on it`);
  for (const p of f.parents) {
    if (p.state === 'error')
      reasons.push(`parent ${p.role} on ${p.node} failed: fix the cause and retry that node-role`);
    else if (p.state !== 'active') reasons.push(`waiting for parent ${p.role} on ${p.node} (${p.state})`);
  }
  if (f.busyWith) reasons.push(`node ${f.node} is busy running ${f.busyWith} (one job per node)`);
  if (f.state === 'todo' && f.nextRunAt > now) {
    const secs = Math.ceil((f.nextRunAt - now) / 1000);
    reasons.push(
      f.attempts > 0
        ? `retry ${f.attempts + 1} scheduled in ${secs} s after an operational error`
        : `scheduled to run again in ${secs} s`,
    );
  }
  if (f.nodeFacts.leaseOwner && (f.nodeFacts.leaseUntil ?? 0) > now && !f.busyWith) {
    reasons.push(`node ${f.node} is leased by annealer ${f.nodeFacts.leaseOwner}`);
  }
  if (reasons.length === 0) {
    reasons.push(
      f.state === 'todo'
        ? 'runnable but not claimed: is an annealer running (ANNEAL_ANNEALER=on)?'
        : 'blocked with every parent active: it will be woken on the next completion',
    );
  }
  return reasons;
}
