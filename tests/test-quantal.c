/* test-quantal.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "imp-analysis.h"
#include "imp-map.h"
#include "imp-quantal-private.h"
#include "imp-simulate.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (gsl_rng, gsl_rng_free)

#define BINOMIAL IMP_QUANTAL_DENSITY_BINOMIAL

/* The binomial model the fit assumes: k ~ binomial(n, p) quanta of size
 * q, each adding variance (cv·q)², on failures with SD sigma0. */
typedef struct
{
  double q;
  guint  n;
  double p;
  double sigma0;
  double cv;
} Truth;

static float *
simulate (const Truth *t,
          guint        n_trials,
          guint64      seed)
{
  g_autoptr(gsl_rng) rng = gsl_rng_alloc (gsl_rng_mt19937);
  float *x = g_new (float, n_trials);

  gsl_rng_set (rng, (unsigned long) seed);
  for (guint i = 0; i < n_trials; i++)
    {
      unsigned int k = gsl_ran_binomial (rng, t->p, t->n);
      double sd = sqrt (t->sigma0 * t->sigma0
                        + k * (t->cv * t->q) * (t->cv * t->q));

      x[i] = (float) (k * t->q + gsl_ran_gaussian (rng, sd));
    }
  return x;
}

static void
fit_default (const float   *x,
             guint          n,
             int            sign,
             double         sigma0,
             ImpQuantalFit *fit)
{
  ImpQuantalParams params;

  imp_quantal_params_init_default (&params);
  imp_quantal_fit (x, n, sign, sigma0, &params, 0, fit);
}

static gboolean
within (double value,
        double truth,
        double rel)
{
  return fabs (value - truth) <= rel * truth;
}

/* Four release sites, p = 0.5, 200 trials (about 400 quanta released):
 * q within 10 %, n and p found, the intervals around the truth; with the
 * failures' SD fitted and given. */
static void
test_recovery (void)
{
  const Truth t = { 0.5, 4, 0.5, 0.1, 0.1 };
  g_autofree float *x = simulate (&t, 200, 7);
  ImpQuantalFit fit;

  for (int known = 0; known < 2; known++)
    {
      fit_default (x, 200, 0, known ? t.sigma0 : NAN, &fit);
      g_assert_cmpint (fit.verdict, ==, IMP_QUANTAL_QUANTA);
      g_assert_cmpint (fit.model, ==, IMP_QUANTAL_MODEL_BINOMIAL);
      g_assert_cmpint (fit.sign, ==, 1);
      g_assert_cmpuint (fit.n_used, ==, 200);
      g_assert_true (within (fit.q_mv, t.q, 0.10));
      g_assert_cmpuint (fit.n, ==, t.n);
      g_assert_cmpuint (fit.n_lo, <=, t.n);
      g_assert_cmpuint (fit.n_hi, >=, t.n);
      g_assert_cmpfloat (fabs (fit.p - t.p), <, 0.1);
      g_assert_cmpfloat (fit.q_lo_mv, <=, t.q);
      g_assert_cmpfloat (fit.q_hi_mv, >=, t.q);
      g_assert_cmpfloat (fit.p_lo, <=, t.p);
      g_assert_cmpfloat (fit.p_hi, >=, t.p);
      g_assert_cmpfloat (fabs (fit.sigma0_mv - t.sigma0), <, 0.03);
      g_assert_true (fit.sigma0_known == known);
      g_assert_cmpuint (fit.n_bootstrap, ==, 100);
      g_assert_cmpfloat (fit.bic_binomial, <, fit.bic_gaussian);
    }
}

/* Over 40 seeds the 95 % intervals cover the true q in at least 85 % of
 * the fits and p in at least 80 %; n lies in its range in most. */
static void
test_coverage (void)
{
  const Truth truths[] = {
    { 0.4, 3, 0.4, 0.08, 0.1 },
    { 0.35, 5, 0.3, 0.07, 0.1 },
  };

  for (guint c = 0; c < G_N_ELEMENTS (truths); c++)
    {
      const Truth *t = &truths[c];
      guint claimed = 0, q_in = 0, p_in = 0, n_in = 0, q_close = 0;

      for (guint64 seed = 1; seed <= 40; seed++)
        {
          g_autofree float *x = simulate (t, 150, 1000 * c + seed);
          ImpQuantalFit fit;

          fit_default (x, 150, 1, NAN, &fit);
          if (fit.verdict != IMP_QUANTAL_QUANTA)
            continue;
          claimed++;
          q_in += fit.q_lo_mv <= t->q && t->q <= fit.q_hi_mv;
          p_in += fit.p_lo <= t->p && t->p <= fit.p_hi;
          n_in += fit.n_lo <= t->n && t->n <= fit.n_hi;
          q_close += within (fit.q_mv, t->q, 0.10);
        }
      g_test_message ("q %.2f n %u p %.2f: claimed %u/40, q covered %u, "
                      "p covered %u, n in range %u, q within 10 %% %u",
                      t->q, t->n, t->p, claimed, q_in, p_in, n_in, q_close);
      g_assert_cmpuint (claimed, >=, 36);
      g_assert_cmpuint (q_in, >=, (guint) ceil (0.85 * claimed));
      g_assert_cmpuint (p_in, >=, (guint) ceil (0.80 * claimed));
      g_assert_cmpuint (n_in, >=, (guint) ceil (0.80 * claimed));
      g_assert_cmpuint (q_close, >=, (guint) ceil (0.90 * claimed));
    }
}

/* The perspective's case: 149 amplitudes of one pair with evenly spaced
 * peaks. */
static void
test_single_pair (void)
{
  const Truth t = { 0.35, 5, 0.35, 0.07, 0.08 };
  g_autofree float *x = simulate (&t, 149, 149);
  g_autofree char *text = NULL;
  ImpQuantalFit fit;

  fit_default (x, 149, 0, NAN, &fit);
  text = imp_quantal_fit_describe (&fit);
  g_test_message ("%s", text);
  g_assert_cmpint (fit.verdict, ==, IMP_QUANTAL_QUANTA);
  g_assert_true (within (fit.q_mv, t.q, 0.10));
  g_assert_cmpuint (fit.n_lo, <=, t.n);
  g_assert_cmpuint (fit.n_hi, >=, t.n);
  g_assert_cmpfloat (fit.q_lo_mv, <=, t.q);
  g_assert_cmpfloat (fit.q_hi_mv, >=, t.q);
  g_assert_true (g_str_has_prefix (text, "q = 0.3"));
  g_assert_nonnull (strstr (text, "binomial"));
}

/* Gaussian amplitudes (a synapse without visible quanta) and uniform
 * ones: never quanta, over 20 seeds each. */
static void
test_no_quanta (void)
{
  g_autoptr(gsl_rng) rng = gsl_rng_alloc (gsl_rng_mt19937);
  float x[200];

  for (guint64 seed = 1; seed <= 20; seed++)
    {
      ImpQuantalFit fit;

      gsl_rng_set (rng, (unsigned long) seed);
      for (guint i = 0; i < G_N_ELEMENTS (x); i++)
        x[i] = (float) (1.0 + gsl_ran_gaussian (rng, 0.3));
      fit_default (x, G_N_ELEMENTS (x), 0, NAN, &fit);
      g_assert_cmpint (fit.verdict, !=, IMP_QUANTAL_QUANTA);
      g_assert_cmpint (fit.verdict, ==, IMP_QUANTAL_UNIMODAL);
      g_assert_cmpfloat (fabs (fit.mean_mv - 1.0), <, 0.1);

      for (guint i = 0; i < G_N_ELEMENTS (x); i++)
        x[i] = (float) gsl_ran_flat (rng, 0.0, 2.0);
      fit_default (x, G_N_ELEMENTS (x), 0, NAN, &fit);
      g_assert_cmpint (fit.verdict, !=, IMP_QUANTAL_QUANTA);
      g_assert_true (isnan (fit.q_lo_mv));
    }
}

/* Clear quanta, but one trial fewer than min_trials: refused, saying so;
 * at min_trials they are fitted. */
static void
test_too_few (void)
{
  const Truth t = { 0.5, 2, 0.5, 0.05, 0.05 };
  g_autofree float *x = simulate (&t, 50, 3);
  g_autofree char *text = NULL;
  ImpQuantalParams params;
  ImpQuantalFit fit;

  imp_quantal_params_init_default (&params);
  g_assert_cmpuint (params.min_trials, ==, 50);
  imp_quantal_fit (x, 49, 0, NAN, &params, 0, &fit);
  g_assert_cmpint (fit.verdict, ==, IMP_QUANTAL_TOO_FEW_TRIALS);
  g_assert_true (isnan (fit.q_mv));
  text = imp_quantal_fit_describe (&fit);
  g_assert_cmpstr (text, ==, "No quanta claimed: 49 trials are too few to "
                             "fit");
  g_assert_cmpstr (imp_quantal_verdict_to_string (fit.verdict), ==,
                   "too_few_trials");

  imp_quantal_fit (x, 50, 0, NAN, &params, 0, &fit);
  g_assert_cmpint (fit.verdict, ==, IMP_QUANTAL_QUANTA);
  g_assert_true (within (fit.q_mv, t.q, 0.10));

  imp_quantal_fit (NULL, 0, 0, NAN, &params, 0, &fit);
  g_assert_cmpint (fit.verdict, ==, IMP_QUANTAL_TOO_FEW_TRIALS);
  g_assert_cmpuint (fit.n_used, ==, 0);
  g_clear_pointer (&text, g_free);
  text = imp_quantal_fit_describe (&fit);
  g_assert_cmpstr (text, ==, "No quanta claimed: no amplitudes to fit");

  /* not fitted because not a significant connection: it says so */
  imp_quantal_fit_skip (x, 50, -1, IMP_QUANTAL_NOT_SIGNIFICANT, &fit);
  g_assert_cmpint (fit.verdict, ==, IMP_QUANTAL_NOT_SIGNIFICANT);
  g_assert_cmpint (fit.sign, ==, -1);
  g_assert_cmpuint (fit.n_used, ==, 50);
  g_assert_true (isnan (fit.q_mv) && isnan (fit.bic_binomial));
  g_assert_cmpstr (imp_quantal_verdict_to_string (fit.verdict), ==,
                   "not_significant");
  g_clear_pointer (&text, g_free);
  text = imp_quantal_fit_describe (&fit);
  g_assert_cmpstr (text, ==, "No quantal fit: not a significant connection "
                             "(only significant connections are fitted)");
}

/* Values that are not numbers are left out: the fit equals the fit of the
 * rest; when too few remain, the reason names them. */
static void
test_nan (void)
{
  const Truth t = { 0.5, 4, 0.5, 0.1, 0.1 };
  g_autofree float *x = simulate (&t, 200, 11);
  g_autofree float *y = g_new (float, 260);
  g_autofree char *text = NULL;
  ImpQuantalFit a, b;
  guint i, j = 0;

  for (i = 0; i < 200; i++)
    {
      if (i % 10 == 0)
        y[j++] = NAN;
      if (i % 20 == 5)
        y[j++] = (float) (i % 40 == 5 ? INFINITY : -INFINITY);
      y[j++] = x[i];
    }
  fit_default (x, 200, 0, NAN, &a);
  fit_default (y, j, 0, NAN, &b);
  g_assert_cmpuint (b.n_trials, ==, j);
  g_assert_cmpuint (b.n_used, ==, 200);
  b.n_trials = a.n_trials;
  g_assert_cmpmem (&a, sizeof a, &b, sizeof b);

  for (i = 0; i < 100; i++)
    y[i] = i < 30 ? x[i] : NAN;
  fit_default (y, 100, 0, NAN, &b);
  g_assert_cmpint (b.verdict, ==, IMP_QUANTAL_TOO_FEW_TRIALS);
  text = imp_quantal_fit_describe (&b);
  g_assert_cmpstr (text, ==, "No quanta claimed: 30 of 100 amplitudes are "
                             "usable (the others are not numbers), too few "
                             "to fit");

  for (i = 0; i < 100; i++)
    y[i] = 0.25f;
  fit_default (y, 100, 0, NAN, &b);
  g_assert_cmpint (b.verdict, ==, IMP_QUANTAL_NO_SPREAD);
}

/* An inhibitory connection: the negated amplitudes give the same fit,
 * with sign -1, and the densities mirror. */
static void
test_inhibitory (void)
{
  const Truth t = { 0.5, 4, 0.5, 0.1, 0.1 };
  g_autofree float *x = simulate (&t, 200, 5);
  g_autofree float *y = g_new (float, 200);
  ImpQuantalFit a, b;

  for (guint i = 0; i < 200; i++)
    y[i] = -x[i];
  fit_default (x, 200, 1, NAN, &a);
  fit_default (y, 200, -1, NAN, &b);
  g_assert_cmpint (b.sign, ==, -1);
  g_assert_cmpint (b.verdict, ==, IMP_QUANTAL_QUANTA);
  g_assert_cmpfloat (b.q_mv, >, 0);
  b.sign = 1;
  g_assert_cmpmem (&a, sizeof a, &b, sizeof b);
  b.sign = -1;
  g_assert_cmpfloat (imp_quantal_fit_density (&a, BINOMIAL, 0.5), ==,
                     imp_quantal_fit_density (&b, BINOMIAL, -0.5));

  /* the sign from the mean */
  fit_default (y, 200, 0, NAN, &b);
  g_assert_cmpint (b.sign, ==, -1);
}

/* The same input gives the same bits; another stream other replicates. */
static void
test_deterministic (void)
{
  const Truth t = { 0.4, 3, 0.4, 0.1, 0.1 };
  g_autofree float *x = simulate (&t, 150, 2);
  ImpQuantalParams params;
  ImpQuantalFit a, b;

  imp_quantal_params_init_default (&params);
  imp_quantal_fit (x, 150, 0, NAN, &params, 42, &a);
  imp_quantal_fit (x, 150, 0, NAN, &params, 42, &b);
  g_assert_cmpmem (&a, sizeof a, &b, sizeof b);
  g_assert_cmpint (a.verdict, ==, IMP_QUANTAL_QUANTA);

  imp_quantal_fit (x, 150, 0, NAN, &params, 43, &b);
  g_assert_cmpfloat (a.q_mv, ==, b.q_mv);
  g_assert_cmpfloat (a.q_lo_mv, !=, b.q_lo_mv);

  params.n_bootstrap = 0;
  imp_quantal_fit (x, 150, 0, NAN, &params, 42, &b);
  g_assert_cmpfloat (a.q_mv, ==, b.q_mv);
  g_assert_true (isnan (b.q_lo_mv));
  g_assert_cmpuint (b.n_bootstrap, ==, 0);
}

/* The density: each peak integrates to its weight, all to 1, and the sum
 * is the sum of the peaks (midpoint rule over ±10 SD). */
static void
test_density (void)
{
  const Truth t = { 0.5, 4, 0.5, 0.1, 0.1 };
  g_autofree float *x = simulate (&t, 200, 9);
  ImpQuantalFit fit;
  double step = 1e-3, total = 0, gauss = 0;

  fit_default (x, 200, 0, NAN, &fit);
  g_assert_cmpint (fit.verdict, ==, IMP_QUANTAL_QUANTA);
  for (guint k = 0; k <= fit.n; k++)
    {
      double area = 0;

      for (double v = -2; v < 5; v += step)
        area += imp_quantal_fit_density (&fit, (int) k, v + step / 2) * step;
      g_assert_cmpfloat (fabs (area - fit.weights[k]), <, 1e-6);
    }
  for (double v = -2; v < 5; v += step)
    {
      double parts = 0;

      for (guint k = 0; k <= fit.n; k++)
        parts += imp_quantal_fit_density (&fit, (int) k, v);
      g_assert_cmpfloat (fabs (parts - imp_quantal_fit_density (&fit, BINOMIAL,
                                                                 v)),
                         <, 1e-12);
      total += imp_quantal_fit_density (&fit, BINOMIAL, v + step / 2) * step;
      gauss += imp_quantal_fit_density (&fit, IMP_QUANTAL_DENSITY_GAUSSIAN,
                                        v + step / 2) * step;
    }
  g_assert_cmpfloat (fabs (total - 1), <, 1e-6);
  g_assert_cmpfloat (fabs (gauss - 1), <, 1e-6);
  g_assert_true (isnan (imp_quantal_fit_density (&fit, (int) fit.n + 1, 0)));
}

static void
test_params (void)
{
  ImpQuantalParams params, bad;
  g_autoptr(GError) error = NULL;

  imp_quantal_params_init_default (&params);
  g_assert_true (imp_quantal_params_validate (&params, &error));
  g_assert_no_error (error);

  bad = params;
  bad.n_max = 0;
  g_assert_false (imp_quantal_params_validate (&bad, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "release sites"));
  g_clear_error (&error);

  bad = params;
  bad.n_max = IMP_QUANTAL_MAX_SITES + 1;
  g_assert_false (imp_quantal_params_validate (&bad, NULL));
  bad = params;
  bad.min_trials = 19;
  g_assert_false (imp_quantal_params_validate (&bad, NULL));
  bad = params;
  bad.n_bootstrap = 10001;
  g_assert_false (imp_quantal_params_validate (&bad, NULL));
}

/* Binned EM against EM on the amplitudes themselves (the reference), on
 * 1,500 trials, where the fit bins them. Bins of at most σ0/8 add
 * σ0²/768 of variance, which the M step takes out, and leave errors of
 * the order of (h/σ)⁴ ≈ 2·10⁻⁴; larger is where each EM stops: when a
 * step gains less than 10⁻⁵ per amplitude (0.015 here), along a flat
 * likelihood a few such steps are left, and a log-likelihood 0.03 below
 * the top lies 0.25 standard errors away. So: the same verdict and n,
 * the range of n within one order (its ends are orders 3.84 BIC from the
 * best); q and p within a quarter of their standard errors (the
 * reference's interval / 3.92); the BIC of quanta against one Gaussian
 * within 0.5 (a twentieth of the margin). The interval widths (from
 * bootstrap SDs, 400 replicates each) agree within 20 %: two independent
 * estimates of an SD from 400 replicates differ by 5 % (SD), so that is
 * 4 SDs. The binned fit must differ in some bit, or nothing was
 * binned. */
static void
test_binned (void)
{
  const Truth truths[] = {
    { 0.4, 3, 0.4, 0.08, 0.1 },
    { 0.3, 8, 0.2, 0.1, 0.15 },
  };
  ImpQuantalParams params;
  guint n_differ = 0;

  imp_quantal_params_init_default (&params);
  params.n_bootstrap = 400;
  for (guint c = 0; c < G_N_ELEMENTS (truths); c++)
    for (guint64 seed = 1; seed <= 4; seed++)
      {
        g_autofree float *x = simulate (&truths[c], 1500, 500 * c + seed);
        ImpQuantalFit a, b;
        double se_q, se_p, w_a, w_b;

        imp_quantal_fit (x, 1500, 1, NAN, &params, seed, &a);
        _imp_quantal_fit_unbinned (x, 1500, 1, NAN, &params, seed, &b);
        g_test_message ("q %.2f seed %u: q %.5f / %.5f, n %u / %u, "
                        "p %.4f / %.4f, interval of q %.4f / %.4f",
                        truths[c].q, (guint) seed, a.q_mv, b.q_mv, a.n, b.n,
                        a.p, b.p, a.q_hi_mv - a.q_lo_mv,
                        b.q_hi_mv - b.q_lo_mv);
        g_assert_cmpint (a.verdict, ==, IMP_QUANTAL_QUANTA);
        g_assert_cmpint (a.verdict, ==, b.verdict);
        g_assert_cmpuint (a.n, ==, b.n);
        g_assert_cmpuint (a.n_lo + 1, >=, b.n_lo);
        g_assert_cmpuint (a.n_lo, <=, b.n_lo + 1);
        g_assert_cmpuint (a.n_hi + 1, >=, b.n_hi);
        g_assert_cmpuint (a.n_hi, <=, b.n_hi + 1);
        se_q = (b.q_hi_mv - b.q_lo_mv) / (2 * 1.96);
        se_p = (b.p_hi - b.p_lo) / (2 * 1.96);
        g_assert_cmpfloat (fabs (a.q_mv - b.q_mv), <=, 0.25 * se_q);
        g_assert_cmpfloat (fabs (a.p - b.p), <=, 0.25 * se_p);
        g_assert_cmpfloat (fabs ((a.bic_gaussian - a.bic_binomial)
                                 - (b.bic_gaussian - b.bic_binomial)),
                           <=, 0.5);
        w_a = a.q_hi_mv - a.q_lo_mv;
        w_b = b.q_hi_mv - b.q_lo_mv;
        g_assert_true (within (w_a, w_b, 0.20));
        n_differ += a.q_mv != b.q_mv;
      }
  g_assert_cmpuint (n_differ, >, 0);
}

/* The E step's exp() against the C library's over its range, [-25, 0]:
 * evenly spaced points with both ends, and the multiples of ln 2 (where
 * the range reduction changes k) with their neighbouring doubles. Within
 * 4·10^-16 relative (two roundings of the C library's exp()), and e^0
 * exactly 1. */
static void
test_exp (void)
{
  const guint n = 250000;
  double worst = 0;
  guint i;

  g_assert_cmpfloat (_imp_quantal_exp (0), ==, 1);
  for (i = 0; i <= n + 3 * 37; i++)
    {
      double y, e, rel;

      if (i <= n)
        y = -25.0 * i / n;
      else
        {
          guint j = i - n - 1, k = j / 3;

          y = -(double) k * G_LN2;
          if (j % 3 == 1)
            y = nextafter (y, -INFINITY);
          else if (j % 3 == 2)
            y = nextafter (y, 0);
        }
      if (y < -25 || y > 0)
        continue;
      e = exp (y);
      rel = fabs (_imp_quantal_exp (y) - e) / e;
      worst = MAX (worst, rel);
      if (rel > 4e-16)
        g_error ("exp(%.17g): %.17g, the C library %.17g", y,
                 _imp_quantal_exp (y), e);
    }
  g_test_message ("largest relative error %.3g", worst);
}

/* Both widths of the E step give the same bits: fits of clear quanta
 * (with the bootstrap) binned, one by one, and of Gaussian amplitudes,
 * with four lanes and with two. Skipped on processors without AVX2. */
static void
test_lanes (void)
{
  const Truth t = { 0.4, 3, 0.4, 0.08, 0.1 };
  ImpQuantalParams params;

  if (!_imp_quantal_set_lanes (4))
    {
      g_test_skip ("the processor has no AVX2");
      return;
    }
  imp_quantal_params_init_default (&params);
  for (guint c = 0; c < 3; c++)
    {
      guint n = c == 0 ? 1500 : 200;
      g_autofree float *x = simulate (&t, n, 40 + c);
      ImpQuantalFit wide, narrow;

      if (c == 2)
        {
          g_autoptr(gsl_rng) rng = gsl_rng_alloc (gsl_rng_mt19937);

          for (guint i = 0; i < n; i++)
            x[i] = (float) (1 + gsl_ran_gaussian (rng, 0.5));
        }
      g_assert_true (_imp_quantal_set_lanes (4));
      imp_quantal_fit (x, n, 1, NAN, &params, c, &wide);
      g_assert_true (_imp_quantal_set_lanes (2));
      imp_quantal_fit (x, n, 1, NAN, &params, c, &narrow);
      g_test_message ("%u amplitudes: %s, n %u, q %.17g", n,
                      imp_quantal_verdict_to_string (wide.verdict), wide.n,
                      wide.q_mv);
      g_assert_cmpint (wide.verdict, ==, c < 2 ? IMP_QUANTAL_QUANTA
                                               : IMP_QUANTAL_UNIMODAL);
      g_assert_cmpmem (&wide, sizeof wide, &narrow, sizeof narrow);
    }
  g_assert_true (_imp_quantal_set_lanes (0));
}

/* The whole pipeline on the demo's simulation (25 neurons, 60 s, seed
 * 1): where quanta are claimed for a true connection that released at
 * least 100 quanta in the fitted trials, q is within 10 % of the
 * simulator's quantal size in at least 80 % of them (the amplitude
 * measurement itself is off by a few % for some connections). */
static void
test_pipeline (void)
{
  g_autofree char *dir = g_dir_make_tmp ("imprint-quantal-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "sim.h5", NULL);
  g_autofree char *truth_path = g_build_filename (dir, "truth.csv", NULL);
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  g_autoptr(GArray) truth = NULL;
  g_autoptr(GError) error = NULL;
  ImpAnalysisParams params;
  ImpSimParams sim;
  guint i, j, strong = 0, close = 0, claims = 0, untrue = 0, n_skipped = 0;

  imp_sim_params_init_default (&sim);
  sim.n_neurons = 25;
  sim.duration_s = 60;
  sim.seed = 1;
  g_assert_true (imp_simulate (&sim, path, truth_path, NULL, NULL, NULL,
                               &error));
  g_assert_no_error (error);
  truth = imp_map_read_csv (truth_path, &error);
  g_assert_no_error (error);
  rec = imp_recording_open (path, &error);
  g_assert_no_error (error);
  imp_analysis_params_init_default (&params);
  res = imp_analysis_run (rec, &params, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  for (i = 0; i < res->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (res->candidates, i);
      const ImpQuantalFit *f = &c->quantal;
      const ImpMapEntry *t = NULL;

      g_assert_cmpint (f->verdict, !=, IMP_QUANTAL_NOT_FITTED);
      g_assert_cmpuint (f->n_trials, ==, c->n_quantal_trials);
      /* only significant connections are fitted */
      if (!c->significant)
        {
          g_assert_cmpint (f->verdict, ==, IMP_QUANTAL_NOT_SIGNIFICANT);
          g_assert_cmpint (f->model, ==, IMP_QUANTAL_MODEL_NONE);
          g_assert_true (isnan (f->q_mv));
          n_skipped++;
        }
      else
        g_assert_cmpint (f->verdict, !=, IMP_QUANTAL_NOT_SIGNIFICANT);
      g_assert_cmpuint (c->n_quantal_trials, <=, c->n_trials);
      g_assert_cmpint (f->sign, ==, c->sign == 'I' ? -1 : 1);
      if (f->verdict != IMP_QUANTAL_QUANTA)
        continue;
      claims++;
      for (j = 0; j < truth->len; j++)
        {
          const ImpMapEntry *e = &g_array_index (truth, ImpMapEntry, j);

          if (e->pre == c->pre && e->post == c->post)
            t = e;
        }
      if (t == NULL)
        {
          untrue++;
          continue;
        }
      if (f->n_used * t->quantal_n * t->release_p < 100)
        continue;
      strong++;
      close += within (f->q_mv, t->quantal_mv, 0.10);
      g_test_message ("%u -> %u: q %.3f mV, true %.3f mV (n %u, p %.2f)",
                      c->pre, c->post, f->q_mv, t->quantal_mv, t->quantal_n,
                      t->release_p);
    }
  g_test_message ("%u claims, %u on pairs without a synapse; %u strong, "
                  "%u of them within 10 %%", claims, untrue, strong, close);
  g_assert_cmpuint (n_skipped, >, 0);
  g_assert_cmpuint (strong, >=, 4);
  g_assert_cmpuint (close, >=, (guint) ceil (0.8 * strong));
  g_assert_cmpuint (untrue, <=, 1);

  g_unlink (path);
  g_unlink (truth_path);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/imp/Quantal/recovery", test_recovery);
  g_test_add_func ("/imp/Quantal/coverage", test_coverage);
  g_test_add_func ("/imp/Quantal/single-pair", test_single_pair);
  g_test_add_func ("/imp/Quantal/no-quanta", test_no_quanta);
  g_test_add_func ("/imp/Quantal/too-few", test_too_few);
  g_test_add_func ("/imp/Quantal/nan", test_nan);
  g_test_add_func ("/imp/Quantal/inhibitory", test_inhibitory);
  g_test_add_func ("/imp/Quantal/deterministic", test_deterministic);
  g_test_add_func ("/imp/Quantal/density", test_density);
  g_test_add_func ("/imp/Quantal/params", test_params);
  g_test_add_func ("/imp/Quantal/binned", test_binned);
  g_test_add_func ("/imp/Quantal/exp", test_exp);
  g_test_add_func ("/imp/Quantal/lanes", test_lanes);
  g_test_add_func ("/imp/Quantal/pipeline", test_pipeline);

  return g_test_run ();
}
