/**
 * Statistics helpers for the health engine: the standard normal distribution, the Wilson score
 * interval, the pooled two-proportion z-test and the normal-mixture sequential boundary (mSPRT).
 * Pure arithmetic, no dependencies; every function is total (bad input gives `NaN`, never throws).
 */

/** √(2π). */
const SQRT_2PI = 2.5066282746310002;

/**
 * The standard normal cumulative distribution function Φ(x), accurate to about 1e-14 absolute (1e-8 relative in the far tail)
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

// Lanczos approximation (g = 7, 9 terms), relative error about 1e-15 for x ≥ 0.5.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
] as const;

/**
 * ln Γ(x) for x > 0 (Lanczos approximation; reflection below 0.5).
 *
 * @example
 * logGamma(5);   // ln 24 = 3.1780538303479458
 * logGamma(0.5); // ln √π = 0.5723649429247001
 */
export function logGamma(x: number): number {
  if (!(x > 0)) return Number.NaN;
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = LANCZOS[0];
  for (let i = 1; i < 9; i++) a += (LANCZOS[i] as number) / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
 *
 * @example
 * logBeta(2, 3); // ln(1/12) = -2.4849066497880004
 */
export function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/**
 * The parameters of {@link sequentialRateTest}.
 *
 * @example
 * const o: SequentialRateTestOptions = { priorRatio: 2, priorShape: 3 };
 */
export interface SequentialRateTestOptions {
  /** The candidate/baseline rate ratio the mixture is centred on. Default 2 (a doubling). */
  readonly priorRatio?: number;
  /** Shape `a` of the Beta(a, b) mixing distribution; larger is more concentrated. Default 3. */
  readonly priorShape?: number;
}

/**
 * The result of {@link sequentialRateTest}.
 *
 * @example
 * const r: SequentialRateTest = sequentialRateTest(30, 5000, 200, 495000);
 * r.pAlwaysValid < 0.01; // true: halt-worthy evidence
 */
export interface SequentialRateTest {
  /** ln Λ, the log mixture likelihood ratio. */
  readonly logLikelihoodRatio: number;
  /** min(1, 1/Λ): the always-valid p-value at this look. */
  readonly pAlwaysValid: number;
  /** π0 = nc / (nc + nb), the share of events the candidate gets if it is no worse. */
  readonly nullShare: number;
}

/**
 * An always-valid sequential test that the candidate's event rate differs from the baseline's
 * (events per session, rare events), exact rather than asymptotic.
 *
 * Conditioned on the total number of events X = xc + xb, the number that happened in the
 * candidate is Binomial(X, π0) with π0 = nc/(nc + nb) when both cohorts share one rate (the
 * classical conditional test for two Poisson rates). Mixing the alternative π over a Beta(a, b)
 * centred on `priorRatio` gives the likelihood ratio
 *
 *   Λ = B(a + xc, b + xb) / B(a, b) / (π0^xc (1 − π0)^xb),
 *
 * a non-negative martingale under H0 as events arrive, so by Ville's inequality the chance that
 * Λ *ever* reaches 1/α is ≤ α: looking every minute for ever costs nothing. Unlike a z-statistic
 * it stays honest with a handful of events, where the normal approximation is badly skewed.
 * (It assumes the candidate's share of sessions is steady within the window, as it is inside one
 * percentage stage.)
 *
 * @example
 * sequentialRateTest(0, 1000, 10, 99000).pAlwaysValid; // 1 (no evidence)
 * sequentialRateTest(30, 5000, 200, 495000).pAlwaysValid; // ≈ 1e-18 (0.6 % vs 0.04 %)
 */
export function sequentialRateTest(
  xc: number,
  nc: number,
  xb: number,
  nb: number,
  options: SequentialRateTestOptions = {},
): SequentialRateTest {
  const ratio = options.priorRatio ?? 2;
  const a = options.priorShape ?? 3;
  if (!(nc > 0) || !(nb > 0) || !(ratio > 0) || !(a > 0)) {
    return { logLikelihoodRatio: Number.NaN, pAlwaysValid: Number.NaN, nullShare: Number.NaN };
  }
  const p0 = nc / (nc + nb);
  // Prior mean at the share the candidate would have if its rate were `ratio` × the baseline's.
  const m = (ratio * p0) / (ratio * p0 + 1 - p0);
  const b = (a * (1 - m)) / m;
  const llr =
    logBeta(a + xc, b + xb) - logBeta(a, b) - xc * Math.log(p0) - xb * Math.log1p(-p0);
  return {
    logLikelihoodRatio: llr,
    pAlwaysValid: Math.min(1, Math.exp(-llr)),
    nullShare: p0,
  };
}
