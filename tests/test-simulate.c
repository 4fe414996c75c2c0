/* test-simulate.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "imp-map.h"
#include "imp-recording.h"
#include "imp-simulate.h"

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->dir = g_dir_make_tmp ("imp-test-simulate-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

static char *
fixture_path (Fixture    *f,
              const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static void
simulate_ok (const ImpSimParams *p,
             const char         *out,
             const char         *truth)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (imp_simulate (p, out, truth, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
}

static float *
read_channel (ImpRecording *rec,
              guint         channel)
{
  g_autoptr(GError) error = NULL;
  gint64 n = imp_recording_get_n_samples (rec);
  float *x = g_new (float, n);

  g_assert_true (imp_recording_read (rec, channel, 1, 0, n, x, &error));
  g_assert_no_error (error);
  return x;
}

/* A plain AP finder, independent of the analysis code: local maxima above
 * -20 mV, at least 2 ms apart. */
static GArray *
simple_ap_peaks (const float *x,
                 gint64       n,
                 double       fs)
{
  GArray *peaks = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 gap = (gint64) (0.002 * fs);
  gint64 i, last = G_MININT64 / 2;

  for (i = 1; i + 1 < n; i++)
    if (x[i] > -20.0f && x[i] >= x[i - 1] && x[i] > x[i + 1]
        && i - last > gap)
      {
        g_array_append_val (peaks, i);
        last = i;
      }
  return peaks;
}

static int
compare_double (const void *a,
                const void *b)
{
  double da = *(const double *) a;
  double db = *(const double *) b;

  return (da > db) - (da < db);
}

static void
test_defaults_and_layout (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *out = fixture_path (f, "grid.h5");
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(GError) error = NULL;
  ImpSimParams p;
  guint i, n_access = 0;

  imp_sim_params_init_default (&p);
  g_assert_cmpfloat (p.sample_rate_hz, ==, 10000);
  g_assert_cmpfloat (p.electrode_pitch_um, ==, 30);
  g_assert_cmpfloat (p.connection_prob, ==, 0.08);
  g_assert_cmpfloat (p.noise_mv, ==, 0.3);

  p.n_neurons = 20;
  p.duration_s = 1.0;
  p.electrode_pitch_um = 25.0;
  simulate_ok (&p, out, NULL);

  rec = imp_recording_open (out, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (imp_recording_get_n_channels (rec), ==, 20);
  g_assert_cmpfloat (imp_recording_get_sample_rate (rec), ==, 10000);
  g_assert_cmpint (imp_recording_get_n_samples (rec), ==, 10000);
  g_assert_cmpstr (imp_recording_get_attribute (rec, "seed"), ==, "1");

  /* 20 neurons: a 5 x 5 grid filled row by row. */
  for (i = 0; i < 20; i++)
    {
      const ImpChannel *ch = imp_recording_get_channel (rec, i);

      g_assert_cmpstr (ch->unit, ==, "mV");
      g_assert_true (ch->has_position);
      g_assert_cmpfloat_with_epsilon (ch->x_um, (i % 5) * 25.0, 1e-9);
      g_assert_cmpfloat_with_epsilon (ch->y_um, (i / 5) * 25.0, 1e-9);
      if (ch->access == IMP_ACCESS_INTRACELLULAR)
        n_access++;
      else
        g_assert_cmpint (ch->access, ==, IMP_ACCESS_EXTRACELLULAR);
    }
  /* 15 % without access: 3 of 20. */
  g_assert_cmpuint (n_access, ==, 17);
}

static gboolean
files_equal (const char *a,
             const char *b)
{
  g_autofree char *ca = NULL;
  g_autofree char *cb = NULL;
  gsize la, lb;

  g_assert_true (g_file_get_contents (a, &ca, &la, NULL));
  g_assert_true (g_file_get_contents (b, &cb, &lb, NULL));
  return la == lb && memcmp (ca, cb, la) == 0;
}

static gboolean
samples_equal (const char *a,
               const char *b)
{
  g_autoptr(ImpRecording) ra = imp_recording_open (a, NULL);
  g_autoptr(ImpRecording) rb = imp_recording_open (b, NULL);
  guint nc = imp_recording_get_n_channels (ra);
  gint64 n = imp_recording_get_n_samples (ra);
  g_autofree float *xa = g_new (float, nc * n);
  g_autofree float *xb = g_new (float, nc * n);

  g_assert_nonnull (ra);
  g_assert_nonnull (rb);
  if (imp_recording_get_n_channels (rb) != nc
      || imp_recording_get_n_samples (rb) != n)
    return FALSE;
  g_assert_true (imp_recording_read (ra, 0, nc, 0, n, xa, NULL));
  g_assert_true (imp_recording_read (rb, 0, nc, 0, n, xb, NULL));
  return memcmp (xa, xb, nc * n * sizeof (float)) == 0;
}

static void
test_deterministic (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *a = fixture_path (f, "a.h5");
  g_autofree char *b = fixture_path (f, "b.h5");
  g_autofree char *c = fixture_path (f, "c.h5");
  g_autofree char *ta = fixture_path (f, "a.csv");
  g_autofree char *tb = fixture_path (f, "b.csv");
  g_autofree char *tc = fixture_path (f, "c.csv");
  ImpSimParams p;

  imp_sim_params_init_default (&p);
  p.n_neurons = 16;
  p.duration_s = 3.0;
  p.seed = 42;
  p.connection_prob = 0.3;
  simulate_ok (&p, a, ta);
  simulate_ok (&p, b, tb);
  p.seed = 43;
  simulate_ok (&p, c, tc);

  g_assert_true (samples_equal (a, b));
  g_assert_true (files_equal (ta, tb));
  g_assert_false (samples_equal (a, c));
  g_assert_false (files_equal (ta, tc));
}

/* The truth file must describe what the recording contains: its AP counts
 * are the APs on the channel, its amplitudes and delays are what an
 * AP-triggered average of the postsynaptic channel shows. */
static void
test_truth_matches_recording (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *out = fixture_path (f, "t.h5");
  g_autofree char *truth_path = fixture_path (f, "t.csv");
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(GArray) truth = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) peaks = NULL;
  ImpSimParams p;
  double fs, ratios[64];
  gint64 n, pre_len, post_len;
  guint i, n_checked = 0, n_close = 0;

  imp_sim_params_init_default (&p);
  p.n_neurons = 25;
  p.duration_s = 60.0;
  p.seed = 7;
  p.synaptic_drive = FALSE;   /* keeps the spike trains independent */
  simulate_ok (&p, out, truth_path);

  rec = imp_recording_open (out, &error);
  g_assert_no_error (error);
  truth = imp_map_read_csv (truth_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (truth->len, >, 10);
  fs = imp_recording_get_sample_rate (rec);
  n = imp_recording_get_n_samples (rec);
  pre_len = (gint64) (0.005 * fs);
  post_len = (gint64) (0.025 * fs);

  peaks = g_hash_table_new_full (NULL, NULL, NULL,
                                 (GDestroyNotify) g_array_unref);
  for (i = 0; i < truth->len; i++)
    {
      const ImpMapEntry *e = &g_array_index (truth, ImpMapEntry, i);
      g_autofree float *pre = NULL;
      g_autofree float *post = NULL;
      g_autofree double *avg = NULL;
      g_autoptr(GArray) post_peaks = NULL;
      GArray *pk;
      double base = 0, extreme = 0, sign = e->sign == 'E' ? 1 : -1;
      double t20, t80, onset;
      gint64 k, j, at = 0, used = 0;

      g_assert_true (e->sign == 'E' || e->sign == 'I');
      g_assert_true ((e->sign == 'E') == (e->amplitude_mv > 0));
      g_assert_cmpfloat (e->latency_ms, >=, 1.0);
      g_assert_cmpfloat (e->latency_ms, <=, 5.0);
      g_assert_cmpfloat (e->p_value, ==, 0.0);
      /* the quantal truth: n sites (1-10), p (0.1-0.9), q; their mean
       * PSP n·p·q is the amplitude */
      g_assert_cmpuint (e->quantal_n, >=, 1);
      g_assert_cmpuint (e->quantal_n, <=, 10);
      g_assert_cmpfloat (e->release_p, >=, 0.1);
      g_assert_cmpfloat (e->release_p, <=, 0.9);
      g_assert_cmpfloat (e->quantal_mv, >, 0.0);
      g_assert_cmpfloat (fabs (e->quantal_n * e->release_p * e->quantal_mv
                               - fabs (e->amplitude_mv)), <,
                         1e-6 * fabs (e->amplitude_mv));
      g_assert_cmpint (imp_recording_get_channel (rec, e->pre)->access, ==,
                       IMP_ACCESS_INTRACELLULAR);
      g_assert_cmpint (imp_recording_get_channel (rec, e->post)->access, ==,
                       IMP_ACCESS_INTRACELLULAR);

      pk = g_hash_table_lookup (peaks, GUINT_TO_POINTER (e->pre));
      if (pk == NULL)
        {
          pre = read_channel (rec, e->pre);
          pk = simple_ap_peaks (pre, n, fs);
          g_hash_table_insert (peaks, GUINT_TO_POINTER (e->pre), pk);
          /* Every AP of the presynaptic cell is in the recording. */
          g_assert_cmpuint (pk->len, ==, e->n_pre_aps);
        }

      /* Only strong synapses give a clean average in a minute. */
      if (fabs (e->amplitude_mv) < 1.0 || e->n_pre_aps < 40)
        continue;

      post = read_channel (rec, e->post);
      post_peaks = simple_ap_peaks (post, n, fs);
      avg = g_new0 (double, pre_len + post_len);
      for (k = 0; k < pk->len; k++)
        {
          gint64 t = g_array_index (pk, gint64, k);
          gboolean clean = TRUE;

          if (t - pre_len < 0 || t + post_len > n)
            continue;
          /* The postsynaptic cell's own APs and AHPs (80 mV, 15 ms) would
           * swamp a PSP of 1 mV: leave out trials that contain one. */
          for (j = 0; j < post_peaks->len; j++)
            {
              gint64 q = g_array_index (post_peaks, gint64, j);

              if (q > t - pre_len - (gint64) (0.03 * fs) && q < t + post_len)
                clean = FALSE;
            }
          if (!clean)
            continue;
          for (j = 0; j < pre_len + post_len; j++)
            avg[j] += post[t - pre_len + j];
          used++;
        }
      for (j = 0; j < pre_len + post_len; j++)
        avg[j] /= used;
      for (j = 0; j < pre_len; j++)
        base += avg[j] / pre_len;
      for (j = pre_len; j < pre_len + post_len; j++)
        if (sign * (avg[j] - base) > extreme)
          {
            extreme = sign * (avg[j] - base);
            at = j;
          }
      /* Onset: the 20-80 % rise extrapolated back to the baseline. */
      for (k = at; k > pre_len; k--)
        if (sign * (avg[k] - base) < 0.8 * extreme)
          break;
      t80 = k + (0.8 * extreme - sign * (avg[k] - base))
                / (sign * (avg[k + 1] - avg[k]));
      for (; k > pre_len; k--)
        if (sign * (avg[k] - base) < 0.2 * extreme)
          break;
      t20 = k + (0.2 * extreme - sign * (avg[k] - base))
                / (sign * (avg[k + 1] - avg[k]));
      onset = t20 - (t80 - t20) / 3.0;

      g_test_message ("%u->%u %c: true %.2f mV at %.1f ms, average %.2f mV "
                      "from %.1f ms", e->pre, e->post, e->sign,
                      e->amplitude_mv, e->latency_ms, sign * extreme,
                      (onset - pre_len) * 1000.0 / fs);
      /* Background synaptic activity adds noise to a one-minute average,
       * so most pairs, not all, must match closely. */
      if (fabs (extreme - fabs (e->amplitude_mv))
          < 0.25 * fabs (e->amplitude_mv) + 0.2
          && fabs ((onset - pre_len) * 1000.0 / fs - e->latency_ms) <= 0.5)
        n_close++;
      ratios[n_checked % G_N_ELEMENTS (ratios)] = extreme
                                                  / fabs (e->amplitude_mv);
      n_checked++;
    }
  g_test_message ("%u of %u strong synapses match their average",
                  n_close, n_checked);
  g_assert_cmpuint (n_checked, >=, 5);
  g_assert_cmpuint (n_checked, <=, G_N_ELEMENTS (ratios));
  g_assert_cmpfloat (n_close, >=, 0.8 * n_checked);
  /* No bias: the median ratio of measured to true amplitude is near 1. */
  qsort (ratios, n_checked, sizeof (double), compare_double);
  g_test_message ("median amplitude ratio %.3f", ratios[n_checked / 2]);
  g_assert_cmpfloat (fabs (ratios[n_checked / 2] - 1.0), <, 0.1);
}

static void
test_no_synapses (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *out = fixture_path (f, "null.h5");
  g_autofree char *truth_path = fixture_path (f, "null.csv");
  g_autoptr(GArray) truth = NULL;
  g_autoptr(GError) error = NULL;
  ImpSimParams p;

  imp_sim_params_init_default (&p);
  p.n_neurons = 16;
  p.duration_s = 2.0;
  p.connection_prob = 0.0;
  simulate_ok (&p, out, truth_path);
  truth = imp_map_read_csv (truth_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (truth->len, ==, 0);
}

/* Quiet cells show a resting potential and nothing else; channels without
 * access show small noise around 0 mV and no APs. */
static void
test_access_channels (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *out = fixture_path (f, "acc.h5");
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(GError) error = NULL;
  ImpSimParams p;
  guint c, n_extra = 0;

  imp_sim_params_init_default (&p);
  p.n_neurons = 20;
  p.duration_s = 10.0;
  p.no_access_frac = 0.5;
  simulate_ok (&p, out, NULL);
  rec = imp_recording_open (out, &error);
  g_assert_no_error (error);

  for (c = 0; c < 20; c++)
    {
      g_autofree float *x = read_channel (rec, c);
      gint64 n = imp_recording_get_n_samples (rec), i;
      double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE, sum = 0;

      for (i = 0; i < n; i++)
        {
          lo = MIN (lo, x[i]);
          hi = MAX (hi, x[i]);
          sum += x[i];
        }
      if (imp_recording_get_channel (rec, c)->access
          == IMP_ACCESS_EXTRACELLULAR)
        {
          n_extra++;
          g_assert_cmpfloat (fabs (sum / n), <, 3.0);
          g_assert_cmpfloat (hi - lo, <, 10.0);
        }
      else
        {
          g_assert_cmpfloat (sum / n, <, -50.0);
          g_assert_cmpfloat (sum / n, >, -85.0);
          /* Every cell fires at about 2 Hz: APs overshoot 0 mV. */
          g_assert_cmpfloat (hi, >, 0.0);
        }
    }
  g_assert_cmpuint (n_extra, ==, 10);
}

typedef struct
{
  GCancellable *cancellable;
  guint         calls;
  double        last;
  gboolean      monotonic;
  guint         cancel_after;
} ProgressLog;

static void
progress_cb (double      fraction,
             const char *stage,
             gpointer    user_data)
{
  ProgressLog *log = user_data;

  g_assert_nonnull (stage);
  if (fraction < log->last)
    log->monotonic = FALSE;
  log->last = fraction;
  log->calls++;
  if (log->cancellable != NULL && log->calls == log->cancel_after)
    g_cancellable_cancel (log->cancellable);
}

static void
test_progress_and_cancel (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *out = fixture_path (f, "cancel.h5");
  g_autofree char *truth_path = fixture_path (f, "cancel.csv");
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  ProgressLog log = { NULL, 0, 0.0, TRUE, 0 };
  ImpSimParams p;

  imp_sim_params_init_default (&p);
  p.n_neurons = 9;
  p.duration_s = 5.0;

  g_assert_true (imp_simulate (&p, out, truth_path, progress_cb, &log, NULL,
                               &error));
  g_assert_no_error (error);
  g_assert_true (log.monotonic);
  g_assert_cmpuint (log.calls, >=, 5);
  g_assert_cmpfloat (log.last, ==, 1.0);
  g_unlink (out);
  g_unlink (truth_path);

  /* Cancelled halfway: an error, and no files left behind. */
  log = (ProgressLog) { cancellable, 0, 0.0, TRUE, 2 };
  g_assert_false (imp_simulate (&p, out, truth_path, progress_cb, &log,
                                cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (truth_path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  /* Cancelled before starting. */
  g_assert_false (imp_simulate (&p, out, NULL, NULL, NULL, cancellable,
                                &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static void
test_invalid (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *out = fixture_path (f, "bad.h5");
  ImpSimParams p;
  guint k;

  for (k = 0; k < 8; k++)
    {
      g_autoptr(GError) error = NULL;

      imp_sim_params_init_default (&p);
      if (k == 0)
        p.n_neurons = 0;
      else if (k == 1)
        p.duration_s = -1;
      else if (k == 2)
        p.connection_prob = 1.5;
      else if (k == 3)
        p.noise_mv = -0.1;
      /* Not finite: these would never finish or fill the file. */
      else if (k == 4)
        p.rate_hz = INFINITY;
      else if (k == 5)
        p.noise_mv = NAN;
      else if (k == 6)
        p.quantal_mv = INFINITY;
      else
        p.drift_mv = INFINITY;
      g_assert_false (imp_simulate (&p, out, NULL, NULL, NULL, NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
    }
}

/* A 1,024-electrode array: sparse wiring at scale. (How fast it is
 * written is measured by the benchmarks, tests/bench/, not here.) */
static void
test_large_array (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *out = fixture_path (f, "big.h5");
  g_autofree char *truth_path = fixture_path (f, "big.csv");
  g_autoptr(GArray) truth = NULL;
  ImpSimParams p;
  gint64 start;
  double seconds, mean_inputs;

  imp_sim_params_init_default (&p);
  p.n_neurons = 1024;
  p.duration_s = 2.0;
  start = g_get_monotonic_time ();
  simulate_ok (&p, out, truth_path);
  seconds = (g_get_monotonic_time () - start) / 1e6;
  g_test_message ("1024 channels x 2 s: %.2f s", seconds);

  /* Sparse: about max_mean_inputs synapses per neuron (among the 85 %
   * with access, 0.85 of them are listed). */
  truth = imp_map_read_csv (truth_path, NULL);
  g_assert_nonnull (truth);
  mean_inputs = (double) truth->len / (1024 * 0.85 * 0.85);
  g_test_message ("observable synapses per neuron: %.1f", mean_inputs);
  g_assert_cmpfloat (mean_inputs, >, 15);
  g_assert_cmpfloat (mean_inputs, <, 25);
}

/* The median of x[t + from .. t + to) - x[t + b0 .. t + b1) over the
 * peaks t of @peaks that fit. */
static double
triggered_median (const float *x,
                  gint64       n,
                  GArray      *peaks,
                  gint64       at,
                  gint64       b0,
                  gint64       b1)
{
  g_autofree double *v = g_new (double, MAX (peaks->len, 1));
  guint k, m = 0;

  for (k = 0; k < peaks->len; k++)
    {
      gint64 t = g_array_index (peaks, gint64, k), i;
      double base = 0;

      if (t + b0 < 0 || t + at >= n)
        continue;
      for (i = t + b0; i < t + b1; i++)
        base += x[i];
      v[m++] = x[t + at] - base / (b1 - b0);
    }
  if (m == 0)
    return NAN;
  qsort (v, m, sizeof (double), compare_double);
  return v[m / 2];
}

/* The hard cases, each against what the recording shows by itself: the
 * truth's SNR against the recorded membrane potential's SD, crosstalk
 * pairs against the neighbour's APs on their channel, and the coupling
 * drift against the same network recorded without it. */
static void
test_hard_cases (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *out = fixture_path (f, "hard.h5");
  g_autofree char *truth_path = fixture_path (f, "hard.csv");
  g_autofree char *flat = fixture_path (f, "flat.h5");
  g_autofree char *steady = fixture_path (f, "steady.h5");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) truth = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpRecording) rec_flat = NULL;
  guint kinds[IMP_MAP_N_KINDS] = { 0 };
  guint i, n_checked = 0;
  ImpSimParams p;
  gint64 n;
  double fs, drift, crosstalk, spread = 0;

  imp_sim_params_init_hard (&p);
  p.n_neurons = 25;
  p.duration_s = 20;
  p.seed = 5;
  simulate_ok (&p, out, truth_path);
  truth = imp_map_read_truth_csv (truth_path, &error);
  g_assert_no_error (error);
  rec = imp_recording_open (out, &error);
  g_assert_no_error (error);
  n = imp_recording_get_n_samples (rec);
  fs = imp_recording_get_sample_rate (rec);

  for (i = 0; i < truth->len; i++)
    kinds[g_array_index (truth, ImpMapEntry, i).kind]++;
  g_test_message ("%u connections, %u crosstalk, %u shared input, %u "
                  "co-modulated", kinds[0], kinds[1], kinds[2], kinds[3]);
  for (i = 0; i < IMP_MAP_N_KINDS; i++)
    g_assert_cmpuint (kinds[i], >, 0);

  /* Crosstalk: the neighbour's AP shows on the trap's post channel at
   * zero latency, at least the smallest coupling times the AP height. */
  for (i = 0; i < truth->len; i++)
    {
      const ImpMapEntry *e = &g_array_index (truth, ImpMapEntry, i);
      g_autofree float *pre = NULL;
      g_autofree float *post = NULL;
      g_autoptr(GArray) peaks = NULL;
      double bump;

      if (e->kind != IMP_MAP_TRAP_CROSSTALK)
        continue;
      pre = read_channel (rec, e->pre);
      post = read_channel (rec, e->post);
      peaks = simple_ap_peaks (pre, n, fs);
      bump = triggered_median (post, n, peaks, 0, (gint64) (-0.01 * fs),
                               (gint64) (-0.005 * fs));
      g_assert_cmpfloat (bump, >, 0.3 * p.crosstalk * 70 * (1 - p.scale_drift));
      n_checked++;
    }
  g_assert_cmpuint (n_checked, >, 0);

  /* SNR: |PSP| × √APs ÷ the SD of the recorded potential without its APs;
   * the same network recorded without crosstalk and drift, so that the
   * channel is the membrane potential plus noise. */
  drift = p.scale_drift;
  crosstalk = p.crosstalk;
  p.crosstalk = 0;
  p.scale_drift = 0;
  simulate_ok (&p, flat, truth_path);
  g_clear_pointer (&truth, g_array_unref);
  truth = imp_map_read_truth_csv (truth_path, &error);
  g_assert_no_error (error);
  rec_flat = imp_recording_open (flat, &error);
  g_assert_no_error (error);
  for (i = 0, n_checked = 0; i < truth->len; i++)
    {
      const ImpMapEntry *e = &g_array_index (truth, ImpMapEntry, i);
      g_autofree float *x = NULL;
      g_autoptr(GArray) peaks = NULL;
      double sum = 0, sum2 = 0, m = 0, sd;
      gint64 t;
      guint k;

      if (e->kind != IMP_MAP_CONNECTION || n_checked >= 8)
        continue;
      x = read_channel (rec_flat, e->post);
      peaks = simple_ap_peaks (x, n, fs);
      /* The AP waveform (0.5 ms before its peak to 2.5 ms after) bridged
       * by a straight line, which keeps the AHP under it. */
      for (k = 0; k < peaks->len; k++)
        {
          gint64 a = g_array_index (peaks, gint64, k) - (gint64) (0.0006 * fs);
          gint64 b = g_array_index (peaks, gint64, k) + (gint64) (0.0026 * fs);

          if (a < 0 || b >= n)
            continue;
          for (t = a + 1; t < b; t++)
            x[t] = x[a] + (x[b] - x[a]) * (t - a) / (double) (b - a);
        }
      for (t = 0; t < n; t++)
        {
          sum += x[t];
          sum2 += (double) x[t] * x[t];
          m++;
        }
      sd = sqrt (sum2 / m - (sum / m) * (sum / m));
      g_test_message ("SNR %.2f, from the recording %.2f", e->snr,
                      fabs (e->amplitude_mv) * sqrt (e->n_pre_aps) / sd);
      g_assert_cmpfloat (fabs (fabs (e->amplitude_mv) * sqrt (e->n_pre_aps)
                               / sd / e->snr - 1), <, 0.1);
      n_checked++;
    }
  g_assert_cmpuint (n_checked, >, 0);

  /* Drift: the same network without it (each hard case draws from its
   * own stream), so the same APs; the ratio of the two recordings at AP
   * peaks is the coupling factor's drift. */
  p.crosstalk = crosstalk;
  simulate_ok (&p, steady, NULL);
  g_clear_pointer (&rec_flat, imp_recording_unref);
  rec_flat = imp_recording_open (steady, &error);
  g_assert_no_error (error);
  for (i = 0, n_checked = 0; i < imp_recording_get_n_channels (rec); i++)
    {
      g_autofree float *x = read_channel (rec, i);
      g_autofree float *y = read_channel (rec_flat, i);
      g_autoptr(GArray) peaks = simple_ap_peaks (y, n, fs);
      double lo = INFINITY, hi = -INFINITY;
      guint k;

      for (k = 0; k < peaks->len; k++)
        {
          gint64 t = g_array_index (peaks, gint64, k);
          double r = x[t] / y[t];

          /* Only overshooting AP peaks (channels without access have
           * noise peaks near 0 mV). */
          if (y[t] < 5)
            continue;
          lo = MIN (lo, r);
          hi = MAX (hi, r);
        }
      if (peaks->len < 5 || !isfinite (lo))
        continue;
      n_checked++;
      g_assert_cmpfloat (lo, >=, 1 - drift - 0.05);
      g_assert_cmpfloat (hi, <=, 1 + drift + 0.05);
      spread = MAX (spread, hi - lo);
    }
  g_assert_cmpuint (n_checked, >, 5);
  g_assert_cmpfloat (spread, >, 0.02);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add ("/imp/Simulate/" path, Fixture, NULL, fixture_set_up, func, \
              fixture_tear_down)
  ADD ("defaults-and-layout", test_defaults_and_layout);
  ADD ("deterministic", test_deterministic);
  ADD ("truth-matches-recording", test_truth_matches_recording);
  ADD ("no-synapses", test_no_synapses);
  ADD ("access-channels", test_access_channels);
  ADD ("progress-and-cancel", test_progress_and_cancel);
  ADD ("invalid", test_invalid);
  ADD ("large-array", test_large_array);
  ADD ("hard-cases", test_hard_cases);
#undef ADD

  return g_test_run ();
}
