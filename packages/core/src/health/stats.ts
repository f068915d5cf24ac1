/**
 * Statistics helpers for the health engine: the standard normal distribution, the Wilson score
 * interval, the pooled two-proportion z-test and the normal-mixture sequential boundary (mSPRT).
 * Pure arithmetic, no dependencies; every function is total (bad input gives `NaN`, never throws).
 */

/** √(2π). */
const SQRT_2PI = 2.5066282746310002;

/**
 * The standard normal cumulative distribution function Φ(x), accurate to about 1e-14 absolute
 * (Hart's 1968 rational approximation, as presented by G. West, "Better approximations to
 * cumulative normal functions", 2005). Tails are computed directly, so `normalCdf(-10)` keeps its
 * relative precision instead of rounding to 0 through `1 - Φ(10)`.
 *
 * @example
 * normalCdf(1.959963984540054); // 0.975
 * normalCdf(0);                 // 0.5
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  let tail: number;
  if (ax > 37) {
    tail = 0;
  } else {
    const e = Math.exp(-0.5 * ax * ax);
    if (ax < 7.07106781186547) {
      let n = 3.52624965998911e-2 * ax + 0.700383064443688;
      n = n * ax + 6.37396220353165;
      n = n * ax + 33.912866078383;
      n = n * ax + 112.079291497871;
      n = n * ax + 221.213596169931;
      n = n * ax + 220.206867912376;
      let d = 8.83883476483184e-2 * ax + 1.75566716318264;
      d = d * ax + 16.064177579207;
      d = d * ax + 86.7807322029461;
      d = d * ax + 296.564248779674;
      d = d * ax + 637.333633378831;
      d = d * ax + 793.826512519948;
      d = d * ax + 440.413735824752;
      tail = (e * n) / d;
    } else {
      // Continued fraction for the far tail.
      let b = ax + 0.65;
      b = ax + 4 / b;
      b = ax + 3 / b;
      b = ax + 2 / b;
      b = ax + 1 / b;
      tail = e / b / SQRT_2PI;
    }
  }
  return x > 0 ? 1 - tail : tail;
}

/**
 * The upper tail 1 − Φ(x), without cancellation for large `x`.
 *
 * @example
 * normalSf(3.090232306167813); // 0.001
 */
export function normalSf(x: number): number {
  return normalCdf(-x);
}

// Acklam's rational approximation of the normal quantile (relative error < 1.15e-9), refined by
// one Halley step against `normalCdf`, which brings it to about 1e-15.
const A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2,
  -3.066479806614716e1, 2.506628277459239,
] as const;
const B = [
  -5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1,
  -1.328068155288572e1,
] as const;
const C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734,
  4.374664141464968, 2.938163982698783,
] as const;
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416] as const;
const P_LOW = 0.02425;

/**
 * The standard normal quantile Φ⁻¹(p): the `z` with `normalCdf(z) === p`. `p` outside (0, 1)
 * gives `-Infinity` at 0, `Infinity` at 1 and `NaN` otherwise.
 *
 * @example
 * normalQuantile(0.975); // 1.959963984540054
 * normalQuantile(0.99);  // 2.326347874040841
 */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  let x: number;
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  } else if (p <= 1 - P_LOW) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) /
      (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x =
      -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  }
  // Halley refinement. Work on the smaller tail so that p close to 1 keeps its precision.
  const e = p < 0.5 ? normalCdf(x) - p : 1 - p - normalCdf(-x);
  const u = e * SQRT_2PI * Math.exp(0.5 * x * x);
  return x - u / (1 + 0.5 * x * u);
}

/**
 * A confidence interval for a proportion.
 *
 * @example
 * const { lower, upper }: ProportionInterval = wilsonInterval(1, 20, 1.96);
 */
export interface ProportionInterval {
  readonly lower: number;
  readonly upper: number;
}

/**
 * The Wilson score interval for `events` successes in `trials` trials, with critical value `z`
 * on each side (z = 1.96 gives the two-sided 95 % interval; each bound alone is then a one-sided
 * 97.5 % bound). Unlike the Wald interval it stays inside [0, 1] and behaves at 0 events: the
 * upper bound for 0 of n is z²/(n + z²), the "rule of three" family. `events` is clamped to
 * [0, trials]; no trials gives [0, 1].
 *
 * @example
 * wilsonInterval(1, 20, 1.96); // { lower: 0.00888…, upper: 0.23612… }
 * wilsonInterval(0, 300, 1.645).upper; // 0.00894…
 */
export function wilsonInterval(events: number, trials: number, z: number): ProportionInterval {
  if (!(trials > 0) || !Number.isFinite(trials)) return { lower: 0, upper: 1 };
  const x = Math.min(Math.max(events, 0), trials);
  const p = x / trials;
  const z2 = z * z;
  const denom = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denom;
  return {
    lower: x === 0 ? 0 : Math.max(0, centre - half),
    upper: x === trials ? 1 : Math.min(1, centre + half),
  };
}

/**
 * The result of {@link twoProportionZTest}.
 *
 * @example
 * const r: TwoProportionTest = twoProportionZTest(30, 5000, 10, 5000);
 * r.z > 0; // the first group has the higher rate
 */
export interface TwoProportionTest {
  /** Observed rate of the first group (x1 / n1). */
  readonly p1: number;
  /** Observed rate of the second group (x2 / n2). */
  readonly p2: number;
  /** p1 − p2. */
  readonly difference: number;
  /** The pooled rate (x1 + x2) / (n1 + n2). */
  readonly pooled: number;
  /** The pooled standard error √(p̄(1 − p̄)(1/n1 + 1/n2)). */
  readonly standardError: number;
  /** (p1 − p2) / standardError; 0 when both groups show the same rate (including 0 events). */
  readonly z: number;
  /** One-sided p-value for "the first group's rate is higher": 1 − Φ(z). */
  readonly pGreater: number;
  /** Two-sided p-value: 2(1 − Φ(|z|)). */
  readonly pTwoSided: number;
}

/**
 * The pooled two-proportion z-test (the score test for H0: p1 = p2). With no events in either
 * group the standard error is 0 and `z` is 0 (no evidence either way). Non-positive `n1`/`n2`
 * give `NaN` fields.
 *
 * @example
 * const r = twoProportionZTest(30, 5000, 10, 5000);
 * r.z;        // 3.1686…
 * r.pGreater; // 0.000765…
 */
export function twoProportionZTest(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
): TwoProportionTest {
  if (!(n1 > 0) || !(n2 > 0)) {
    return {
      p1: Number.NaN,
      p2: Number.NaN,
      difference: Number.NaN,
      pooled: Number.NaN,
      standardError: Number.NaN,
      z: Number.NaN,
      pGreater: Number.NaN,
      pTwoSided: Number.NaN,
    };
  }
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const pooled = (x1 + x2) / (n1 + n2);
  const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const difference = p1 - p2;
  const z = standardError > 0 ? difference / standardError : 0;
  return {
    p1,
    p2,
    difference,
    pooled,
    standardError,
    z,
    pGreater: normalSf(z),
    pTwoSided: Math.min(1, 2 * normalSf(Math.abs(z))),
  };
}

/**
 * The critical |z| of the normal-mixture sequential probability ratio test (mSPRT; Robbins 1970,
 * Johari et al. "Always valid inference", 2017) after `information` = 1/Var(estimate) has
 * accumulated, for mixing standard deviation `tau` on the effect scale and level `alpha`:
 *
 *   z*² = (1 + τ²I)/(τ²I) · (ln(1 + τ²I) + 2 ln(1/α))
 *
 * Crossing it at *any* look, however often one looks, has probability ≤ α under H0 (Ville's
 * inequality), which is what makes an every-minute evaluation safe. The boundary is high for
 * little information, dips, then grows like √(ln I).
 *
 * @example
 * // τ²I = 20 (e.g. 20 expected crashes when τ is the baseline rate), α = 0.01
 * msprtBoundary(20, 1, 0.01); // 3.587…
 */
export function msprtBoundary(information: number, tau: number, alpha: number): number {
  const t = tau * tau * information;
  if (!(t > 0) || !(alpha > 0) || !(alpha < 1)) return Number.POSITIVE_INFINITY;
  return Math.sqrt(((1 + t) / t) * (Math.log1p(t) + 2 * Math.log(1 / alpha)));
}
