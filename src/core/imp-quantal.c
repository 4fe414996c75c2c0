/* imp-quantal.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_gamma.h>

#include "imp-quantal-private.h"

/* Quantal analysis of one connection's per-trial PSP amplitudes: a
 * mixture of Gaussians at 0, q, 2q, ... nq (peak 0 the failures), the SD
 * of peak k sqrt(σ0² + k·σq²) (each quantum adds its own variability),
 * with binomial(n, p) weights, fitted by EM at each n and compared by BIC
 * with one Gaussian and with mixtures of Gaussians whose means, SDs and
 * weights are free (peaks, but not evenly spaced). See docs/analysis.md,
 * "Fitting quanta", for the reasons behind the numbers. */

#define MAX_K             (IMP_QUANTAL_MAX_SITES + 1)
/* EM stops when the log-likelihood gains less than this per amplitude
 * (a BIC changes by less than 0.01 for 200 amplitudes), or after
 * EM_MAX_ITER steps (BOOT_MAX_ITER in a bootstrap replicate, which starts
 * at the fitted values). */
#define EM_TOL            1e-5
#define EM_MAX_ITER       400
#define BOOT_MAX_ITER     100
#define BOOT_TOL          1e-5
/* Each start is run this far before the best one is run to the end.
 * Each order gets five starts from the moments and, after the first, one
 * from the order below: with fewer, the simulator's connections were
 * claimed a tenth less often (local maxima), as accurately. */
#define START_ITER        15
/* Terms below e^-LOG_CUTOFF of a point's largest are left out. */
#define LOG_CUTOFF        25.0
/* Bins of one amplitude whose likelihoods are multiplied before one log
 * is taken (see e_step()). */
#define LOG_BATCH         32
/* EM runs on binned amplitudes, so that a step costs per bin, not per
 * trial: bins of BIN_START-th of the amplitudes' SD first, then of a
 * BIN_FRACTION-th of the narrowest fitted peak's SD if that is finer, at
 * most BIN_ROUNDS times. At h = σ/8 the bins add about h²/12 = σ²/768 of
 * variance, which the M step takes out exactly (it uses each bin's sums
 * of squares), and change a point's log-likelihood by ½·v·(log f)″,
 * which e_step() adds back. */
#define BIN_START         48.0
#define BIN_FRACTION      8.0
#define BIN_ROUNDS        2
/* Amplitudes are fitted one by one when bins would hold on average
 * fewer than 1 / BIN_MAX_SHARE of them. */
#define BIN_MAX_SHARE     0.5
/* A binned bootstrap replicate draws each peak's trials as counts in
 * BOOT_CELLS cells of BOOT_CELL_SD of its SD (±6 SD; beyond lies
 * 2·10⁻⁹ of a peak's trials). */
#define BOOT_CELLS        120
#define BOOT_CELL_SD      0.1
/* Orders within this BIC of the best form the range of n: for the
 * binomial model, whose orders all have the same parameters, that is the
 * 95 % likelihood-ratio interval (chi-square, one degree, 3.84). */
#define N_RANGE_BIC       3.84
/* Orders are tried upwards until STOP_ORDERS in a row have not lowered
 * the best BIC by more than PLATEAU_BIC (or n_max is reached). On a
 * plateau, as small p and large n make, the range of n then reaches
 * n_max. */
#define STOP_ORDERS       4
#define PLATEAU_BIC       0.5
/* Peaks closer than the sum of their SDs make one hump (two equal
 * Gaussians are bimodal only beyond 2 SD apart). */
#define RESOLVE_FACTOR    1.0
/* Quanta need this many peaks, each expected to hold MIN_PEAK_TRIALS
 * trials: two peaks (0 and q) show no spacing to be even, and a cluster
 * of large amplitudes beside the failures is as often another cell's
 * PSPs; on simulated busy networks such fits were most false claims. */
#define MIN_PEAK_TRIALS   5.0
#define MIN_PEAKS         3
/* Amplitudes whose SD is below this (mV) have no spread to fit. */
#define MIN_SD_MV         1e-6
/* No component of the unconstrained mixture is narrower than this
 * fraction of the amplitudes' SD: a component on a few close values
 * would otherwise gain likelihood without meaning. */
#define MIXTURE_MIN_SD    0.02

typedef struct
{
  guint    n;
  gboolean a_fixed;
  double   q;           /* quantal size */
  double   a;           /* σ0² */
  double   b;           /* σq² */
  double   p;
  double   w[MAX_K];
  double   ll;
} Mix;

/* Amplitudes that fall into one bin: their number, mean and variance
 * about that mean. */
typedef struct
{
  double c;
  double x;
  double v;
} Bin;

/* The bins as columns for the E step, each padded with empty bins (count
 * 0) to a whole number of vectors: counts, means, spreads and x² + v. */
typedef struct
{
  double *c;
  double *x;
  double *v;
  double *xx;
} Columns;

typedef struct
{
  const Bin    *bins;
  guint         n_bins;
  Columns       cols;
  gboolean      spread;    /* some bin holds amplitudes that differ */
  gboolean      ones;      /* every bin holds one amplitude */
  guint         n;         /* amplitudes in the bins */
  const double *sorted;    /* the amplitudes in order, NULL in a replicate */
  double        mean;
  double        sd;
  double        a_floor;
  double        q_floor;
} Data;

void
imp_quantal_params_init_default (ImpQuantalParams *params)
{
  g_return_if_fail (params != NULL);

  params->n_max = 10;
  params->min_trials = 50;
  params->n_bootstrap = 100;
  params->seed = 1;
}

/**
 * imp_quantal_params_validate:
 * @params: parameters
 * @error: return location for a #GError
 *
 * Returns: %TRUE when imp_quantal_fit() accepts @params; otherwise %FALSE
 *   with %G_IO_ERROR_INVALID_ARGUMENT set, saying what is wrong
 */
gboolean
imp_quantal_params_validate (const ImpQuantalParams  *params,
                             GError                 **error)
{
  const char *problem = NULL;

  g_return_val_if_fail (params != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (params->n_max < 1 || params->n_max > IMP_QUANTAL_MAX_SITES)
    problem = "the largest number of release sites must be between 1 "
              "and " G_STRINGIFY (IMP_QUANTAL_MAX_SITES);
  else if (params->min_trials < 20 || params->min_trials > 1000000)
    problem = "the minimum number of trials must be between 20 and "
              "1,000,000";
  else if (params->n_bootstrap > 10000)
    problem = "the number of bootstrap replicates must be at most 10,000";

  if (problem != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Cannot fit quanta: %s", problem);
      return FALSE;
    }
  return TRUE;
}

/* The EM algorithm */

static void
binomial_weights (Mix *m)
{
  for (guint k = 0; k <= m->n; k++)
    m->w[k] = gsl_ran_binomial_pdf (k, m->p, m->n);
}

/* The E step: two bins at a time in SSE2's vectors (every x86-64 has
 * them; GCC splits them where there are none), four in AVX2's where the
 * processor has it. Both keep the sums over bins in four lanes, so they
 * give the same bits (neither uses FMA). Blocks of LOG_BATCH bins keep
 * their terms in the first-level cache. */
#define KERNEL_SUMS_LANES 4

#define KERNEL_LANES  2
#define KERNEL_SUFFIX _2
#define KERNEL_TARGET
#include "imp-quantal-kernel.h"
#undef KERNEL_TARGET
#undef KERNEL_SUFFIX
#undef KERNEL_LANES

#if defined(__x86_64__) && defined(__GNUC__)
#define E_STEP_AVX2   1
#define KERNEL_LANES  4
#define KERNEL_SUFFIX _4
#define KERNEL_TARGET __attribute__ ((target ("avx2")))
#include "imp-quantal-kernel.h"
#undef KERNEL_TARGET
#undef KERNEL_SUFFIX
#undef KERNEL_LANES
#endif

/**
 * _imp_quantal_exp:
 * @y: a number in [-25, 0]
 *
 * Returns: e^@y as the E step computes it, for the tests
 */
double
_imp_quantal_exp (double y)
{
  Vec_2 e = y + (Vec_2) { 0 };

  exp_vec_2 (&e);
  return e[0];
}

/* The E step's lanes: 0 for the most the processor runs, or 2 (tests) */
static int e_step_lanes;

/**
 * _imp_quantal_set_lanes:
 * @lanes: 0 for the most the processor runs, 2 or 4
 *
 * Makes the E step work on @lanes bins at a time, for the tests (not
 * while fits run).
 *
 * Returns: %FALSE if the processor cannot run @lanes (nothing changes)
 */
gboolean
_imp_quantal_set_lanes (guint lanes)
{
  g_return_val_if_fail (lanes == 0 || lanes == 2 || lanes == 4, FALSE);

#ifdef E_STEP_AVX2
  if (lanes == 4 && !__builtin_cpu_supports ("avx2"))
    return FALSE;
#else
  if (lanes == 4)
    return FALSE;
#endif
  g_atomic_int_set (&e_step_lanes, (int) lanes);
  return TRUE;
}

/* See the kernel's e_step(). */
static double
e_step (const Data   *d,
        guint         K,
        const double *lw,
        const double *mu,
        const double *inv,
        double       *R,
        double       *S,
        double       *Q)
{
#ifdef E_STEP_AVX2
  if (g_atomic_int_get (&e_step_lanes) != 2
      && __builtin_cpu_supports ("avx2"))
    return e_step_4 (d, K, lw, mu, inv, R, S, Q);
#endif
  return e_step_2 (d, K, lw, mu, inv, R, S, Q);
}

/* Maximises the expected log-likelihood over q and the variances, given
 * the per-peak sums of responsibilities @R, of r·x (@S) and r·x² (@Q).
 * The variances solve the weighted least squares of each peak's residual
 * variance on (1, k) with weights R_k / v_k², iterated twice: at the
 * fixed point that is the exact stationary point. */
static void
m_step_shape (const Data   *d,
              Mix          *m,
              const double *R,
              const double *S,
              const double *Q)
{
  double v[MAX_K], num = 0, den = 0;
  guint k, it;

  for (k = 0; k <= m->n; k++)
    {
      v[k] = m->a + k * m->b;
      num += k * S[k] / v[k];
      den += (double) k * k * R[k] / v[k];
    }
  if (den > 0)
    m->q = MAX (num / den, d->q_floor);

  for (it = 0; it < 2; it++)
    {
      double sw = 0, swk = 0, swkk = 0, sd = 0, skd = 0, det;

      for (k = 0; k <= m->n; k++)
        {
          double dk, w;

          if (R[k] <= 1e-9)
            continue;
          dk = Q[k] - 2 * k * m->q * S[k] + (double) k * k * m->q * m->q * R[k];
          dk = MAX (dk, 0.0);
          w = R[k] / (v[k] * v[k]);
          sw += w;
          swk += w * k;
          swkk += w * k * k;
          sd += dk / (v[k] * v[k]);
          skd += k * dk / (v[k] * v[k]);
        }
      if (sw <= 0)
        return;
      if (m->a_fixed)
        m->b = swkk > 0 ? MAX ((skd - m->a * swk) / swkk, 0.0) : 0.0;
      else
        {
          det = sw * swkk - swk * swk;
          if (det > 1e-12 * sw * swkk)
            {
              m->a = (swkk * sd - swk * skd) / det;
              m->b = (sw * skd - swk * sd) / det;
            }
          else
            m->b = -1;
          if (m->b < 0)
            {
              m->b = 0;
              m->a = sd / sw;
            }
          m->a = MAX (m->a, d->a_floor);
        }
      for (k = 0; k <= m->n; k++)
        v[k] = m->a + k * m->b;
    }
}

/* One EM step; returns the log-likelihood of the parameters it started
 * from. Each bin counts as its amplitudes at their mean in the E step;
 * the M step uses their exact sums and sums of squares, and the
 * log-likelihood adds the second-order term of the spread in the bin,
 * ½·c·v·(log f)″ (see e_step()). The weights' logs are taken from p
 * directly; m->w is left for the old p (em_run() updates it). */
static double
em_step (const Data *d,
         Mix        *m)
{
  double lw[MAX_K], inv[MAX_K], mu[MAX_K], R[MAX_K], S[MAX_K], Q[MAX_K];
  double ll, kbar = 0, log_p, log_q;
  guint k, K = m->n + 1;

  /* the binomial weights' logs as gsl_ran_binomial_pdf() takes them,
   * where it does */
  log_p = log (m->p);
  log_q = log1p (-m->p);
  /* K is at least 1 (and the compiler sees the arrays filled) */
  k = 0;
  do
    {
      double v = m->a + k * m->b, w;

      mu[k] = k * m->q;
      inv[k] = 0.5 / v;
      if (m->p > 0 && m->p < 1)
        lw[k] = gsl_sf_lnchoose (m->n, k) + k * log_p + (m->n - k) * log_q;
      else
        {
          w = gsl_ran_binomial_pdf (k, m->p, m->n);
          lw[k] = w > 0 ? log (w) : -INFINITY;
        }
      lw[k] -= 0.5 * log (2 * G_PI * v);
    }
  while (++k < K);

  ll = e_step (d, K, lw, mu, inv, R, S, Q);

  for (k = 0; k < K; k++)
    kbar += k * R[k];
  m->p = CLAMP (kbar / ((double) d->n * m->n), 1e-6, 1 - 1e-6);
  m_step_shape (d, m, R, S, Q);
  return ll;
}

static double
log_likelihood (const Data *d,
                const Mix  *m)
{
  Mix copy = *m;

  return em_step (d, &copy);
}

/* Runs EM until it gains less than EM_TOL per point or @max_iter steps;
 * leaves the log-likelihood of the final parameters in m->ll. */
static void
em_run (const Data *d,
        Mix        *m,
        guint       max_iter,
        double      tol)
{
  double prev = -INFINITY;
  for (guint it = 0; it < max_iter; it++)
    {
      double ll = em_step (d, m);

      if (!isfinite (ll))
        break;
      if (ll - prev < tol * d->n)
        break;
      prev = ll;
    }
  binomial_weights (m);
  m->ll = log_likelihood (d, m);
}

static void
mix_init (Mix        *m,
          guint       n,
          double      a_known)
{
  memset (m, 0, sizeof *m);
  m->n = n;
  m->a_fixed = isfinite (a_known);
  m->a = m->a_fixed ? a_known : 0;
}

/* A start for order n from the moments at release probability p0:
 * mean = n·p·q and the variance beyond σ0² is n·p·(1-p)·q². */
static void
start_moments (const Data *d,
               Mix        *m,
               double      p0)
{
  double var = d->sd * d->sd;

  m->p = p0;
  m->q = d->mean > 0 ? d->mean / (m->n * p0) : d->sd;
  m->q = MAX (m->q, d->q_floor);
  m->b = 0.01 * m->q * m->q;
  if (!m->a_fixed)
    m->a = MAX (var - m->n * p0 * (1 - p0) * m->q * m->q,
                0.01 * var);
  m->a = MAX (m->a, d->a_floor);
  binomial_weights (m);
}

/* The best binomial fit of order n, from five moment starts and from
 * the fit of order n - 1 (@prev, may be NULL) with the same mean. */
static void
fit_binomial (const Data *d,
              guint       n,
              double      a_known,
              const Mix  *prev,
              Mix        *best)
{
  static const double p0s[] = { 0.5, 0.2, 0.8, 0.35, 0.65 };
  Mix m;
  guint s;

  best->ll = -INFINITY;
  for (s = 0; s <= G_N_ELEMENTS (p0s); s++)
    {
      mix_init (&m, n, a_known);
      if (s < G_N_ELEMENTS (p0s))
        start_moments (d, &m, p0s[s]);
      else if (prev != NULL)
        {
          m.q = prev->q;
          m.a = prev->a;
          m.b = prev->b;
          m.p = CLAMP (prev->p * prev->n / n, 1e-3, 1 - 1e-3);
          binomial_weights (&m);
        }
      else
        continue;
      em_run (d, &m, START_ITER, EM_TOL);
      if (m.ll > best->ll || !isfinite (best->ll))
        *best = m;
    }
  em_run (d, best, EM_MAX_ITER, EM_TOL);
}

static double
bic (const Mix *m,
     guint      n_points)
{
  guint k = (m->a_fixed ? 0 : 1) + 3;

  return -2 * m->ll + k * log (n_points);
}

/* The bootstrap */

static guint64
mix64 (guint64 z)
{
  z += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* One trial of @m: peak k with probability w[k], then Gaussian noise. */
static double
sample_one (const Mix *m,
            gsl_rng   *rng)
{
  double u = gsl_rng_uniform (rng), cum = 0;
  guint k;

  for (k = 0; k < m->n; k++)
    {
      cum += m->w[k];
      if (u < cum)
        break;
    }
  return k * m->q + gsl_ran_gaussian_ziggurat (rng, sqrt (m->a + k * m->b));
}

static double
bin_key (double x,
         double origin,
         double width)
{
  return width > 0 ? floor ((x - origin) / width) : x;
}

/* Cuts the sorted @x into bins of @width from x[0] (with @width 0, one
 * bin per distinct value: the amplitudes themselves); only bins that hold
 * amplitudes are made. Returns the number of bins written to @bins, which
 * has room for @n. */
static guint
bin_sorted (const double *x,
            guint         n,
            double        width,
            Bin          *bins)
{
  guint i, j, k, n_bins = 0;

  for (i = 0; i < n; i = j)
    {
      double key = bin_key (x[i], x[0], width), sum = x[i], ss = 0;
      Bin *bin = &bins[n_bins++];

      for (j = i + 1; j < n && bin_key (x[j], x[0], width) == key; j++)
        sum += x[j];
      bin->c = j - i;
      bin->x = sum / bin->c;
      for (k = i; k < j; k++)
        ss += (x[k] - bin->x) * (x[k] - bin->x);
      bin->v = ss / bin->c;
    }
  return n_bins;
}

/* Room in @cols for the columns of @n bins; returns the memory to free. */
static double *
columns_alloc (Columns *cols,
               guint    n)
{
  gsize padded = (MAX (n, 1) + KERNEL_SUMS_LANES - 1) / KERNEL_SUMS_LANES
                 * KERNEL_SUMS_LANES;
  double *mem = g_new (double, 4 * padded);

  cols->c = mem;
  cols->x = mem + padded;
  cols->v = mem + 2 * padded;
  cols->xx = mem + 3 * padded;
  return mem;
}

/* The moments and floors of the amplitudes in @bins, and the bins as
 * columns in @cols (room for n_bins, see columns_alloc()). */
static void
data_init (Data          *d,
           const Bin     *bins,
           guint          n_bins,
           const double  *sorted,
           const Columns *cols)
{
  double n = 0, sum = 0, ss = 0;
  guint i;

  d->spread = FALSE;
  d->ones = TRUE;
  for (i = 0; i < n_bins; i++)
    {
      n += bins[i].c;
      sum += bins[i].c * bins[i].x;
      cols->c[i] = bins[i].c;
      cols->x[i] = bins[i].x;
      cols->v[i] = bins[i].v;
      cols->xx[i] = bins[i].x * bins[i].x + bins[i].v;
      d->spread |= bins[i].v > 0;
      d->ones &= bins[i].c == 1;
    }
  /* empty bins to a whole vector */
  for (; i % KERNEL_SUMS_LANES != 0; i++)
    {
      cols->c[i] = cols->v[i] = 0;
      cols->x[i] = n_bins > 0 ? bins[n_bins - 1].x : 0;
      cols->xx[i] = cols->x[i] * cols->x[i];
    }
  d->bins = bins;
  d->n_bins = n_bins;
  d->cols = *cols;
  d->n = (guint) n;
  d->sorted = sorted;
  d->mean = sum / n;
  for (i = 0; i < n_bins; i++)
    ss += bins[i].c * ((bins[i].x - d->mean) * (bins[i].x - d->mean)
                       + bins[i].v);
  d->sd = sqrt (ss / n);
  /* no peak narrower than a thousandth of the spread: a peak on one
   * repeated value would have an infinite likelihood */
  d->a_floor = MAX (1e-6 * d->sd * d->sd, 1e-300);
  d->q_floor = MAX (1e-3 * d->sd, 1e-300);
}

/* The unconstrained mixture: @m Gaussians with free means, SDs and
 * weights, by EM from the sorted amplitudes cut into @m equal groups.
 * Returns the log-likelihood. */
static double
fit_mixture (const Data *d,
             guint       m,
             double     *mean,
             double     *sd,
             double     *weight)
{
  double floor_var = MIXTURE_MIN_SD * d->sd * MIXTURE_MIN_SD * d->sd;
  double prev = -INFINITY, ll = -INFINITY;
  guint i, j, it;

  g_assert (d->sorted != NULL);

  for (j = 0; j < m; j++)
    {
      guint from = j * d->n / m, to = (j + 1) * d->n / m;
      double s = 0, ss = 0;

      for (i = from; i < to; i++)
        s += d->sorted[i];
      mean[j] = s / (to - from);
      for (i = from; i < to; i++)
        ss += (d->sorted[i] - mean[j]) * (d->sorted[i] - mean[j]);
      sd[j] = sqrt (MAX (ss / (to - from), floor_var));
      weight[j] = 1.0 / m;
    }

  for (it = 0; it < EM_MAX_ITER; it++)
    {
      double R[IMP_QUANTAL_MIXTURE_MAX], S[IMP_QUANTAL_MIXTURE_MAX];
      double Q[IMP_QUANTAL_MIXTURE_MAX];
      double lw[IMP_QUANTAL_MIXTURE_MAX], inv[IMP_QUANTAL_MIXTURE_MAX];

      for (j = 0; j < m; j++)
        {
          lw[j] = log (weight[j]) - log (sqrt (2 * G_PI) * sd[j]);
          inv[j] = 0.5 / (sd[j] * sd[j]);
        }
      ll = e_step (d, m, lw, mean, inv, R, S, Q);
      if (ll - prev < EM_TOL * d->n)
        break;
      prev = ll;
      for (j = 0; j < m; j++)
        {
          double r = MAX (R[j], 1e-9);

          weight[j] = MAX (R[j] / d->n, 1e-12);
          mean[j] = S[j] / r;
          sd[j] = sqrt (MAX (Q[j] / r - mean[j] * mean[j], floor_var));
        }
    }
  return ll;
}

/* A replicate's amplitudes, binned: @n_points drawn from @m (exact: one
 * by one; binned: as counts in cells of BOOT_CELL_SD of each peak's SD
 * over ±BOOT_SPAN_SD SDs, the cells' probabilities @cells, peak by peak).
 * The bins of different peaks may overlap: EM needs only their counts
 * and moments. Returns the number of bins. */
static guint
sample_bins (const Mix    *m,
             gsl_rng      *rng,
             guint         n_points,
             const double *cells,
             double       *x,
             unsigned int *counts,
             Bin          *bins)
{
  unsigned int per_peak[MAX_K];
  guint k, j, n_bins = 0;

  if (cells == NULL)
    {
      for (j = 0; j < n_points; j++)
        x[j] = sample_one (m, rng);
      qsort (x, n_points, sizeof (double), compare_doubles);
      return bin_sorted (x, n_points, 0, bins);
    }

  gsl_ran_multinomial (rng, m->n + 1, n_points, m->w, per_peak);
  for (k = 0; k <= m->n; k++)
    {
      double sd = sqrt (m->a + k * m->b), width = BOOT_CELL_SD * sd;

      if (per_peak[k] == 0)
        continue;
      gsl_ran_multinomial (rng, BOOT_CELLS, per_peak[k], cells, counts);
      for (j = 0; j < BOOT_CELLS; j++)
        if (counts[j] > 0)
          {
            Bin *bin = &bins[n_bins++];

            bin->c = counts[j];
            bin->x = k * m->q + (j + 0.5 - BOOT_CELLS / 2.0) * width;
            bin->v = width * width / 12;
          }
    }
  return n_bins;
}

/* The probabilities of the BOOT_CELLS cells of a standard Gaussian. */
static void
gaussian_cells (double *cells)
{
  for (guint j = 0; j < BOOT_CELLS; j++)
    {
      double lo = (j - BOOT_CELLS / 2.0) * BOOT_CELL_SD;

      cells[j] = gsl_cdf_ugaussian_P (lo + BOOT_CELL_SD)
                 - gsl_cdf_ugaussian_P (lo);
    }
}

/* The SDs of q and of p relative to p over @n_boot replicates simulated
 * from @m and refitted at its order, starting from @m; @binned: the
 * replicates as bin counts (else as amplitudes). Returns the number of
 * replicates fitted. */
static guint
bootstrap (const Mix *m,
           guint      n_points,
           guint      n_boot,
           guint64    seed,
           gboolean   binned,
           double    *sd_q,
           double    *cv_p)
{
  guint max_bins = binned ? MIN (n_points, (m->n + 1) * BOOT_CELLS)
                          : n_points;
  g_autofree Bin *bins = g_new (Bin, max_bins);
  Columns cols;
  g_autofree double *columns = columns_alloc (&cols, max_bins);
  g_autofree double *x = binned ? NULL : g_new (double, n_points);
  double cells[BOOT_CELLS];
  unsigned int counts[BOOT_CELLS];
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);
  double sq = 0, sqq = 0, sp = 0, spp = 0;
  guint r, ok = 0;

  if (binned)
    gaussian_cells (cells);
  gsl_rng_set (rng, (unsigned long) (seed ^ (seed >> 32)) & 0xffffffffUL);
  for (r = 0; r < n_boot; r++)
    {
      Data d;
      Mix b = *m;
      guint n_bins;

      n_bins = sample_bins (m, rng, n_points, binned ? cells : NULL, x,
                            counts, bins);
      data_init (&d, bins, n_bins, NULL, &cols);
      if (!(d.sd > MIN_SD_MV))
        continue;
      em_run (&d, &b, BOOT_MAX_ITER, BOOT_TOL);
      if (!isfinite (b.ll))
        continue;
      sq += b.q - m->q;
      sqq += (b.q - m->q) * (b.q - m->q);
      sp += b.p / m->p - 1;
      spp += (b.p / m->p - 1) * (b.p / m->p - 1);
      ok++;
    }
  gsl_rng_free (rng);

  *sd_q = *cv_p = NAN;
  if (ok >= 2)
    {
      *sd_q = sqrt (MAX (sqq - sq * sq / ok, 0.0) / (ok - 1));
      *cv_p = sqrt (MAX (spp - sp * sp / ok, 0.0) / (ok - 1));
    }
  return ok;
}

/* 95 % intervals: the union over the orders in n_lo..n_hi of each
 * order's estimate ± 1.96 bootstrap SDs (the normal bootstrap interval,
 * which uses every replicate where percentiles of 100 rest on the few in
 * each tail; the union carries the uncertainty of n, which the replicates
 * at one order do not). */
static void
intervals (ImpQuantalFit *fit,
           const Mix     *fits,
           guint          n_tried,
           double         sd_q,
           double         cv_p)
{
  fit->q_lo_mv = fit->p_lo = INFINITY;
  fit->q_hi_mv = fit->p_hi = -INFINITY;
  for (guint n = fit->n_lo; n <= MIN (fit->n_hi, n_tried); n++)
    {
      fit->q_lo_mv = MIN (fit->q_lo_mv, fits[n].q - 1.96 * sd_q);
      fit->q_hi_mv = MAX (fit->q_hi_mv, fits[n].q + 1.96 * sd_q);
      fit->p_lo = MIN (fit->p_lo, fits[n].p * (1 - 1.96 * cv_p));
      fit->p_hi = MAX (fit->p_hi, fits[n].p * (1 + 1.96 * cv_p));
    }
  fit->q_lo_mv = MAX (fit->q_lo_mv, 0.0);
  fit->p_lo = CLAMP (fit->p_lo, 0.0, 1.0);
  fit->p_hi = CLAMP (fit->p_hi, 0.0, 1.0);
}

/* The verdict */

static double
peak_sd (const ImpQuantalFit *fit,
         guint                k)
{
  return sqrt (fit->sigma0_mv * fit->sigma0_mv
               + k * fit->sigma_q_mv * fit->sigma_q_mv);
}

/* Whether MIN_PEAKS peaks hold MIN_PEAK_TRIALS trials each; whether
 * the most frequent peak and its larger neighbour stand apart; and
 * whether q is fixed by more than the spacing of high peaks: when the
 * lowest peak with MIN_PEAK_TRIALS trials is peak k, a fit with one site
 * more or fewer moves the next peak by only about q / k, and unless that
 * is at least the peak's SD, the data cannot tell the two apart. */
static ImpQuantalVerdict
judge_peaks (const ImpQuantalFit *fit)
{
  guint k, mode = 0, other, lowest = G_MAXUINT, n_peaks = 0;

  for (k = 0; k <= fit->n; k++)
    {
      if (fit->weights[k] > fit->weights[mode])
        mode = k;
      if (fit->weights[k] * fit->n_used >= MIN_PEAK_TRIALS)
        {
          n_peaks++;
          lowest = MIN (lowest, k);
        }
    }
  if (n_peaks < MIN_PEAKS)
    return IMP_QUANTAL_FEW_PEAKS;
  if (mode == 0)
    other = 1;
  else if (mode == fit->n)
    other = mode - 1;
  else
    other = fit->weights[mode - 1] > fit->weights[mode + 1]
            ? mode - 1 : mode + 1;
  if (fit->q_mv < RESOLVE_FACTOR * (peak_sd (fit, mode)
                                    + peak_sd (fit, other)))
    return IMP_QUANTAL_UNRESOLVED;
  if (lowest > 1 && fit->q_mv / lowest < peak_sd (fit, lowest))
    return IMP_QUANTAL_AMBIGUOUS;
  return IMP_QUANTAL_QUANTA;
}

static void
fit_clear (ImpQuantalFit *fit)
{
  memset (fit, 0, sizeof *fit);
  fit->sign = 1;
  fit->q_mv = fit->q_lo_mv = fit->q_hi_mv = NAN;
  fit->p = fit->p_lo = fit->p_hi = NAN;
  fit->sigma0_mv = fit->sigma_q_mv = NAN;
  fit->mean_mv = fit->sd_mv = NAN;
  fit->bic_gaussian = fit->bic_binomial = fit->bic_mixture = NAN;
}

/* The range of orders within N_RANGE_BIC of the best in @bics. */
static void
order_range (const double  *bics,
             guint          n_max,
             guint          best,
             ImpQuantalFit *fit)
{
  fit->n_lo = fit->n_hi = best;
  for (guint n = 1; n <= n_max; n++)
    if (bics[n] <= bics[best] + N_RANGE_BIC)
      {
        fit->n_lo = MIN (fit->n_lo, n);
        fit->n_hi = MAX (fit->n_hi, n);
      }
}

/* The binomial fits of orders 1..n_max into @fits, as far as they are
 * tried; the best by BIC into @fit with the range of orders. Returns the
 * highest order tried. */
static guint
fit_binomials (const Data             *d,
               double                  a_known,
               const ImpQuantalParams *params,
               Mix                    *fits,
               ImpQuantalFit          *fit)
{
  double bics[MAX_K] = { 0 };
  guint n, n_max, best = 1, last_gain = 1;

  for (n = 1; n <= params->n_max; n++)
    {
      fit_binomial (d, n, a_known, n > 1 ? &fits[n - 1] : NULL, &fits[n]);
      bics[n] = bic (&fits[n], d->n);
      if (bics[n] < bics[best] - PLATEAU_BIC)
        last_gain = n;
      if (bics[n] < bics[best])
        best = n;
      /* STOP_ORDERS orders without a real gain: more sites do not help */
      if (n >= last_gain + STOP_ORDERS)
        break;
    }
  n_max = MIN (n, params->n_max);
  order_range (bics, n_max, best, fit);
  fit->n_max = params->n_max;
  /* stopped on a plateau: no upper bound for n was found */
  if (n_max < params->n_max && bics[n_max] <= bics[best] + N_RANGE_BIC)
    fit->n_hi = params->n_max;
  fit->bic_binomial = bics[best];
  fit->n = best;
  fit->q_mv = fits[best].q;
  fit->p = fits[best].p;
  fit->sigma0_mv = sqrt (fits[best].a);
  fit->sigma_q_mv = sqrt (fits[best].b);
  memcpy (fit->weights, fits[best].w, (best + 1) * sizeof (double));
  return n_max;
}

/* One Gaussian and the best unconstrained mixture of 2 to
 * IMP_QUANTAL_MIXTURE_MAX components, by BIC. */
static void
fit_alternatives (const Data    *d,
                  ImpQuantalFit *fit)
{
  double mean[IMP_QUANTAL_MIXTURE_MAX], sd[IMP_QUANTAL_MIXTURE_MAX];
  double weight[IMP_QUANTAL_MIXTURE_MAX];

  fit->mean_mv = d->mean;
  fit->sd_mv = d->sd;
  fit->bic_gaussian = d->n * (log (2 * G_PI * d->sd * d->sd) + 1)
                      + 2 * log (d->n);
  for (guint m = 2; m <= IMP_QUANTAL_MIXTURE_MAX; m++)
    {
      double ll = fit_mixture (d, m, mean, sd, weight);
      double b = -2 * ll + (3.0 * m - 1) * log (d->n);

      if (m == 2 || b < fit->bic_mixture)
        {
          fit->bic_mixture = b;
          fit->n_mixture = m;
          memcpy (fit->mixture_mean_mv, mean, m * sizeof (double));
          memcpy (fit->mixture_sd_mv, sd, m * sizeof (double));
          memcpy (fit->mixture_weight, weight, m * sizeof (double));
        }
    }
}

/* Quanta need the binomial model's BIC IMP_QUANTAL_BIC_MARGIN below the
 * single Gaussian's, and below the unconstrained mixture's (by any
 * amount: with one or two sites the mixture has only one or a few more
 * parameters, so it could never lose by the margin). */
static ImpQuantalVerdict
judge (ImpQuantalFit *fit)
{
  if (fit->bic_binomial < MIN (fit->bic_gaussian, fit->bic_mixture))
    fit->model = IMP_QUANTAL_MODEL_BINOMIAL;
  else if (fit->bic_gaussian <= fit->bic_mixture)
    fit->model = IMP_QUANTAL_MODEL_GAUSSIAN;
  else
    fit->model = IMP_QUANTAL_MODEL_MIXTURE;

  if (fit->bic_binomial > fit->bic_gaussian - IMP_QUANTAL_BIC_MARGIN)
    return IMP_QUANTAL_UNIMODAL;
  if (fit->bic_binomial >= fit->bic_mixture)
    return IMP_QUANTAL_NOT_EVEN;
  return judge_peaks (fit);
}

/* The narrowest peak of the binomial and the mixture fits (SD, mV). */
static double
narrowest_sd (const ImpQuantalFit *fit)
{
  double sd = fit->sigma0_mv;

  for (guint j = 0; j < fit->n_mixture; j++)
    sd = MIN (sd, fit->mixture_sd_mv[j]);
  return sd;
}

/* The largest variance of the amplitudes about their bin's mean. */
static double
largest_spread (const Data *d)
{
  double v = 0;

  for (guint i = 0; i < d->n_bins; i++)
    v = MAX (v, d->bins[i].v);
  return v;
}

/* The three models on the amplitudes @x (sorted) in bins, first
 * BIN_START to their SD; then, as long as the amplitudes of a bin spread
 * more than those of a bin of a BIN_FRACTION-th of the narrowest fitted
 * peak's SD would if uniform (h²/12), again in bins of that width (at
 * most BIN_ROUNDS times). @binned FALSE, or bins that would hold fewer
 * than 1 / BIN_MAX_SHARE amplitudes each: on the amplitudes themselves.
 * Returns the highest binomial order tried; leaves its fits in @fits. */
static guint
fit_models (const double           *x,
            guint                   n,
            double                  sd,
            double                  a_known,
            gboolean                binned,
            const ImpQuantalParams *params,
            Mix                    *fits,
            ImpQuantalFit          *fit)
{
  g_autofree Bin *bins = g_new (Bin, n);
  Columns cols;
  g_autofree double *columns = columns_alloc (&cols, n);
  double width = binned ? sd / BIN_START : 0, limit;
  guint round, n_tried = 0;
  Data d;

  for (round = 0; round <= BIN_ROUNDS; round++)
    {
      data_init (&d, bins, bin_sorted (x, n, width, bins), x, &cols);
      /* bins that save little work are not worth their approximation */
      if (width > 0 && d.n_bins > n * BIN_MAX_SHARE)
        {
          width = 0;
          data_init (&d, bins, bin_sorted (x, n, width, bins), x, &cols);
        }
      memset (fit->weights, 0, sizeof fit->weights);
      fit_alternatives (&d, fit);
      n_tried = fit_binomials (&d, a_known, params, fits, fit);
      limit = narrowest_sd (fit) / BIN_FRACTION;
      if (width == 0 || largest_spread (&d) <= limit * limit / 12)
        break;
      width = MIN (limit, width / 2);
    }
  return n_tried;
}

static void
fit_amplitudes (const float            *amplitudes,
                guint                   n_amplitudes,
                int                     sign,
                double                  sigma0_mv,
                const ImpQuantalParams *params,
                guint64                 stream,
                gboolean                binned,
                ImpQuantalFit          *fit)
{
  g_autofree double *x = NULL;
  double a_known = NAN, sum = 0, mean, ss = 0, sd, sd_q, cv_p;
  Mix fits[MAX_K];
  guint i, nu = 0, n_tried;

  fit_clear (fit);
  fit->n_trials = n_amplitudes;

  x = g_new (double, MAX (n_amplitudes, 1));
  for (i = 0; i < n_amplitudes; i++)
    if (isfinite (amplitudes[i]))
      {
        x[nu++] = amplitudes[i];
        sum += amplitudes[i];
      }
  fit->n_used = nu;
  fit->sign = sign > 0 ? 1 : sign < 0 ? -1 : sum >= 0 ? 1 : -1;
  for (i = 0; i < nu; i++)
    x[i] *= fit->sign;
  if (isfinite (sigma0_mv) && sigma0_mv > 0)
    a_known = sigma0_mv * sigma0_mv;
  fit->sigma0_known = isfinite (a_known);

  if (nu < params->min_trials)
    {
      fit->verdict = IMP_QUANTAL_TOO_FEW_TRIALS;
      return;
    }
  mean = fit->sign * sum / nu;
  for (i = 0; i < nu; i++)
    ss += (x[i] - mean) * (x[i] - mean);
  sd = sqrt (ss / nu);
  if (!(sd > MIN_SD_MV))
    {
      fit->verdict = IMP_QUANTAL_NO_SPREAD;
      return;
    }

  qsort (x, nu, sizeof (double), compare_doubles);
  n_tried = fit_models (x, nu, sd, a_known, binned, params, fits, fit);
  fit->verdict = judge (fit);
  if (fit->verdict != IMP_QUANTAL_QUANTA || params->n_bootstrap == 0)
    return;

  fit->n_bootstrap = bootstrap (&fits[fit->n], nu, params->n_bootstrap,
                                mix64 (params->seed ^ mix64 (stream)),
                                binned, &sd_q, &cv_p);
  if (fit->n_bootstrap >= 2)
    intervals (fit, fits, n_tried, sd_q, cv_p);
}

/* The public fits' checks, then the fit, binned or not. */
static void
fit_checked (const float            *amplitudes,
             guint                   n_amplitudes,
             int                     sign,
             double                  sigma0_mv,
             const ImpQuantalParams *params,
             guint64                 stream,
             gboolean                binned,
             ImpQuantalFit          *fit)
{
  g_return_if_fail (amplitudes != NULL || n_amplitudes == 0);
  g_return_if_fail (params != NULL);
  g_return_if_fail (fit != NULL);

  fit_clear (fit);
  fit->n_trials = n_amplitudes;
  g_return_if_fail (imp_quantal_params_validate (params, NULL));

  fit_amplitudes (amplitudes, n_amplitudes, sign, sigma0_mv, params, stream,
                  binned, fit);
}

/**
 * imp_quantal_fit:
 * @amplitudes: (array length=n_amplitudes): per-trial PSP amplitudes, mV,
 *   failures included; values that are not finite are left out
 * @n_amplitudes: their number
 * @sign: the connection's sign: 1 (excitatory), -1 (inhibitory), or 0 to
 *   take it from the mean amplitude
 * @sigma0_mv: the SD of the failures when known from the baseline noise
 *   (mV, positive), or NAN to fit it
 * @params: the parameters (see imp_quantal_params_validate())
 * @stream: mixed with the seed, so that each connection has its own
 *   bootstrap replicates whatever the order of work
 * @fit: (out caller-allocates): the result
 *
 * Fits the amplitudes, multiplied by the sign, with Gaussians at k·q for
 * k = 0..n, the SD of peak k sqrt(σ0² + k·σq²) and binomial(n, p)
 * weights, by EM at each n from 1 to n_max; and, as alternatives without
 * quanta, with one Gaussian and with mixtures of 2 to
 * %IMP_QUANTAL_MIXTURE_MAX Gaussians whose means, SDs and weights are
 * free. Quanta are claimed (%IMP_QUANTAL_QUANTA) only with at least
 * min_trials finite amplitudes, when the binomial model's BIC is lower
 * than the Gaussian's by %IMP_QUANTAL_BIC_MARGIN and lower than the
 * unconstrained mixture's, three peaks hold 5 trials each, the most
 * frequent peak and its larger neighbour are further apart than the sum
 * of their SDs, and the lowest peak with 5 trials, k, is low enough that
 * q / k is at least its SD (high peaks alone fit another number of sites
 * as well); otherwise the verdict says which test failed. Intervals
 * (95 %, parametric bootstrap) are computed for claimed fits only.
 * Deterministic for given input, parameters and @stream.
 */
void
imp_quantal_fit (const float            *amplitudes,
                 guint                   n_amplitudes,
                 int                     sign,
                 double                  sigma0_mv,
                 const ImpQuantalParams *params,
                 guint64                 stream,
                 ImpQuantalFit          *fit)
{
  fit_checked (amplitudes, n_amplitudes, sign, sigma0_mv, params, stream,
               TRUE, fit);
}

/**
 * _imp_quantal_fit_unbinned:
 *
 * As imp_quantal_fit(), but EM runs on the amplitudes themselves and the
 * bootstrap draws each replicate's amplitudes one by one: the reference
 * the binned fit is tested against.
 */
void
_imp_quantal_fit_unbinned (const float            *amplitudes,
                           guint                   n_amplitudes,
                           int                     sign,
                           double                  sigma0_mv,
                           const ImpQuantalParams *params,
                           guint64                 stream,
                           ImpQuantalFit          *fit)
{
  fit_checked (amplitudes, n_amplitudes, sign, sigma0_mv, params, stream,
               FALSE, fit);
}

/**
 * imp_quantal_fit_skip:
 * @amplitudes: (array length=n_amplitudes) (nullable): the amplitudes that
 *   were not fitted
 * @n_amplitudes: their number
 * @sign: the connection's sign, 1 or -1
 * @verdict: why they were not fitted, such as
 *   %IMP_QUANTAL_NOT_SIGNIFICANT
 * @fit: (out caller-allocates): the result
 *
 * Fills @fit as a fit that was not made, for the reason @verdict: no
 * model, every number NAN, the counts of amplitudes given and finite.
 */
void
imp_quantal_fit_skip (const float       *amplitudes,
                      guint              n_amplitudes,
                      int                sign,
                      ImpQuantalVerdict  verdict,
                      ImpQuantalFit     *fit)
{
  g_return_if_fail (amplitudes != NULL || n_amplitudes == 0);
  g_return_if_fail (fit != NULL);

  fit_clear (fit);
  fit->verdict = verdict;
  fit->sign = sign < 0 ? -1 : 1;
  fit->n_trials = n_amplitudes;
  for (guint i = 0; i < n_amplitudes; i++)
    fit->n_used += isfinite (amplitudes[i]);
}

/**
 * imp_quantal_verdict_to_string:
 * @verdict: a verdict
 *
 * Returns: a short key for files: "quanta", "too_few_trials",
 *   "no_spread", "unimodal", "not_even", "few_peaks", "unresolved",
 *   "ambiguous", "not_significant" or "not_fitted"
 */
const char *
imp_quantal_verdict_to_string (ImpQuantalVerdict verdict)
{
  switch (verdict)
    {
    case IMP_QUANTAL_QUANTA:
      return "quanta";
    case IMP_QUANTAL_TOO_FEW_TRIALS:
      return "too_few_trials";
    case IMP_QUANTAL_NO_SPREAD:
      return "no_spread";
    case IMP_QUANTAL_UNIMODAL:
      return "unimodal";
    case IMP_QUANTAL_NOT_EVEN:
      return "not_even";
    case IMP_QUANTAL_FEW_PEAKS:
      return "few_peaks";
    case IMP_QUANTAL_UNRESOLVED:
      return "unresolved";
    case IMP_QUANTAL_AMBIGUOUS:
      return "ambiguous";
    case IMP_QUANTAL_NOT_SIGNIFICANT:
      return "not_significant";
    case IMP_QUANTAL_NOT_FITTED:
    default:
      return "not_fitted";
    }
}

/**
 * imp_quantal_model_to_string:
 * @model: a model
 *
 * Returns: "gaussian", "binomial", "mixture" or "none"
 */
const char *
imp_quantal_model_to_string (ImpQuantalModel model)
{
  switch (model)
    {
    case IMP_QUANTAL_MODEL_GAUSSIAN:
      return "gaussian";
    case IMP_QUANTAL_MODEL_BINOMIAL:
      return "binomial";
    case IMP_QUANTAL_MODEL_MIXTURE:
      return "mixture";
    case IMP_QUANTAL_MODEL_NONE:
    default:
      return "none";
    }
}

static char *
describe_quanta (const ImpQuantalFit *fit)
{
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "q = %.3f mV", fit->q_mv);
  if (isfinite (fit->q_lo_mv))
    g_string_append_printf (s, " (95%% %.3f–%.3f)", fit->q_lo_mv,
                            fit->q_hi_mv);
  g_string_append_printf (s, ", n = %u", fit->n);
  if (fit->n_hi >= fit->n_max && fit->n_lo < fit->n_hi)
    g_string_append_printf (s, " (%u or more)", fit->n_lo);
  else if (fit->n_lo != fit->n_hi)
    g_string_append_printf (s, " (%u–%u)", fit->n_lo, fit->n_hi);
  g_string_append_printf (s, ", p = %.2f", fit->p);
  if (isfinite (fit->p_lo))
    g_string_append_printf (s, " (%.2f–%.2f)", fit->p_lo, fit->p_hi);
  g_string_append_printf (s, "; BIC prefers binomial quanta to one "
                          "Gaussian by %.0f", fit->bic_gaussian
                                              - fit->bic_binomial);
  return g_string_free (s, FALSE);
}

/**
 * imp_quantal_fit_describe:
 * @fit: a fit
 *
 * Returns: (transfer full): one line for people: the quantal size with
 *   its interval, n and p, or why no quanta are claimed
 */
char *
imp_quantal_fit_describe (const ImpQuantalFit *fit)
{
  g_return_val_if_fail (fit != NULL, NULL);

  switch (fit->verdict)
    {
    case IMP_QUANTAL_QUANTA:
      return describe_quanta (fit);
    case IMP_QUANTAL_TOO_FEW_TRIALS:
      if (fit->n_trials == 0)
        return g_strdup ("No quanta claimed: no amplitudes to fit");
      if (fit->n_used < fit->n_trials)
        return g_strdup_printf ("No quanta claimed: %u of %u amplitudes are "
                                "usable (the others are not numbers), too "
                                "few to fit", fit->n_used, fit->n_trials);
      return g_strdup_printf ("No quanta claimed: %u trials are too few to "
                              "fit", fit->n_used);
    case IMP_QUANTAL_NO_SPREAD:
      return g_strdup ("No quanta claimed: the amplitudes are all equal");
    case IMP_QUANTAL_UNIMODAL:
      return g_strdup ("No quanta claimed: BIC does not prefer quanta to a "
                       "single Gaussian");
    case IMP_QUANTAL_NOT_EVEN:
      return g_strdup ("No quanta claimed: BIC does not prefer evenly "
                       "spaced peaks to peaks placed freely");
    case IMP_QUANTAL_FEW_PEAKS:
      return g_strdup ("No quanta claimed: fewer than three peaks hold 5 "
                       "trials each, too few to show even spacing");
    case IMP_QUANTAL_UNRESOLVED:
      return g_strdup_printf ("No quanta claimed: peaks %.3f mV apart are "
                              "not resolved (SD %.3f mV)", fit->q_mv,
                              fit->sigma0_mv);
    case IMP_QUANTAL_AMBIGUOUS:
      return g_strdup ("No quanta claimed: failures and small responses are "
                       "too rare; the spacing of the large ones fits another "
                       "number of sites as well");
    case IMP_QUANTAL_NOT_SIGNIFICANT:
      return g_strdup ("No quantal fit: not a significant connection (only "
                       "significant connections are fitted)");
    case IMP_QUANTAL_NOT_FITTED:
    default:
      return g_strdup ("No quantal fit");
    }
}

static double
normal_pdf (double x,
            double mean,
            double sd)
{
  double z = (x - mean) / sd;

  return exp (-0.5 * z * z) / (sqrt (2 * G_PI) * sd);
}

/**
 * imp_quantal_fit_density:
 * @fit: a fit
 * @k: a peak of the binomial fit (0 to fit->n), or
 *   %IMP_QUANTAL_DENSITY_BINOMIAL, %IMP_QUANTAL_DENSITY_GAUSSIAN or
 *   %IMP_QUANTAL_DENSITY_MIXTURE for a whole model
 * @amplitude_mv: a recorded (signed) amplitude
 *
 * Returns: the fitted probability density (per mV) at @amplitude_mv of
 *   peak @k, weighted, or of a model; NAN when there is no such fit
 */
double
imp_quantal_fit_density (const ImpQuantalFit *fit,
                         int                  k,
                         double               amplitude_mv)
{
  double x, sum = 0;
  guint j;

  g_return_val_if_fail (fit != NULL, NAN);

  x = fit->sign * amplitude_mv;
  switch (k)
    {
    case IMP_QUANTAL_DENSITY_GAUSSIAN:
      return fit->sd_mv > 0 ? normal_pdf (x, fit->mean_mv, fit->sd_mv) : NAN;
    case IMP_QUANTAL_DENSITY_MIXTURE:
      if (fit->n_mixture == 0)
        return NAN;
      for (j = 0; j < fit->n_mixture; j++)
        sum += fit->mixture_weight[j] * normal_pdf (x, fit->mixture_mean_mv[j],
                                                    fit->mixture_sd_mv[j]);
      return sum;
    case IMP_QUANTAL_DENSITY_BINOMIAL:
      if (fit->n == 0)
        return NAN;
      for (j = 0; j <= fit->n; j++)
        sum += fit->weights[j] * normal_pdf (x, j * fit->q_mv,
                                             peak_sd (fit, j));
      return sum;
    default:
      if (fit->n == 0 || k < 0 || k > (int) fit->n)
        return NAN;
      return fit->weights[k] * normal_pdf (x, k * fit->q_mv,
                                           peak_sd (fit, (guint) k));
    }
}
