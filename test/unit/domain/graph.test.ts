import { expect } from 'chai';
import { depths, findCycle, GraphCycleError, topoSort } from '../../../core/domain/graph';

const graph = (g: Record<string, string[]>) => ({ nodes: Object.keys(g), edges: (n: string) => g[n] ?? [] });

describe('domain/graph', () => {
  const layered = graph({
    ready: ['os', 'service'],
    os: ['hardware'],
    hardware: ['discover'],
    discover: [],
    service: [],
    cluster: ['ready'],
  });

  describe('topoSort', () => {
    it('puts every requirement before the node that requires it', () => {
      const order = topoSort(layered.nodes, layered.edges);
      expect(order).to.have.members(layered.nodes);
      for (const n of layered.nodes) {
        for (const d of layered.edges(n)) expect(order.indexOf(d), `${d} before ${n}`).to.be.lessThan(order.indexOf(n));
      }
    });

    it('breaks ties by name, whatever the input order', () => {
      const expected = ['discover', 'hardware', 'os', 'service', 'ready', 'cluster'];
      expect(topoSort(layered.nodes, layered.edges)).to.deep.equal(expected);
      expect(topoSort([...layered.nodes].reverse(), layered.edges)).to.deep.equal(expected);
      expect(topoSort(['c', 'a', 'b'], () => [])).to.deep.equal(['a', 'b', 'c']);
    });

    it('ignores edges to unknown nodes and duplicate names', () => {
      expect(topoSort(['b', 'a', 'a'], (n) => (n === 'b' ? ['a', 'ghost'] : []))).to.deep.equal(['a', 'b']);
    });

    it('throws GraphCycleError carrying the cycle when the graph is cyclic', () => {
      const g = graph({ a: ['b'], b: ['a'], c: [] });
      expect(() => topoSort(g.nodes, g.edges))
        .to.throw(GraphCycleError)
        .with.property('cycle')
        .that.deep.equals(['a', 'b', 'a']);
    });
  });

  describe('findCycle', () => {
    it('returns null for a DAG', () => {
      expect(findCycle(layered.nodes, layered.edges)).to.equal(null);
    });

    it('returns the closed cycle in edge order', () => {
      const g = graph({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] });
      expect(findCycle(g.nodes, g.edges)).to.deep.equal(['a', 'b', 'c', 'a']);
    });

    it('returns only the cycle, not the path leading into it', () => {
      const g = graph({ a: ['x'], x: ['y'], y: ['z'], z: ['y'] });
      expect(findCycle(g.nodes, g.edges)).to.deep.equal(['y', 'z', 'y']);
    });

    it('reports a self-edge', () => {
      expect(findCycle(['a'], () => ['a'])).to.deep.equal(['a', 'a']);
    });

    it('is deterministic regardless of input order', () => {
      const g = graph({ c: ['a'], b: ['c'], a: ['b'] });
      expect(findCycle(g.nodes, g.edges)).to.deep.equal(['a', 'b', 'c', 'a']);
      expect(findCycle([...g.nodes].reverse(), g.edges)).to.deep.equal(['a', 'b', 'c', 'a']);
    });
  });

  describe('depths', () => {
    it('is 0 without requires and 1 + the deepest requirement otherwise', () => {
      expect(Object.fromEntries(depths(layered.nodes, layered.edges))).to.deep.equal({
        discover: 0,
        service: 0,
        hardware: 1,
        os: 2,
        ready: 3,
        cluster: 4,
      });
    });

    it('throws on a cycle', () => {
      expect(() => depths(['a', 'b'], (n) => (n === 'a' ? ['b'] : ['a']))).to.throw(GraphCycleError);
    });
  });
});
