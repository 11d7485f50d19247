/**
 * ListMixer: the weighted merge of the sources' id lists, against a plain Map-based reference (sums in list order,
 * leading source = the first largest part, the first known ETA, top `depth` by score with ties in insertion order,
 * then a stable sort by calibrated probability), over many mixes with a calibrator that learns as they go.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ListMixer, type MixedList, type SourceLists } from '../../src/predict/list-mixer.ts';
import { ProbabilityCalibrator } from '../../src/predict/probability-calibrator.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';

function mixedList(depth: number): MixedList {
  return { n: 0, ids: new Int32Array(depth), raw: new Float64Array(depth), probability: new Float64Array(depth), eta: new Float64Array(depth), source: new Int32Array(depth) };
}

function lists(sources: number, stride: number): SourceLists {
  return { ids: new Int32Array(sources * stride), probs: new Float64Array(sources * stride), lens: new Int32Array(sources), stride, etaSource: 1, etas: new Float64Array(stride) };
}

type Row = { id: number; raw: number; probability: number; eta: number; source: number };

function reference(l: SourceLists, w: Float64Array, calibrator: ProbabilityCalibrator, depth: number): Row[] {
  const order: number[] = [];
  const sum = new Map<number, { score: number; best: number; source: number; eta: number }>();
  let sumW = 0;
  for (let j = 0; j < l.lens.length; j++) {
    if (l.lens[j] === 0 || !(w[j] > 0)) continue;
    sumW += w[j];
    for (let r = 0; r < l.lens[j]; r++) {
      const id = l.ids[j * l.stride + r];
      const part = w[j] * l.probs[j * l.stride + r];
      const e = j === l.etaSource ? l.etas[r] : Number.NaN;
      const c = sum.get(id);
      if (c === undefined) {
        order.push(id);
        sum.set(id, { score: part, best: part, source: j, eta: e });
        continue;
      }
      c.score += part;
      if (part > c.best) {
        c.best = part;
        c.source = j;
      }
      if (Number.isNaN(c.eta)) c.eta = e;
    }
  }
  if (sumW === 0) return [];
  const top = order.filter((id) => sum.get(id)!.score > 0).map((id, i) => ({ id, i, ...sum.get(id)! }));
  top.sort((a, b) => b.score - a.score || a.i - b.i);
  const rows = top.slice(0, depth).map((c) => {
    const raw = Math.min(1, c.score / sumW);
    return { id: c.id, raw, probability: calibrator.calibrate(raw, c.source), eta: c.eta, source: c.source };
  });
  return rows.map((row, i) => ({ row, i })).sort((a, b) => b.row.probability - a.row.probability || a.i - b.i).map((x) => x.row);
}

function rows(out: MixedList): Row[] {
  return Array.from({ length: out.n }, (_, r) => ({ id: out.ids[r], raw: out.raw[r], probability: out.probability[r], eta: out.eta[r], source: out.source[r] }));
}

describe('ListMixer', () => {
  it('sums a key named by several lists, keeps its leading source and the ETA its list gave', () => {
    const l = lists(3, 4);
    const put = (j: number, ids: number[], probs: number[]) => {
      ids.forEach((id, r) => {
        l.ids[j * 4 + r] = id;
        l.probs[j * 4 + r] = probs[r];
      });
      l.lens[j] = ids.length;
    };
    put(0, [5, 7, 9], [0.5, 0.3, 0.1]);
    put(1, [7, 11], [0.6, 0.2]);
    l.etas[0] = 100;
    l.etas[1] = 200;
    put(2, [9, 5], [0.4, 0.4]);
    const out = mixedList(4);
    // A fresh calibrator answers the raw score itself (its prior pulls an empty bin to it).
    new ListMixer(3, 4).mix(l, Float64Array.of(1, 1, 0.5), new ProbabilityCalibrator({ groups: 3 }), 3, out);
    assert.deepEqual([...out.ids.subarray(0, out.n)], [7, 5, 9]);
    assert.deepEqual([...out.source.subarray(0, out.n)], [1, 0, 2]);
    assert.deepEqual([...out.eta.subarray(0, out.n)], [100, Number.NaN, Number.NaN]);
    const expected = [0.9 / 2.5, 0.7 / 2.5, 0.3 / 2.5];
    for (let r = 0; r < 3; r++) assert.ok(Math.abs(out.raw[r] - expected[r]) < 1e-12, `raw ${r}: ${out.raw[r]}`);
  });

  it('matches the reference over 3,000 seeded mixes, ties and repeated ids included', () => {
    const random = seededRandom(11);
    const sources = 5;
    const stride = 8;
    const mixer = new ListMixer(sources, stride);
    const calibrator = new ProbabilityCalibrator({ groups: sources });
    for (let round = 0; round < 3000; round++) {
      const l = lists(sources, stride);
      const span = [4, 20, 1_000_000][round % 3];
      for (let j = 0; j < sources; j++) {
        l.lens[j] = Math.floor(random() * (stride + 1));
        for (let r = 0; r < l.lens[j]; r++) {
          l.ids[j * stride + r] = Math.floor(random() * span);
          l.probs[j * stride + r] = [0.5, 0.25, 0.1, 0][Math.floor(random() * 4)];
        }
      }
      for (let r = 0; r < stride; r++) l.etas[r] = random() < 0.5 ? Number.NaN : Math.floor(random() * 100);
      const w = Float64Array.from({ length: sources }, () => [0, 1, 0.5, 2][Math.floor(random() * 4)]);
      const depth = 1 + Math.floor(random() * stride);
      const out = mixedList(stride);
      mixer.mix(l, w, calibrator, depth, out);
      assert.deepEqual(rows(out), reference(l, w, calibrator, depth), `round ${round}`);
      // Teach the calibrator something, so later rounds calibrate away from the raw score.
      for (let r = 0; r < out.n; r++) calibrator.record(out.raw[r], out.source[r], random() < 0.3);
    }
  });
});
