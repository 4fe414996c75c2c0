/* test-activity.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "imp-activity.h"
#include "imp-native.h"

#define RATE_HZ    10000.0
#define N_SAMPLES  200000
#define N_CHANNELS 5
#define PERIOD     512     /* samples; a whole number of them per block */
#define GAIN       0.001   /* mV per count */

static char *tmp_dir;
static char *path;

/* Channel c: a sine of amplitude c + 1 mV and period PERIOD around
 * -60 + c mV, in the first half; twice that amplitude in the second. */
static double
sample_value (guint  channel,
              gint64 sample)
{
  double amplitude = (channel + 1.0) * (sample < N_SAMPLES / 2 ? 1 : 2);

  return -60 + channel + amplitude * sin (2 * G_PI * sample / PERIOD);
}

static void
write_recording (void)
{
  g_autoptr(ImpNativeWriter) writer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gint16 *counts = g_new (gint16, (gsize) N_SAMPLES * N_CHANNELS);

  path = g_build_filename (tmp_dir, "sines.h5", NULL);
  writer = imp_native_writer_new (path, N_CHANNELS, RATE_HZ, &error);
  g_assert_no_error (error);
  for (guint c = 0; c < N_CHANNELS; c++)
    {
      g_autofree char *label = g_strdup_printf ("S%u", c);

      imp_native_writer_set_channel (writer, c, label, "mV", GAIN, 0,
                                     30.0 * c, 0, IMP_ACCESS_INTRACELLULAR);
    }
  for (gint64 s = 0; s < N_SAMPLES; s++)
    for (guint c = 0; c < N_CHANNELS; c++)
      counts[s * N_CHANNELS + c] = (gint16) lrint (sample_value (c, s) /
                                                   GAIN);
  imp_native_writer_append (writer, counts, N_SAMPLES, &error);
  g_assert_no_error (error);
  imp_native_writer_close (writer, &error);
  g_assert_no_error (error);
}

/* Peak to peak and RMS about the mean, the slow way, from one read per
 * channel. */
static void
brute_force (ImpRecording *recording,
             guint         channel,
             gint64        first,
             gint64        n,
             double       *ptp,
             double       *rms)
{
  g_autofree float *x = g_new (float, n);
  g_autoptr(GError) error = NULL;
  double lo = INFINITY;
  double hi = -INFINITY;
  double mean = 0;
  double var = 0;

  imp_recording_read (recording, channel, 1, first, n, x, &error);
  g_assert_no_error (error);
  for (gint64 i = 0; i < n; i++)
    {
      lo = MIN (lo, x[i]);
      hi = MAX (hi, x[i]);
      mean += x[i];
    }
  mean /= n;
  for (gint64 i = 0; i < n; i++)
    var += (x[i] - mean) * (x[i] - mean);

  *ptp = hi - lo;
  *rms = sqrt (var / n);
}

/* A window read whole, across several reads, matches the slow way. */
static void
test_activity_whole (void)
{
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(ImpActivity) activity = NULL;
  g_autoptr(GError) error = NULL;
  gint64 first = 1234;
  gint64 n = 70001;

  recording = imp_recording_open (path, &error);
  g_assert_no_error (error);

  activity = imp_activity_measure (recording, first, n, n, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (activity->n_channels, ==, N_CHANNELS);
  g_assert_cmpint (activity->first_sample, ==, first);
  g_assert_cmpint (activity->n_samples, ==, n);
  g_assert_cmpint (activity->n_measured, ==, n);

  for (guint c = 0; c < N_CHANNELS; c++)
    {
      double ptp, rms;

      brute_force (recording, c, first, n, &ptp, &rms);
      g_assert_cmpfloat_with_epsilon (activity->peak_to_peak[c], ptp, 1e-4);
      g_assert_cmpfloat_with_epsilon (activity->rms[c], rms, 1e-4 * rms);
    }
}

/* A window longer than the budget is measured on blocks spread over it:
 * a sine's peak to peak is twice its amplitude and its RMS the amplitude
 * over the square root of two, in every block, and a window spanning both
 * halves sees blocks of both. */
static void
test_activity_sampled (void)
{
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(ImpActivity) first_half = NULL;
  g_autoptr(ImpActivity) both = NULL;
  g_autoptr(GError) error = NULL;

  recording = imp_recording_open (path, &error);
  g_assert_no_error (error);

  first_half = imp_activity_measure (recording, 0, N_SAMPLES / 2,
                                     4 * IMP_ACTIVITY_BLOCK, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (first_half->n_measured, ==, 4 * IMP_ACTIVITY_BLOCK);

  both = imp_activity_measure (recording, 0, N_SAMPLES,
                               3 * IMP_ACTIVITY_BLOCK, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (both->n_measured, ==, 3 * IMP_ACTIVITY_BLOCK);

  for (guint c = 0; c < N_CHANNELS; c++)
    {
      double amplitude = c + 1.0;

      /* Within the counts' rounding. */
      g_assert_cmpfloat_with_epsilon (first_half->peak_to_peak[c],
                                      2 * amplitude, 2 * GAIN);
      g_assert_cmpfloat_with_epsilon (first_half->rms[c],
                                      amplitude / G_SQRT2, 2 * GAIN);
      /* The last block is in the loud half. */
      g_assert_cmpfloat_with_epsilon (both->peak_to_peak[c],
                                      4 * amplitude, 2 * GAIN);
    }
}

static void
test_activity_errors (void)
{
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  ImpActivity *activity;

  recording = imp_recording_open (path, &error);
  g_assert_no_error (error);

  activity = imp_activity_measure (recording, N_SAMPLES - 10, 11,
                                   IMP_ACTIVITY_BLOCK, NULL, &error);
  g_assert_null (activity);
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE);
  g_clear_error (&error);

  activity = imp_activity_measure (recording, -1, 10, IMP_ACTIVITY_BLOCK,
                                   NULL, &error);
  g_assert_null (activity);
  g_assert_error (error, IMP_RECORDING_ERROR, IMP_RECORDING_ERROR_RANGE);
  g_clear_error (&error);

  g_cancellable_cancel (cancellable);
  activity = imp_activity_measure (recording, 0, 1000, IMP_ACTIVITY_BLOCK,
                                   cancellable, &error);
  g_assert_null (activity);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* `imprint activity` prints the same measures, exactly, for a window in
 * seconds; a bad window is one line on stderr and exit code 2. */
static void
test_activity_cli (void)
{
  g_autoptr(ImpRecording) recording = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) lines = NULL;
  const char *exe = g_getenv ("IMP_EXE");
  const char *argv[] = { exe, "activity", path, "--from", "1.25", "--to",
                         "3.5", NULL };
  const char *bad[] = { exe, "activity", path, "--from", "2", "--to", "1",
                        NULL };
  int status;

  g_assert_nonnull (exe);
  recording = imp_recording_open (path, &error);
  g_assert_no_error (error);

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));

  lines = g_strsplit (out, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "index,label,x_um,y_um,unit,peak_to_peak,rms");
  for (guint c = 0; c < N_CHANNELS; c++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[c + 1], ",", -1);
      g_autofree char *label = g_strdup_printf ("S%u", c);
      double ptp, rms;

      g_assert_cmpuint (g_strv_length (fields), ==, 7);
      g_assert_cmpstr (fields[1], ==, label);
      g_assert_cmpfloat (g_ascii_strtod (fields[2], NULL), ==, 30.0 * c);
      g_assert_cmpstr (fields[4], ==, "mV");
      brute_force (recording, c, 12500, 22500, &ptp, &rms);
      g_assert_cmpfloat_with_epsilon (g_ascii_strtod (fields[5], NULL), ptp,
                                      1e-4);
      g_assert_cmpfloat_with_epsilon (g_ascii_strtod (fields[6], NULL), rms,
                                      1e-4 * rms);
    }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  g_spawn_sync (NULL, (char **) bad, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 2);
  g_assert_true (g_str_has_prefix (err, "imprint: "));
  g_assert_null (strchr (g_strchomp (err), '\n'));
}

/* Evoked */

static void
add_event (GArray *events,
           gint64  sample,
           float   amplitude)
{
  ImpEvent event = { sample, amplitude };

  g_array_append_val (events, event);
}

static ImpAnalysisResult *
make_result (GRand *rand)
{
  ImpAnalysisResult *result = g_new0 (ImpAnalysisResult, 1);
  gint64 t;

  g_atomic_ref_count_init (&result->ref_count);
  result->n_channels = 2;
  result->sample_rate = RATE_HZ;
  imp_analysis_params_init_default (&result->params);
  result->aps = g_new0 (GArray *, 2);
  result->psps = g_new0 (GArray *, 2);
  result->candidates = g_ptr_array_new ();
  for (guint c = 0; c < 2; c++)
    {
      result->aps[c] = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
      result->psps[c] = g_array_new (FALSE, FALSE, sizeof (ImpEvent));
    }

  /* APs every 5 to 50 ms; PSPs of both signs at random, often close
   * behind an AP. */
  for (t = 100; t < N_SAMPLES; t += g_rand_int_range (rand, 50, 500))
    add_event (result->aps[0], t, 80);
  for (t = 0; t < N_SAMPLES; t += g_rand_int_range (rand, 1, 60))
    add_event (result->psps[1], t,
               g_rand_boolean (rand) ? 0.5f : -0.5f);

  return result;
}

/* Every (AP, PSP) pair of the candidate's sign within the latency
 * window, by trying them all. */
static guint
count_evoked (ImpAnalysisResult *result,
              char               sign)
{
  double lo = result->params.latency_min_ms * RATE_HZ / 1000;
  double hi = result->params.latency_max_ms * RATE_HZ / 1000;
  guint n = 0;

  for (guint i = 0; i < result->aps[0]->len; i++)
    for (guint j = 0; j < result->psps[1]->len; j++)
      {
        ImpEvent *ap = &g_array_index (result->aps[0], ImpEvent, i);
        ImpEvent *psp = &g_array_index (result->psps[1], ImpEvent, j);
        gint64 lag = (gint64) psp->sample - (gint64) ap->sample;

        if (lag >= lo && lag <= hi &&
            (sign == 'E') == (psp->amplitude > 0))
          n++;
      }

  return n;
}

static void
test_activity_evoked (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  g_autoptr(ImpAnalysisResult) result = make_result (rand);
  const char signs[] = { 'E', 'I' };

  for (guint k = 0; k < G_N_ELEMENTS (signs); k++)
    {
      ImpCandidate candidate = { 0 };
      g_autoptr(GArray) evoked = NULL;
      double lo = result->params.latency_min_ms * RATE_HZ / 1000;
      double hi = result->params.latency_max_ms * RATE_HZ / 1000;

      candidate.pre = 0;
      candidate.post = 1;
      candidate.sign = signs[k];
      evoked = imp_activity_evoked (result, NULL, &candidate);

      g_assert_cmpuint (evoked->len, >, 100);
      g_assert_cmpuint (evoked->len, ==, count_evoked (result, signs[k]));
      for (guint i = 0; i < evoked->len; i++)
        {
          ImpEvoked *e = &g_array_index (evoked, ImpEvoked, i);

          g_assert_cmpfloat (e->psp_sample - e->ap_sample, >=, lo);
          g_assert_cmpfloat (e->psp_sample - e->ap_sample, <=, hi);
          g_assert_true ((e->amplitude_mv > 0) == (signs[k] == 'E'));
          if (i > 0)
            g_assert_cmpint (e->ap_sample, >=,
                             g_array_index (evoked, ImpEvoked,
                                            i - 1).ap_sample);
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);

  tmp_dir = g_dir_make_tmp ("imprint-activity-XXXXXX", &error);
  g_assert_no_error (error);
  write_recording ();

  g_test_add_func ("/core/Activity/whole", test_activity_whole);
  g_test_add_func ("/core/Activity/sampled", test_activity_sampled);
  g_test_add_func ("/core/Activity/errors", test_activity_errors);
  g_test_add_func ("/core/Activity/cli", test_activity_cli);
  g_test_add_func ("/core/Activity/evoked", test_activity_evoked);

  status = g_test_run ();

  g_unlink (path);
  g_rmdir (tmp_dir);
  g_free (path);
  g_free (tmp_dir);
  return status;
}
