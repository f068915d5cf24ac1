/**
 * The dependency graph of config items: cycle detection (Tarjan's strongly connected
 * components, iterative so deep chains cannot overflow the stack).
 */
import type { ConfigItem } from './types.js';

function edgesOf(items: readonly ConfigItem[]): { index: Map<string, number>; edges: number[][] } {
  const index = new Map<string, number>();
  items.forEach((it, i) => {
    if (typeof it?.key === 'string' && !index.has(it.key)) index.set(it.key, i);
  });
  const edges = items.map((it) => {
    const out: number[] = [];
    const deps = Array.isArray(it?.dependsOn) ? it.dependsOn : [];
    for (const d of deps) {
      const j = typeof d?.key === 'string' ? index.get(d.key) : undefined;
      if (j !== undefined) out.push(j);
    }
    return out;
  });
  return { index, edges };
}

function stronglyConnected(edges: readonly (readonly number[])[]): number[][] {
  const n = edges.length;
  const idx = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const out: number[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (idx[root] !== -1) continue;
    const work: [number, number][] = [[root, 0]];
    idx[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length > 0) {
      const frame = work[work.length - 1] as [number, number];
      const [v, ei] = frame;
      const vEdges = edges[v] as readonly number[];
      if (ei < vEdges.length) {
        frame[1] = ei + 1;
        const w = vEdges[ei] as number;
        if (idx[w] === -1) {
          idx[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push([w, 0]);
        } else if (onStack[w] === 1) {
          low[v] = Math.min(low[v] as number, idx[w] as number);
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined) low[parent[0]] = Math.min(low[parent[0]] as number, low[v] as number);
      if (low[v] === idx[v]) {
        const comp: number[] = [];
        let w: number;
        do {
          w = stack.pop() as number;
          onStack[w] = 0;
          comp.push(w);
        } while (w !== v);
        const selfLoop = comp.length === 1 && vEdges.includes(v);
        if (comp.length > 1 || selfLoop) out.push(comp.sort((a, b) => a - b));
      }
    }
  }
  return out;
}

/**
 * The indexes of items that sit on a dependency cycle (including an item that depends on
 * itself). Unknown parents are ignored here.
 *
 * @example
 * findDependencyCycleMembers([a, b]); // Set {0, 1} when a → b → a
 */
export function findDependencyCycleMembers(items: readonly ConfigItem[]): ReadonlySet<number> {
  const members = new Set<number>();
  for (const comp of stronglyConnected(edgesOf(items).edges)) for (const i of comp) members.add(i);
  return members;
}

/**
 * Every dependency cycle among `items`, each as the list of the keys on it (a strongly
 * connected component, keys in input order). An empty array means the graph is acyclic.
 *
 * @example
 * findDependencyCycles([
 *   { key: 'a', type: 'boolean', kind: 'switch', enabled: true, defaultValue: true, rules: [], dependsOn: [{ key: 'b' }] },
 *   { key: 'b', type: 'boolean', kind: 'switch', enabled: true, defaultValue: true, rules: [], dependsOn: [{ key: 'a' }] },
 * ]); // [['a', 'b']]
 */
export function findDependencyCycles(items: readonly ConfigItem[]): string[][] {
  return stronglyConnected(edgesOf(items).edges).map((comp) => comp.map((i) => (items[i] as ConfigItem).key));
}
