/* bench-pyramid.c
 *
 * Copyright 2026 The Imprint authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <glib/gstdio.h>

#include "imp-pyramid.h"
#include "imp-simulate.h"

/* Builds the pyramid of a simulated 1,024-channel, 30 s recording (or of
 * the recording given as the first argument) and reports:
 *   - build throughput in MB of recording per second, CPU time, peak RSS;
 *   - the project file's size as a fraction of the recording's;
 *   - the cost of one frame of the Traces view, 64 channels x 1920
 *     columns, at several zooms: first read (chunks from the file, the
 *     file in the page cache) and again (from the pyramid's cache), and
 *     panning by a tenth of a screen per frame. */

#define FRAME_CHANNELS 64
#define FRAME_COLUMNS  1920

static gint64
file_size (const char *path)
{
  GStatBuf st;

  return g_stat (path, &st) == 0 ? (gint64) st.st_size : -1;
}

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
         + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* This thread's CPU time: other programs on a shared machine do not
 * count, reading files from the page cache does. */
static double
thread_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double
frame_ms (ImpPyramid *pyr,
          gint64      first,
          gint64      spc,
          gint64     *bins)
{
  static float lo[FRAME_COLUMNS], hi[FRAME_COLUMNS], mean[FRAME_COLUMNS];
  double start = thread_ms ();

  *bins = 0;
  for (guint c = 0; c < FRAME_CHANNELS; c++)
    *bins += imp_pyramid_query (pyr, c, first, spc, FRAME_COLUMNS, lo, hi,
                                mean);
  return thread_ms () - start;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* The median of @n frames: this machine is shared, single frames are
 * noisy. */
static double
median_ms (ImpPyramid *pyr,
           gint64      first,
           gint64      step,
           gint64      spc,
           guint       n)
{
  g_autofree double *times = g_new (double, n);
  gint64 bins;

  for (guint i = 0; i < n; i++)
    times[i] = frame_ms (pyr, first + i * step, spc, &bins);
  qsort (times, n, sizeof (double), compare_doubles);
  return times[n / 2];
}

static void
bench_queries (ImpRecording *rec,
               const char   *project)
{
  gint64 n = imp_recording_get_n_samples (rec);
  gint64 zooms[] = { 64, 100, 256, 1000, 4096, 20000, 0 };

  zooms[G_N_ELEMENTS (zooms) - 1] = MAX (64, n / FRAME_COLUMNS);
  printf ("frame of %u channels x %u columns, median CPU ms:\n", FRAME_CHANNELS,
          FRAME_COLUMNS);
  printf ("  %11s %8s %8s %8s %10s\n", "samples/col", "bins", "first",
          "again", "pan/frame");
  for (guint i = 0; i < G_N_ELEMENTS (zooms); i++)
    {
      gint64 spc = zooms[i];
      gint64 span = spc * FRAME_COLUMNS;
      /* Somewhere in the middle, off the bins. */
      gint64 first = MAX (0, (n - span) / 2 - 12345);
      g_autofree double *cold = g_new (double, 7);
      double warm, pan;
      gint64 bins = 0;

      /* A fresh pyramid each time: nothing cached but the page cache. */
      for (guint r = 0; r < 7; r++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(ImpPyramid) pyr = imp_pyramid_open (rec, project, &error);

          g_assert_no_error (error);
          g_assert_true (imp_pyramid_is_complete (pyr));
          cold[r] = frame_ms (pyr, first, spc, &bins);
          if (r == 6)
            {
              warm = median_ms (pyr, first, 0, spc, 15);
              pan = median_ms (pyr, first, span / 10, spc, 15);
            }
        }
      qsort (cold, 7, sizeof (double), compare_doubles);
      printf ("  %11" G_GINT64_FORMAT " %8" G_GINT64_FORMAT
              " %8.2f %8.2f %10.2f\n", spc, bins, cold[3], warm, pan);
    }
}

static void
progress_cb (double      fraction,
             const char *stage,
             gpointer    user_data)
{
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *project = NULL;
  g_autoptr(ImpRecording) rec = NULL;
  g_autoptr(ImpPyramid) pyr = NULL;
  struct rusage ru;
  gint64 start;
  double cpu, seconds, rec_mb;

  dir = g_dir_make_tmp ("imp-bench-pyramid-XXXXXX", &error);
  g_assert_no_error (error);
  if (argc > 1)
    path = g_strdup (argv[1]);
  else
    {
      ImpSimParams params;

      imp_sim_params_init_default (&params);
      params.n_neurons = 1024;
      params.duration_s = 30.0;
      path = g_build_filename (dir, "sim.h5", NULL);
      printf ("simulating 1024 channels x 30 s ...\n");
      fflush (stdout);
      g_assert_true (imp_simulate (&params, path, NULL, NULL, NULL, NULL,
                                   &error));
      g_assert_no_error (error);
    }
  project = g_build_filename (dir, "bench.imprint", NULL);

  rec = imp_recording_open (path, &error);
  g_assert_no_error (error);
  rec_mb = file_size (path) / 1e6;
  printf ("recording: %u channels x %" G_GINT64_FORMAT " samples, %.1f MB\n",
          imp_recording_get_n_channels (rec),
          imp_recording_get_n_samples (rec), rec_mb);

  pyr = imp_pyramid_open (rec, project, &error);
  g_assert_no_error (error);
  cpu = cpu_seconds ();
  start = g_get_monotonic_time ();
  g_assert_true (imp_pyramid_build (pyr, progress_cb, NULL, NULL, &error));
  g_assert_no_error (error);
  seconds = (g_get_monotonic_time () - start) / 1e6;
  cpu = cpu_seconds () - cpu;
  getrusage (RUSAGE_SELF, &ru);
  printf ("build: %.2f s wall, %.2f s CPU, %.0f MB/s (%.0f MB/s of CPU), "
          "peak RSS %.0f MB\n", seconds, cpu, rec_mb / seconds, rec_mb / cpu,
          ru.ru_maxrss / 1024.0);
  printf ("pyramid: %u levels, %s, %.1f MB, %.2f%% of the recording\n",
          imp_pyramid_get_n_levels (pyr),
          imp_pyramid_is_int16 (pyr) ? "int16" : "float32",
          file_size (project) / 1e6,
          100.0 * file_size (project) / 1e6 / rec_mb);
  g_clear_pointer (&pyr, imp_pyramid_unref);

  bench_queries (rec, project);

  g_unlink (project);
  if (argc <= 1)
    g_unlink (path);
  g_rmdir (dir);
  return 0;
}
