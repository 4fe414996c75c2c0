/* test-detect.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "imp-detect.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (gsl_rng, gsl_rng_free)

static gsl_rng *
new_rng (unsigned long seed)
{
  gsl_rng *rng = gsl_rng_alloc (gsl_rng_mt19937);

  gsl_rng_set (rng, seed);
  return rng;
}

static int
compare_float (const void *a,
               const void *b)
{
  float fa = *(const float *) a;
  float fb = *(const float *) b;

  return (fa > fb) - (fa < fb);
}

static int
compare_int64 (const void *a,
               const void *b)
{
  gint64 ia = *(const gint64 *) a;
  gint64 ib = *(const gint64 *) b;

  return (ia > ib) - (ia < ib);
}

static void
test_median (void)
{
  g_autoptr(gsl_rng) rng = new_rng (3);
  guint trial;

  for (trial = 0; trial < 400; trial++)
    {
      /* Short inputs, and long ones for the partitioning. */
      gsize n = 1 + gsl_rng_uniform_int (rng, trial < 200 ? 60 : 5000);
      g_autofree float *x = g_new (float, n);
      g_autofree float *sorted = NULL;
      double expected;
      gsize i;

      for (i = 0; i < n; i++)
        /* Few distinct values, to exercise ties; ramps up and down and a
         * constant, the worst cases of a naive pivot. */
        switch (trial % 5)
          {
          case 0:
            x[i] = (float) gsl_ran_gaussian (rng, 1.0);
            break;
          case 1:
            x[i] = (float) gsl_rng_uniform_int (rng, 4);
            break;
          case 2:
            x[i] = (float) i;
            break;
          case 3:
            x[i] = (float) (n - i) * 0.5f;
            break;
          default:
            x[i] = -65.0f;
            break;
          }
      sorted = g_memdup2 (x, n * sizeof (float));
      qsort (sorted, n, sizeof (float), compare_float);
      expected = n % 2 ? sorted[n / 2]
                       : 0.5 * ((double) sorted[n / 2 - 1] + sorted[n / 2]);
      g_assert_cmpfloat (imp_detect_median (x, n), ==, expected);
    }
}

static const float bad_values[] = { NAN, INFINITY, -INFINITY, 4.7e36f };

/* The median by sorting a copy: the slow reference. */
static double
sorted_median (const float *x,
               gsize        n)
{
  g_autofree float *sorted = g_memdup2 (x, n * sizeof (float));

  qsort (sorted, n, sizeof (float), compare_float);
  return n % 2 ? sorted[n / 2]
               : 0.5 * ((double) sorted[n / 2 - 1] + sorted[n / 2]);
}

/* Long inputs are selected from a range guessed from a sample of them,
 * and from all of them when the guess misses: the exact median either
 * way, whatever the shape of the values. */
static void
test_median_long (void)
{
  g_autoptr(gsl_rng) rng = new_rng (13);
  guint trial;

  for (trial = 0; trial < 900; trial++)
    {
      gsize n = 512 + gsl_rng_uniform_int (rng, 8000);
      g_autofree float *x = g_new (float, n);
      g_autofree float *copy = NULL;
      double expected;
      gsize i;

      for (i = 0; i < n; i++)
        switch (trial % 9)
          {
          case 0:
            x[i] = (float) gsl_ran_gaussian (rng, 0.3);
            break;
          case 1:
            /* Heavy tails */
            x[i] = (float) gsl_ran_cauchy (rng, 1.0);
            break;
          case 2:
            /* Two clusters with nothing between them, the median at
             * the edge of one */
            x[i] = (float) ((i % 2 ? 100.0 : -100.0)
                            + gsl_ran_gaussian (rng, 1e-3));
            break;
          case 3:
            /* Sorted: a strided sample sees the order */
            x[i] = (float) i * 0.25f - 30.0f;
            break;
          case 4:
            /* Few distinct values, many equal to the median */
            x[i] = (float) gsl_rng_uniform_int (rng, 3) - 1.0f;
            break;
          case 5:
            /* Neighbouring floats only: a range too narrow to divide */
            x[i] = nextafterf (-65.0f, (float) gsl_rng_uniform_int (rng, 3)
                                       * 100.0f - 100.0f);
            break;
          case 6:
            /* Zeros of both signs and tiny values */
            x[i] = (float) (gsl_rng_uniform_int (rng, 3) - 1.0) * 1e-38f
                   * (float) gsl_rng_uniform (rng);
            break;
          case 7:
            /* A constant with a few outliers */
            x[i] = gsl_rng_uniform (rng) < 0.01 ? 1e5f : -70.0f;
            break;
          default:
            /* Sorted in the strided sample's order, shuffled otherwise:
             * every sampled value far below the median */
            x[i] = i % (n / 128) == 0 ? -1e4f
                                      : (float) gsl_rng_uniform (rng);
            break;
          }
      expected = sorted_median (x, n);
      copy = g_memdup2 (x, n * sizeof (float));
      g_assert_cmpfloat (imp_detect_median (copy, n), ==, expected);
    }
}

/* imp_detect_robust_sd() by its definition, with sorting: the subsample
 * x[0], x[s], x[2 s], ... (s = n / 2048 from 4096 values on), values that
 * are not usable left out, then the median absolute deviation from the
 * median (deviations that are not usable left out too), / 0.6745. */
static double
reference_robust_sd (const float *x,
                     gsize        n)
{
  g_autofree float *work = g_new (float, n + 1);
  gsize stride = n / 2048 >= 2 ? n / 2048 : 1;
  gsize i, m = 0, k = 0;
  double median;

  for (i = 0; i < n; i += stride)
    if (imp_detect_usable (x[i]))
      work[m++] = x[i];
  if (m == 0)
    return NAN;
  median = sorted_median (work, m);
  for (i = 0; i < m; i++)
    {
      float dev = fabsf (work[i] - (float) median);

      if (imp_detect_usable (dev))
        work[k++] = dev;
    }
  return sorted_median (work, k) * (1.0 / 0.6744897501960817);
}

/* The robust SD and the noise SD against their definitions, to the bit:
 * long and short inputs, with and without gaps. */
static void
test_robust_sd_reference (void)
{
  g_autoptr(gsl_rng) rng = new_rng (17);
  guint trial;

  for (trial = 0; trial < 300; trial++)
    {
      gsize n = 16 + gsl_rng_uniform_int (rng, trial % 2 ? 3000 : 40000);
      g_autofree float *x = NULL;
      g_autofree float *diff = NULL;
      gsize i, m = 0;

      /* Lengths where the subsample's stride changes */
      if (trial % 5 == 4)
        n = 2048 * (2 + trial % 7) + trial % 2;
      x = g_new (float, n);
      diff = g_new (float, n);

      for (i = 0; i < n; i++)
        x[i] = (float) (-65.0 + gsl_ran_gaussian (rng, 0.3)
                        + (gsl_rng_uniform (rng) < 0.002 ? 60.0 : 0.0));
      if (trial % 3 == 0)
        for (i = 0; i < 4; i++)
          x[gsl_rng_uniform_int (rng, n)]
            = bad_values[(trial / 3 + i) % G_N_ELEMENTS (bad_values)];

      g_assert_cmpfloat (imp_detect_robust_sd (x, n), ==,
                         reference_robust_sd (x, n));
      for (i = 0; i + 1 < n; i++)
        if (imp_detect_usable (x[i]) && imp_detect_usable (x[i + 1]))
          diff[m++] = x[i + 1] - x[i];
      g_assert_cmpfloat (imp_detect_noise_sd (x, n), ==,
                         reference_robust_sd (diff, m) / G_SQRT2);
    }
}

static void
test_noise_sd (void)
{
  g_autoptr(gsl_rng) rng = new_rng (5);
  const gsize n = 100000;
  const double fs = 10000, sigma = 0.3;
  g_autofree float *x = g_new (float, n);
  double robust, noise;
  gsize i;

  /* White noise plus a slow 2 mV drift: the first difference ignores the
   * drift, the plain robust SD does not. */
  for (i = 0; i < n; i++)
    x[i] = (float) (gsl_ran_gaussian (rng, sigma)
                    + 2.0 * sin (2 * G_PI * 0.5 * i / fs));
  noise = imp_detect_noise_sd (x, n);
  g_assert_cmpfloat (fabs (noise - sigma) / sigma, <, 0.03);

  for (i = 0; i < n; i++)
    x[i] = (float) gsl_ran_gaussian (rng, sigma);
  robust = imp_detect_robust_sd (x, n);
  g_assert_cmpfloat (fabs (robust - sigma) / sigma, <, 0.03);
}

/* An AP shape independent of the simulator's: a fast rise to +80 mV over
 * @rise_ms (half-sine), an exponential fall (0.5 ms) and a 6 mV
 * after-hyperpolarisation (15 ms). Peak at t = rise_ms. */
static double
ap_shape (double t_ms,
          double rise_ms)
{
  double v = 0;

  if (t_ms < 0)
    return 0;
  if (t_ms < rise_ms)
    v = 80.0 * sin (0.5 * G_PI * t_ms / rise_ms);
  else
    v = 80.0 * exp (-(t_ms - rise_ms) / 0.5)
        - 6.0 * (1 - exp (-(t_ms - rise_ms) / 0.5))
          * exp (-(t_ms - rise_ms) / 15.0);
  return v;
}

/* A double-exponential PSP of peak @amp starting at t = 0. */
static double
psp_shape (double t_ms,
           double amp,
           double rise,
           double decay)
{
  double tpeak, norm;

  if (t_ms <= 0)
    return 0;
  tpeak = rise * decay / (decay - rise) * log (decay / rise);
  norm = exp (-tpeak / decay) - exp (-tpeak / rise);
  return amp * (exp (-t_ms / decay) - exp (-t_ms / rise)) / norm;
}

static void
add_shape_ap (float  *x,
              gsize   n,
              double  fs,
              gsize   start,
              double  rise_ms)
{
  gsize i;

  for (i = start; i < n && i < start + (gsize) (0.1 * fs); i++)
    x[i] += (float) ap_shape ((i - start) * 1000.0 / fs, rise_ms);
}

static void
check_aps_at_rate (double fs)
{
  g_autoptr(gsl_rng) rng = new_rng ((unsigned long) fs);
  g_autoptr(GArray) aps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
  g_autoptr(GArray) truth = g_array_new (FALSE, FALSE, sizeof (gint64));
  ImpAnalysisParams params;
  const double rise_ms = 0.4;
  const gsize n = (gsize) (20 * fs);
  g_autofree float *x = g_new (float, n);
  gsize i, t, step_at;
  guint k;

  imp_analysis_params_init_default (&params);

  for (i = 0; i < n; i++)
    x[i] = (float) (-65.0 + gsl_ran_gaussian (rng, 0.3));

  /* APs at random times at least 5 ms apart, some in 100 Hz bursts. */
  t = (gsize) (0.05 * fs);
  while (t < n - (gsize) (0.5 * fs))
    {
      gint64 peak;

      add_shape_ap (x, n, fs, t, rise_ms);
      peak = (gint64) t + (gint64) round (rise_ms * fs / 1000.0);
      g_array_append_val (truth, peak);
      t += (gsize) ((gsl_rng_uniform (rng) < 0.2 ? 0.01
                     : 0.05 + gsl_rng_uniform (rng) * 0.2) * fs);
    }

  /* Things that are not APs: a 50 mV current step held for 200 ms, a
   * 15 mV EPSP, an 8 mV square artefact of 0.2 ms. */
  step_at = n - (gsize) (0.45 * fs);
  for (i = step_at; i < step_at + (gsize) (0.2 * fs); i++)
    x[i] += 50.0f;
  for (i = step_at + (gsize) (0.25 * fs); i < n; i++)
    x[i] += (float) psp_shape ((i - step_at - 0.25 * fs) * 1000 / fs,
                               15.0, 0.5, 15.0);

  imp_detect_aps (x, n, fs, &params, 1000, aps);

  g_test_message ("%g Hz: %u true APs, %u detected", fs, truth->len, aps->len);
  g_assert_cmpuint (aps->len, ==, truth->len);
  for (k = 0; k < aps->len; k++)
    {
      ImpEvent *ev = &g_array_index (aps, ImpEvent, k);
      gint64 expected = g_array_index (truth, gint64, k) + 1000;

      g_assert_cmpint (ABS (ev->sample - expected), <=, 1);
      g_assert_cmpfloat (ev->amplitude, >, 70.0);
      g_assert_cmpfloat (ev->amplitude, <, 90.0);
    }
}

static void
test_aps (void)
{
  check_aps_at_rate (10000);
  check_aps_at_rate (25000);
}

/* A current pulse with an AP riding on it, as in patch-clamp stimulation:
 * one AP, at the AP's peak, not at the pulse's edge. */
static void
test_ap_on_step (void)
{
  g_autoptr(gsl_rng) rng = new_rng (11);
  g_autoptr(GArray) aps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
  ImpAnalysisParams params;
  const double fs = 25000;
  const gsize n = (gsize) (0.3 * fs);
  const gsize pulse = (gsize) (0.1 * fs);
  const gsize pulse_len = (gsize) (0.06 * fs);
  const gsize ap_start = pulse + (gsize) (0.0008 * fs);
  g_autofree float *x = g_new (float, n);
  gsize i;

  imp_analysis_params_init_default (&params);
  for (i = 0; i < n; i++)
    x[i] = (float) (-72.0 + gsl_ran_gaussian (rng, 0.2));
  for (i = pulse; i < pulse + pulse_len; i++)
    x[i] += (float) (45.0 + 20.0 * (1 - exp (-(double) (i - pulse)
                                             / (0.0005 * fs))));
  add_shape_ap (x, n, fs, ap_start, 0.4);

  imp_detect_aps (x, n, fs, &params, 0, aps);
  g_assert_cmpuint (aps->len, ==, 1);
  g_assert_cmpint (ABS (g_array_index (aps, ImpEvent, 0).sample
                        - (gint64) (ap_start + 0.0004 * fs)), <=, 2);
}

static void
test_psps (void)
{
  g_autoptr(gsl_rng) rng = new_rng (17);
  g_autoptr(GArray) psps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
  g_autoptr(GArray) onsets = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) signs = g_array_new (FALSE, FALSE, sizeof (int));
  ImpAnalysisParams params;
  const double fs = 10000, sigma = 0.3, amp = 2.0;
  const gsize n = (gsize) (30 * fs);
  g_autofree float *x = g_new (float, n);
  g_autofree ImpEvent *ap_events = NULL;
  guint n_ap = 0, matched = 0, sign_ok = 0, j;
  gsize i, t;
  double amp_sum = 0;

  imp_analysis_params_init_default (&params);
  for (i = 0; i < n; i++)
    x[i] = (float) (-65.0 + gsl_ran_gaussian (rng, sigma));

  /* PSPs of ±2 mV (E: 0.5/15 ms, I: 1/20 ms), 60-120 ms apart. */
  t = (gsize) (0.05 * fs);
  while (t < n - (gsize) (0.2 * fs))
    {
      int sign = gsl_rng_uniform (rng) < 0.5 ? 1 : -1;
      gint64 onset = (gint64) t;
      gsize k;

      for (k = t; k < n && k < t + (gsize) (0.15 * fs); k++)
        x[k] += (float) (sign > 0
                         ? psp_shape ((k - t) * 1000 / fs, amp, 0.5, 15)
                         : psp_shape ((k - t) * 1000 / fs, -amp, 1.0, 20));
      g_array_append_val (onsets, onset);
      g_array_append_val (signs, sign);
      t += (gsize) ((0.06 + 0.06 * gsl_rng_uniform (rng)) * fs);
    }

  imp_detect_psps (x, n, fs, &params, 0, NULL, 0, psps);

  /* Every true PSP should be found once, within [-0.5, +1.5] ms of its
   * onset, with the right sign and amplitude. */
  for (j = 0; j < onsets->len; j++)
    {
      gint64 onset = g_array_index (onsets, gint64, j);
      guint k;

      for (k = 0; k < psps->len; k++)
        {
          ImpEvent *ev = &g_array_index (psps, ImpEvent, k);

          if (ev->sample >= onset - (gint64) (0.0005 * fs)
              && ev->sample <= onset + (gint64) (0.0015 * fs))
            {
              matched++;
              if ((ev->amplitude > 0) == (g_array_index (signs, int, j) > 0))
                sign_ok++;
              amp_sum += fabs (ev->amplitude);
              break;
            }
        }
    }
  g_test_message ("PSPs: %u true, %u detected, %u matched, %u right sign, "
                  "mean |amplitude| %.2f mV", onsets->len, psps->len,
                  matched, sign_ok, amp_sum / MAX (matched, 1));
  g_assert_cmpfloat ((double) matched / onsets->len, >=, 0.95);
  g_assert_cmpuint (sign_ok, ==, matched);
  /* Few events that match nothing (the tail of each PSP is slow). */
  g_assert_cmpuint (psps->len, <=, matched + onsets->len / 20);
  g_assert_cmpfloat (fabs (amp_sum / matched - amp) / amp, <, 0.25);

  /* Around APs nothing is reported: add APs between the PSPs. */
  g_array_set_size (psps, 0);
  ap_events = g_new0 (ImpEvent, onsets->len);
  for (j = 0; j + 1 < onsets->len; j += 3)
    {
      gint64 at = g_array_index (onsets, gint64, j) + (gint64) (0.03 * fs);

      add_shape_ap (x, n, fs, (gsize) at, 0.4);
      ap_events[n_ap].sample = at + (gint64) (0.0004 * fs);
      ap_events[n_ap++].amplitude = 80;
    }
  imp_detect_psps (x, n, fs, &params, 0, ap_events, n_ap, psps);
  for (j = 0; j < psps->len; j++)
    {
      gint64 s = g_array_index (psps, ImpEvent, j).sample;
      guint k;

      for (k = 0; k < n_ap; k++)
        g_assert_false (s > ap_events[k].sample - (gint64) (0.002 * fs)
                        && s < ap_events[k].sample + (gint64) (0.003 * fs));
    }
}

/* Noise alone: the threshold is relative to the noise, so the false event
 * rate does not depend on the noise level. */
static void
test_psps_noise_only (void)
{
  g_autoptr(gsl_rng) rng = new_rng (23);
  ImpAnalysisParams params;
  const double fs = 10000;
  const gsize n = (gsize) (60 * fs);
  g_autofree float *x = g_new (float, n);
  double sigmas[] = { 0.05, 1.0 };
  guint counts[2];
  guint k;

  imp_analysis_params_init_default (&params);
  for (k = 0; k < 2; k++)
    {
      g_autoptr(GArray) psps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
      gsize i;

      gsl_rng_set (rng, 23);
      for (i = 0; i < n; i++)
        x[i] = (float) (-60.0 + gsl_ran_gaussian (rng, sigmas[k]));
      imp_detect_psps (x, n, fs, &params, 0, NULL, 0, psps);
      counts[k] = psps->len;
    }
  g_test_message ("false PSPs in 60 s of noise: %u and %u", counts[0],
                  counts[1]);
  /* 4 SD of a smoothed slope: well under one false event a second. */
  g_assert_cmpuint (counts[0], <, 30);
  g_assert_cmpuint (counts[0], ==, counts[1]);
}

static void
test_count_lagged (void)
{
  g_autoptr(gsl_rng) rng = new_rng (29);
  guint trial;

  for (trial = 0; trial < 100; trial++)
    {
      guint n_pre = gsl_rng_uniform_int (rng, 40);
      guint n_post = gsl_rng_uniform_int (rng, 80);
      g_autofree gint64 *pre = g_new (gint64, n_pre + 1);
      g_autofree gint64 *post = g_new (gint64, n_post + 1);
      gint64 lo = (gint64) gsl_rng_uniform_int (rng, 30) - 10;
      gint64 hi = lo + (gint64) gsl_rng_uniform_int (rng, 40);
      guint64 brute = 0;
      guint i, j;

      for (i = 0; i < n_pre; i++)
        pre[i] = (gint64) gsl_rng_uniform_int (rng, 1000);
      for (j = 0; j < n_post; j++)
        post[j] = (gint64) gsl_rng_uniform_int (rng, 1000);
      qsort (post, n_post, sizeof (gint64), compare_int64);

      for (i = 0; i < n_pre; i++)
        for (j = 0; j < n_post; j++)
          if (post[j] - pre[i] >= lo && post[j] - pre[i] <= hi)
            brute++;
      g_assert_cmpuint (imp_detect_count_lagged (pre, n_pre, post, n_post,
                                                 lo, hi), ==, brute);
    }
}

static void
test_bh (void)
{
  /* Worked by hand: m = 5, sorted p = .001 .008 .039 .041 .6 ->
   * p m / rank = .005 .02 .065 .05125 .6 -> running minimum from the top:
   * .005 .02 .05125 .05125 .6 */
  const double p[] = { 0.041, 0.001, 0.6, 0.039, 0.008 };
  const double expected[] = { 0.05125, 0.005, 0.6, 0.05125, 0.02 };
  double q[5];
  guint i;

  imp_detect_bh_adjust (p, 5, q);
  for (i = 0; i < 5; i++)
    g_assert_cmpfloat_with_epsilon (q[i], expected[i], 1e-12);
}

/* Under the null, p-values from the fitted surrogate distribution must not
 * be too small more often than they should (validity), and a clear excess
 * must give a tiny p (power). */
static void
test_surrogate_p (void)
{
  g_autoptr(gsl_rng) rng = new_rng (31);
  const guint n_surr = 200, n_trials = 4000;
  guint64 surr[200];
  double means[] = { 0.3, 3.0, 30.0 };
  guint m;

  for (m = 0; m < G_N_ELEMENTS (means); m++)
    {
      guint below_01 = 0, below_001 = 0, trial;

      for (trial = 0; trial < n_trials; trial++)
        {
          guint64 obs = gsl_ran_poisson (rng, means[m]);
          guint s;

          for (s = 0; s < n_surr; s++)
            surr[s] = gsl_ran_poisson (rng, means[m]);
          if (imp_detect_surrogate_p (obs, surr, n_surr) <= 0.01)
            below_01++;
          if (imp_detect_surrogate_p (obs, surr, n_surr) <= 0.001)
            below_001++;
        }
      g_test_message ("null mean %g: P(p<=0.01) = %.4f, P(p<=0.001) = %.4f",
                      means[m], (double) below_01 / n_trials,
                      (double) below_001 / n_trials);
      /* Binomial slack of about 3 SD over the nominal rate. */
      g_assert_cmpfloat ((double) below_01 / n_trials, <=, 0.016);
      g_assert_cmpfloat ((double) below_001 / n_trials, <=, 0.003);
    }

  /* Overdispersed null (negative binomial): still valid. */
  {
    guint below = 0, trial;

    for (trial = 0; trial < n_trials; trial++)
      {
        guint64 obs = gsl_ran_negative_binomial (rng, 0.25, 2.0);
        guint s;

        for (s = 0; s < n_surr; s++)
          surr[s] = gsl_ran_negative_binomial (rng, 0.25, 2.0);
        if (imp_detect_surrogate_p (obs, surr, n_surr) <= 0.01)
          below++;
      }
    g_test_message ("overdispersed: P(p<=0.01) = %.4f",
                    (double) below / n_trials);
    g_assert_cmpfloat ((double) below / n_trials, <=, 0.016);
  }

  /* Power, against the exact Poisson tail. */
  {
    guint s;

    for (s = 0; s < n_surr; s++)
      surr[s] = gsl_ran_poisson (rng, 2.0);
    g_assert_cmpfloat (imp_detect_surrogate_p (20, surr, n_surr), <, 1e-8);
    g_assert_cmpfloat (imp_detect_surrogate_p (0, surr, n_surr), ==, 1.0);
    for (s = 0; s < n_surr; s++)
      surr[s] = 0;
    /* All-zero null: one coincidence is not evidence. */
    g_assert_cmpfloat (imp_detect_surrogate_p (1, surr, n_surr), >, 1e-3);
  }
}

/* Values a reader may pass on: NaN, infinities, and a float so large
 * that it can only be corrupt. */
/* Median, robust SD and noise SD ignore gaps: the same with and without
 * them, and NAN when nothing is left. */
static void
test_stats_gaps (void)
{
  g_autoptr(gsl_rng) rng = new_rng (31);
  const gsize n = 5000;
  g_autofree float *x = g_new (float, n);
  g_autofree float *y = g_new (float, n + 40);
  g_autofree float *work = NULL;
  double median, robust, noise;
  gsize i, m = 0;

  for (i = 0; i < n; i++)
    x[i] = (float) gsl_ran_gaussian (rng, 0.3);
  /* Gaps at the ends and in between: the kept values are x, in order, so
   * the subsampling of long inputs sees the same values. */
  for (i = 0; i < n; i++)
    {
      if (i % 250 == 0)
        y[m++] = bad_values[(i / 250) % G_N_ELEMENTS (bad_values)];
      y[m++] = x[i];
    }
  y[m++] = NAN;

  work = g_memdup2 (x, n * sizeof (float));
  median = imp_detect_median (work, n);
  g_free (work);
  work = g_memdup2 (y, m * sizeof (float));
  g_assert_cmpfloat (imp_detect_median (work, m), ==, median);

  /* Robust SD of short input, and of long input (subsampled). */
  robust = imp_detect_robust_sd (x, 1000);
  g_assert_cmpfloat (imp_detect_robust_sd (y, 1005), ==, robust);
  g_assert_true (isfinite (imp_detect_robust_sd (y, m)));
  g_assert_cmpfloat (fabs (imp_detect_robust_sd (y, m) - 0.3), <, 0.03);

  /* Noise: differences next to a gap are left out. */
  noise = imp_detect_noise_sd (y, m);
  g_assert_true (isfinite (noise));
  g_assert_cmpfloat (fabs (noise - imp_detect_noise_sd (x, n)), <, 0.01);

  for (i = 0; i < m; i++)
    y[i] = bad_values[i % G_N_ELEMENTS (bad_values)];
  g_assert_true (isnan (imp_detect_median (y, m)));
  g_assert_true (isnan (imp_detect_robust_sd (y, m)));
  g_assert_true (isnan (imp_detect_noise_sd (y, m)));
}

/* A train of APs and ±2 mV PSPs in noise, 20 s at 10 kHz. */
static float *
events_signal (gsize   n,
               double  fs,
               guint   seed)
{
  g_autoptr(gsl_rng) rng = new_rng (seed);
  float *x = g_new (float, n);
  gsize i, t;

  for (i = 0; i < n; i++)
    x[i] = (float) (-65.0 + gsl_ran_gaussian (rng, 0.3));
  for (t = (gsize) (0.05 * fs); t + (gsize) (0.2 * fs) < n;
       t += (gsize) (0.1 * fs))
    {
      gsize k;

      if ((t / (gsize) (0.1 * fs)) % 4 == 0)
        add_shape_ap (x, n, fs, t, 0.4);
      else
        for (k = t; k < n && k < t + (gsize) (0.09 * fs); k++)
          x[k] += (float) psp_shape ((k - t) * 1000 / fs,
                                     (t / 1000) % 2 ? 2.0 : -2.0, 0.5, 15);
    }
  return x;
}

/* The PSP detector's moving average, when its sums are exact (samples on
 * a grid, as from a 16-bit converter), runs as several running sums at
 * once; otherwise as one running sum, which gives the same sums exactly.
 * A value of 1e-30 at the very start (outside every window that the
 * detection reads) forces the one sum: both must find the same events,
 * on lengths that end every way within the fast path's tiles. */
static void
test_psps_exact_sums (void)
{
  const double fs = 10000;
  const gsize n = (gsize) (8 * fs);
  g_autofree float *x = events_signal (n, fs, 41);
  g_autofree float *y = NULL;
  ImpAnalysisParams params;
  gsize i, cut;

  imp_analysis_params_init_default (&params);
  for (i = 0; i < n; i++)
    x[i] = roundf (x[i] * 1024.0f) / 1024.0f;
  y = g_memdup2 (x, n * sizeof (float));
  y[0] = 1e-30f;

  for (cut = 0; cut < 8; cut++)
    {
      g_autoptr(GArray) aps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
      g_autoptr(GArray) fast = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
      g_autoptr(GArray) slow = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
      gsize len = n - 1000 * cut - cut;

      imp_detect_aps (x, len, fs, &params, 0, aps);
      g_assert_cmpuint (aps->len, >, 10);
      imp_detect_psps (x, len, fs, &params, 0, (ImpEvent *) aps->data,
                       aps->len, fast);
      imp_detect_psps (y, len, fs, &params, 0, (ImpEvent *) aps->data,
                       aps->len, slow);
      g_assert_cmpuint (fast->len, >, 20);
      g_assert_cmpuint (fast->len, ==, slow->len);
      for (i = 0; i < fast->len; i++)
        {
          ImpEvent *a = &g_array_index (fast, ImpEvent, i);
          ImpEvent *b = &g_array_index (slow, ImpEvent, i);

          g_assert_cmpint (a->sample, ==, b->sample);
          g_assert_cmpfloat (a->amplitude, ==, b->amplitude);
        }
    }
}

/* AP heights against their definition, computed slowly: the peak minus
 * the median of x over [c - 3 ms, c - 0.3 ms], c being the first sample
 * before the peak where the slope exceeds 8 robust SDs of the slope (the
 * robust SD by reference_robust_sd()). A threshold off by a little moves
 * c, and with it the baseline. */
static void
test_ap_heights_reference (void)
{
  const double fs = 10000;
  const gsize n = (gsize) (10 * fs);
  g_autoptr(gsl_rng) rng = new_rng (43);
  g_autoptr(GArray) aps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
  g_autofree float *x = g_new (float, n);
  g_autofree float *diff = g_new (float, n - 1);
  ImpAnalysisParams params;
  gsize base_from = (gsize) round (3.0 * fs / 1000);
  gsize base_to = (gsize) round (0.3 * fs / 1000);
  double threshold;
  gsize i, t;
  guint k;

  imp_analysis_params_init_default (&params);
  for (i = 0; i < n; i++)
    x[i] = (float) (-65.0 + gsl_ran_gaussian (rng, 0.3));
  /* Each AP rises from an exponential foot (30 mV, 0.5 ms), so that
   * where the slope crosses the threshold depends on the threshold. */
  for (t = (gsize) (0.05 * fs); t + (gsize) (0.3 * fs) < n;
       t += (gsize) ((0.05 + 0.2 * gsl_rng_uniform (rng)) * fs))
    {
      for (i = t - (gsize) (0.003 * fs); i < t; i++)
        x[i] += (float) (30.0 * exp (((double) i - t) / (0.0005 * fs)));
      add_shape_ap (x, n, fs, t, 0.3 + 0.4 * gsl_rng_uniform (rng));
      for (i = t; i < t + (gsize) (0.1 * fs); i++)
        x[i] += (float) (30.0 * exp (-((double) i - t) / (0.0005 * fs)));
    }
  for (i = 0; i + 1 < n; i++)
    diff[i] = x[i + 1] - x[i];
  threshold = MAX (params.ap_threshold_sd * reference_robust_sd (diff, n - 1),
                   1000.0 / fs);

  imp_detect_aps (x, n, fs, &params, 0, aps);
  g_assert_cmpuint (aps->len, >, 30);
  for (k = 0; k < aps->len; k++)
    {
      const ImpEvent *ev = &g_array_index (aps, ImpEvent, k);
      gsize peak = (gsize) ev->sample;
      gsize c = peak - (gsize) (4 * fs / 1000);
      double baseline;

      while (!(diff[c] > threshold))
        c++;
      g_assert_cmpuint (c, <, peak);
      baseline = sorted_median (x + c - base_from, base_from - base_to + 1);
      g_assert_cmpfloat (ev->amplitude, ==, (float) (x[peak] - baseline));
    }
}

/* Whether @events holds an event within @reach of sample @at. */
static gboolean
event_near (GArray *events,
            gint64  at,
            gint64  reach)
{
  guint k;

  for (k = 0; k < events->len; k++)
    if (ABS (g_array_index (events, ImpEvent, k).sample - at) <= reach)
      return TRUE;
  return FALSE;
}

/* Whether sample @at lies within @reach of one of the gaps: the samples
 * @singles and the stretch [stretch, stretch + len). */
static gboolean
near_gap (gint64       at,
          const gsize *singles,
          guint        n_singles,
          gsize        stretch,
          gsize        len,
          gint64       reach)
{
  guint j;

  for (j = 0; j < n_singles; j++)
    if (ABS (at - (gint64) singles[j]) <= reach)
      return TRUE;
  return at >= (gint64) stretch - reach
         && at < (gint64) (stretch + len) + reach;
}

/* Regression: one NaN or infinite sample made imp_detect_psps() loop for
 * ever (a NaN slope passed neither comparison, so the loop never advanced
 * and appended the same event until memory ran out), and imp_detect_aps()
 * reported an AP at it. A gap hides only what touches it. */
static void
test_events_gaps (void)
{
  ImpAnalysisParams params;
  const double fs = 10000;
  const gsize n = (gsize) (20 * fs);
  const gint64 reach = (gint64) (0.012 * fs);
  g_autofree float *clean = events_signal (n, fs, 37);
  g_autofree float *x = NULL;
  guint v;

  imp_analysis_params_init_default (&params);

  for (v = 0; v < G_N_ELEMENTS (bad_values); v++)
    {
      g_autoptr(GArray) aps0 = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
      g_autoptr(GArray) psps0 = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
      g_autoptr(GArray) aps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
      g_autoptr(GArray) psps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
      /* A lone bad sample on an AP's peak, one in a PSP's rise, a stretch
       * of 50 ms, and the very first and last samples. */
      gsize singles[] = { (gsize) (0.4504 * fs), (gsize) (1.1520 * fs), 0,
                          n - 1 };
      gsize stretch = (gsize) (5.03 * fs), stretch_len = (gsize) (0.05 * fs);
      guint k, n_new = 0, n_lost = 0;
      gsize i;

      g_free (x);
      x = g_memdup2 (clean, n * sizeof (float));
      for (k = 0; k < G_N_ELEMENTS (singles); k++)
        x[singles[k]] = bad_values[v];
      for (i = stretch; i < stretch + stretch_len; i++)
        x[i] = bad_values[(v + i) % G_N_ELEMENTS (bad_values)];

      imp_detect_aps (clean, n, fs, &params, 0, aps0);
      imp_detect_psps (clean, n, fs, &params, 0, (ImpEvent *) aps0->data,
                       aps0->len, psps0);
      imp_detect_aps (x, n, fs, &params, 0, aps);
      imp_detect_psps (x, n, fs, &params, 0, (ImpEvent *) aps->data,
                       aps->len, psps);
      g_test_message ("%g: %u APs (%u clean), %u PSPs (%u clean)",
                      bad_values[v], aps->len, aps0->len, psps->len,
                      psps0->len);

      /* Nothing new, and nothing lost away from the gaps. PSPs may differ
       * a little: the slope's SD, and so the threshold, is taken from
       * other samples. */
      for (k = 0; k < aps->len; k++)
        g_assert_true (event_near (aps0, g_array_index (aps, ImpEvent,
                                                        k).sample, 0));
      for (k = 0; k < aps0->len; k++)
        {
          gint64 at = g_array_index (aps0, ImpEvent, k).sample;

          g_assert_true (near_gap (at, singles, G_N_ELEMENTS (singles),
                                   stretch, stretch_len, reach)
                         || event_near (aps, at, 0));
        }
      for (k = 0; k < psps->len; k++)
        {
          gint64 at = g_array_index (psps, ImpEvent, k).sample;

          g_assert_false (near_gap (at, singles, G_N_ELEMENTS (singles),
                                    stretch, stretch_len, reach / 4));
          n_new += !event_near (psps0, at, 0);
        }
      for (k = 0; k < psps0->len; k++)
        {
          gint64 at = g_array_index (psps0, ImpEvent, k).sample;

          n_lost += !near_gap (at, singles, G_N_ELEMENTS (singles), stretch,
                               stretch_len, reach)
                    && !event_near (psps, at, 0);
        }
      g_test_message ("  PSPs away from the gaps: %u new, %u lost", n_new,
                      n_lost);
      g_assert_cmpuint (n_new + n_lost, <=, psps0->len / 50);

      /* The AP whose peak is NaN is gone; so is the PSP that rose there. */
      g_assert_false (event_near (aps, (gint64) singles[0], reach));
      g_assert_false (event_near (psps, (gint64) singles[1], reach));
      g_assert_cmpuint (aps->len, >=, aps0->len - 2);
    }

  /* Nothing at all: no events, no endless loop. */
  for (v = 0; v < G_N_ELEMENTS (bad_values); v++)
    {
      g_autoptr(GArray) aps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
      g_autoptr(GArray) psps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
      gsize i;

      for (i = 0; i < n; i++)
        x[i] = bad_values[v];
      g_assert_cmpuint (imp_detect_aps (x, n, fs, &params, 0, aps), ==, 0);
      g_assert_cmpuint (imp_detect_psps (x, n, fs, &params, 0, NULL, 0,
                                         psps), ==, 0);
    }
}

/* An AP is at least IMP_DETECT_AP_MIN_WIDTH_MS wide at a quarter of its
 * height: spikes of one or two samples (as in sweep 2 of 99111002.nwb) are
 * artefacts, and imp_detect_aps_full() reports them apart. Narrow real APs
 * (0.25 ms at half height, as in the same file's bursts) are kept. */
static void
test_ap_width (void)
{
  g_autoptr(gsl_rng) rng = new_rng (41);
  g_autoptr(GArray) aps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
  g_autoptr(GArray) artefacts = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
  ImpAnalysisParams params;
  const double fs = 10000;
  const gsize n = (gsize) (2 * fs);
  g_autofree float *x = g_new (float, n);
  gsize i;

  imp_analysis_params_init_default (&params);
  for (i = 0; i < n; i++)
    x[i] = (float) (-15.0 + gsl_ran_gaussian (rng, 1.0));

  /* One sample up 68 mV, then 6 mV down (the 99111002 artefact). */
  x[2000] += 68.0f;
  x[2001] -= 6.0f;
  /* Two samples up. */
  x[6000] += 60.0f;
  x[6001] += 55.0f;
  /* A narrow real AP as in the same file's bursts: 1 sample rise, decay
   * over 0.4 ms. */
  x[10000] += 25.0f;
  x[10001] += 80.0f;
  x[10002] += 55.0f;
  x[10003] += 30.0f;
  x[10004] += 15.0f;
  x[10005] += 10.0f;
  x[10006] += 7.0f;
  /* An ordinary AP. */
  add_shape_ap (x, n, fs, 14000, 0.4);

  imp_detect_aps_full (x, n, fs, &params, 0, aps, artefacts);
  g_assert_cmpuint (aps->len, ==, 2);
  g_assert_cmpint (g_array_index (aps, ImpEvent, 0).sample, ==, 10001);
  g_assert_cmpint (ABS ((gint64) g_array_index (aps, ImpEvent, 1).sample - 14004),
                   <=, 1);
  g_assert_cmpuint (artefacts->len, ==, 2);
  g_assert_cmpint (g_array_index (artefacts, ImpEvent, 0).sample, ==, 2000);
  g_assert_cmpint (g_array_index (artefacts, ImpEvent, 1).sample, ==, 6000);

  /* imp_detect_aps() finds the same APs. */
  g_array_set_size (artefacts, 0);
  imp_detect_aps (x, n, fs, &params, 0, artefacts);
  g_assert_cmpuint (artefacts->len, ==, 2);
}

/* Held current steps (the command in current clamp) are found at their
 * edges, once each; brief pulses (that evoke one AP), synaptic currents
 * and a current measured in voltage clamp have none. */
static void
test_steps (void)
{
  g_autoptr(gsl_rng) rng = new_rng (43);
  g_autoptr(GArray) steps = g_array_new (FALSE, FALSE, sizeof (gint64));
  const double fs = 10000;
  const gsize n = (gsize) (3 * fs);
  g_autofree float *x = g_new (float, n);
  gsize i;

  for (i = 0; i < n; i++)
    {
      double t = i / fs;

      x[i] = (float) (-40.0 + gsl_ran_gaussian (rng, 10.0));
      if (t >= 0.5 && t < 1.5)
        x[i] += 30.0f;                              /* held step */
      if (t >= 2.0 && t < 2.002)
        x[i] += 800.0f;                             /* 2 ms pulse */
      if (t >= 2.3)                                 /* an EPSC */
        x[i] -= (float) (100.0 * (exp (-(t - 2.3) / 0.005)
                                  - exp (-(t - 2.3) / 0.0005)));
    }
  x[25000] = NAN;

  g_assert_cmpuint (imp_detect_steps (x, n, fs, 100, steps), ==, 2);
  g_assert_cmpint (ABS (g_array_index (steps, gint64, 0) - 5100), <=, 3);
  g_assert_cmpint (ABS (g_array_index (steps, gint64, 1) - 15100), <=, 3);

  /* A current measured in voltage clamp, busy with synaptic currents, has
   * no steps, even where one was applied. */
  g_array_set_size (steps, 0);
  for (i = 0; i < n; i++)
    x[i] = (float) (-40.0 + gsl_ran_gaussian (rng, 3.0)
                    + (i >= n / 2 ? 30.0 : 0.0));
  for (i = 0; i < 150; i++)
    {
      gsize at = gsl_rng_uniform_int (rng, n), k;
      double amp = 50 + 150 * gsl_rng_uniform (rng);

      for (k = at; k < n && k < at + (gsize) (0.05 * fs); k++)
        x[k] -= (float) (amp * exp (-(k - at) / (0.005 * fs)));
    }
  g_assert_cmpuint (imp_detect_steps (x, n, fs, 0, steps), ==, 0);

  /* Without noise, nothing can be judged. */
  g_array_set_size (steps, 0);
  for (i = 0; i < n; i++)
    x[i] = i < n / 2 ? 0.0f : 50.0f;
  g_assert_cmpuint (imp_detect_steps (x, n, fs, 0, steps), ==, 0);
}

static void
test_access (void)
{
  g_assert_cmpint (imp_detect_classify_access ("mV", 3, 1.0), ==,
                   IMP_ACCESS_INTRACELLULAR);
  g_assert_cmpint (imp_detect_classify_access ("mV", 0, -65.0), ==,
                   IMP_ACCESS_INTRACELLULAR);
  g_assert_cmpint (imp_detect_classify_access ("mV", 0, 0.2), ==,
                   IMP_ACCESS_EXTRACELLULAR);
  /* Currents are not membrane potentials: not analysed. */
  g_assert_cmpint (imp_detect_classify_access ("pA", 5, -65.0), ==,
                   IMP_ACCESS_UNKNOWN);
  /* Without a usable sample, no signal at all. */
  g_assert_cmpint (imp_detect_classify_access ("mV", 0, NAN), ==,
                   IMP_ACCESS_NONE);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/imp/Detect/median", test_median);
  g_test_add_func ("/imp/Detect/median-long", test_median_long);
  g_test_add_func ("/imp/Detect/robust-sd-reference",
                   test_robust_sd_reference);
  g_test_add_func ("/imp/Detect/noise-sd", test_noise_sd);
  g_test_add_func ("/imp/Detect/aps", test_aps);
  g_test_add_func ("/imp/Detect/ap-on-step", test_ap_on_step);
  g_test_add_func ("/imp/Detect/psps", test_psps);
  g_test_add_func ("/imp/Detect/psps-noise-only", test_psps_noise_only);
  g_test_add_func ("/imp/Detect/psps-exact-sums", test_psps_exact_sums);
  g_test_add_func ("/imp/Detect/ap-heights-reference",
                   test_ap_heights_reference);
  g_test_add_func ("/imp/Detect/count-lagged", test_count_lagged);
  g_test_add_func ("/imp/Detect/bh", test_bh);
  g_test_add_func ("/imp/Detect/surrogate-p", test_surrogate_p);
  g_test_add_func ("/imp/Detect/access", test_access);
  g_test_add_func ("/imp/Detect/stats-gaps", test_stats_gaps);
  g_test_add_func ("/imp/Detect/events-gaps", test_events_gaps);
  g_test_add_func ("/imp/Detect/ap-width", test_ap_width);
  g_test_add_func ("/imp/Detect/steps", test_steps);

  return g_test_run ();
}
