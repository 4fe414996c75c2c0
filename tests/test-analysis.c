/* test-analysis.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "imp-analysis.h"
#include "imp-analysis-private.h"
#include "imp-kinetics.h"
#include "imp-detect.h"
#include "imp-map.h"
#include "imp-native.h"
#include "imp-output.h"
#include "imp-psc-private.h"
#include "imp-recording-private.h"
#include "imp-simulate.h"
#include "imp-test-memory.h"

/* One default simulation shared by several tests. */
static char *tmp_dir;
static char *sim_path;
static char *truth_path;
static ImpAnalysisResult *sim_result;
static ImpSimParams sim_params;

static char *
tmp_file (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static ImpRecording *
open_ok (const char *path)
{
  g_autoptr(GError) error = NULL;
  ImpRecording *rec = imp_recording_open (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (rec);
  return rec;
}

static ImpAnalysisResult *
analyse_ok (ImpRecording            *rec,
            const ImpAnalysisParams *params)
{
  g_autoptr(GError) error = NULL;
  ImpAnalysisResult *res;

  res = imp_analysis_run (rec, params, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (res);
  return res;
}

static void
ensure_simulation (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  ImpAnalysisParams params;

  if (sim_result != NULL)
    return;

  imp_sim_params_init_default (&sim_params);
  sim_params.n_neurons = 64;
  sim_params.duration_s = 60.0;
  sim_params.seed = 1;
  sim_path = tmp_file ("sim.h5");
  truth_path = tmp_file ("sim-truth.csv");
  g_assert_true (imp_simulate (&sim_params, sim_path, truth_path, NULL, NULL,
                               NULL, &error));
  g_assert_no_error (error);

  rec = open_ok (sim_path);
  imp_analysis_params_init_default (&params);
  sim_result = analyse_ok (rec, &params);
}

static const ImpMapEntry *
truth_entry (GArray *truth,
             guint   pre,
             guint   post)
{
  for (guint i = 0; i < truth->len; i++)
    {
      const ImpMapEntry *t = &g_array_index (truth, ImpMapEntry, i);

      if (t->pre == pre && t->post == post)
        return t;
    }
  return NULL;
}

static gboolean
in_map (GArray *map,
        guint   pre,
        guint   post)
{
  return truth_entry (map, pre, post) != NULL;
}

static int
compare_double (const void *a,
                const void *b)
{
  double da = *(const double *) a;
  double db = *(const double *) b;

  return (da > db) - (da < db);
}

/* 20-80 % rise of e^(-t/decay) - e^(-t/rise), found by stepping. */
static double
double_exp_rise_ms (double rise,
                    double decay)
{
  double peak = rise * decay / (decay - rise) * log (decay / rise);
  double top = exp (-peak / decay) - exp (-peak / rise);
  double t, t20 = NAN, t80 = NAN;

  for (t = 0; t <= peak; t += 1e-4)
    {
      double v = (exp (-t / decay) - exp (-t / rise)) / top;

      if (isnan (t20) && v >= 0.2)
        t20 = t;
      if (isnan (t80) && v >= 0.8)
        t80 = t;
    }
  return t80 - t20;
}

/* Its time from the peak to half the peak, by stepping. */
static double
double_exp_decay_ms (double rise,
                     double decay)
{
  double peak = rise * decay / (decay - rise) * log (decay / rise);
  double top = exp (-peak / decay) - exp (-peak / rise);
  double t;

  for (t = peak; (exp (-t / decay) - exp (-t / rise)) / top > 0.5; t += 1e-4)
    ;
  return t - peak;
}

/* Every significant true connection has an onset, nine in ten a rise and
 * decay, and the median rise and decay of each sign are the simulator's
 * kernels' (docs/simulator.md:
 * 0.5 and 15 ms for excitatory synapses, 1 and 20 ms for inhibitory
 * ones), worked out here by stepping along them. */
static void
check_kinetics (ImpAnalysisResult *res,
                GArray            *truth)
{
  static const struct { char sign; double rise, decay; } kernels[] = {
    { 'E', 0.5, 15 }, { 'I', 1, 20 },
  };
  g_autofree double *rise = g_new (double, res->candidates->len + 1);
  g_autofree double *decay = g_new (double, res->candidates->len + 1);
  guint i, k;

  for (k = 0; k < G_N_ELEMENTS (kernels); k++)
    {
      double want_rise = double_exp_rise_ms (kernels[k].rise,
                                             kernels[k].decay);
      double want_decay = double_exp_decay_ms (kernels[k].rise,
                                               kernels[k].decay);
      guint n = 0, n_all = 0;

      for (i = 0; i < res->candidates->len; i++)
        {
          ImpCandidate *c = g_ptr_array_index (res->candidates, i);

          if (!c->significant || c->sign != kernels[k].sign
              || !in_map (truth, c->pre, c->post))
            continue;
          g_assert_true (isfinite (c->latency_ms));
          n_all++;
          /* a time constant at the end of its range is not measured */
          if (!isfinite (c->rise_ms) || !isfinite (c->decay_ms))
            continue;
          rise[n] = c->rise_ms;
          decay[n] = c->decay_ms;
          n++;
        }
      qsort (rise, n, sizeof (double), compare_double);
      qsort (decay, n, sizeof (double), compare_double);
      g_test_message ("%c: median rise %.2f ms (kernel %.2f), decay %.1f ms "
                      "(kernel %.1f), of %u measured of %u", kernels[k].sign,
                      rise[n / 2], want_rise, decay[n / 2], want_decay, n,
                      n_all);
      g_assert_cmpuint (n, >=, 10);
      g_assert_cmpuint (n, >=, n_all * 9 / 10);
      g_assert_cmpfloat (fabs (rise[n / 2] / want_rise - 1), <, 0.15);
      g_assert_cmpfloat (fabs (decay[n / 2] / want_decay - 1), <, 0.25);
    }
}

/* Simulate, analyse, and score against the simulator's ground truth. */
static void
test_simulated (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) truth = NULL;
  g_autoptr(GArray) found = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autofree double *lat_err = NULL;
  g_autofree double *amp_err = NULL;
  ImpMapScore score;
  guint i, j, n_strong = 0, n_strong_found = 0, n_matched = 0;

  ensure_simulation ();
  truth = imp_map_read_csv (truth_path, &error);
  g_assert_no_error (error);
  found = imp_analysis_result_to_map (sim_result);
  g_assert_cmpuint (found->len, ==, sim_result->n_connections);

  imp_map_score (found, truth, &score);
  for (i = 0; i < truth->len; i++)
    {
      const ImpMapEntry *t = &g_array_index (truth, ImpMapEntry, i);

      if (fabs (t->amplitude_mv) >= 3 * sim_params.noise_mv
          && t->n_pre_aps >= 50)
        {
          n_strong++;
          if (in_map (found, t->pre, t->post))
            n_strong_found++;
        }
    }
  g_test_message ("%u true, %u found: precision %.3f, recall %.3f, "
                  "%u sign errors; strong (>= 3 noise SD, >= 50 APs): "
                  "%u of %u; AP->AP connections: %u", truth->len,
                  found->len, score.precision, score.recall,
                  score.sign_errors, n_strong_found, n_strong,
                  sim_result->n_ap_ap_connections);

  g_assert_cmpuint (truth->len, >, 100);
  g_assert_cmpuint (n_strong, >, 50);
  g_assert_cmpfloat (score.precision, >=, 0.95);
  g_assert_cmpfloat (score.recall, >=, 0.7);
  g_assert_cmpfloat ((double) n_strong_found / n_strong, >=, 0.95);
  g_assert_cmpuint (score.sign_errors, <=, score.true_positives / 50);
  /* AP->AP correlation sees a few of the strongest connections (synaptic
   * drive makes their targets fire), far fewer than AP->PSP, and only
   * true ones. */
  g_assert_cmpuint (sim_result->n_ap_ap_connections, >=, 1);
  g_assert_cmpuint (sim_result->n_ap_ap_connections, <=,
                    sim_result->n_connections / 5);
  for (i = 0; i < sim_result->candidates->len; i++)
    {
      ImpCandidate *c = g_ptr_array_index (sim_result->candidates, i);

      if (c->ap_ap_significant)
        g_assert_true (in_map (truth, c->pre, c->post));
    }

  /* Latency and amplitude of the true positives. */
  lat_err = g_new (double, found->len + 1);
  amp_err = g_new (double, found->len + 1);
  for (i = 0; i < found->len; i++)
    {
      const ImpMapEntry *f = &g_array_index (found, ImpMapEntry, i);

      for (j = 0; j < truth->len; j++)
        {
          const ImpMapEntry *t = &g_array_index (truth, ImpMapEntry, j);

          if (t->pre != f->pre || t->post != f->post
              || fabs (t->amplitude_mv) < 3 * sim_params.noise_mv
              || !isfinite (f->latency_ms))
            continue;
          lat_err[n_matched] = fabs (f->latency_ms - t->latency_ms);
          amp_err[n_matched] = fabs (f->amplitude_mv - t->amplitude_mv)
                               / fabs (t->amplitude_mv);
          n_matched++;
        }
    }
  qsort (lat_err, n_matched, sizeof (double), compare_double);
  qsort (amp_err, n_matched, sizeof (double), compare_double);
  g_test_message ("strong true positives: latency error median %.2f ms, "
                  "90th percentile %.2f ms; median relative amplitude "
                  "error %.3f", lat_err[n_matched / 2],
                  lat_err[n_matched * 9 / 10], amp_err[n_matched / 2]);
  g_assert_cmpfloat (lat_err[n_matched / 2], <, 0.15);
  g_assert_cmpfloat (lat_err[n_matched * 9 / 10], <, 0.5);
  g_assert_cmpfloat (amp_err[n_matched / 2], <, 0.15);
  check_kinetics (sim_result, truth);

  /* Detection against the truth: each presynaptic cell's AP count, and
   * the simulator's record of which electrodes have access. */
  rec = open_ok (sim_path);
  for (i = 0; i < truth->len; i++)
    {
      const ImpMapEntry *t = &g_array_index (truth, ImpMapEntry, i);
      guint detected = sim_result->aps[t->pre]->len;

      g_assert_cmpfloat (fabs ((double) detected - t->n_pre_aps), <=,
                         1 + 0.01 * t->n_pre_aps);
    }
  for (i = 0; i < sim_result->n_channels; i++)
    g_assert_cmpint (sim_result->access[i], ==,
                     imp_recording_get_channel (rec, i)->access);
}

/* A network without synapses: nothing may be reported, for any seed. */
static void
test_no_synapses (void)
{
  guint64 seeds[] = { 11, 12, 13 };
  guint k;

  for (k = 0; k < G_N_ELEMENTS (seeds); k++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *path = tmp_file ("null.h5");
      g_autoptr(ImpRecording) rec = NULL;
      g_autoptr(ImpAnalysisResult) res = NULL;
      ImpAnalysisParams params;
      ImpSimParams p;
      guint i, n_low = 0;

      imp_sim_params_init_default (&p);
      p.n_neurons = 36;
      p.duration_s = 60.0;
      p.seed = seeds[k];
      p.connection_prob = 0.0;
      g_assert_true (imp_simulate (&p, path, NULL, NULL, NULL, NULL, &error));
      g_assert_no_error (error);

      rec = open_ok (path);
      imp_analysis_params_init_default (&params);
      res = analyse_ok (rec, &params);

      /* Uncorrected p-values below 1 % must be about as rare as 1 % (2 %
       * for the two-sign PSP test) of the pairs: the null is calibrated. */
      for (i = 0; i < res->candidates->len; i++)
        {
          ImpCandidate *c = g_ptr_array_index (res->candidates, i);

          if (c->p_uncorrected < 0.01)
            n_low++;
        }
      g_test_message ("seed %" G_GUINT64_FORMAT ": %" G_GUINT64_FORMAT
                      " pairs, %u connections, %u AP->AP, %u with "
                      "uncorrected p < 0.01", p.seed, res->n_pairs_tested,
                      res->n_connections, res->n_ap_ap_connections, n_low);
      g_assert_cmpuint (res->n_pairs_tested, >, 500);
      g_assert_cmpuint (res->n_connections, ==, 0);
      g_assert_cmpuint (res->n_ap_ap_connections, ==, 0);
      g_assert_cmpfloat (n_low, <=, 0.03 * res->n_pairs_tested);
      g_unlink (path);
    }
}

/* The fast path against slow references: a brute-force AP-triggered
 * average over the whole post channel, brute-force coincidence counts,
 * and a Monte Carlo jitter test with many more surrogates. */
static void
test_reference (void)
{
  g_autoptr(ImpRecording) rec = NULL;
  const ImpAnalysisParams *p;
  gint64 n, pre_len, len, guard, lo, hi, ap_hi;
  guint i, n_checked = 0;
  double fs;

  ensure_simulation ();
  rec = open_ok (sim_path);
  p = &sim_result->params;
  fs = sim_result->sample_rate;
  n = imp_recording_get_n_samples (rec);
  pre_len = (gint64) round (p->window_pre_ms * fs / 1000);
  len = pre_len + (gint64) round (p->window_post_ms * fs / 1000);
  guard = (gint64) round (0.030 * fs);
  lo = (gint64) ceil (p->latency_min_ms * fs / 1000);
  hi = (gint64) floor (p->latency_max_ms * fs / 1000);
  ap_hi = (gint64) floor (p->window_post_ms * fs / 1000);

  for (i = 0; i < sim_result->candidates->len && n_checked < 6; i++)
    {
      ImpCandidate *c = g_ptr_array_index (sim_result->candidates, i);
      GArray *pre_aps = sim_result->aps[c->pre];
      GArray *post_aps = sim_result->aps[c->post];
      GArray *psps = sim_result->psps[c->post];
      g_autofree float *post = g_new (float, n);
      g_autofree double *avg = g_new0 (double, len);
      double base = 0, trial_mean = 0;
      guint used = 0, hits = 0, k, j;
      gint64 s;

      if (!c->significant || i % 7 != 0)
        continue;
      g_assert_true (imp_recording_read (rec, c->post, 1, 0, n, post, NULL));

      for (k = 0; k < pre_aps->len; k++)
        {
          gint64 t = g_array_index (pre_aps, ImpEvent, k).sample;
          gboolean clean = TRUE;

          for (j = 0; j < psps->len; j++)
            {
              ImpEvent *ev = &g_array_index (psps, ImpEvent, j);
              gint64 lag = ev->sample - t;

              /* The test uses the APs whose whole window is recorded. */
              if (lag >= lo && lag <= hi && t + ap_hi < n
                  && (ev->amplitude > 0) == (c->sign == 'E'))
                hits++;
            }
          if (t - pre_len < 0 || t - pre_len + len > n)
            continue;
          for (j = 0; j < post_aps->len; j++)
            {
              gint64 q = g_array_index (post_aps, ImpEvent, j).sample;

              if (q >= t - pre_len - guard && q < t - pre_len + len)
                clean = FALSE;
            }
          if (!clean)
            continue;
          for (s = 0; s < len; s++)
            avg[s] += post[t - pre_len + s];
          used++;
        }

      g_assert_cmpuint (used, ==, c->n_trials);
      g_assert_cmpuint (hits, ==, c->n_hits);
      for (s = 0; s < len; s++)
        avg[s] /= used;
      for (s = 0; s < pre_len; s++)
        base += avg[s] / pre_len;
      g_assert_cmpuint (c->average_len, ==, len);
      for (s = 0; s < len; s++)
        g_assert_cmpfloat (fabs (c->average[s] - (avg[s] - base)), <, 1e-3);

      /* The trial amplitudes average to the amplitude of the average. */
      for (k = 0; k < c->n_trials; k++)
        trial_mean += c->trial_amplitudes[k] / c->n_trials;
      g_assert_cmpfloat (fabs (trial_mean - c->amplitude_mv), <, 1e-3);
      n_checked++;
    }
  g_assert_cmpuint (n_checked, >=, 3);
}

/* The fitted surrogate p-value against a brute-force Monte Carlo jitter
 * test (20,000 surrogates) on the detected events, for pairs with moderate
 * p where Monte Carlo is precise. */
static void
test_reference_p (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (99);
  const ImpAnalysisParams *p;
  gint64 lo, hi, jitter, ap_hi;
  guint i, n_checked = 0;
  double fs;

  ensure_simulation ();
  p = &sim_result->params;
  fs = sim_result->sample_rate;
  lo = (gint64) ceil (p->latency_min_ms * fs / 1000);
  hi = (gint64) floor (p->latency_max_ms * fs / 1000);
  jitter = (gint64) round (p->jitter_ms * fs / 1000);
  ap_hi = (gint64) floor (p->window_post_ms * fs / 1000);

  for (i = 0; i < sim_result->candidates->len && n_checked < 4; i++)
    {
      ImpCandidate *c = g_ptr_array_index (sim_result->candidates, i);
      GArray *pre_aps = sim_result->aps[c->pre];
      GArray *psps = sim_result->psps[c->post];
      g_autoptr(GArray) pre = g_array_new (FALSE, FALSE, sizeof (gint64));
      g_autofree gint64 *moved = NULL;
      double p_mc[2], p_fit;
      guint k, r, sign;

      /* Moderate evidence only (so that 20,000 surrogates resolve the
       * tail), and away from the recording's ends. */
      if (c->event_p_uncorrected < 2e-3 || c->event_p_uncorrected > 0.01)
        continue;
      for (k = 0; k < pre_aps->len; k++)
        {
          gint64 t = g_array_index (pre_aps, ImpEvent, k).sample;

          /* Where the analysis's jitter is not shortened by an end. */
          if (t - jitter >= 0 && t + jitter + ap_hi < sim_result->n_samples)
            g_array_append_val (pre, t);
        }
      if (pre->len != pre_aps->len)
        continue;
      moved = g_new (gint64, pre->len);

      /* The candidate's p is twice the smaller of the E and I tests. */
      for (sign = 0; sign < 2; sign++)
        {
          g_autoptr(GArray) post = g_array_new (FALSE, FALSE,
                                                sizeof (gint64));
          guint64 observed, at_least = 0;

          for (k = 0; k < psps->len; k++)
            if ((g_array_index (psps, ImpEvent, k).amplitude > 0)
                == (sign == 0))
              {
                gint64 t = g_array_index (psps, ImpEvent, k).sample;

                g_array_append_val (post, t);
              }
          observed = imp_detect_count_lagged ((gint64 *) pre->data, pre->len,
                                              (gint64 *) post->data,
                                              post->len, lo, hi);
          for (r = 0; r < 20000; r++)
            {
              for (k = 0; k < pre->len; k++)
                moved[k] = g_array_index (pre, gint64, k)
                           + g_rand_int_range (rand, -jitter, jitter + 1);
              if (imp_detect_count_lagged (moved, pre->len,
                                           (gint64 *) post->data, post->len,
                                           lo, hi) >= observed)
                at_least++;
            }
          p_mc[sign] = (at_least + 1.0) / 20001.0;
        }
      p_fit = c->event_p_uncorrected / 2;
      g_test_message ("%u->%u: fitted p %.2g, Monte Carlo p %.2g (E), "
                      "%.2g (I)", c->pre, c->post, p_fit, p_mc[0], p_mc[1]);
      /* Never much smaller (that would invent connections); larger is the
       * price of fitting the tail from 200 surrogates. */
      g_assert_cmpfloat (p_fit, >, MIN (p_mc[0], p_mc[1]) / 3);
      g_assert_cmpfloat (p_fit, <, MIN (p_mc[0], p_mc[1]) * 10);
      n_checked++;
    }
  if (n_checked == 0)
    g_test_skip ("no pair with moderate evidence in this simulation");
}

typedef struct
{
  GCancellable *cancellable;
  const char   *cancel_in;
  double        last;
  gboolean      monotonic;
  GHashTable   *stages;
} ProgressLog;

static void
progress_cb (double      fraction,
             const char *stage,
             gpointer    user_data)
{
  ProgressLog *log = user_data;

  g_assert_cmpfloat (fraction, >=, 0.0);
  g_assert_cmpfloat (fraction, <=, 1.0);
  if (fraction < log->last)
    log->monotonic = FALSE;
  log->last = fraction;
  g_hash_table_add (log->stages, g_strdup (stage));
  if (log->cancellable != NULL && g_strcmp0 (stage, log->cancel_in) == 0)
    g_cancellable_cancel (log->cancellable);
}

static void
test_progress_and_cancel (void)
{
  g_autofree char *path = tmp_file ("small.h5");
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(GError) error = NULL;
  ImpAnalysisParams params;
  ImpSimParams p;
  const char *stages[] = { "Reading and detecting", "Correlating pairs",
                           "Measuring candidates", "Fitting quanta" };
  guint k;

  imp_sim_params_init_default (&p);
  p.n_neurons = 100;
  p.duration_s = 6.0;
  g_assert_true (imp_simulate (&p, path, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  rec = open_ok (path);
  imp_analysis_params_init_default (&params);

  {
    g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash,
                                                        g_str_equal,
                                                        g_free, NULL);
    ProgressLog log = { NULL, NULL, 0.0, TRUE, seen };
    g_autoptr(ImpAnalysisResult) res = NULL;

    res = imp_analysis_run (rec, &params, progress_cb, &log, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (log.monotonic);
    g_assert_cmpfloat (log.last, ==, 1.0);
    for (k = 0; k < G_N_ELEMENTS (stages); k++)
      g_assert_true (g_hash_table_contains (seen, stages[k]));
  }

  /* Cancelled in each stage, and before starting. */
  for (k = 0; k <= G_N_ELEMENTS (stages); k++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash,
                                                          g_str_equal,
                                                          g_free, NULL);
      ProgressLog log = { cancellable,
                          k < G_N_ELEMENTS (stages) ? stages[k] : NULL,
                          0.0, TRUE, seen };
      ImpAnalysisResult *res;

      if (k == G_N_ELEMENTS (stages))
        g_cancellable_cancel (cancellable);
      res = imp_analysis_run (rec, &params, progress_cb, &log, cancellable,
                              &error);
      g_assert_null (res);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&error);
    }
}

static void
test_invalid_params (void)
{
  g_autoptr(ImpRecording) rec = NULL;
  ImpAnalysisParams params;
  guint k;

  ensure_simulation ();
  rec = open_ok (sim_path);
  for (k = 0; k < 4; k++)
    {
      g_autoptr(GError) error = NULL;

      imp_analysis_params_init_default (&params);
      if (k == 0)
        params.alpha = 0;
      else if (k == 1)
        params.latency_max_ms = params.latency_min_ms;
      else if (k == 2)
        params.n_surrogates = 1;
      else
        params.ap_threshold_sd = -1;
      g_assert_null (imp_analysis_run (rec, &params, NULL, NULL, NULL,
                                       &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    }
}

/* @node holds exactly @value, or null when @value is not finite. */
static void
assert_json_double (JsonNode *node,
                    double    value)
{
  g_assert_nonnull (node);
  if (isfinite (value))
    g_assert_cmpfloat (json_node_get_double (node), ==, value);
  else
    g_assert_true (JSON_NODE_HOLDS_NULL (node));
}

static void
test_json (void)
{
  g_autofree char *path = tmp_file ("result.json");
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root, *params;
  JsonArray *aps, *list;
  guint i;

  ensure_simulation ();
  rec = open_ok (sim_path);
  g_assert_true (imp_analysis_result_write_json (sim_result, rec, path,
                                                 &error));
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);

  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "program"), ==,
                   "Imprint");
  g_assert_cmpstr (json_object_get_string_member (root, "version"), ==,
                   PACKAGE_VERSION);
  g_assert_cmpint (json_object_get_int_member (root, "channels"), ==, 64);
  g_assert_cmpfloat (json_object_get_double_member (root, "sample_rate_hz"),
                     ==, 10000.0);
  g_assert_cmpint (json_object_get_int_member (root, "connections"), ==,
                   sim_result->n_connections);
  g_assert_cmpint (json_object_get_int_member (root, "ap_ap_connections"),
                   ==, sim_result->n_ap_ap_connections);

  aps = json_object_get_array_member (root, "aps_per_channel");
  g_assert_cmpuint (json_array_get_length (aps), ==, 64);
  for (i = 0; i < 64; i++)
    g_assert_cmpint (json_array_get_int_element (aps, i), ==,
                     sim_result->aps[i]->len);

  list = json_object_get_array_member (root, "connections_list");
  g_assert_cmpuint (json_array_get_length (list), ==,
                    sim_result->n_connections);
  for (i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *c = json_array_get_object_element (list, i);

      g_assert_true (json_object_get_boolean_member (c, "significant"));
      g_assert_cmpfloat (json_object_get_double_member (c, "p_value"), <=,
                         sim_result->params.alpha);
    }

  params = json_object_get_object_member (root, "parameters");
  g_assert_cmpfloat (json_object_get_double_member (params, "alpha"), ==,
                     0.001);
  g_assert_cmpint (json_object_get_int_member (params, "n_surrogates"), ==,
                   200);
  g_assert_cmpfloat (json_object_get_double_member (params, "deconv_tau_ms"),
                     ==, 15.0);
  g_assert_cmpfloat (json_object_get_double_member (params, "psc_window_ms"),
                     ==, 2.0);
  g_assert_cmpfloat (json_object_get_double_member (params,
                                                    "common_input_z"),
                     ==, 3.5);
  g_assert_true (json_object_has_member (
    json_object_get_object_member (root, "recording"), "size_bytes"));

  /* Each significant candidate's evidence: its waveform test agrees with
   * its sign, and its trial amplitudes average to its amplitude. */
  for (i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *c = json_array_get_object_element (list, i);
      JsonArray *trials = json_object_get_array_member (c,
                                                        "trial_amplitudes_mv");
      double z = json_object_get_double_member (c, "wave_z");
      double sum = 0;
      guint k;

      g_assert_cmpstr (json_object_get_string_member (c, "sign"), ==,
                       z > 0 ? "E" : "I");
      g_assert_false (json_object_get_boolean_member (c, "common_input"));
      g_assert_false (json_object_get_boolean_member (c, "transient"));
      g_assert_cmpuint (json_array_get_length (trials), ==,
                        json_object_get_int_member (c, "n_trials"));
      for (k = 0; k < json_array_get_length (trials); k++)
        sum += json_array_get_double_element (trials, k);
      g_assert_cmpfloat (fabs (sum / MAX (k, 1)
                               - json_object_get_double_member (
                                   c, "amplitude_mv")), <, 1e-3);
    }

  /* Every candidate reads back exactly as it is in memory: its trial
   * amplitudes as the same single-precision numbers, its doubles as the
   * same doubles, what is not finite as null. */
  list = json_object_get_array_member (root, "candidates");
  g_assert_cmpuint (json_array_get_length (list), ==,
                    sim_result->candidates->len);
  for (i = 0; i < json_array_get_length (list); i++)
    {
      JsonObject *o = json_array_get_object_element (list, i);
      const ImpCandidate *c = g_ptr_array_index (sim_result->candidates, i);
      JsonArray *trials = json_object_get_array_member (o,
                                                        "trial_amplitudes_mv");
      const struct { const char *name; double value; } doubles[] = {
        { "amplitude_mv", c->amplitude_mv }, { "latency_ms", c->latency_ms },
        { "p_value", c->p_value }, { "wave_z", c->wave_z },
        { "rise_ms", c->rise_ms }, { "direct_z", c->direct_z },
        { "spread_z", c->spread_z },
      };
      guint k;

      g_assert_cmpint (json_object_get_int_member (o, "pre"), ==, c->pre);
      g_assert_cmpint (json_object_get_int_member (o, "post"), ==, c->post);
      for (k = 0; k < G_N_ELEMENTS (doubles); k++)
        assert_json_double (json_object_get_member (o, doubles[k].name),
                            doubles[k].value);
      assert_json_double (json_object_get_member (
                            json_object_get_object_member (o, "psp_fit"),
                            "tau_decay_ms"), c->fit.tau_decay_ms);
      assert_json_double (json_object_get_member (
                            json_object_get_object_member (o, "quantal"),
                            "q_mv"), c->quantal.q_mv);
      g_assert_cmpint (JSON_NODE_HOLDS_NULL (
                         json_object_get_member (o, "explained_by")), ==,
                       !c->explained);
      g_assert_cmpuint (json_array_get_length (trials), ==, c->n_trials);
      for (k = 0; k < c->n_trials; k++)
        {
          JsonNode *node = json_array_get_element (trials, k);

          if (isfinite (c->trial_amplitudes[k]))
            g_assert_cmpfloat ((float) json_node_get_double (node), ==,
                               c->trial_amplitudes[k]);
          else
            g_assert_true (JSON_NODE_HOLDS_NULL (node));
        }
    }
}

/* The same input and seed give the same result, whatever the threads'
 * timing. */
static void
test_deterministic (void)
{
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpAnalysisResult) again = NULL;
  ImpAnalysisParams params;
  guint i, c;

  ensure_simulation ();
  rec = open_ok (sim_path);
  imp_analysis_params_init_default (&params);
  again = analyse_ok (rec, &params);

  g_assert_cmpuint (again->n_connections, ==, sim_result->n_connections);
  g_assert_cmpuint (again->candidates->len, ==,
                    sim_result->candidates->len);
  for (c = 0; c < again->n_channels; c++)
    {
      g_assert_cmpuint (again->aps[c]->len, ==, sim_result->aps[c]->len);
      g_assert_cmpuint (again->psps[c]->len, ==, sim_result->psps[c]->len);
    }
  for (i = 0; i < again->candidates->len; i++)
    {
      ImpCandidate *a = g_ptr_array_index (again->candidates, i);
      ImpCandidate *b = g_ptr_array_index (sim_result->candidates, i);

      g_assert_cmpuint (a->pre, ==, b->pre);
      g_assert_cmpuint (a->post, ==, b->post);
      g_assert_cmpfloat (a->p_value, ==, b->p_value);
      g_assert_cmpfloat (a->ap_ap_p_value, ==, b->ap_ap_p_value);
      g_assert_cmpfloat (a->amplitude_mv, ==, b->amplitude_mv);
    }
}

/* Small recordings keep what the second passes need (the waveform
 * test's deconvolved samples, the candidates' trials); read again
 * instead, every result is the same to the bit. */
static void
test_read_again (void)
{
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpAnalysisResult) again = NULL;
  ImpAnalysisParams params;
  guint i, k, n_quantal = 0;

  ensure_simulation ();
  rec = open_ok (sim_path);
  imp_analysis_params_init_default (&params);
  _imp_analysis_set_keep_max_bytes (0);
  _imp_psc_set_keep_max_bytes (0);
  again = analyse_ok (rec, &params);
  _imp_analysis_set_keep_max_bytes (G_MAXSIZE);
  _imp_psc_set_keep_max_bytes (G_MAXSIZE);

  g_assert_cmpuint (again->candidates->len, ==,
                    sim_result->candidates->len);
  for (i = 0; i < again->candidates->len; i++)
    {
      ImpCandidate *a = g_ptr_array_index (again->candidates, i);
      ImpCandidate *b = g_ptr_array_index (sim_result->candidates, i);

      g_assert_cmpuint (a->pre, ==, b->pre);
      g_assert_cmpuint (a->post, ==, b->post);
      g_assert_cmpfloat (a->p_uncorrected, ==, b->p_uncorrected);
      g_assert_cmpfloat (a->wave_z, ==, b->wave_z);
      g_assert_cmpfloat (a->amplitude_mv, ==, b->amplitude_mv);
      g_assert_cmpfloat (a->pre_ap_shift_mv, ==, b->pre_ap_shift_mv);
      g_assert_cmpint (a->artefact, ==, b->artefact);
      g_assert_cmpuint (a->average_len, ==, b->average_len);
      g_assert_cmpmem (a->average, a->average_len * sizeof (float),
                       b->average, b->average_len * sizeof (float));
      g_assert_cmpmem (a->trial_amplitudes, a->n_trials * sizeof (float),
                       b->trial_amplitudes, b->n_trials * sizeof (float));
      for (k = 0; k < a->n_quantal_trials; k++)
        g_assert_cmpfloat (a->quantal_amplitudes[k], ==,
                           b->quantal_amplitudes[k]);
      g_assert_cmpuint (a->n_quantal_trials, ==, b->n_quantal_trials);
      g_assert_cmpint (a->quantal.verdict, ==, b->quantal.verdict);
      n_quantal += a->n_quantal_trials > 0;
    }
  /* the comparison saw trials of many candidates */
  g_assert_cmpuint (n_quantal, >, 10);
}

static void
test_sorted (void)
{
  guint i;

  ensure_simulation ();
  for (i = 0; i < sim_result->candidates->len; i++)
    {
      ImpCandidate *c = g_ptr_array_index (sim_result->candidates, i);

      /* a latency is after the AP peak, or there is none */
      g_assert_false (c->latency_ms <= 0);
    }
  for (i = 1; i < sim_result->candidates->len; i++)
    {
      ImpCandidate *a = g_ptr_array_index (sim_result->candidates, i - 1);
      ImpCandidate *b = g_ptr_array_index (sim_result->candidates, i);

      g_assert_true (a->significant || !b->significant);
      if (a->significant == b->significant)
        g_assert_cmpfloat (a->p_value, <=, b->p_value);
    }
}

/* APs shaped independently of the simulator (as in test-detect). */
static void
add_ap (float  *x,
        gint64  n,
        double  fs,
        gint64  start)
{
  gint64 i;

  for (i = start; i < n && i < start + (gint64) (0.02 * fs); i++)
    {
      double t = (i - start) * 1000.0 / fs;

      x[i] += (float) (t < 0.4 ? 80.0 * sin (0.5 * G_PI * t / 0.4)
                               : 80.0 * exp (-(t - 0.4) / 0.5));
    }
}

static void
add_psp (float  *x,
         gint64  n,
         double  fs,
         gint64  start,
         double  amp)
{
  gint64 i;

  for (i = start; i < n && i < start + (gint64) (0.1 * fs); i++)
    {
      double t = (i - start) * 1000.0 / fs;

      x[i] += (float) (amp * 1.164 * (exp (-t / 15) - exp (-t / 0.5)));
    }
}

/* Writes a 2-channel recording: ch0 fires at 100 and 250 ms of every
 * 0.5 s sweep and 6 ms before its end; ch1 has a 3 mV PSP 4.5 ms after
 * every sweep start. Glued end to end, the last AP of each sweep would
 * precede the next sweep's PSP by about 10.5 ms. */
static void
write_sweeps_file (const char *path,
                   gboolean    as_sweeps)
{
  g_autoptr(ImpNativeWriter) w = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  const double fs = 10000;
  const gint64 sweep_len = 5000;
  const guint n_sweeps = 40;
  gint64 n = sweep_len * n_sweeps, i;
  g_autofree float *x0 = g_new (float, n);
  g_autofree float *x1 = g_new (float, n);
  g_autofree gint16 *counts = g_new (gint16, 2 * n);
  guint s;

  for (i = 0; i < n; i++)
    {
      x0[i] = (float) (-65 + 0.3 * g_rand_double_range (rand, -1.7, 1.7));
      x1[i] = (float) (-65 + 0.3 * g_rand_double_range (rand, -1.7, 1.7));
    }
  for (s = 0; s < n_sweeps; s++)
    {
      gint64 start = s * sweep_len;

      add_ap (x0, n, fs, start + 1000);
      add_ap (x0, n, fs, start + 2500);
      add_ap (x0, n, fs, start + sweep_len - 64);
      add_psp (x1, n, fs, start + 45, 3.0);
    }
  for (i = 0; i < n; i++)
    {
      counts[2 * i] = (gint16) lrint (x0[i] / 0.01);
      counts[2 * i + 1] = (gint16) lrint (x1[i] / 0.01);
    }

  w = imp_native_writer_new (path, 2, fs, &error);
  g_assert_no_error (error);
  imp_native_writer_set_channel (w, 0, "pre", "mV", 0.01, 0, NAN, NAN,
                                 IMP_ACCESS_UNKNOWN);
  imp_native_writer_set_channel (w, 1, "post", "mV", 0.01, 0, NAN, NAN,
                                 IMP_ACCESS_UNKNOWN);
  if (as_sweeps)
    for (s = 0; s < n_sweeps; s++)
      imp_native_writer_add_sweep (w, sweep_len, s * 1.0);
  g_assert_true (imp_native_writer_append (w, counts, n, &error));
  g_assert_true (imp_native_writer_close (w, &error));
  g_assert_no_error (error);
}

static void
test_sweeps (void)
{
  g_autofree char *swept = tmp_file ("swept.h5");
  g_autofree char *glued = tmp_file ("glued.h5");
  g_autoptr(ImpRecording) rs = NULL;
  g_autoptr(ImpRecording) rg = NULL;
  g_autoptr(ImpAnalysisResult) res_s = NULL;
  g_autoptr(ImpAnalysisResult) res_g = NULL;
  ImpAnalysisParams params;

  write_sweeps_file (swept, TRUE);
  write_sweeps_file (glued, FALSE);
  rs = open_ok (swept);
  rg = open_ok (glued);
  g_assert_cmpuint (imp_recording_get_n_sweeps (rs), ==, 40);
  g_assert_cmpuint (imp_recording_get_n_sweeps (rg), ==, 1);

  imp_analysis_params_init_default (&params);
  params.latency_max_ms = 15.0;
  res_s = analyse_ok (rs, &params);
  res_g = analyse_ok (rg, &params);

  /* Every AP is found, also the ones 6 ms before a sweep ends. */
  g_assert_cmpuint (res_s->aps[0]->len, ==, 120);
  g_assert_cmpuint (res_g->aps[0]->len, ==, 120);

  /* Glued, the cross-sweep coincidence looks like a synapse (so this test
   * can fail); with sweeps kept apart, nothing is found. */
  g_test_message ("glued: %u connections; sweeps: %u",
                  res_g->n_connections, res_s->n_connections);
  g_assert_cmpuint (res_g->n_connections, ==, 1);
  g_assert_cmpuint (res_s->n_connections, ==, 0);
}

/* Real data recorded by others: 8 cells patched at once, cell 2 driven to
 * fire 1-2 APs per sweep in 12 sweeps. */
static void
test_real_multipatch (void)
{
  const char *shared = g_getenv ("IMP_SHARED_DATA");
  g_autofree char *path = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree guint *per_sweep = NULL;
  ImpAnalysisParams params;
  guint c, k, n_sweeps, stimulated = G_MAXUINT;

  if (shared != NULL)
    path = g_build_filename (shared, "real", "multipatch",
                             "190604s1c2r1.dat", NULL);
  if (path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("shared real data not available");
      return;
    }

  rec = imp_recording_open (path, &error);
  g_assert_no_error (error);
  imp_analysis_params_init_default (&params);
  res = analyse_ok (rec, &params);
  n_sweeps = imp_recording_get_n_sweeps (rec);
  g_assert_cmpuint (res->n_channels, ==, 8);
  g_assert_cmpuint (n_sweeps, ==, 12);

  for (c = 0; c < res->n_channels; c++)
    {
      g_test_message ("%s: %u APs, %u PSPs, noise %.3f mV, level %.1f mV",
                      res->labels[c], res->aps[c]->len, res->psps[c]->len,
                      res->noise_mv[c], res->median_mv[c]);
      g_assert_cmpint (res->access[c], ==, IMP_ACCESS_INTRACELLULAR);
      if (g_strcmp0 (res->labels[c], "Vmon-2") == 0)
        stimulated = c;
      else
        g_assert_cmpuint (res->aps[c]->len, ==, 0);
    }
  g_assert_cmpuint (stimulated, !=, G_MAXUINT);

  /* 1-2 APs in every sweep, each at a local maximum above 0 mV. */
  per_sweep = g_new0 (guint, n_sweeps);
  for (k = 0; k < res->aps[stimulated]->len; k++)
    {
      gint64 t = g_array_index (res->aps[stimulated], ImpEvent, k).sample;
      float x[3];

      per_sweep[imp_recording_sweep_at (rec, t)]++;
      g_assert_true (imp_recording_read (rec, stimulated, 1, t - 1, 3, x,
                                         NULL));
      g_assert_cmpfloat (x[1], >, 0.0);
      g_assert_cmpfloat (x[1], >=, x[0]);
      g_assert_cmpfloat (x[1], >=, x[2]);
    }
  for (k = 0; k < n_sweeps; k++)
    {
      g_assert_cmpuint (per_sweep[k], >=, 1);
      g_assert_cmpuint (per_sweep[k], <=, 2);
    }

  /* The stimulated cell's AP (and the current pulse before it) couples
   * into its neighbours at zero latency; after it their averages only sit
   * lower while the pulse lasts, with no PSP's rise and decay. Such pairs
   * are candidates marked as artefacts, never connections. */
  g_assert_cmpuint (res->n_connections, ==, 0);
  for (k = 0; k < res->candidates->len; k++)
    {
      ImpCandidate *cand = g_ptr_array_index (res->candidates, k);

      g_test_message ("%s->%s: z %.1f at %.2f ms, zero-latency z %.1f, "
                      "lead z %.1f", res->labels[cand->pre],
                      res->labels[cand->post], cand->wave_z,
                      cand->wave_delay_ms, cand->zero_z, cand->lead_z);
      g_assert_true (cand->artefact || cand->common_input);
    }
}

/* Loads JSON text strictly (JsonParser refuses "1e+20.0", "nan" and bytes
 * that are not UTF-8) and returns its root object. */
static JsonObject *
parse_json_file (JsonParser *parser,
                 const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

/* Regression: a NaN or infinite sample made the analysis loop for ever and
 * eat memory; an all-NaN recording gave every channel an AP, intracellular
 * access and noise 0; NaN stretches added APs. Now non-finite samples are
 * gaps; channels without a signal (all NaN, all infinite, flat) and
 * currents are not analysed and say why; averages leave out the trials
 * whose window touches a gap. */
static void
test_gaps (void)
{
  static const char * const labels[] = { "pre", "post", "dead", "flat",
                                          "inf", "Imemb" };
  static const char * const units[] = { "mV", "mV", "mV", "mV", "mV", "pA" };
  const guint nc = G_N_ELEMENTS (labels);
  const double fs = 10000;
  const gint64 n = 200000, gap_from = 80000, gap_to = 90000;
  g_autofree char *json_path = tmp_file ("gaps.json");
  g_autoptr(GRand) rand = g_rand_new_with_seed (17);
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ap_at = g_array_new (FALSE, FALSE, sizeof (gint64));
  float *data = g_new (float, (gsize) nc * n);
  float *pre = data, *post = data + n;
  const ImpCandidate *cand = NULL;
  ImpAnalysisParams params;
  JsonObject *root;
  JsonArray *noise, *notes;
  guint i, c, usable_trials = 0;
  gint64 t, k;

  for (k = 0; k < n; k++)
    {
      pre[k] = (float) (-65 + g_rand_double_range (rand, -0.5, 0.5));
      post[k] = (float) (-65 + g_rand_double_range (rand, -0.5, 0.5));
      data[2 * n + k] = NAN;
      data[3 * n + k] = -65.0f;
      data[4 * n + k] = INFINITY;
      data[5 * n + k] = (float) ((k / 5000) % 2 ? 50 : 0)
                        + (float) g_rand_double_range (rand, -5, 5);
    }
  /* APs every 80-120 ms, each followed by a 3 mV PSP after 2 ms. */
  for (t = 500; t < n - 2000; t += g_rand_int_range (rand, 800, 1200))
    {
      add_ap (pre, n, fs, t);
      add_psp (post, n, fs, t + 4 + 20, 3.0);
      k = t + 4;
      g_array_append_val (ap_at, k);
    }
  /* A 1 s stretch of NaN, and single infinities, in the post channel. */
  for (k = gap_from; k < gap_to; k++)
    post[k] = NAN;
  post[30005] = INFINITY;
  post[150007] = -INFINITY;
  for (i = 0; i < ap_at->len; i++)
    {
      gint64 at = g_array_index (ap_at, gint64, i);
      gint64 w0 = at - 50, w1 = at + 250;

      usable_trials += !(w1 > gap_from && w0 < gap_to)
                       && !(30005 >= w0 && 30005 < w1)
                       && !(150007 >= w0 && 150007 < w1);
    }

  rec = mem_recording (data, n, fs, nc, labels, units);
  imp_analysis_params_init_default (&params);
  res = analyse_ok (rec, &params);

  g_test_message ("%s", res->warning);
  for (c = 0; c < nc; c++)
    g_test_message ("%s: access %d, %u APs, %u PSPs, noise %g: %s",
                    res->labels[c], res->access[c], res->aps[c]->len,
                    res->psps[c]->len, res->noise_mv[c],
                    imp_analysis_result_get_note (res, c));

  g_assert_cmpint (res->access[0], ==, IMP_ACCESS_INTRACELLULAR);
  g_assert_cmpint (res->access[1], ==, IMP_ACCESS_INTRACELLULAR);
  g_assert_cmpuint (res->aps[0]->len, ==, ap_at->len);
  g_assert_cmpuint (res->aps[1]->len, ==, 0);
  /* The noise ignores the gaps (uniform ±0.5 mV: SD 0.29 mV). */
  g_assert_cmpfloat (fabs (res->noise_mv[1] - 0.289), <, 0.03);
  g_assert_null (imp_analysis_result_get_note (res, 0));
  g_assert_nonnull (strstr (imp_analysis_result_get_note (res, 1),
                            "10002 samples"));
  /* No PSP inside or right next to the NaN stretch. */
  for (i = 0; i < res->psps[1]->len; i++)
    {
      gint64 at = g_array_index (res->psps[1], ImpEvent, i).sample;

      g_assert_false (at > gap_from - 20 && at < gap_to + 20);
    }

  /* No signal: no events, no access, no noise, and a note. */
  for (c = 2; c <= 4; c++)
    {
      g_assert_cmpint (res->access[c], ==, IMP_ACCESS_NONE);
      g_assert_cmpuint (res->aps[c]->len, ==, 0);
      g_assert_cmpuint (res->psps[c]->len, ==, 0);
      g_assert_true (g_str_has_prefix (imp_analysis_result_get_note (res, c),
                                       "no signal"));
      g_assert_nonnull (strstr (res->warning, labels[c]));
    }
  g_assert_true (isnan (res->noise_mv[2]));
  g_assert_cmpfloat (res->noise_mv[3], ==, 0.0);
  /* A current is not a membrane potential: not analysed, not "no
   * access". */
  g_assert_cmpint (res->access[5], ==, IMP_ACCESS_UNKNOWN);
  g_assert_cmpuint (res->psps[5]->len, ==, 0);
  g_assert_nonnull (strstr (imp_analysis_result_get_note (res, 5),
                            "current"));
  g_assert_null (strstr (res->warning, "Imemb"));
  g_assert_nonnull (strstr (res->warning, "post"));

  /* The connection is found; its average leaves out the trials whose
   * window touches a gap, and stays finite. */
  for (i = 0; i < res->candidates->len; i++)
    {
      const ImpCandidate *cd = g_ptr_array_index (res->candidates, i);

      g_assert_cmpuint (cd->post, <=, 1);
      if (cd->pre == 0 && cd->post == 1)
        cand = cd;
    }
  g_assert_nonnull (cand);
  g_assert_true (cand->significant);
  g_assert_cmpuint (cand->n_trials, ==, usable_trials);
  g_assert_cmpuint (cand->n_trials, <, ap_at->len - 5);
  for (i = 0; i < cand->average_len; i++)
    g_assert_true (isfinite (cand->average[i]));
  for (i = 0; i < cand->n_trials; i++)
    g_assert_true (isfinite (cand->trial_amplitudes[i]));
  g_assert_cmpfloat (fabs (cand->amplitude_mv - 3.0), <, 0.3);

  /* The JSON says the same, with null for the missing noise. */
  g_assert_true (imp_analysis_result_write_json (res, rec, json_path,
                                                 &error));
  g_assert_no_error (error);
  root = parse_json_file (parser, json_path);
  noise = json_object_get_array_member (root, "noise_mv");
  g_assert_true (JSON_NODE_HOLDS_NULL (json_array_get_element (noise, 2)));
  g_assert_false (JSON_NODE_HOLDS_NULL (json_array_get_element (noise, 1)));
  notes = json_object_get_array_member (root, "notes");
  g_assert_cmpuint (json_array_get_length (notes), ==, nc);
  g_assert_cmpstr (json_array_get_string_element (notes, 0), ==, "");
  g_assert_cmpstr (json_array_get_string_element (notes, 5), ==,
                   imp_analysis_result_get_note (res, 5));
  g_assert_cmpstr (json_object_get_string_member (root, "warning"), ==,
                   res->warning);
}

/* A recording with nothing but NaN (as es_all_nan.nwb): no APs, no access,
 * no pairs, and it says so. Regression: it gave [1,1,1,1] APs and every
 * channel intracellular. */
static void
test_all_nan (void)
{
  static const char * const labels[] = { "e0", "e1", "e2", "e3" };
  static const char * const units[] = { "mV", "mV", "mV", "mV" };
  const gint64 n = 20000;
  float *data = g_new (float, 4 * n);
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  ImpAnalysisParams params;
  gint64 k;
  guint c;

  for (k = 0; k < 4 * n; k++)
    data[k] = k % 7 ? NAN : (k % 2 ? INFINITY : -INFINITY);
  rec = mem_recording (data, n, 10000, 4, labels, units);
  imp_analysis_params_init_default (&params);
  res = analyse_ok (rec, &params);

  for (c = 0; c < 4; c++)
    {
      g_assert_cmpuint (res->aps[c]->len, ==, 0);
      g_assert_cmpuint (res->psps[c]->len, ==, 0);
      g_assert_cmpint (res->access[c], ==, IMP_ACCESS_NONE);
      g_assert_true (isnan (res->noise_mv[c]));
    }
  g_assert_cmpuint (res->n_pairs_tested, ==, 0);
  g_assert_nonnull (res->warning);
  g_assert_nonnull (strstr (res->warning, "e0, e1, e2, e3"));
}

/* The parameter check is public, so a caller can refuse values before
 * opening a file; a latency window past the average window widens the
 * window instead of failing (regression: "--latency-max 30" failed after
 * opening the file). */
static void
test_params_validate (void)
{
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  g_autoptr(GError) error = NULL;
  ImpAnalysisParams params, copy;

  imp_analysis_params_init_default (&params);
  g_assert_true (imp_analysis_params_validate (&params, &error));
  g_assert_no_error (error);

  copy = params;
  imp_analysis_params_normalise (&copy);
  g_assert_cmpfloat (copy.window_post_ms, ==, 25.0);

  params.latency_max_ms = 30.0;
  g_assert_true (imp_analysis_params_validate (&params, NULL));
  copy = params;
  imp_analysis_params_normalise (&copy);
  g_assert_cmpfloat (copy.window_post_ms, ==,
                     30.0 + IMP_ANALYSIS_DECAY_MARGIN_MS);

  ensure_simulation ();
  rec = open_ok (sim_path);
  res = analyse_ok (rec, &params);
  g_assert_cmpfloat (res->params.window_post_ms, ==, 45.0);
  g_assert_cmpfloat (res->params.latency_max_ms, ==, 30.0);
  g_assert_cmpuint (res->candidates->len, >, 0);
  g_assert_cmpuint (((ImpCandidate *) g_ptr_array_index (res->candidates,
                                                         0))->average_len,
                    ==, (guint) round ((5.0 + 45.0) * 10));

  /* Refused: NaN anywhere, a latency window that cannot fit in 1 s. */
  imp_analysis_params_init_default (&params);
  params.latency_max_ms = 990;
  g_assert_false (imp_analysis_params_validate (&params, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  imp_analysis_params_init_default (&params);
  params.psp_threshold_sd = NAN;
  g_assert_false (imp_analysis_params_validate (&params, NULL));
  imp_analysis_params_init_default (&params);
  params.jitter_ms = INFINITY;
  g_assert_false (imp_analysis_params_validate (&params, NULL));
  imp_analysis_params_init_default (&params);
  params.latency_min_ms = NAN;
  g_assert_false (imp_analysis_params_validate (&params, NULL));

  /* The waveform test's parameters, each at a bad value. */
  {
    double *fields[] = { &params.deconv_tau_ms, &params.psc_window_ms,
                         &params.baseline_ms, &params.lead_ms,
                         &params.ap_blank_ms, &params.common_input_z };
    double bad[] = { 0.1, 0, 0.5, 1000, -1, 0 };
    guint k;

    for (k = 0; k < G_N_ELEMENTS (fields); k++)
      {
        imp_analysis_params_init_default (&params);
        *fields[k] = bad[k];
        g_assert_false (imp_analysis_params_validate (&params, NULL));
        *fields[k] = NAN;
        g_assert_false (imp_analysis_params_validate (&params, NULL));
      }
  }
  /* and the quantal fit's */
  imp_analysis_params_init_default (&params);
  params.quantal.min_trials = 5;
  g_assert_false (imp_analysis_params_validate (&params, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "trials"));
  g_clear_error (&error);
}

/* Regression: JsonGenerator writes 1e20 as "1e+20.0" and NaN as "nan.0",
 * neither of them JSON. */
static void
test_json_numbers (void)
{
  static const double values[] = { 1e20, 1e-300, 0.1, 25, -0.0, 1.5e-7,
                                   123456789012345678.0, -2.5e-12, NAN,
                                   INFINITY, -INFINITY };
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  JsonArray *array;
  gsize len;
  guint i;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "values");
  json_builder_begin_array (b);
  for (i = 0; i < G_N_ELEMENTS (values); i++)
    json_builder_add_double_value (b, values[i]);
  json_builder_add_int_value (b, -42);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "label");
  json_builder_add_string_value (b, "1e+20.0 nan \"q\" \xe9t\xe9 \x1f\x01");
  json_builder_end_object (b);
  root = json_builder_get_root (b);

  text = imp_output_json_to_data (root, TRUE, &len);
  g_test_message ("%s", text);
  g_assert_cmpuint (len, ==, strlen (text));
  g_assert_null (strstr (text, "e+20.0,"));
  g_assert_null (strstr (text, "nan,"));
  g_assert_nonnull (strstr (text, "1e+20,"));
  /* No control character but the layout's new lines (JSON forbids them
   * raw in strings; json-glib 1.6 writes U+001F raw). */
  for (i = 0; i < len; i++)
    g_assert_true ((guchar) text[i] >= 0x20 || text[i] == '\n');
  g_assert_nonnull (strstr (text, "1e-300,"));
  g_assert_nonnull (strstr (text, "0.1,"));
  g_assert_nonnull (strstr (text, "25.0,"));
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);

  array = json_object_get_array_member (
    json_node_get_object (json_parser_get_root (parser)), "values");
  for (i = 0; i < G_N_ELEMENTS (values); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (!isfinite (values[i]))
        g_assert_true (JSON_NODE_HOLDS_NULL (node));
      else
        g_assert_cmpfloat (json_node_get_double (node), ==, values[i]);
    }
  g_assert_cmpint (json_array_get_int_element (array, i), ==, -42);
  /* Strings are left alone, but for bytes that are not UTF-8. */
  g_assert_cmpstr (json_object_get_string_member (
                     json_node_get_object (json_parser_get_root (parser)),
                     "label"), ==,
                   "1e+20.0 nan \"q\" \xef\xbf\xbdt\xef\xbf\xbd \x1f\x01");

  /* Not pretty: the same values. */
  g_free (text);
  text = imp_output_json_to_data (root, FALSE, NULL);
  g_assert_null (strchr (text, '\n'));
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
}

/* The shortest of at least 6 digits that reads back, found by trying
 * every precision in turn: the slow reference for
 * imp_output_append_double(), which bisects. */
static char *
shortest_reference (double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  int precision;

  for (precision = 6; precision <= 17; precision++)
    {
      char format[8];

      g_snprintf (format, sizeof format, "%%.%dg", precision);
      g_ascii_formatd (buf, sizeof buf, format, value);
      if (g_ascii_strtod (buf, NULL) == value)
        break;
    }
  return g_strdup (buf);
}

/* Numbers and strings written by ImpJsonWriter read back as they were,
 * in the shortest text, and the text is JSON whatever the strings hold. */
static void
test_json_writer (void)
{
  static const float floats[] = { 0.1f, 3.0f, -0.0f, 1e-40f, FLT_MAX,
                                  -1.17549435e-38f, 4.676308f, 0x1p-60f,
                                  0x1p100f, NAN, INFINITY };
  static const char * const floats_text[] = { "0.1", "3.0", "-0.0",
                                              "9.99995e-41", "3.4028235e+38" };
  static const char * const strings[] = { "plain", "quote \" back \\",
                                          "line\nfeed\x01\x1f", "\xe9t\xe9",
                                          "" };
  g_autoptr(GString) out = g_string_new ("");
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  ImpJsonWriter w;
  JsonObject *root;
  JsonArray *array;
  guint i;

  /* Bisection gives what trying every precision gives, powers of two
   * (where a shorter text can read back when a longer one does not)
   * included. */
  for (i = 0; i < 2100; i++)
    {
      double v = ldexp (i % 2 ? -1.0 : 1.0, (int) i - 1050);
      g_autoptr(GString) text = g_string_new ("");
      g_autofree char *expected = shortest_reference (v);

      imp_output_append_double (text, v);
      g_assert_cmpstr (text->str, ==, expected);
    }
  for (i = 0; i < 20000; i++)
    {
      double v = ldexp (g_rand_double_range (rand, -1, 1),
                        g_rand_int_range (rand, -60, 60));
      g_autoptr(GString) text = g_string_new ("");
      g_autofree char *expected = shortest_reference (i % 3 == 0
                                                      ? round (v * 1e4) / 1e4
                                                      : v);

      imp_output_append_double (text, i % 3 == 0 ? round (v * 1e4) / 1e4
                                                 : v);
      g_assert_cmpstr (text->str, ==, expected);
    }

  imp_json_writer_init (&w, out, 0);
  imp_json_writer_begin_object (&w, NULL);
  imp_json_writer_floats (&w, "floats", floats, G_N_ELEMENTS (floats));
  imp_json_writer_floats (&w, "none", NULL, 0);
  imp_json_writer_begin_array (&w, "strings");
  for (i = 0; i < G_N_ELEMENTS (strings); i++)
    imp_json_writer_string (&w, NULL, strings[i]);
  imp_json_writer_string (&w, NULL, NULL);
  imp_json_writer_end_array (&w);
  imp_json_writer_begin_object (&w, "nested \"name\"");
  imp_json_writer_end_object (&w);
  imp_json_writer_begin_object (&w, "numbers");
  imp_json_writer_double (&w, "third", 1.0 / 3);
  imp_json_writer_double (&w, "big", 1e20);
  imp_json_writer_double (&w, "nan", NAN);
  imp_json_writer_int (&w, "int", -42);
  imp_json_writer_boolean (&w, "yes", TRUE);
  imp_json_writer_end_object (&w);
  imp_json_writer_end_object (&w);
  g_test_message ("%s", out->str);

  g_assert_true (json_parser_load_from_data (parser, out->str, -1, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  array = json_object_get_array_member (root, "floats");
  g_assert_cmpuint (json_array_get_length (array), ==, G_N_ELEMENTS (floats));
  for (i = 0; i < G_N_ELEMENTS (floats); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (isfinite (floats[i]))
        g_assert_cmpfloat ((float) json_node_get_double (node), ==,
                           floats[i]);
      else
        g_assert_true (JSON_NODE_HOLDS_NULL (node));
    }
  for (i = 0; i < G_N_ELEMENTS (floats_text); i++)
    {
      g_autofree char *item = g_strdup_printf (" %s,", floats_text[i]);

      g_assert_nonnull (strstr (out->str, item));
    }
  g_assert_cmpuint (json_array_get_length (
                      json_object_get_array_member (root, "none")), ==, 0);
  g_assert_nonnull (strstr (out->str, "\"none\" : [],"));
  array = json_object_get_array_member (root, "strings");
  g_assert_cmpstr (json_array_get_string_element (array, 0), ==, "plain");
  g_assert_cmpstr (json_array_get_string_element (array, 1), ==,
                   "quote \" back \\");
  g_assert_cmpstr (json_array_get_string_element (array, 2), ==,
                   "line\nfeed\x01\x1f");
  g_assert_cmpstr (json_array_get_string_element (array, 3), ==,
                   "\xef\xbf\xbdt\xef\xbf\xbd");
  g_assert_cmpstr (json_array_get_string_element (array, 4), ==, "");
  g_assert_true (JSON_NODE_HOLDS_NULL (json_array_get_element (array, 5)));
  g_assert_true (json_object_has_member (root, "nested \"name\""));
  root = json_object_get_object_member (root, "numbers");
  g_assert_cmpfloat (json_object_get_double_member (root, "third"), ==,
                     1.0 / 3);
  g_assert_cmpfloat (json_object_get_double_member (root, "big"), ==, 1e20);
  g_assert_true (json_object_get_null_member (root, "nan"));
  g_assert_cmpint (json_object_get_int_member (root, "int"), ==, -42);
  g_assert_true (json_object_get_boolean_member (root, "yes"));
  /* Laid out as JsonGenerator lays out the rest of a result. */
  g_assert_nonnull (strstr (out->str, "\n  \"numbers\" : {\n    \"third\" : "));
}

/* Whether @events has one in [from, to). */
static gboolean
has_event_in (GArray *events,
              gint64  from,
              gint64  to)
{
  guint i;

  for (i = 0; i < events->len; i++)
    {
      gint64 at = g_array_index (events, ImpEvent, i).sample;

      if (at >= from && at < to)
        return TRUE;
    }
  return FALSE;
}

/* Regression: the membrane charging at the edges of a current step
 * (current clamp) was reported as PSPs. With the command current recorded,
 * PSP detection stays away from its step edges; PSPs elsewhere are still
 * found. */
static void
test_current_steps (void)
{
  static const char * const labels[] = { "Vm", "Imemb" };
  static const char * const units[] = { "mV", "pA" };
  const double fs = 10000;
  const gint64 n = 100000;
  g_autoptr(GRand) rand = g_rand_new_with_seed (23);
  g_autoptr(ImpRecording) with_command = NULL;
  g_autoptr(ImpRecording) alone = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  g_autoptr(ImpAnalysisResult) res_alone = NULL;
  float *data = g_new (float, 2 * n);
  float *vm = data, *im = data + n;
  ImpAnalysisParams params;
  guint found = 0, n_psps = 0, e;
  gint64 k, t;

  for (k = 0; k < n; k++)
    {
      double s = k / fs, v = 0;
      gboolean on = fmod (s, 2.0) >= 1.0 && fmod (s, 2.0) < 1.5;

      /* An 8 mV RC response (20 ms) to each 500 ms step. */
      if (fmod (s, 2.0) >= 1.0)
        {
          double since_on = fmod (s, 2.0) - 1.0;

          v = 8.0 * (1 - exp (-since_on / 0.02));
          if (!on)
            v = 8.0 * (1 - exp (-0.5 / 0.02)) * exp (-(since_on - 0.5) / 0.02);
        }
      vm[k] = (float) (-65 + v + g_rand_double_range (rand, -0.2, 0.2));
      im[k] = (float) ((on ? 40 : 0) + g_rand_double_range (rand, -8, 8));
    }
  /* PSPs 250 ms from the edges. */
  for (t = 2500; t < n; t += 5000, n_psps++)
    add_psp (vm, n, fs, t, 2.0);

  /* The same Vm without the command, to show what the edges did. */
  alone = mem_recording (g_memdup2 (vm, n * sizeof (float)), n, fs, 1,
                         labels, units);
  with_command = mem_recording (data, n, fs, 2, labels, units);
  imp_analysis_params_init_default (&params);
  res_alone = analyse_ok (alone, &params);
  res = analyse_ok (with_command, &params);

  g_assert_cmpint (res->access[1], ==, IMP_ACCESS_UNKNOWN);
  for (e = 0; e < 10; e++)
    {
      gint64 edge = (gint64) ((1.0 + 0.5 * (e % 2) + 2.0 * (e / 2)) * fs);

      g_assert_true (has_event_in (res_alone->psps[0], edge - 20, edge + 300));
      g_assert_false (has_event_in (res->psps[0], edge - 20, edge + 300));
    }
  for (t = 2500; t < n; t += 5000)
    found += has_event_in (res->psps[0], t - 5, t + 15);
  g_test_message ("%u of %u PSPs found; %u events with the command, %u "
                  "without", found, n_psps, res->psps[0]->len,
                  res_alone->psps[0]->len);
  g_assert_cmpuint (found, >=, n_psps - 1);
}

/* Whether a candidate of a result is one that every cap keeps: its
 * AP->PSP q-value at most alpha without common input, or its AP->AP
 * q-value at most alpha (as the analysis saw it before measuring). */
static gboolean
always_kept (const ImpCandidate *c,
             double              alpha)
{
  return (c->p_value <= alpha && !c->common_input)
         || c->ap_ap_p_value <= alpha;
}

static double
least_p_of (const ImpCandidate *c)
{
  return MIN (c->p_uncorrected, MIN (c->event_p_uncorrected,
                                     c->ap_ap_p_uncorrected));
}

/* By the lowest uncorrected p-value, then the AP->PSP one, then by pre
 * and post channel. */
static int
compare_least_p (const void *a,
                 const void *b)
{
  const ImpCandidate *ca = *(const ImpCandidate * const *) a;
  const ImpCandidate *cb = *(const ImpCandidate * const *) b;

  if (least_p_of (ca) != least_p_of (cb))
    return least_p_of (ca) < least_p_of (cb) ? -1 : 1;
  if (ca->p_uncorrected != cb->p_uncorrected)
    return ca->p_uncorrected < cb->p_uncorrected ? -1 : 1;
  if (ca->pre != cb->pre)
    return ca->pre < cb->pre ? -1 : 1;
  return (ca->post > cb->post) - (ca->post < cb->post);
}

static const ImpCandidate *
find_candidate (ImpAnalysisResult *res,
                guint              pre,
                guint              post)
{
  for (guint i = 0; i < res->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (res->candidates, i);

      if (c->pre == pre && c->post == post)
        return c;
    }
  return NULL;
}

/* max_candidates keeps every significant pair and, of the others, those
 * with the lowest p-values; what it keeps is what an uncapped run finds
 * for them. The expected set is recomputed here from the uncapped run. */
static void
test_candidate_cap (void)
{
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpAnalysisResult) all = NULL;
  g_autoptr(ImpAnalysisResult) capped = NULL;
  g_autoptr(GPtrArray) others = g_ptr_array_new ();
  ImpAnalysisParams params;
  guint i, n_always = 0;

  ensure_simulation ();
  rec = open_ok (sim_path);
  imp_analysis_params_init_default (&params);
  params.max_candidates = G_MAXUINT;
  all = analyse_ok (rec, &params);
  for (i = 0; i < all->candidates->len; i++)
    {
      ImpCandidate *c = g_ptr_array_index (all->candidates, i);

      if (always_kept (c, params.alpha))
        n_always++;
      else
        g_ptr_array_add (others, c);
    }
  g_test_message ("%u candidates, %u significant, %u others",
                  all->candidates->len, n_always, others->len);
  g_assert_cmpuint (n_always, >, 10);
  g_assert_cmpuint (others->len, >, 20);

  params.max_candidates = others->len / 3;
  capped = analyse_ok (rec, &params);
  g_assert_cmpuint (capped->candidates->len, ==,
                    n_always + params.max_candidates);
  g_assert_cmpuint (capped->n_pairs_tested, ==, all->n_pairs_tested);
  g_assert_cmpuint (capped->n_connections, ==, all->n_connections);
  g_assert_cmpuint (capped->n_ap_ap_connections, ==,
                    all->n_ap_ap_connections);

  /* Every significant one, and the lowest-p others. */
  qsort (others->pdata, others->len, sizeof (gpointer), compare_least_p);
  for (i = 0; i < all->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (all->candidates, i);

      if (always_kept (c, params.alpha))
        g_assert_nonnull (find_candidate (capped, c->pre, c->post));
    }
  for (i = 0; i < others->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (others, i);
      const ImpCandidate *kept = find_candidate (capped, c->pre, c->post);

      if (i >= params.max_candidates)
        {
          g_assert_null (kept);
          continue;
        }
      g_assert_nonnull (kept);
      /* the same numbers as without the cap */
      g_assert_cmpfloat (kept->p_value, ==, c->p_value);
      g_assert_cmpfloat (kept->ap_ap_p_value, ==, c->ap_ap_p_value);
      g_assert_cmpfloat (kept->amplitude_mv, ==, c->amplitude_mv);
      g_assert_cmpuint (kept->n_hits, ==, c->n_hits);
      g_assert_cmpfloat (kept->null_mean, ==, c->null_mean);
      g_assert_cmpuint (kept->n_ap_ap_hits, ==, c->n_ap_ap_hits);
      g_assert_cmpfloat (kept->ap_ap_null_mean, ==, c->ap_ap_null_mean);
      g_assert_cmpuint (kept->n_trials, ==, c->n_trials);
    }

  /* No cap at all: the significant ones only. */
  params.max_candidates = 0;
  g_clear_pointer (&capped, imp_analysis_result_unref);
  capped = analyse_ok (rec, &params);
  g_assert_cmpuint (capped->candidates->len, ==, n_always);
}

static int
compare_double_ptr (const void *a,
                    const void *b)
{
  double da = **(const double * const *) a;
  double db = **(const double * const *) b;

  return (da > db) - (da < db);
}

/* Benjamini-Hochberg, written out: q(i) = min over j >= i of
 * p(j) m / j in ascending order, capped at 1, in place. */
static void
reference_bh (double *p,
              gsize   m)
{
  g_autofree double **order = g_new (double *, MAX (m, 1));
  double running = 1.0;
  gsize i;

  for (i = 0; i < m; i++)
    order[i] = &p[i];
  qsort (order, m, sizeof *order, compare_double_ptr);
  for (i = m; i-- > 0;)
    {
      running = MIN (running, *order[i] * m / (i + 1));
      *order[i] = MIN (running, 1.0);
    }
}

/* The q-values are those of Benjamini-Hochberg over every tested pair,
 * computed here from all their p-values: with candidate_p_max 1 and no
 * cap, every pair with a p-value below 1 is a candidate (the others have
 * p = 1 on every test). With a cap of 50, the same pairs have the same
 * q-values: the correction still counts every pair tested. */
static void
test_q_values (void)
{
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  g_autoptr(ImpAnalysisResult) capped = NULL;
  g_autofree double *q_pair = NULL;
  g_autofree double *q_ap = NULL;
  ImpAnalysisParams params;
  guint i, c, n, n_pre = 0, n_post = 0;
  gsize m;

  ensure_simulation ();
  rec = open_ok (sim_path);
  imp_analysis_params_init_default (&params);
  params.candidate_p_max = 1.0;
  params.max_candidates = G_MAXUINT;
  /* Thousands of candidates: no quantal fits, which do not matter here. */
  params.quantal.min_trials = 1000000;
  res = analyse_ok (rec, &params);
  m = res->n_pairs_tested;
  n = res->candidates->len;
  g_test_message ("%" G_GSIZE_FORMAT " pairs tested, %u with p < 1", m, n);
  for (c = 0; c < res->n_channels; c++)
    if (res->access[c] == IMP_ACCESS_INTRACELLULAR)
      {
        n_post++;
        n_pre += res->aps[c]->len >= params.min_pre_aps;
      }
  g_assert_cmpuint (m, ==, (gsize) n_pre * (n_post - 1));
  g_assert_cmpuint (n, <=, m);
  g_assert_cmpuint (n, >, m / 2);

  q_pair = g_new (double, m);
  q_ap = g_new (double, m);
  for (i = 0; i < m; i++)
    {
      const ImpCandidate *cand = i < n ? g_ptr_array_index (res->candidates,
                                                            i)
                                       : NULL;

      q_pair[i] = cand != NULL ? cand->p_uncorrected : 1.0;
      q_ap[i] = cand != NULL ? cand->ap_ap_p_uncorrected : 1.0;
    }
  reference_bh (q_pair, m);
  reference_bh (q_ap, m);
  for (i = 0; i < n; i++)
    {
      const ImpCandidate *cand = g_ptr_array_index (res->candidates, i);

      g_assert_cmpfloat_with_epsilon (cand->p_value, q_pair[i],
                                      1e-12 * q_pair[i] + 1e-300);
      g_assert_cmpfloat_with_epsilon (cand->ap_ap_p_value, q_ap[i],
                                      1e-12 * q_ap[i] + 1e-300);
    }

  params.max_candidates = 50;
  capped = analyse_ok (rec, &params);
  g_assert_cmpuint (capped->n_pairs_tested, ==, m);
  g_assert_cmpuint (capped->candidates->len, <, n);
  for (i = 0; i < capped->candidates->len; i++)
    {
      const ImpCandidate *cand = g_ptr_array_index (capped->candidates, i);
      guint k;

      for (k = 0; k < n; k++)
        if (((const ImpCandidate *) g_ptr_array_index (res->candidates,
                                                       k))->pre == cand->pre
            && ((const ImpCandidate *) g_ptr_array_index (res->candidates,
                                                          k))->post
               == cand->post)
          break;
      g_assert_cmpuint (k, <, n);
      g_assert_cmpfloat_with_epsilon (cand->p_value, q_pair[k],
                                      1e-12 * q_pair[k] + 1e-300);
      g_assert_cmpfloat_with_epsilon (cand->ap_ap_p_value, q_ap[k],
                                      1e-12 * q_ap[k] + 1e-300);
    }
}

static gboolean
never_read (ImpRecording *self,
            guint         first_channel,
            guint         n_channels,
            gint64        first_sample,
            gint64        n_samples,
            float        *out,
            GError      **error)
{
  g_assert_not_reached ();
  return FALSE;
}

static const ImpRecordingBackend never_backend = { "never", never_read,
                                                   NULL };

/* Events are 8 bytes, their sample a 32-bit index: a recording longer
 * than that can hold is refused with a clear error before any reading. */
/* Simulates @sp into @name.h5 (truth @name.csv), analyses it with the
 * defaults and scores the map: the truth and the result. */
static ImpAnalysisResult *
simulate_and_score (const ImpSimParams *sp,
                    const char         *name,
                    GArray            **truth,
                    ImpMapScore        *score)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) found = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autofree char *file = g_strconcat (name, ".h5", NULL);
  g_autofree char *csv = g_strconcat (name, ".csv", NULL);
  g_autofree char *path = tmp_file (file);
  g_autofree char *truth_csv = tmp_file (csv);
  ImpAnalysisParams params;
  ImpAnalysisResult *res;

  g_assert_true (imp_simulate (sp, path, truth_csv, NULL, NULL, NULL,
                               &error));
  g_assert_no_error (error);
  *truth = imp_map_read_csv (truth_csv, &error);
  g_assert_no_error (error);
  rec = open_ok (path);
  imp_analysis_params_init_default (&params);
  res = analyse_ok (rec, &params);
  found = imp_analysis_result_to_map (res);
  imp_map_score (found, *truth, score);
  return res;
}

/* A short recording of a wide culture: a few dozen trials a pair, and
 * membranes made right-skewed by their PSPs. Among the pairs without a
 * synapse, small waveform p-values must not crowd on the negative side:
 * Student's t over trials that happened to miss the post's PSPs made
 * inhibitory false connections by the hundred on a 4,096-channel, 30 s
 * culture (289 negative against 29 positive below 0.01 here) until the
 * variance got its floor from the post's own variability. */
static void
test_skewed_null (void)
{
  g_autoptr(GArray) truth = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  ImpMapScore score;
  ImpSimParams sp;
  guint i, n_neg = 0, n_pos = 0, n_null;

  imp_sim_params_init_default (&sp);
  sp.n_neurons = 128;
  sp.duration_s = 10;
  sp.seed = 3;
  sp.no_access_frac = 0;
  res = simulate_and_score (&sp, "skewed", &truth, &score);

  for (i = 0; i < res->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (res->candidates, i);

      if (truth_entry (truth, c->pre, c->post) != NULL
          || !(c->p_uncorrected < 0.01))
        continue;
      if (c->wave_z < 0)
        n_neg++;
      else
        n_pos++;
    }
  n_null = (guint) res->n_pairs_tested - truth->len;
  g_test_message ("%u pairs without a synapse: %u negative and %u positive "
                  "below p 0.01; precision %.3f", n_null, n_neg, n_pos,
                  score.precision);
  g_assert_cmpuint (n_null, >, 10000);
  g_assert_cmpfloat (n_neg, <=, 2 * n_pos + 0.002 * n_null);
  g_assert_cmpfloat (n_neg + n_pos, <=, 0.01 * n_null);
  g_assert_cmpfloat (score.precision, >=, 0.99);
}

/* Cells that fire fast, no synapse at all: windows next to a cell's own
 * APs are left out of its trials, and where its template is poor or
 * missing the rest differ from zero; the test must compare the trials
 * with the post's own mean at each delay, not with zero. Before, 75 of
 * 2,862 pairs had p < 0.001 here, each post's all of one sign, and two
 * were reported. */
static void
test_fast_firing_null (void)
{
  g_autoptr(GArray) truth = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  ImpMapScore score;
  ImpSimParams sp;
  guint i, n_low = 0, n_fast = 0;

  imp_sim_params_init_default (&sp);
  sp.n_neurons = 64;
  sp.duration_s = 30;
  sp.seed = 41;
  sp.rate_hz = 20;
  sp.connection_prob = 0;
  res = simulate_and_score (&sp, "fast", &truth, &score);

  for (i = 0; i < res->n_channels; i++)
    n_fast += res->aps[i]->len >= 50 * 30;
  for (i = 0; i < res->candidates->len; i++)
    {
      const ImpCandidate *c = g_ptr_array_index (res->candidates, i);

      n_low += c->p_uncorrected < 0.001;
    }
  g_test_message ("%u cells at 50 Hz or more; %u of %" G_GUINT64_FORMAT
                  " pairs below p 0.001", n_fast, n_low,
                  res->n_pairs_tested);
  g_assert_cmpuint (n_fast, >=, 1);
  g_assert_cmpuint (res->n_connections, ==, 0);
  g_assert_cmpfloat (n_low, <=, 0.004 * res->n_pairs_tested);
}

/* A sparse culture whose strong synapses make their targets fire, so
 * that chains A -> B -> C look like connections A -> C. The other inputs
 * of each post, regressed out of its trial amplitudes, explain some of
 * them away: each one explained is a pair the simulator did not connect
 * (or one whose true PSP is too small to have been the response
 * measured), and the input named as the explanation is, in the truth, B
 * of a chain A -> B -> C or a shared input B -> A, B -> C. No true
 * connection with an SNR of 3 or more is explained away, and the
 * accuracy targets hold. */
static void
test_explained (void)
{
  g_autoptr(GArray) truth = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  ImpSimParams sp;
  ImpMapScore score;
  guint i, n_explained = 0, n_measured = 0;

  imp_sim_params_init_default (&sp);
  sp.n_neurons = 128;
  sp.duration_s = 600;
  sp.sample_rate_hz = 4500;
  sp.no_access_frac = 0.58;
  res = simulate_and_score (&sp, "explained", &truth, &score);

  for (i = 0; i < res->candidates->len; i++)
    {
      ImpCandidate *c = g_ptr_array_index (res->candidates, i);
      const ImpMapEntry *t = truth_entry (truth, c->pre, c->post);
      guint b = c->explained_by;

      n_measured += isfinite (c->direct_z);
      if (!c->explained)
        continue;
      n_explained++;
      g_test_message ("%s -> %s explained by %s: direct %.3f mV of %.3f, "
                      "z %.2f", res->labels[c->pre], res->labels[c->post],
                      b < res->n_channels ? res->labels[b] : "?",
                      c->direct_mv, c->amplitude_mv, c->direct_z);
      g_assert_false (c->significant);
      g_assert_cmpfloat (c->direct_z, <, 2);
      g_assert_cmpuint (b, <, res->n_channels);
      g_assert_true (t == NULL || t->snr < 3);
      g_assert_true (in_map (truth, b, c->post)
                     && (in_map (truth, c->pre, b)
                         || in_map (truth, b, c->pre)));
    }
  g_test_message ("%u explained of %u measured; precision %.3f, SNR >= 6 "
                  "%u of %u, 3-6 %u of %u", n_explained, n_measured,
                  score.precision, score.band_found[IMP_MAP_SNR_HIGH],
                  score.band_total[IMP_MAP_SNR_HIGH],
                  score.band_found[IMP_MAP_SNR_MID],
                  score.band_total[IMP_MAP_SNR_MID]);
  g_assert_cmpuint (n_explained, >=, 4);
  g_assert_cmpuint (n_measured, >, 100);
  g_assert_cmpfloat (score.precision, >=, 0.97);
  g_assert_cmpfloat ((double) score.band_found[IMP_MAP_SNR_HIGH]
                     / score.band_total[IMP_MAP_SNR_HIGH], >=, 0.97);
  g_assert_cmpfloat ((double) score.band_found[IMP_MAP_SNR_MID]
                     / MAX (score.band_total[IMP_MAP_SNR_MID], 1), >=, 0.85);
}

/* A PSP fitted to a synthetic average (a double exponential of either
 * sign on a sloping baseline, with and without noise, and a crosstalk
 * spike at the AP that the fit must leave out): without noise its onset
 * within half a sample and its rise, decay and amplitude within 3 % of
 * those found by stepping along the kernel; with noise within 2.5
 * samples and 30 %. Wrong signs, NaNs and onsets past the range are
 * refused. */
static void
test_psp_fit (void)
{
  static const struct { double onset, rise, decay, amp, noise; } cases[] = {
    { 2.0, 0.5, 15, 1.0, 0 }, { 1.1, 1.0, 20, -0.6, 0 },
    { 4.3, 3.0, 30, 0.4, 0 }, { 0.8, 0.3, 8, 2.0, 0 },
    { 2.5, 0.5, 15, 0.5, 0.05 }, { 3.0, 1.0, 20, -0.4, 0.05 },
    { 1.7, 2.0, 40, 0.3, 0.03 },
  };
  const double fs = 10000;
  const gint64 pre = 50, len = 300;   /* 5 ms before the AP, 25 after */
  float x[300];
  GRand *rand = g_rand_new_with_seed (3);
  ImpPspFit fit;
  guint i;
  gint64 k;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      double tr = cases[i].rise, td = cases[i].decay;
      double peak = tr * td / (td - tr) * log (td / tr);
      double top = exp (-peak / td) - exp (-peak / tr);
      double sign = cases[i].amp > 0 ? 1 : -1;
      double want_rise = double_exp_rise_ms (tr, td);
      double want_decay = double_exp_decay_ms (tr, td);
      gint64 onset = pre + llround (cases[i].onset * fs / 1000);

      for (k = 0; k < len; k++)
        {
          double t = (k - onset) * 1000 / fs;
          double psp = t >= 0 ? (exp (-t / td) - exp (-t / tr)) / top : 0;
          /* the slope of slow co-modulation, and the AP's own crosstalk */
          double v = 0.3 + 0.01 * (k - pre) * 1000 / fs
                     + cases[i].amp * psp
                     + (llabs (k - pre) <= 3 ? 2.0 : 0.0);

          if (cases[i].noise > 0)
            v += cases[i].noise * (g_rand_double (rand) * 2 - 1) * sqrt (3);
          x[k] = (float) v;
        }
      g_assert_true (imp_psp_fit (x, len, pre, fs, sign, 0.5, 10, &fit));
      g_test_message ("onset %.2f (%.2f), rise %.3f (%.3f), decay %.2f "
                      "(%.2f), amplitude %.3f (%.3f)", fit.onset_ms,
                      cases[i].onset, fit.rise_ms, want_rise, fit.decay_ms,
                      want_decay, fit.amplitude, cases[i].amp);
      if (cases[i].noise == 0)
        {
          g_assert_cmpfloat (fabs (fit.onset_ms - cases[i].onset), <=,
                             0.5 * 1000 / fs);
          g_assert_cmpfloat (fabs (fit.rise_ms / want_rise - 1), <, 0.03);
          g_assert_cmpfloat (fabs (fit.decay_ms / want_decay - 1), <, 0.03);
          g_assert_cmpfloat (fabs (fit.amplitude / cases[i].amp - 1), <,
                             0.03);
        }
      else
        {
          g_assert_cmpfloat (fabs (fit.onset_ms - cases[i].onset), <=,
                             2.5 * 1000 / fs);
          g_assert_cmpfloat (fabs (fit.rise_ms / want_rise - 1), <, 0.3);
          /* a decay much slower than the 25 ms after the AP trades
           * against the baseline's slope (docs/analysis.md) */
          if (td < 25)
            g_assert_cmpfloat (fabs (fit.decay_ms / want_decay - 1), <, 0.3);
        }
      /* the other sign does not fit, and the onset must lie in range */
      g_assert_false (imp_psp_fit (x, len, pre, fs, -sign, 0.5, 10, &fit)
                      && fit.amplitude * sign > 0);
      /* a PSP that starts after the range searched, or before it, has
       * no onset there: no fit, rather than one at the range's end */
      if (cases[i].onset > 1.5)
        {
          g_assert_false (imp_psp_fit (x, len, pre, fs, sign, 0.5,
                                       cases[i].onset - 1, &fit));
          g_assert_true (isnan (fit.onset_ms) && isnan (fit.rise_ms));
        }
      g_assert_false (imp_psp_fit (x, len, pre, fs, sign,
                                   cases[i].onset + 1, 10, &fit));
    }

  /* a decay far slower than any searched (400 ms): the onset and rise
   * are measured, the decay is not */
  for (k = 0; k < len; k++)
    {
      double t = (k - pre - 20) * 1000 / fs;

      x[k] = (float) (t >= 0 ? (exp (-t / 400) - exp (-t / 0.5)) : 0);
    }
  g_assert_true (imp_psp_fit (x, len, pre, fs, 1, 0.5, 10, &fit));
  g_assert_cmpfloat (fabs (fit.onset_ms - 2.0), <=, 0.5 * 1000 / fs);
  g_assert_true (isfinite (fit.rise_ms) && isnan (fit.decay_ms));

  /* nothing but the baseline: no PSP of either sign worth a latency */
  for (k = 0; k < len; k++)
    x[k] = (float) (0.3 + 0.01 * k);
  g_assert_false (imp_psp_fit (x, len, pre, fs, 1, 0.5, 10, &fit)
                  && fit.amplitude > 1e-6);
  x[100] = NAN;
  g_assert_false (imp_psp_fit (x, len, pre, fs, 1, 0.5, 10, &fit));
  g_assert_true (isnan (fit.onset_ms) && isnan (fit.rise_ms));
  /* a range outside the average */
  x[100] = 0;
  g_assert_false (imp_psp_fit (x, len, pre, fs, 1, 30, 40, &fit));
  g_rand_free (rand);
}

/* Every excitatory synapse far out on the dendrite (PSPs rising in 3 ms
 * and decaying in 30 ms at the soma, as docs/simulator.md says): they
 * are found as well as fast ones, their averages rise slowly like the
 * simulator's kernel, and none is taken for a chain by the onset test,
 * since each still starts at a fixed latency. */
static void
test_distal (void)
{
  g_autoptr(GArray) truth = NULL;
  g_autoptr(ImpAnalysisResult) res = NULL;
  g_autofree double *rises = NULL;
  ImpSimParams sp;
  ImpMapScore score;
  guint i, n_rises = 0;
  double expected;

  imp_sim_params_init_default (&sp);
  sp.seed = 2;
  sp.duration_s = 120;
  sp.distal_frac = 1;
  res = simulate_and_score (&sp, "distal", &truth, &score);

  rises = g_new (double, res->candidates->len + 1);
  for (i = 0; i < res->candidates->len; i++)
    {
      ImpCandidate *c = g_ptr_array_index (res->candidates, i);

      if (!in_map (truth, c->pre, c->post))
        continue;
      g_assert_false (c->polysynaptic);
      if (c->significant && c->sign == 'E' && !isnan (c->rise_ms))
        rises[n_rises++] = c->rise_ms;
    }
  qsort (rises, n_rises, sizeof (double), compare_double);
  expected = double_exp_rise_ms (3, 30);
  g_test_message ("distal: precision %.3f, recall %.3f, SNR >= 6 %u of "
                  "%u, 3-6 %u of %u; median 20-80 %% rise %.2f ms of %u "
                  "(kernel %.2f ms)", score.precision, score.recall,
                  score.band_found[IMP_MAP_SNR_HIGH],
                  score.band_total[IMP_MAP_SNR_HIGH],
                  score.band_found[IMP_MAP_SNR_MID],
                  score.band_total[IMP_MAP_SNR_MID],
                  n_rises ? rises[n_rises / 2] : NAN, n_rises, expected);
  /* the accuracy targets (docs/accuracy.md) */
  g_assert_cmpuint (score.band_total[IMP_MAP_SNR_HIGH], >, 50);
  g_assert_cmpfloat (score.precision, >=, 0.97);
  g_assert_cmpfloat ((double) score.band_found[IMP_MAP_SNR_HIGH]
                     / score.band_total[IMP_MAP_SNR_HIGH], >=, 0.97);
  g_assert_cmpfloat ((double) score.band_found[IMP_MAP_SNR_MID]
                     / MAX (score.band_total[IMP_MAP_SNR_MID], 1), >=, 0.85);
  g_assert_cmpuint (n_rises, >, 50);
  /* Slow, as the kernel (a fast synapse's is 0.56 ms), within 10 % */
  g_assert_cmpfloat (fabs (rises[n_rises / 2] / expected - 1), <, 0.1);
}

/* The onset test against counts worked out by hand (docs/analysis.md,
 * "Time-locked onsets"): at 10 kHz with the default windows, lags from
 * 5 samples (0.5 ms) to 250 (25 ms), a 20-sample best window starting by
 * sample 100, and the baseline from lags -500 to -100. */
static void
add_event (GArray *events,
           gint64  sample,
           float   amplitude)
{
  ImpEvent e = { (guint32) sample, amplitude };

  g_array_append_val (events, e);
}

static int
compare_events (gconstpointer a,
                gconstpointer b)
{
  const ImpEvent *ea = a, *eb = b;

  return (ea->sample > eb->sample) - (ea->sample < eb->sample);
}

static double
spread_z (const ImpAnalysisParams *p,
          GArray                  *aps,
          GArray                  *psps)
{
  g_array_sort (aps, compare_events);
  g_array_sort (psps, compare_events);
  return _imp_analysis_onset_spread_z (p, 10000, aps, psps, 'E');
}

static void
test_onset_spread (void)
{
  ImpAnalysisParams p;
  g_autoptr(GArray) aps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
  g_autoptr(GArray) psps = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
  double locked, z;
  guint a, k;

  imp_analysis_params_init_default (&p);
  imp_analysis_params_normalise (&p);
  g_assert_cmpfloat (p.window_post_ms, ==, 25);

  /* A synapse: one PSP 3 ms after each of 200 isolated APs. Window 200,
   * rest 0, no baseline: (0 - 200) / sqrt (200). */
  for (a = 0; a < 200; a++)
    {
      add_event (aps, 10000 + a * 2000, 80);
      add_event (psps, 10000 + a * 2000 + 30, 0.5f);
    }
  locked = spread_z (&p, aps, psps);
  g_assert_cmpfloat_with_epsilon (locked, -200 / sqrt (200), 1e-9);

  /* Inhibitory PSPs anywhere do not count towards an excitatory test. */
  for (a = 0; a < 200; a++)
    add_event (psps, 10000 + a * 2000 + 40 + 10 * (a % 20), -0.5f);
  g_assert_cmpfloat (spread_z (&p, aps, psps), ==, locked);

  /* A chain: the PSP at 3, 5, ..., 21 ms, 20 trials each; any 20-sample
   * window holds one lag: (180 - 20) / sqrt (200). */
  g_array_set_size (psps, 0);
  for (a = 0; a < 200; a++)
    add_event (psps, 10000 + a * 2000 + 30 + 20 * (a % 10), 0.5f);
  z = spread_z (&p, aps, psps);
  g_assert_cmpfloat_with_epsilon (z, 160 / sqrt (200), 1e-9);
  g_assert_cmpfloat (z, >=, p.spread_z);

  /* A synapse whose presynaptic cell fires bursts of three APs 6 ms
   * apart, each AP followed by its PSP at 3 ms. The best window holds
   * 300 onsets (lag 3 ms), the rest 300 (lags 9 and 15 ms: the later
   * APs' PSPs); one later AP per trial within 22 ms on average, so
   * (300 - 2 * 300) / sqrt (300 + 4 * 300). Without the bursts'
   * allowance the rest would equal the window: a spread of 0. */
  g_array_set_size (aps, 0);
  g_array_set_size (psps, 0);
  for (a = 0; a < 100; a++)
    for (k = 0; k < 3; k++)
      {
        add_event (aps, 10000 + a * 2000 + k * 60, 80);
        add_event (psps, 10000 + a * 2000 + k * 60 + 30, 0.5f);
      }
  z = spread_z (&p, aps, psps);
  g_assert_cmpfloat_with_epsilon (z, -300 / sqrt (1500), 1e-9);

  /* A baseline of one PSP every 9.7 ms everywhere (its phase against
   * the APs moving from trial to trial, so that it adds about as much to
   * every lag): the chain above, on top of it, keeps its verdict; the
   * synapse keeps its own. */
  g_array_set_size (aps, 0);
  g_array_set_size (psps, 0);
  for (a = 0; a < 200; a++)
    {
      add_event (aps, 10000 + a * 2000 + 7, 80);
      add_event (psps, 10000 + a * 2000 + 7 + 30 + 20 * (a % 10), 0.5f);
    }
  for (a = 0; a < 200 * 2000 / 97 + 100; a++)
    add_event (psps, 5000 + a * 97, 0.5f);
  g_assert_cmpfloat (spread_z (&p, aps, psps), >=, p.spread_z);
  g_array_set_size (psps, 0);
  for (a = 0; a < 200; a++)
    add_event (psps, 10000 + a * 2000 + 7 + 30, 0.5f);
  for (a = 0; a < 200 * 2000 / 97 + 100; a++)
    add_event (psps, 5000 + a * 97, 0.5f);
  g_assert_cmpfloat (spread_z (&p, aps, psps), <, 0);

  /* A lead as long as the jitter moves the baseline before the lead
   * instead of leaving none: the verdict stands. */
  p.jitter_ms = p.lead_ms = 50;
  g_assert_cmpfloat (spread_z (&p, aps, psps), <, 0);

  /* No presynaptic AP: no verdict. */
  g_array_set_size (aps, 0);
  g_assert_true (isnan (spread_z (&p, aps, psps)));
}

static void
test_event_size (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  ImpAnalysisParams params;
  ImpAnalysisResult *res;
  ImpEvent ev = { G_MAXUINT32, -1.5f };

  g_assert_cmpuint (sizeof (ImpEvent), ==, 8);
  g_assert_cmpuint (ev.sample, ==, 4294967295u);
  g_assert_cmpint (IMP_ANALYSIS_MAX_SAMPLES, ==,
                   G_GINT64_CONSTANT (4294967296));

  rec = _imp_recording_new ("long", &never_backend, NULL);
  rec->sample_rate = 9000;
  _imp_recording_add_channel (rec, "A1", "mV", 1.0, 0.0);
  _imp_recording_add_sweep (rec, G_GINT64_CONSTANT (4294967297), 0.0);
  g_assert_true (_imp_recording_validate (rec, &error));
  g_assert_no_error (error);
  g_assert_cmpint (imp_recording_get_n_samples (rec), ==,
                   G_GINT64_CONSTANT (4294967297));

  imp_analysis_params_init_default (&params);
  res = imp_analysis_run (rec, &params, NULL, NULL, NULL, &error);
  g_assert_null (res);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "4294967297 samples"));
  g_assert_nonnull (strstr (error->message, "2^32"));
}

static void
remove_tmp_dir (void)
{
  g_autoptr(GDir) dir = g_dir_open (tmp_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (tmp_dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (tmp_dir);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("imp-test-analysis-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);

  g_test_add_func ("/imp/Analysis/simulated", test_simulated);
  g_test_add_func ("/imp/Analysis/no-synapses", test_no_synapses);
  g_test_add_func ("/imp/Analysis/reference-average", test_reference);
  g_test_add_func ("/imp/Analysis/reference-p", test_reference_p);
  g_test_add_func ("/imp/Analysis/progress-and-cancel",
                   test_progress_and_cancel);
  g_test_add_func ("/imp/Analysis/invalid-params", test_invalid_params);
  g_test_add_func ("/imp/Analysis/json", test_json);
  g_test_add_func ("/imp/Analysis/deterministic", test_deterministic);
  g_test_add_func ("/imp/Analysis/sorted", test_sorted);
  g_test_add_func ("/imp/Analysis/read-again", test_read_again);
  g_test_add_func ("/imp/Analysis/sweeps", test_sweeps);
  g_test_add_func ("/imp/Analysis/real-multipatch", test_real_multipatch);
  g_test_add_func ("/imp/Analysis/gaps", test_gaps);
  g_test_add_func ("/imp/Analysis/all-nan", test_all_nan);
  g_test_add_func ("/imp/Analysis/params-validate", test_params_validate);
  g_test_add_func ("/imp/Analysis/json-numbers", test_json_numbers);
  g_test_add_func ("/imp/Analysis/json-writer", test_json_writer);
  g_test_add_func ("/imp/Analysis/current-steps", test_current_steps);
  g_test_add_func ("/imp/Analysis/candidate-cap", test_candidate_cap);
  g_test_add_func ("/imp/Analysis/q-values", test_q_values);
  g_test_add_func ("/imp/Analysis/event-size", test_event_size);
  g_test_add_func ("/imp/Analysis/onset-spread", test_onset_spread);
  g_test_add_func ("/imp/Analysis/distal", test_distal);
  g_test_add_func ("/imp/Analysis/psp-fit", test_psp_fit);
  g_test_add_func ("/imp/Analysis/explained", test_explained);
  g_test_add_func ("/imp/Analysis/skewed-null", test_skewed_null);
  g_test_add_func ("/imp/Analysis/fast-firing-null", test_fast_firing_null);

  status = g_test_run ();

  g_clear_pointer (&sim_result, imp_analysis_result_unref);
  remove_tmp_dir ();
  g_free (sim_path);
  g_free (truth_path);
  g_free (tmp_dir);
  return status;
}
