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

  for (trial = 0; trial < 200; trial++)
    {
      gsize n = 1 + gsl_rng_uniform_int (rng, 60);
      g_autofree float *x = g_new (float, n);
      g_autofree float *sorted = NULL;
      double expected;
      gsize i;

      for (i = 0; i < n; i++)
        /* Few distinct values half the time, to exercise ties. */
        x[i] = trial % 2 ? (float) gsl_rng_uniform_int (rng, 4)
                         : (float) gsl_ran_gaussian (rng, 1.0);
      sorted = g_memdup2 (x, n * sizeof (float));
      qsort (sorted, n, sizeof (float), compare_float);
      expected = n % 2 ? sorted[n / 2]
                       : 0.5 * ((double) sorted[n / 2 - 1] + sorted[n / 2]);
      g_assert_cmpfloat (imp_detect_median (x, n), ==, expected);
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
  g_test_add_func ("/imp/Detect/noise-sd", test_noise_sd);
  g_test_add_func ("/imp/Detect/aps", test_aps);
  g_test_add_func ("/imp/Detect/ap-on-step", test_ap_on_step);
  g_test_add_func ("/imp/Detect/psps", test_psps);
  g_test_add_func ("/imp/Detect/psps-noise-only", test_psps_noise_only);
  g_test_add_func ("/imp/Detect/count-lagged", test_count_lagged);
  g_test_add_func ("/imp/Detect/bh", test_bh);
  g_test_add_func ("/imp/Detect/surrogate-p", test_surrogate_p);
  g_test_add_func ("/imp/Detect/access", test_access);

  return g_test_run ();
}
