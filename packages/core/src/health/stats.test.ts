// Expected values computed independently (SciPy 1.17: scipy.stats.norm, scipy.special.gammaln /
// betaln, and the textbook Wilson / pooled-z formulas evaluated in Python) and written as literals.
import { describe, expect, it } from 'vitest';
import {
  logBeta,
  logGamma,
  normalCdf,
  normalQuantile,
  sequentialRateTest,
  twoProportionZTest,
  wilsonInterval,
} from './stats.js';

const close = (a: number, b: number, rel = 1e-9): void => {
  expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(Math.abs(b), 1e-300));
};

describe('normal distribution', () => {
  it('Φ matches SciPy, tails included', () => {
    const cases: [number, number][] = [
      [0, 0.5],
      [1, 0.8413447460685429],
      [-1, 0.15865525393145707],
      [1.959963984540054, 0.975],
      [-3, 0.0013498980316300933],
      [-5, 2.866515718791933e-7],
      [-8.5, 9.47953482220325e-18],
      [-10, 7.61985302416047e-24],
      [2.5, 0.9937903346742238],
      [6, 0.9999999990134123],
    ];
    for (const [x, p] of cases) close(normalCdf(x), p, 1e-8);
  });
  it('Φ⁻¹ matches SciPy and inverts Φ', () => {
    const cases: [number, number][] = [
      [0.5, 0],
      [0.975, 1.959963984540054],
      [0.99, 2.3263478740408408],
      [0.999, 3.090232306167813],
      [0.001, -3.090232306167813],
      [1e-10, -6.361340902404056],
      [0.9999999, 5.199337582290661],
      [0.02, -2.053748910631823],
      [0.3, -0.5244005127080409],
    ];
    for (const [p, z] of cases) expect(Math.abs(normalQuantile(p) - z)).toBeLessThan(1e-9);
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
    expect(normalQuantile(1.5)).toBeNaN();
  });
});

describe('Wilson interval', () => {
  it('matches the textbook formula', () => {
    const a = wilsonInterval(1, 20, 1.96);
    close(a.lower, 0.008881219432873136, 1e-12);
    close(a.upper, 0.23613589351256675, 1e-12);
    const b = wilsonInterval(5, 100, 1.96);
    close(b.lower, 0.02154336145631356, 1e-12);
    close(b.upper, 0.11175196527208817, 1e-12);
    close(wilsonInterval(3, 50, 3.090232306167813).lower, 0.01214035616879798, 1e-12);
    close(wilsonInterval(1, 20, 3.090232306167813).lower, 0.004378221880058181, 1e-12);
  });
  it('0 events: lower 0, upper z²/(n+z²) (rule-of-three family)', () => {
    const w = wilsonInterval(0, 300, 1.645);
    expect(w.lower).toBe(0);
    close(w.upper, 0.008939448760559026, 1e-12);
  });
  it('no trials: [0, 1]', () => {
    expect(wilsonInterval(0, 0, 1.96)).toEqual({ lower: 0, upper: 1 });
  });
});

describe('pooled two-proportion z-test', () => {
  it('matches the textbook formula', () => {
    const r = twoProportionZTest(30, 5000, 10, 5000);
    close(r.z, 3.1686212526223896, 1e-12);
    close(r.pGreater, 0.0007658192300426448, 1e-9);
    close(r.pTwoSided, 0.0015316384600852896, 1e-9);
    const s = twoProportionZTest(12, 2000, 200, 100000);
    close(s.z, 3.88918725611908, 1e-12);
    close(s.pGreater, 5.029024543143788e-5, 1e-9);
  });
  it('no events at all: z = 0', () => {
    expect(twoProportionZTest(0, 100, 0, 100).z).toBe(0);
    expect(twoProportionZTest(1, 0, 0, 100).z).toBeNaN();
  });
});

describe('log-gamma and the sequential rate test', () => {
  it('ln Γ and ln B match SciPy', () => {
    close(logGamma(5), 3.1780538303479458, 1e-13);
    close(logGamma(0.5), 0.5723649429247, 1e-13);
    close(logGamma(0.1), 2.252712651734206, 1e-13);
    close(logGamma(123.45), 469.5766763003819, 1e-13);
    close(logGamma(1e6), 12815504.569147611, 1e-13);
    close(logBeta(2, 3), -2.4849066497880004, 1e-13);
  });
  it('log likelihood ratio matches SciPy (betaln)', () => {
    close(sequentialRateTest(0, 1000, 10, 99000).logLikelihoodRatio, -0.09374466431486399, 1e-9);
    close(sequentialRateTest(30, 5000, 200, 495000).logLikelihoodRatio, 41.41172012894737, 1e-9);
    close(sequentialRateTest(12, 2000, 200, 100000).logLikelihoodRatio, 4.005688710357983, 1e-9);
    close(sequentialRateTest(12, 2000, 200, 100000).pAlwaysValid, 0.018211742322996192, 1e-8);
    expect(sequentialRateTest(5, 100, 5, 100).pAlwaysValid).toBe(1);
  });
  it('ever-crossing under H0 stays under α (Ville), checked by simulation', () => {
    // 2,000 null paths of 3,000 events each, share 1 %: count paths whose p ever reaches 0.01.
    let s = 12345;
    const rnd = (): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s / 4294967296;
    };
    let crossed = 0;
    for (let path = 0; path < 2000; path++) {
      let xc = 0;
      let xb = 0;
      for (let e = 1; e <= 3000; e++) {
        if (rnd() < 0.01) xc++;
        else xb++;
        if (e % 10 === 0 && sequentialRateTest(xc, 1, xb, 99).pAlwaysValid <= 0.01) {
          crossed++;
          break;
        }
      }
    }
    expect(crossed / 2000).toBeLessThanOrEqual(0.01);
  });
});
